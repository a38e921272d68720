package dev.fairshare.core;

/**
 * A key's standing on a model at one instant: what the rate-limit headers report.
 *
 * @param tokens the token dimension
 * @param requests the request dimension
 * @param activeKeys keys sharing the model (the requester included)
 */
public record UsageSnapshot(Allowance tokens, Allowance requests, int activeKeys) {

  /**
   * The standing {@code rule} gives {@code request}'s key over a window with sums {@code t}.
   *
   * @param tokensResetMillis time until the key's token usage has left the window
   * @param requestsResetMillis time until the key's requests have left the window
   */
  static UsageSnapshot of(
      AllocationRule rule,
      AdmissionRequest request,
      WindowTotals t,
      long tokensResetMillis,
      long requestsResetMillis) {
    ModelCapacity capacity = request.capacity();
    KeyLimits limits = request.keyLimits();
    double weight = request.weight();
    int active = rule.activeKeys(t);
    Allowance tokens =
        Allowance.of(
            rule,
            capacity.tokens(),
            limits.tokensPerWindow(),
            t.modelTokens(),
            t.keyTokens(),
            rule.share(capacity.tokens(), weight, t),
            weight,
            active,
            tokensResetMillis);
    Allowance requests =
        Allowance.of(
            rule,
            capacity.requests(),
            limits.requestsPerWindow(),
            t.modelRequests(),
            t.keyRequests(),
            rule.share(capacity.requests(), weight, t),
            weight,
            active,
            requestsResetMillis);
    return new UsageSnapshot(tokens, requests, active);
  }

  /**
   * This snapshot, taken when {@code reservation} was admitted, as it stands once the reservation
   * is settled with {@code actualTokens} at {@code nowMillis}: the same numbers {@link
   * ModelWindow#settle} returns when nothing else happened in between. What this call cannot see is
   * what others did meanwhile (their admissions, usage that left the window); for a header that is
   * the right trade against another round trip to a shared store.
   *
   * <p>One case is approximate: a call settled with 0 tokens may have emptied the key's latest
   * bucket, which would move its token reset earlier; the reset of the admission is kept.
   */
  public UsageSnapshot afterSettling(
      Reservation reservation, long actualTokens, long nowMillis, EngineSettings settings) {
    AdmissionRequest request = reservation.request();
    long delta = actualTokens - reservation.tokens();
    AllocationRule rule = settings.rule();
    long bucket = Math.floorDiv(nowMillis, settings.bucketMillis());
    long tokensReset;
    if (delta > 0) {
      tokensReset = rule.resetMillis(bucket, nowMillis); // debt is charged in the current bucket
    } else if (actualTokens > 0) {
      tokensReset = rule.resetMillis(reservation.bucket(), nowMillis);
    } else {
      tokensReset = tokens.resetMillis();
    }
    return new UsageSnapshot(
        tokens.charged(
            delta,
            request.keyLimits().tokensPerWindow(),
            request.weight(),
            activeKeys,
            rule,
            tokensReset),
        requests.charged(
            0,
            request.keyLimits().requestsPerWindow(),
            request.weight(),
            activeKeys,
            rule,
            rule.resetMillis(reservation.bucket(), nowMillis)),
        activeKeys);
  }
}
