package dev.fairshare.servlet;

import dev.fairshare.config.FairShareConfig;
import dev.fairshare.core.Allowance;
import dev.fairshare.core.Decision;
import dev.fairshare.core.Dimension;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.openai.ApiError;

/**
 * The 429 body: OpenAI's shape ({@code code = rate_limit_exceeded}, {@code type} = the dimension
 * that tripped) with a message naming the key (alias or masked name, never the raw key), the model,
 * the share, the usage, the active keys and the wait.
 */
final class RateLimitMessages {

  private RateLimitMessages() {}

  /**
   * @param requested the tokens the request was estimated at (named when it is too large)
   */
  static ApiError of(
      Decision decision, ApiKey key, String model, long requested, FairShareConfig config) {
    Dimension dimension = decision.verdict().dimension();
    boolean tokens = dimension == Dimension.TOKENS;
    Allowance a = tokens ? decision.usage().tokens() : decision.usage().requests();
    String unit = unitName(dimension, config.engine().effectiveWindowMillis());
    String wait =
        " Please try again in " + RateLimitHeaders.formatReset(decision.retryAfterMillis()) + ".";
    String who = "key '" + key.displayName() + "'";
    String message =
        switch (decision.verdict()) {
          case KEY_PARALLEL_LIMIT ->
              "Rate limit reached for "
                  + who
                  + ": it already has "
                  + key.maxParallelRequests()
                  + " request(s) in flight, its max_parallel_requests."
                  + " Please retry when one completes.";
          case KEY_REQUEST_LIMIT, KEY_TOKEN_LIMIT ->
              "Rate limit reached for "
                  + who
                  + " on its own "
                  + unit
                  + " limit: Limit "
                  + (tokens ? key.tpmLimit() : key.rpmLimit())
                  + ", Used "
                  + a.used()
                  + "."
                  + wait;
          case MODEL_TOKENS, MODEL_REQUESTS ->
              "Rate limit reached for "
                  + model
                  + " on "
                  + unit
                  + ": the model's capacity is used up (Limit "
                  + a.modelLimit()
                  + ", Used "
                  + a.modelUsed()
                  + ", Active keys "
                  + decision.usage().activeKeys()
                  + "); "
                  + who
                  + " has a fair share of "
                  + a.limit()
                  + " and used "
                  + a.used()
                  + "."
                  + wait;
          case SHARE_TOKENS, SHARE_REQUESTS ->
              "Rate limit reached for "
                  + model
                  + " on "
                  + unit
                  + ": "
                  + who
                  + " used its fair share (Share "
                  + a.limit()
                  + " of "
                  + a.modelLimit()
                  + " across "
                  + decision.usage().activeKeys()
                  + " active keys, Used "
                  + a.used()
                  + "; model used "
                  + a.modelUsed()
                  + ")."
                  + wait;
          case REQUEST_TOO_LARGE ->
              "Request too large for "
                  + who
                  + " on its own "
                  + unit
                  + " limit: Limit "
                  + key.tpmLimit()
                  + ", Requested "
                  + requested
                  + ". The input or the output cap (max_tokens, max_completion_tokens or"
                  + " max_output_tokens) must be reduced for the request to run; waiting will"
                  + " not help.";
          case ADMITTED ->
              throw new IllegalArgumentException("an admitted request is not an error");
        };
    return new ApiError(429, message, dimension.wireName(), null, "rate_limit_exceeded");
  }

  private static String unitName(Dimension dimension, long windowMillis) {
    String what = dimension == Dimension.TOKENS ? "tokens" : "requests";
    if (windowMillis == 60_000) {
      return what + " per min (" + (dimension == Dimension.TOKENS ? "TPM" : "RPM") + ")";
    }
    return what + " per " + RateLimitHeaders.formatReset(windowMillis) + " window";
  }
}
