package dev.fairshare.keys;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A stored API key. Only the sha256 of the raw key ({@code token}) is kept; the raw key is shown
 * once, when it is generated.
 *
 * @param token sha256 hex of the raw key (LiteLLM's {@code token})
 * @param keyName {@code sk-...} plus the last 4 characters, for people
 * @param keyAlias unique alias, may be null
 * @param models models the key may call; empty means all
 * @param tpmLimit the key's own TPM limit, or null
 * @param rpmLimit the key's own RPM limit, or null
 * @param maxParallelRequests the key's concurrency limit, or null
 * @param metadata free-form metadata; {@code priority} selects the key's weight
 * @param expires when the key stops working, or null for never
 * @param blocked whether the key is blocked
 * @param userId owner user id, may be null
 * @param teamId owner team id, may be null
 * @param createdAt creation time
 * @param updatedAt last change
 * @param quotas budgets, per-model limits and calendar quotas
 */
public record ApiKey(
    String token,
    String keyName,
    String keyAlias,
    List<String> models,
    Long tpmLimit,
    Long rpmLimit,
    Long maxParallelRequests,
    Map<String, Object> metadata,
    Instant expires,
    boolean blocked,
    String userId,
    String teamId,
    Instant createdAt,
    Instant updatedAt,
    Quotas quotas) {

  public ApiKey {
    quotas = quotas == null ? Quotas.NONE : quotas;
    models = models == null ? List.of() : List.copyOf(models);
    metadata =
        metadata == null
            ? Map.of()
            : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(metadata));
  }

  /** A key without budgets, per-model limits or quotas. */
  public ApiKey(
      String token,
      String keyName,
      String keyAlias,
      List<String> models,
      Long tpmLimit,
      Long rpmLimit,
      Long maxParallelRequests,
      Map<String, Object> metadata,
      Instant expires,
      boolean blocked,
      String userId,
      String teamId,
      Instant createdAt,
      Instant updatedAt) {
    this(
        token,
        keyName,
        keyAlias,
        models,
        tpmLimit,
        rpmLimit,
        maxParallelRequests,
        metadata,
        expires,
        blocked,
        userId,
        teamId,
        createdAt,
        updatedAt,
        Quotas.NONE);
  }

  /** This key with {@code newQuotas}. */
  public ApiKey withQuotas(Quotas newQuotas) {
    return new ApiKey(
        token,
        keyName,
        keyAlias,
        models,
        tpmLimit,
        rpmLimit,
        maxParallelRequests,
        metadata,
        expires,
        blocked,
        userId,
        teamId,
        createdAt,
        updatedAt,
        newQuotas);
  }

  /** This key, blocked or unblocked at {@code now}. */
  public ApiKey withBlocked(boolean nowBlocked, Instant now) {
    return new ApiKey(
        token,
        keyName,
        keyAlias,
        models,
        tpmLimit,
        rpmLimit,
        maxParallelRequests,
        metadata,
        expires,
        nowBlocked,
        userId,
        teamId,
        createdAt,
        now,
        quotas);
  }

  /** The priority name from {@code metadata.priority}, or null. */
  public String priority() {
    Object p = metadata.get("priority");
    return p == null ? null : p.toString();
  }

  /** True when the key has an expiry at or before {@code now}. */
  public boolean expiredAt(Instant now) {
    return expires != null && !now.isBefore(expires);
  }

  /** True when the key may call {@code model}. */
  public boolean allows(String model) {
    return models.isEmpty() || models.contains(model) || models.contains("*");
  }

  /**
   * What to call the key in messages and logs: its alias, else its masked name. Never the raw key.
   */
  public String displayName() {
    return keyAlias != null ? keyAlias : keyName;
  }
}
