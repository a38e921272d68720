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

  /** True when this dimension is limited for the key. */
  public boolean limited() {
    return limit != ModelCapacity.UNLIMITED;
  }
}
