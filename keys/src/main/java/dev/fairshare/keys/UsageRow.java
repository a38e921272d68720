package dev.fairshare.keys;

/**
 * One key's use of one model in one hour (or, for totals, over all hours: {@code hourStartMillis}
 * 0).
 *
 * @param token the key's sha256
 * @param model the configured model
 * @param hourStartMillis the hour's start, epoch milliseconds (UTC)
 * @param inputTokens prompt tokens of the calls settled in the hour
 * @param outputTokens completion tokens of those calls
 * @param calls calls settled
 * @param refusals calls refused for rate
 */
public record UsageRow(
    String token,
    String model,
    long hourStartMillis,
    long inputTokens,
    long outputTokens,
    long calls,
    long refusals) {

  /** The start of the hour holding {@code millis}. */
  public static long hourOf(long millis) {
    return Math.floorDiv(millis, HOUR_MILLIS) * HOUR_MILLIS;
  }

  /** An hour, in milliseconds. */
  public static final long HOUR_MILLIS = 3_600_000L;
}
