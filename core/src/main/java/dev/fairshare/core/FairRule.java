package dev.fairshare.core;

/**
 * The fair rule: a sliding window in which each active key gets {@code C × w / Σw}. A request costs
 * {@code min(estimate, the key's share)} and is admitted only if that cost fits in the model's
 * room, so the budget is exceeded by estimate errors alone (docs/FAIRNESS.md). A key may borrow
 * past its share while the model stays within the saturation threshold and no key within its share
 * was turned away in the window.
 *
 * @param slots buckets per window
 * @param bucketMillis length of a bucket
 * @param saturationThreshold the fraction of capacity above which nobody borrows
 */
public record FairRule(int slots, long bucketMillis, double saturationThreshold)
    implements AllocationRule {

  private static final double SHARE_EPSILON = 1e-9;

  @Override
  public long windowStart(long nowMillis, long bucket) {
    return bucket - slots + 1;
  }

  @Override
  public long resetMillis(long lastUsedBucket, long nowMillis) {
    return Math.max(0, (lastUsedBucket + slots) * bucketMillis - nowMillis);
  }

  /**
   * The estimate, but never more than the key's whole share: a request larger than that is admitted
   * once the share is free, and its overshoot is settled as debt.
   */
  @Override
  public long cost(long capacity, long estimate, double weight, WindowTotals totals) {
    long cap = Math.max(1, (long) Math.floor(exactShare(capacity, weight, totals) + SHARE_EPSILON));
    return Math.max(1, Math.min(estimate, cap));
  }

  @Override
  public boolean fits(long capacity, long modelUsed, long cost) {
    return capacity - modelUsed >= cost;
  }

  /**
   * While the request ends inside the share; past it (borrowing) only while the model stays within
   * the saturation threshold with this request and no capacity is owed.
   */
  @Override
  public boolean mayTake(
      long capacity, long modelUsed, long keyUsed, long cost, double weight, WindowTotals totals) {
    if (withinShare(capacity, keyUsed, cost, weight, totals)) {
      return true;
    }
    return !totals.starved() && modelUsed + cost <= saturationThreshold * capacity;
  }

  @Override
  public boolean owedCapacity(
      long capacity, long keyUsed, long cost, double weight, WindowTotals totals) {
    return withinShare(capacity, keyUsed, cost, weight, totals);
  }

  @Override
  public boolean turnedAwayKeysStayActive() {
    return true;
  }

  @Override
  public long share(long capacity, double weight, WindowTotals totals) {
    return (long) Math.floor(exactShare(capacity, weight, totals) + SHARE_EPSILON);
  }

  @Override
  public long remaining(
      long share, long capacity, long modelUsed, long keyUsed, double weight, int activeKeys) {
    return Math.max(0, share - keyUsed);
  }

  @Override
  public int activeKeys(WindowTotals totals) {
    return totals.othersCount() + 1;
  }

  @Override
  public long fixedRetryAfter(long nowMillis) {
    return -1;
  }

  private static double exactShare(long capacity, double weight, WindowTotals totals) {
    return capacity * weight / (totals.othersWeight() + weight);
  }

  /**
   * Whether a request of {@code cost} units ends inside the key's share (its last unit starts in
   * it).
   */
  private static boolean withinShare(
      long capacity, long keyUsed, long cost, double weight, WindowTotals totals) {
    return exactShare(capacity, weight, totals) - (keyUsed + cost - 1) > SHARE_EPSILON;
  }
}
