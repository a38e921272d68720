package dev.fairshare.keys;

/**
 * A regenerated key's old token, still accepted until {@code validUntilMillis}.
 *
 * @param key the key the old token now stands for
 * @param validUntilMillis end of the grace period
 */
public record GraceToken(ApiKey key, long validUntilMillis) {}
