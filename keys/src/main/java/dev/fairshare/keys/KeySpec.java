package dev.fairshare.keys;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What a caller asks for when generating a key (LiteLLM's {@code /key/generate} fields). Null means
 * "not given".
 *
 * @param customKey a caller-chosen raw key (must start with {@code sk-}), or null to generate one
 * @param keyAlias unique alias
 * @param duration lifetime, or null for never expiring
 * @param models allowed models (empty = all)
 * @param tpmLimit own TPM limit
 * @param rpmLimit own RPM limit
 * @param maxParallelRequests concurrency limit
 * @param metadata free-form metadata ({@code priority} selects the weight)
 * @param blocked create the key blocked
 * @param userId owner user id
 * @param teamId owner team id
 * @param quotas budgets, per-model limits and calendar quotas
 */
public record KeySpec(
    String customKey,
    String keyAlias,
    Duration duration,
    List<String> models,
    Long tpmLimit,
    Long rpmLimit,
    Long maxParallelRequests,
    Map<String, Object> metadata,
    Boolean blocked,
    String userId,
    String teamId,
    Quotas quotas) {

  public KeySpec {
    quotas = quotas == null ? Quotas.NONE : quotas;
  }

  /** A spec without budgets, per-model limits or quotas. */
  public KeySpec(
      String customKey,
      String keyAlias,
      Duration duration,
      List<String> models,
      Long tpmLimit,
      Long rpmLimit,
      Long maxParallelRequests,
      Map<String, Object> metadata,
      Boolean blocked,
      String userId,
      String teamId) {
    this(
        customKey,
        keyAlias,
        duration,
        models,
        tpmLimit,
        rpmLimit,
        maxParallelRequests,
        metadata,
        blocked,
        userId,
        teamId,
        Quotas.NONE);
  }

  /** A spec with nothing set: a key with no limits that never expires. */
  public static final KeySpec EMPTY =
      new KeySpec(null, null, null, List.of(), null, null, null, Map.of(), null, null, null);
}
