package dev.fairshare.core;

/**
 * LiteLLM v1's dynamic rate limiter, for compatibility: a calendar-minute window, an allowance of
 * {@code floor((C − U) × w / n)} with {@code n} the keys already admitted this minute, a refusal
 * when it is 0, and any room at all admits.
 *
 * @param bucketMillis length of a bucket (divides the minute)
 */
public record LiteLlmV1Rule(long bucketMillis) implements AllocationRule {

  @Override
  public long windowStart(long nowMillis, long bucket) {
    return Math.floorDiv(Math.floorDiv(nowMillis, 60_000L) * 60_000L, bucketMillis);
  }

  @Override
  public long resetMillis(long lastUsedBucket, long nowMillis) {
    return AllocationRule.minuteEnd(nowMillis) - nowMillis;
  }

  @Override
  public long cost(long capacity, long estimate, double weight, WindowTotals totals) {
    return Math.max(1, Math.min(estimate, capacity));
  }

  @Override
  public boolean fits(long capacity, long modelUsed, long cost) {
    return capacity - modelUsed > 0;
  }

  @Override
  public boolean mayTake(
      long capacity, long modelUsed, long keyUsed, long cost, double weight, WindowTotals totals) {
    return Math.floor((capacity - modelUsed) * weight / activeKeys(totals)) > 0;
  }

  @Override
  public boolean owedCapacity(
      long capacity, long keyUsed, long cost, double weight, WindowTotals totals) {
    return false;
  }

  @Override
  public boolean turnedAwayKeysStayActive() {
    return false;
  }

  @Override
  public long share(long capacity, double weight, WindowTotals totals) {
    return (long) Math.floor(capacity * weight / activeKeys(totals));
  }

  @Override
  public long remaining(
      long share, long capacity, long modelUsed, long keyUsed, double weight, int activeKeys) {
    return Math.max(
        0, (long) Math.floor((capacity - modelUsed) * weight / Math.max(1, activeKeys)));
  }

  /** LiteLLM's {@code n}: the keys already admitted this minute, at least 1. */
  @Override
  public int activeKeys(WindowTotals totals) {
    return Math.max(1, totals.othersCount() + (totals.requesterActive() ? 1 : 0));
  }

  @Override
  public long fixedRetryAfter(long nowMillis) {
    return AllocationRule.minuteEnd(nowMillis) - nowMillis;
  }
}
