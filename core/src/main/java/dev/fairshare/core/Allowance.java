package dev.fairshare.core;

/**
 * One dimension (tokens or requests) of a key's standing on a model, as the headers show it.
 *
 * @param limit the key's current share (capped by its own limit), or {@link
 *     ModelCapacity#UNLIMITED}
 * @param remaining what is left of that share in the window (never negative), or {@link
 *     ModelCapacity#UNLIMITED}
 * @param used the key's usage in the window (reservations included)
 * @param resetMillis time until the key's usage in this dimension has left the window
 * @param modelLimit the model's capacity, or {@link ModelCapacity#UNLIMITED}
 * @param modelRemaining what the model has left in the window, or {@link ModelCapacity#UNLIMITED}
 * @param modelUsed the model's usage in the window (reservations included)
 */
public record Allowance(
    long limit,
    long remaining,
    long used,
    long resetMillis,
    long modelLimit,
    long modelRemaining,
    long modelUsed) {

  /**
   * A key's allowance in one dimension, as {@code rule} sees it.
   *
   * @param capacity the model's capacity, or {@link ModelCapacity#UNLIMITED}
   * @param keyLimit the key's own limit, or {@link ModelCapacity#UNLIMITED}
   * @param share the key's share of the capacity ({@link AllocationRule#share}); unused when the
   *     capacity is unlimited
   * @param activeKeys the keys sharing the model ({@link AllocationRule#activeKeys})
   */
  static Allowance of(
      AllocationRule rule,
      long capacity,
      long keyLimit,
      long modelUsed,
      long keyUsed,
      long share,
      double weight,
      int activeKeys,
      long resetMillis) {
    long unlimited = ModelCapacity.UNLIMITED;
    long modelRemaining = capacity == unlimited ? unlimited : Math.max(0, capacity - modelUsed);
    long limit = unlimited;
    long remaining = unlimited;
    if (capacity != unlimited) {
      limit = share;
      remaining = rule.remaining(share, capacity, modelUsed, keyUsed, weight, activeKeys);
    }
    if (keyLimit != unlimited) {
      long keyRemaining = Math.max(0, keyLimit - keyUsed);
      limit = limit == unlimited ? keyLimit : Math.min(limit, keyLimit);
      remaining = remaining == unlimited ? keyRemaining : Math.min(remaining, keyRemaining);
    }
    return new Allowance(
        limit, remaining, keyUsed, resetMillis, capacity, modelRemaining, modelUsed);
  }

  /**
   * This allowance once {@code delta} more units are charged to the key (and so to the model),
   * everything else unchanged. The share does not move (it depends on the other keys, not on
   * usage); what is left of it does.
   *
   * @param keyLimit the key's own limit in this dimension, or {@link ModelCapacity#UNLIMITED}
   * @param weight the key's weight
   * @param activeKeys the snapshot's active keys
   * @param rule the allocation rule
   * @param newResetMillis the reset to report
   */
  Allowance charged(
      long delta,
      long keyLimit,
      double weight,
      int activeKeys,
      AllocationRule rule,
      long newResetMillis) {
    // The share already capped by the key's limit stands in for the share: capping it again
    // changes nothing, and the remainder is the rule's.
    return of(
        rule,
        modelLimit,
        keyLimit,
        modelUsed + delta,
        used + delta,
        limit,
        weight,
        activeKeys,
        newResetMillis);
  }

  /** True when this dimension is limited for the key. */
  public boolean limited() {
    return limit != ModelCapacity.UNLIMITED;
  }
}
