package dev.fairshare.core;

import java.util.Objects;

/**
 * A limit a key shares with others, or holds on one model only, kept as a window of its own in the
 * usage store: a team's {@code tpm_limit}/{@code rpm_limit} (every key of the team is a user of the
 * team's window, so the team's limit is split fairly among its active keys, by weight), or a {@code
 * model_tpm_limit}/{@code model_rpm_limit}.
 *
 * @param name the window's name among the store's models ({@code fairshare:team-limits:<team>})
 * @param capacity the limit
 */
public record LimitWindow(String name, ModelCapacity capacity) {

  public LimitWindow {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(capacity, "capacity");
  }

  /** This window with this instance's part of the limit when {@code instances} share it. */
  LimitWindow sharedBy(int instances) {
    return new LimitWindow(name, capacity.sharedBy(instances));
  }
}
