package dev.fairshare.core;

/**
 * How a model's capacity is divided between the keys that use it: the allocation math, written
 * once. {@link ModelWindow} keeps the ring of usage and asks the rule whether a request fits, what
 * it costs, what a key's share and remainder are, and when its usage resets; the rate-limit
 * headers' numbers come from here too ({@link Allowance}). The Redis store mirrors the rules in Lua
 * ({@code common.lua}); the store contract keeps both equal.
 *
 * <p>A new rule (the token-bucket pool of the fairness work) is a new permitted record here, an
 * {@link AllocationMode} that names it, and the same methods in the Lua copy.
 */
public sealed interface AllocationRule permits FairRule, LiteLlmV1Rule {

  /** The rule {@code settings} name. */
  static AllocationRule of(EngineSettings settings) {
    return switch (settings.mode()) {
      case FAIR ->
          new FairRule(
              settings.bucketsPerWindow(), settings.bucketMillis(), settings.saturationThreshold());
      case LITELLM_V1 -> new LiteLlmV1Rule(settings.bucketMillis());
    };
  }

  /**
   * The first bucket that still counts at {@code nowMillis}, {@code bucket} being the current one.
   */
  long windowStart(long nowMillis, long bucket);

  /** Time until usage a key last added in {@code lastUsedBucket} has left the window. */
  long resetMillis(long lastUsedBucket, long nowMillis);

  /** What a request estimated at {@code estimate} units asks of a dimension of {@code capacity}. */
  long cost(long capacity, long estimate, double weight, WindowTotals totals);

  /** Whether the model's room in a dimension holds {@code cost} more units. */
  boolean fits(long capacity, long modelUsed, long cost);

  /** Whether the key may take {@code cost} more units of a dimension whose room {@link #fits}. */
  boolean mayTake(
      long capacity, long modelUsed, long keyUsed, long cost, double weight, WindowTotals totals);

  /**
   * Whether a request the model turned away (it did not {@link #fits fit}) was within the key's
   * share: then capacity is owed to the key, and borrowing stops while that is remembered.
   */
  boolean owedCapacity(long capacity, long keyUsed, long cost, double weight, WindowTotals totals);

  /** Whether a key the model turned away still counts as active (it wants its share). */
  boolean turnedAwayKeysStayActive();

  /** The key's share of a dimension of {@code capacity}, as the headers show it. */
  long share(long capacity, double weight, WindowTotals totals);

  /**
   * What is left to the key of a dimension, as the headers show it.
   *
   * @param share the key's share (possibly capped by its own limit)
   * @param activeKeys the keys sharing the model, as {@link #activeKeys} counts them
   */
  long remaining(
      long share, long capacity, long modelUsed, long keyUsed, double weight, int activeKeys);

  /** The keys sharing the model, the requester included, as the headers report them. */
  int activeKeys(WindowTotals totals);

  /**
   * The wait a refused request is told when the rule fixes it (LiteLLM v1: the end of the minute),
   * or -1 when the window is replayed to find it.
   */
  long fixedRetryAfter(long nowMillis);

  /**
   * The rule's verdict on the model for a request estimated at {@code estimate} tokens: each
   * limited dimension must {@link #fits fit} the model's room, then the key must be allowed to
   * {@link #mayTake take} it; tokens first, then the request itself.
   */
  default Verdict judge(ModelCapacity capacity, long estimate, double weight, WindowTotals t) {
    if (capacity.limitsTokens()) {
      long cost = cost(capacity.tokens(), estimate, weight, t);
      if (!fits(capacity.tokens(), t.modelTokens(), cost)) {
        return Verdict.MODEL_TOKENS;
      }
      if (!mayTake(capacity.tokens(), t.modelTokens(), t.keyTokens(), cost, weight, t)) {
        return Verdict.SHARE_TOKENS;
      }
    }
    if (capacity.limitsRequests()) {
      if (!fits(capacity.requests(), t.modelRequests(), 1)) {
        return Verdict.MODEL_REQUESTS;
      }
      if (!mayTake(capacity.requests(), t.modelRequests(), t.keyRequests(), 1, weight, t)) {
        return Verdict.SHARE_REQUESTS;
      }
    }
    return Verdict.ADMITTED;
  }

  /** Whether {@code verdict}, a refusal by the model, turned away a key that was owed capacity. */
  default boolean owedCapacity(
      Verdict verdict, ModelCapacity capacity, long estimate, double weight, WindowTotals t) {
    if (verdict == Verdict.MODEL_TOKENS) {
      long cost = cost(capacity.tokens(), estimate, weight, t);
      return owedCapacity(capacity.tokens(), t.keyTokens(), cost, weight, t);
    }
    if (verdict == Verdict.MODEL_REQUESTS) {
      return owedCapacity(capacity.requests(), t.keyRequests(), 1, weight, t);
    }
    return false;
  }

  /** The end of the calendar minute holding {@code nowMillis}. */
  static long minuteEnd(long nowMillis) {
    return (Math.floorDiv(nowMillis, 60_000L) + 1) * 60_000L;
  }
}
