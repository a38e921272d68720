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
   * This snapshot, taken when {@code reservation} was admitted, as it stands once the reservation
   * is settled with {@code actualTokens} at {@code nowMillis}: the same numbers {@link
   * ModelWindow#settle} returns when nothing else happened in between. What this call cannot see
   * is what others did meanwhile (their admissions, usage that left the window); for a header
   * that is the right trade against another round trip to a shared store.
   *
   * <p>One case is approximate: a call settled with 0 tokens may have emptied the key's latest
   * bucket, which would move its token reset earlier; the reset of the admission is kept.
   */
  public UsageSnapshot afterSettling(
      Reservation reservation, long actualTokens, long nowMillis, EngineSettings settings) {
    AdmissionRequest request = reservation.request();
    long delta = actualTokens - reservation.tokens();
    long bucket = Math.floorDiv(nowMillis, settings.bucketMillis());
    long tokensReset;
    if (delta > 0) {
      tokensReset = reset(bucket, nowMillis, settings); // debt is charged in the current bucket
    } else if (actualTokens > 0) {
      tokensReset = reset(reservation.bucket(), nowMillis, settings);
    } else {
      tokensReset = tokens.resetMillis();
    }
    return new UsageSnapshot(
        tokens.charged(delta, request.keyLimits().tokensPerWindow(), request.weight(), activeKeys, settings.mode(), tokensReset),
        requests.charged(0, request.keyLimits().requestsPerWindow(), request.weight(), activeKeys, settings.mode(),
            reset(reservation.bucket(), nowMillis, settings)),
        activeKeys);
  }

  /** {@link ModelWindow}'s reset for a key whose latest usage is in {@code lastBucket}. */
  private static long reset(long lastBucket, long nowMillis, EngineSettings settings) {
    if (settings.mode() == AllocationMode.LITELLM_V1) {
      return (Math.floorDiv(nowMillis, 60_000L) + 1) * 60_000L - nowMillis;
    }
    return Math.max(0, (lastBucket + settings.bucketsPerWindow()) * settings.bucketMillis() - nowMillis);
  }
}
