package dev.fairshare.config;

import java.util.Map;

/**
 * Weights by priority name ({@code fairshare.priority.<name>}): a key's {@code metadata.priority}
 * names its weight in the fair share.
 *
 * @param weights weight per priority name
 * @param defaultWeight weight of keys without (or with an unknown) priority
 */
public record Priorities(Map<String, Double> weights, double defaultWeight) {

  public Priorities {
    weights = Map.copyOf(weights);
  }

  /** The weight for a key's {@code metadata.priority} (null or unknown: the default weight). */
  public double weightOf(String priority) {
    return priority == null ? defaultWeight : weights.getOrDefault(priority, defaultWeight);
  }
}
