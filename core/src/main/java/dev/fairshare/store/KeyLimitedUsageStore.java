package dev.fairshare.store;

import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Allowance;
import dev.fairshare.core.Decision;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.Reservation;
import dev.fairshare.core.UsageSnapshot;
import dev.fairshare.core.Verdict;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Holds a key's own limits ({@code tpm_limit}, {@code rpm_limit}, {@code max_parallel_requests})
 * across all models, as LiteLLM documents them, on top of any store.
 *
 * <p>A key with limits has a window of its own in the same store, named {@value #KEY_WINDOW} + its
 * id, whose capacity is the key's limits and whose only user is the key: a request is admitted
 * there first (the key's usage plus this request's cost must fit, so one request cannot overshoot
 * by more than its estimate error; a request larger than the whole {@code tpm_limit} is refused
 * outright), then to the model's window without key limits. When the model refuses, the key's
 * reservation is released, so a refused request counts nowhere; a settlement settles both. A key
 * without limits costs one call, as before.
 *
 * <p>The two admissions are not one atomic step: a concurrent request of the same key may see the
 * key window's reservation of a request that the model then refuses (it is refused the key's limit
 * a moment early, never admitted past it).
 */
public final class KeyLimitedUsageStore extends ForwardingUsageStore {

  /** Prefix of a key's own window among the model names of the store. */
  public static final String KEY_WINDOW = "fairshare:key-limits:";

  private final long windowMillis;

  /** The key window's reservation of each admitted request with key limits, until it settles. */
  private final Map<Reservation, Reservation> keyReservations = new ConcurrentHashMap<>();

  /**
   * Limits keys on {@code store}; closing this closes it.
   *
   * @param windowMillis the window, the wait suggested to a request too large for its key
   */
  public KeyLimitedUsageStore(UsageStore store, long windowMillis) {
    super(store);
    this.windowMillis = windowMillis;
  }

  @Override
  public Decision acquire(AdmissionRequest request, long nowMillis) {
    KeyLimits limits = request.keyLimits();
    if (limits.equals(KeyLimits.NONE)) {
      return store.acquire(request, nowMillis);
    }
    if (limits.tokensPerWindow() != ModelCapacity.UNLIMITED
        && request.estimatedTokens() > limits.tokensPerWindow()) {
      return tooLarge(request, nowMillis);
    }
    Decision byKey = store.acquire(keyWindow(request), nowMillis);
    if (!byKey.admitted()) {
      return new Decision(
          asKeyLimit(byKey.verdict()), null, byKey.usage(), byKey.retryAfterMillis());
    }
    AdmissionRequest toModel =
        new AdmissionRequest(
            request.keyId(),
            request.model(),
            request.capacity(),
            request.weight(),
            request.estimatedTokens(),
            KeyLimits.NONE);
    Decision byModel;
    try {
      byModel = store.acquire(toModel, nowMillis);
    } catch (RuntimeException e) {
      store.release(byKey.reservation(), nowMillis);
      throw e;
    }
    UsageSnapshot usage = tighter(byModel.usage(), byKey.usage());
    if (!byModel.admitted()) {
      store.release(byKey.reservation(), nowMillis);
      return new Decision(byModel.verdict(), null, usage, byModel.retryAfterMillis());
    }
    keyReservations.put(byModel.reservation(), byKey.reservation());
    return new Decision(Verdict.ADMITTED, byModel.reservation(), usage, 0);
  }

  @Override
  public UsageSnapshot settle(Reservation reservation, long actualTokens, long nowMillis) {
    Reservation byKey = keyReservations.remove(reservation);
    UsageSnapshot model = store.settle(reservation, actualTokens, nowMillis);
    if (byKey == null) {
      return model;
    }
    return tighter(model, store.settle(byKey, actualTokens, nowMillis));
  }

  @Override
  public CompletionStage<Void> settleWithoutWaiting(
      Reservation reservation, long actualTokens, long nowMillis) {
    Reservation byKey = keyReservations.remove(reservation);
    CompletionStage<Void> model = store.settleWithoutWaiting(reservation, actualTokens, nowMillis);
    if (byKey == null) {
      return model;
    }
    return model.thenCombine(
        store.settleWithoutWaiting(byKey, actualTokens, nowMillis), (a, b) -> null);
  }

  @Override
  public CompletionStage<Void> release(Reservation reservation, long nowMillis) {
    Reservation byKey = keyReservations.remove(reservation);
    CompletionStage<Void> model = store.release(reservation, nowMillis);
    if (byKey == null) {
      return model;
    }
    return model.thenCombine(store.release(byKey, nowMillis), (a, b) -> null);
  }

  /**
   * A request whose estimate alone exceeds the key's {@code tpm_limit}: the store would admit it
   * once the key's window is empty (a request is capped at the whole limit) and charge the rest as
   * debt, so one such request a window would spend many times the limit. It is refused for good;
   * the standing reported is the key's, taken with a request of no tokens that is taken back.
   */
  private Decision tooLarge(AdmissionRequest request, long nowMillis) {
    AdmissionRequest nothing =
        new AdmissionRequest(
            request.keyId(),
            request.model(),
            request.capacity(),
            request.weight(),
            0,
            request.keyLimits());
    Decision standing = store.acquire(keyWindow(nothing), nowMillis);
    if (!standing.admitted()) {
      return new Decision(
          asKeyLimit(standing.verdict()), null, standing.usage(), standing.retryAfterMillis());
    }
    store.release(standing.reservation(), nowMillis);
    return new Decision(Verdict.REQUEST_TOO_LARGE, null, standing.usage(), windowMillis);
  }

  /** Reservations with key limits not yet settled or released; for tests. */
  int pending() {
    return keyReservations.size();
  }

  /** The key's own window: its limits as the capacity, the key its only user. */
  static AdmissionRequest keyWindow(AdmissionRequest request) {
    KeyLimits limits = request.keyLimits();
    return new AdmissionRequest(
        request.keyId(),
        KEY_WINDOW + request.keyId(),
        new ModelCapacity(limits.tokensPerWindow(), limits.requestsPerWindow()),
        1.0,
        request.estimatedTokens(),
        new KeyLimits(
            ModelCapacity.UNLIMITED, ModelCapacity.UNLIMITED, limits.maxParallelRequests()));
  }

  private static Verdict asKeyLimit(Verdict verdict) {
    return switch (verdict) {
      case MODEL_TOKENS, SHARE_TOKENS, KEY_TOKEN_LIMIT -> Verdict.KEY_TOKEN_LIMIT;
      case MODEL_REQUESTS, SHARE_REQUESTS, KEY_REQUEST_LIMIT -> Verdict.KEY_REQUEST_LIMIT;
      case KEY_PARALLEL_LIMIT -> Verdict.KEY_PARALLEL_LIMIT;
      case REQUEST_TOO_LARGE -> Verdict.REQUEST_TOO_LARGE;
      case ADMITTED -> throw new IllegalArgumentException("not a refusal");
    };
  }

  /** Per dimension, the standing with less left: what the headers should report. */
  static UsageSnapshot tighter(UsageSnapshot model, UsageSnapshot key) {
    return new UsageSnapshot(
        tighter(model.tokens(), key.tokens()),
        tighter(model.requests(), key.requests()),
        model.activeKeys());
  }

  private static Allowance tighter(Allowance model, Allowance key) {
    if (!key.limited()) {
      return model;
    }
    if (!model.limited() || key.remaining() < model.remaining()) {
      return new Allowance(
          key.limit(),
          key.remaining(),
          key.used(),
          key.resetMillis(),
          model.modelLimit(),
          model.modelRemaining(),
          model.modelUsed());
    }
    return model;
  }
}
