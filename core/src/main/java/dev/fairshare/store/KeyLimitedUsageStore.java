package dev.fairshare.store;

import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Allowance;
import dev.fairshare.core.Decision;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.LimitWindow;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.Reservation;
import dev.fairshare.core.ShareGroup;
import dev.fairshare.core.UsageSnapshot;
import dev.fairshare.core.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Holds a key's own limits ({@code tpm_limit}, {@code rpm_limit}, {@code max_parallel_requests})
 * across all models, as LiteLLM documents them, and the limits it shares with its team or holds on
 * one model ({@link LimitWindow}), on top of any store.
 *
 * <p>A key with limits has a window of its own in the same store, named {@value #KEY_WINDOW} + its
 * id, whose capacity is the key's limits and whose only user is the key; a team's limit is a window
 * whose users are the team's keys, so the store's fair share splits it among them. A request is
 * admitted to each of these windows in order (its usage plus this request's cost must fit, so one
 * request cannot overshoot by more than its estimate error; a request larger than a whole limit is
 * refused outright), then to the model's window without key limits. When a later window refuses,
 * the earlier reservations are released, so a refused request counts nowhere; a settlement settles
 * all. A key without limits costs one call, as before.
 *
 * <p>The admissions are not one atomic step: a concurrent request of the same key may see the key
 * window's reservation of a request that the model then refuses (it is refused the key's limit a
 * moment early, never admitted past it).
 */
public final class KeyLimitedUsageStore extends ForwardingUsageStore {

  /** Prefix of a key's own window among the model names of the store. */
  public static final String KEY_WINDOW = "fairshare:key-limits:";

  private final long windowMillis;

  /** The limit windows' reservations of each admitted request with limits, until it settles. */
  private final Map<Reservation, List<Reservation>> limitReservations = new ConcurrentHashMap<>();

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
    List<AdmissionRequest> windows = limitWindows(request);
    for (AdmissionRequest window : windows) {
      long tokens = window.capacity().tokens();
      if (tokens != ModelCapacity.UNLIMITED && request.estimatedTokens() > tokens) {
        return tooLarge(window, nowMillis);
      }
    }
    List<Reservation> held = new ArrayList<>(windows.size());
    UsageSnapshot tightest = null;
    try {
      for (AdmissionRequest window : windows) {
        Decision byLimit = store.acquire(window, nowMillis);
        if (!byLimit.admitted()) {
          releaseAll(held, nowMillis);
          return new Decision(
              asKeyLimit(byLimit.verdict()), null, byLimit.usage(), byLimit.retryAfterMillis());
        }
        held.add(byLimit.reservation());
        tightest = tightest == null ? byLimit.usage() : tighter(tightest, byLimit.usage());
      }
      ShareGroup group = limits.group();
      AdmissionRequest toModel =
          new AdmissionRequest(
              group == null ? request.keyId() : group.id(),
              request.model(),
              request.capacity(),
              group == null ? request.weight() : group.weight(),
              request.estimatedTokens(),
              KeyLimits.NONE);
      Decision byModel = store.acquire(toModel, nowMillis);
      UsageSnapshot usage = tightest == null ? byModel.usage() : tighter(byModel.usage(), tightest);
      if (!byModel.admitted()) {
        releaseAll(held, nowMillis);
        return new Decision(byModel.verdict(), null, usage, byModel.retryAfterMillis());
      }
      if (group == null) {
        limitReservations.put(byModel.reservation(), held);
        return new Decision(Verdict.ADMITTED, byModel.reservation(), usage, 0);
      }
      held.add(byModel.reservation());
      // Inside the group: the key against the others of its group, in a window whose capacity is
      // what the other groups leave of the model now (its share, or more while they lend).
      Decision byKey = store.acquire(insideGroup(request, group, byModel.usage()), nowMillis);
      usage = tighter(usage, byKey.usage());
      if (!byKey.admitted()) {
        releaseAll(held, nowMillis);
        return new Decision(byKey.verdict(), null, usage, byKey.retryAfterMillis());
      }
      limitReservations.put(byKey.reservation(), held);
      return new Decision(Verdict.ADMITTED, byKey.reservation(), usage, 0);
    } catch (RuntimeException e) {
      releaseAll(held, nowMillis);
      throw e;
    }
  }

  private void releaseAll(List<Reservation> held, long nowMillis) {
    for (Reservation r : held) {
      store.release(r, nowMillis);
    }
    held.clear();
  }

  @Override
  public UsageSnapshot settle(Reservation reservation, long actualTokens, long nowMillis) {
    List<Reservation> held = limitReservations.remove(reservation);
    UsageSnapshot usage = store.settle(reservation, actualTokens, nowMillis);
    if (held != null) {
      for (Reservation r : held) {
        usage = tighter(usage, store.settle(r, actualTokens, nowMillis));
      }
    }
    return usage;
  }

  @Override
  public CompletionStage<Void> settleWithoutWaiting(
      Reservation reservation, long actualTokens, long nowMillis) {
    List<Reservation> held = limitReservations.remove(reservation);
    CompletionStage<Void> all = store.settleWithoutWaiting(reservation, actualTokens, nowMillis);
    if (held != null) {
      for (Reservation r : held) {
        all =
            all.thenCombine(store.settleWithoutWaiting(r, actualTokens, nowMillis), (a, b) -> null);
      }
    }
    return all;
  }

  @Override
  public CompletionStage<Void> release(Reservation reservation, long nowMillis) {
    List<Reservation> held = limitReservations.remove(reservation);
    CompletionStage<Void> all = store.release(reservation, nowMillis);
    if (held != null) {
      for (Reservation r : held) {
        all = all.thenCombine(store.release(r, nowMillis), (a, b) -> null);
      }
    }
    return all;
  }

  /**
   * A request whose estimate alone exceeds a whole limit: the store would admit it once the limit's
   * window is empty (a request is capped at the whole limit) and charge the rest as debt, so one
   * such request a window would spend many times the limit. It is refused for good; the standing
   * reported is that window's, taken with a request of no tokens that is taken back.
   */
  private Decision tooLarge(AdmissionRequest window, long nowMillis) {
    AdmissionRequest nothing =
        new AdmissionRequest(
            window.keyId(),
            window.model(),
            window.capacity(),
            window.weight(),
            0,
            window.keyLimits());
    Decision standing = store.acquire(nothing, nowMillis);
    if (!standing.admitted()) {
      return new Decision(
          asKeyLimit(standing.verdict()), null, standing.usage(), standing.retryAfterMillis());
    }
    store.release(standing.reservation(), nowMillis);
    return new Decision(Verdict.REQUEST_TOO_LARGE, null, standing.usage(), windowMillis);
  }

  /** Reservations with key limits not yet settled or released; for tests. */
  int pending() {
    return limitReservations.size();
  }

  /**
   * The windows {@code request} must fit before the model's: the key's own (its limits as the
   * capacity, the key its only user) when it has own limits, then the shared ones, each with the
   * key as a user at its weight.
   */
  static List<AdmissionRequest> limitWindows(AdmissionRequest request) {
    KeyLimits limits = request.keyLimits();
    List<AdmissionRequest> windows = new ArrayList<>(1 + limits.windows().size());
    if (limits.hasOwnLimits()) {
      windows.add(keyWindow(request));
    }
    for (LimitWindow shared : limits.windows()) {
      windows.add(
          new AdmissionRequest(
              request.keyId(),
              shared.name(),
              shared.capacity(),
              request.weight(),
              request.estimatedTokens(),
              KeyLimits.NONE));
    }
    return windows;
  }

  /** Prefix of a group's window on a model, where its keys share what the group may use. */
  public static final String GROUP_WINDOW = "fairshare:group-share:";

  /**
   * The key's request in its group's window on the model: capacity {@code C − others' usage} in
   * each dimension, from the group's standing just admitted to the model ({@code modelUsed − used}:
   * the other groups' usage, reservations included).
   */
  static AdmissionRequest insideGroup(
      AdmissionRequest request, ShareGroup group, UsageSnapshot groupStanding) {
    ModelCapacity capacity = request.capacity();
    return new AdmissionRequest(
        request.keyId(),
        GROUP_WINDOW + group.id() + ":" + request.model(),
        new ModelCapacity(
            leftByOthers(capacity.tokens(), groupStanding.tokens()),
            leftByOthers(capacity.requests(), groupStanding.requests())),
        request.weight(),
        request.estimatedTokens(),
        KeyLimits.NONE);
  }

  private static long leftByOthers(long capacity, Allowance group) {
    if (capacity == ModelCapacity.UNLIMITED) {
      return ModelCapacity.UNLIMITED;
    }
    return Math.max(0, capacity - Math.max(0, group.modelUsed() - group.used()));
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
