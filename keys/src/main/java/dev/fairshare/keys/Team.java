package dev.fairshare.keys;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A team: keys that join it ({@code team_id} on the key) share its limits, budget and quotas, and
 * its slice of each model is split fairly among them.
 *
 * @param teamId the team's id (LiteLLM's {@code team_id}; a generated UUID when not given)
 * @param teamAlias a name for people, may be null
 * @param models models the team's keys may call; empty means all
 * @param tpmLimit the team's tokens per minute across models, or null
 * @param rpmLimit the team's requests per minute across models, or null
 * @param quotas budgets, per-model limits and calendar quotas
 * @param metadata free-form metadata; {@code priority} selects the team's weight
 * @param blocked whether the team's keys are refused
 * @param createdAt creation time
 * @param updatedAt last change
 */
public record Team(
    String teamId,
    String teamAlias,
    List<String> models,
    Long tpmLimit,
    Long rpmLimit,
    Quotas quotas,
    Map<String, Object> metadata,
    boolean blocked,
    Instant createdAt,
    Instant updatedAt) {

  public Team {
    models = models == null ? List.of() : List.copyOf(models);
    quotas = quotas == null ? Quotas.NONE : quotas;
    metadata =
        metadata == null
            ? Map.of()
            : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(metadata));
  }

  /** True when the team's keys may call {@code model}. */
  public boolean allows(String model) {
    return models.isEmpty() || models.contains(model) || models.contains("*");
  }

  /** The priority name from {@code metadata.priority}, or null. */
  public String priority() {
    Object p = metadata.get("priority");
    return p == null ? null : p.toString();
  }

  /** This team, blocked or unblocked at {@code now}. */
  public Team withBlocked(boolean nowBlocked, Instant now) {
    return new Team(
        teamId,
        teamAlias,
        models,
        tpmLimit,
        rpmLimit,
        quotas,
        metadata,
        nowBlocked,
        createdAt,
        now);
  }
}
