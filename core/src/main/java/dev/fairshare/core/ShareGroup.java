package dev.fairshare.core;

import java.util.Objects;

/**
 * The group a key shares a model in: its team (or, once teams exist, the group of keys without
 * one). A model's capacity is split among the active groups by their weights, then inside each
 * group among its active keys by theirs; idle share is lent at both levels.
 *
 * @param id the group's id: {@code team:<team id>}, or {@link #TEAMLESS}
 * @param weight the group's weight ({@code metadata.priority} of the team)
 */
public record ShareGroup(String id, double weight) {

  /** The id of the group of keys without a team. */
  public static final String TEAMLESS = "teamless";

  public ShareGroup {
    Objects.requireNonNull(id, "id");
    if (!(weight > 0.0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException("weight must be positive and finite, was " + weight);
    }
  }

  /** The team {@code teamId}'s group. */
  public static ShareGroup team(String teamId, double weight) {
    return new ShareGroup("team:" + teamId, weight);
  }
}
