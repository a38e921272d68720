package dev.fairshare.servlet;

import dev.fairshare.admission.RetryAdvice;
import dev.fairshare.core.Allowance;
import dev.fairshare.core.Decision;
import dev.fairshare.core.UsageSnapshot;
import jakarta.servlet.http.HttpServletResponse;
import java.time.Duration;

/** Writes OpenAI's and LiteLLM v1's rate-limit headers from a {@link UsageSnapshot}. */
final class RateLimitHeaders {

  private RateLimitHeaders() {}

  /** One dimension's header names, made once (a response writes up to ten of them). */
  private record Names(String limit, String remaining, String reset, String litellm, String model) {
    static Names of(String dimension) {
      return new Names(
          "x-ratelimit-limit-" + dimension,
          "x-ratelimit-remaining-" + dimension,
          "x-ratelimit-reset-" + dimension,
          "x-ratelimit-remaining-litellm-project-" + dimension,
          "x-ratelimit-remaining-model-" + dimension);
    }
  }

  private static final Names TOKENS = Names.of("tokens");
  private static final Names REQUESTS = Names.of("requests");

  /** The headers of every limited response (admitted or not). */
  static void apply(HttpServletResponse response, UsageSnapshot usage) {
    dimension(response, TOKENS, usage.tokens());
    dimension(response, REQUESTS, usage.requests());
    response.setHeader("x-ratelimit-current-active-projects", Integer.toString(usage.activeKeys()));
  }

  /** The extra headers of a 429: how long to wait and whether the SDKs should retry. */
  static void applyRetry(
      HttpServletResponse response, Decision decision, Duration clientRetryMaxWait) {
    RetryAdvice.headers(decision.retryAfterMillis(), clientRetryMaxWait)
        .forEach(response::setHeader);
  }

  private static void dimension(HttpServletResponse response, Names names, Allowance a) {
    if (a.limited()) {
      String remaining = Long.toString(a.remaining());
      response.setHeader(names.limit(), Long.toString(a.limit()));
      response.setHeader(names.remaining(), remaining);
      response.setHeader(names.reset(), formatReset(a.resetMillis()));
      response.setHeader(names.litellm(), remaining);
    }
    if (a.modelLimit() >= 0) {
      response.setHeader(names.model(), Long.toString(a.modelRemaining()));
    }
  }

  /**
   * OpenAI's reset format: {@code 250ms}, {@code 1.5s}, {@code 59s}, {@code 1m0s}, {@code 6m30.5s}.
   */
  static String formatReset(long millis) {
    if (millis < 1000) {
      return millis + "ms";
    }
    StringBuilder out = new StringBuilder(12);
    long minutes = millis / 60_000;
    if (minutes > 0) {
      out.append(minutes).append('m');
    }
    long rest = millis % 60_000;
    out.append(rest / 1000);
    int fraction = (int) (rest % 1000);
    if (fraction > 0) {
      // Milliseconds as a decimal fraction without trailing zeros: 500 -> .5, 930 -> .93, 5 -> .005
      int digits = 3;
      while (fraction % 10 == 0) {
        fraction /= 10;
        digits--;
      }
      String f = Integer.toString(fraction);
      out.append('.');
      for (int pad = f.length(); pad < digits; pad++) {
        out.append('0');
      }
      out.append(f);
    }
    return out.append('s').toString();
  }
}
