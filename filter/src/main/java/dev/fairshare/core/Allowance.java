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
   * This allowance once {@code delta} more units are charged to the key (and so to the model),
   * everything else unchanged; the rule is {@link ModelWindow}'s. The share does not move (it
   * depends on the other keys, not on usage); what is left of it does.
   *
   * @param keyLimit the key's own limit in this dimension, or {@link ModelCapacity#UNLIMITED}
   * @param weight the key's weight
   * @param activeKeys the snapshot's active keys (LiteLLM v1 divides the model's room by them)
   * @param mode the allocation mode
   * @param newResetMillis the reset to report
   */
  Allowance charged(long delta, long keyLimit, double weight, int activeKeys, AllocationMode mode, long newResetMillis) {
    long unlimited = ModelCapacity.UNLIMITED;
    long keyUsed = used + delta;
    long modelUsedNow = modelUsed + delta;
    long modelLeft = modelLimit == unlimited ? unlimited : Math.max(0, modelLimit - modelUsedNow);
    long left;
    if (limit == unlimited) {
      left = unlimited;
    } else if (mode == AllocationMode.LITELLM_V1 && modelLimit != unlimited) {
      // LiteLLM v1: the key's part of the model's room, capped by its own limit.
      left = Math.max(0, (long) Math.floor((modelLimit - modelUsedNow) * weight / Math.max(1, activeKeys)));
      if (keyLimit != unlimited) {
        left = Math.min(left, Math.max(0, keyLimit - keyUsed));
      }
    } else {
      // Fair: the share (already capped by the key's limit) less the key's usage.
      left = Math.max(0, limit - keyUsed);
    }
    return new Allowance(limit, left, keyUsed, newResetMillis, modelLimit, modelLeft, modelUsedNow);
  }

  /** True when this dimension is limited for the key. */
  public boolean limited() {
    return limit != ModelCapacity.UNLIMITED;
  }
}
