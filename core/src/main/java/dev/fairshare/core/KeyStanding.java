package dev.fairshare.core;

/**
 * What the engine holds of one key on one model now (for {@code GET /usage}).
 *
 * @param usage the key's standing, as a request of it would see it (share, used with reservations,
 *     remaining; the model's use)
 * @param reservedTokens tokens reserved by its calls in flight (part of {@code usage}'s used)
 * @param inFlight its calls admitted and not yet settled (counted by the Redis store whatever the
 *     key's limits)
 * @param refusals its calls the model refused in the window (not those its own limits refused)
 */
public record KeyStanding(UsageSnapshot usage, long reservedTokens, int inFlight, long refusals) {}
