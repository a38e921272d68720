package dev.fairshare.admission;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a refusal tells a client about retrying, the same for a rate limit and a calendar quota:
 * {@code retry-after} (whole seconds, at least 1), {@code retry-after-ms}, and {@code
 * x-should-retry: false} past {@code fairshare.client-retry-max-wait}: OpenAI's SDKs honour a
 * {@code retry-after} of up to 60 s and would otherwise sit in their retry loop.
 */
public final class RetryAdvice {

  private RetryAdvice() {}

  /** {@code millis} rounded up to whole seconds, at least 1. */
  public static long seconds(long millis) {
    return Math.max(1, (millis + 999) / 1000);
  }

  /** The three headers for a wait of {@code millis}, in the order they are written. */
  public static Map<String, String> headers(long millis, Duration clientRetryMaxWait) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("retry-after", Long.toString(seconds(millis)));
    headers.put("retry-after-ms", Long.toString(millis));
    headers.put("x-should-retry", millis > clientRetryMaxWait.toMillis() ? "false" : "true");
    return headers;
  }
}
