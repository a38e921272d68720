package dev.fairshare.core;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * The usage of one model over the sliding window, and the allocation rule applied to it. This is
 * the engine's math, written once; stores supply the atomicity around it (the Redis store mirrors
 * it in Lua).
 *
 * <p>Usage lives in a ring of {@code N = window / bucket} slots. In-flight reservations are
 * counted in the slot of their admission, so {@code U + R} of DESIGN.md is a plain sum over the
 * ring; settlement replaces a reservation by the real usage: a refund goes back to the admission
 * slot (if it is still in the window), debt is charged in the current slot.
 *
 * <p>A key is active while its latest admission (or, in fair mode, its latest rejection for want
 * of model capacity: it still wants its share) is in the window. Each slot also holds the total
 * weight and the number of keys whose latest activity fell in it, so {@code Σw} over the active
 * keys is a sum over the ring as well, with no per-key scan.
 *
 * <p>Fair mode admits a request only if its cost, {@code min(estimate, the key's share)}, fits in
 * the model's room: the budget is exceeded by estimate errors alone (see docs/FAIRNESS.md).
 *
 * <p>Not thread-safe: callers serialise access (one lock per model in the memory store).
 */
public final class ModelWindow {

  private static final double SHARE_EPSILON = 1e-9;

  private final EngineSettings settings;
  private final int slots;
  private final long bucketMillis;

  private final long[] slotBucket;
  private final long[] slotTokens;
  private final long[] slotRequests;
  private final double[] slotActiveWeight;
  private final int[] slotActiveKeys;
  /**
   * Rejections, per bucket, of keys within their share for want of model capacity: owed demand.
   * While any is in the window, no key borrows.
   */
  private final int[] slotStarved;

  private final Map<String, KeyUsage> keys = new HashMap<>();
  private long lastSweepBucket = KeyUsage.NEVER;
  private int inFlight;
  private long reservations;

  public ModelWindow(EngineSettings settings) {
    this.settings = settings;
    this.slots = settings.bucketsPerWindow();
    this.bucketMillis = settings.bucketMillis();
    this.slotBucket = new long[slots];
    this.slotTokens = new long[slots];
    this.slotRequests = new long[slots];
    this.slotActiveWeight = new double[slots];
    this.slotActiveKeys = new int[slots];
    this.slotStarved = new int[slots];
    java.util.Arrays.fill(slotBucket, KeyUsage.NEVER);
  }

  /**
   * Decides whether {@code request} is admitted at {@code nowMillis} and, if so, reserves its
   * request and {@code min(estimate, model room)} tokens.
   */
  public Decision decide(AdmissionRequest request, long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    long start = windowStart(nowMillis, bucket);
    sweepIfDue(bucket, start);

    KeyUsage key = keys.get(request.keyId());
    if (key != null) {
      key.prune(start);
    }
    Totals totals = totals(key, start);
    Verdict verdict = evaluate(request, totals, key == null ? 0 : key.inFlight);
    if (!verdict.admitted()) {
      if (starvedBy(verdict, request, totals)) {
        slotStarved[slotFor(bucket)]++;
      }
      long retryAfter = retryAfter(request, key, totals, verdict, nowMillis, bucket, start);
      UsageSnapshot standing = snapshot(request, key, totals, nowMillis);
      if (settings.mode() == AllocationMode.FAIR && !verdict.isKeyLimit()) {
        // A key turned away by the model still wants its share: it counts as active from now on,
        // so the others' shares shrink at once instead of after its first admission (without
        // this, a key that arrives while the window is full is never admitted: its share is
        // never reserved for it).
        if (key == null) {
          key = new KeyUsage();
          keys.put(request.keyId(), key);
        }
        markActive(key, bucket, request.weight());
      }
      return new Decision(verdict, null, standing, retryAfter);
    }

    long reserved = reservation(request, totals);
    if (key == null) {
      key = new KeyUsage();
      keys.put(request.keyId(), key);
    }
    int slot = slotFor(bucket);
    slotTokens[slot] += reserved;
    slotRequests[slot] += 1;
    key.add(bucket, reserved, 1);
    markActive(key, bucket, request.weight());
    key.inFlight++;
    inFlight++;
    Reservation reservation = new Reservation(request, bucket, reserved, ++reservations);
    // The sums after this admission follow from those before it (no second pass over the ring):
    // the requester's own weight is never among the "others", whatever bucket it now sits in.
    Totals after =
        new Totals(
            totals.modelTokens + reserved,
            totals.modelRequests + 1,
            totals.keyTokens + reserved,
            totals.keyRequests + 1,
            totals.othersWeight,
            totals.othersCount,
            true,
            totals.starved);
    return new Decision(Verdict.ADMITTED, reservation, snapshot(request, key, after, nowMillis), 0);
  }

  /**
   * Replaces {@code reservation} by the {@code actualTokens} the request really used. Usage above
   * the reservation is charged anyway (debt); a failed call settles with 0 tokens and keeps its
   * request. Returns the key's standing afterwards.
   */
  public UsageSnapshot settle(Reservation reservation, long actualTokens, long nowMillis) {
    if (actualTokens < 0) {
      throw new IllegalArgumentException("actualTokens must be >= 0, was " + actualTokens);
    }
    AdmissionRequest request = reservation.request();
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    long start = windowStart(nowMillis, bucket);
    KeyUsage key = keys.get(request.keyId());
    long delta = actualTokens - reservation.tokens();
    if (delta < 0) {
      // Refund into the admission slot, which holds at least the reserved tokens; once that slot
      // has left the window the reservation no longer counts and there is nothing to refund.
      long admitted = reservation.bucket();
      if (admitted >= start) {
        int slot = Math.floorMod(admitted, slots);
        if (slotBucket[slot] == admitted) {
          slotTokens[slot] += delta;
        }
        if (key != null) {
          key.add(admitted, delta, 0);
        }
      }
    } else if (delta > 0) {
      slotTokens[slotFor(bucket)] += delta;
      if (key != null) {
        key.add(bucket, delta, 0);
      }
    }
    if (key != null && key.inFlight > 0) {
      key.inFlight--;
      inFlight--;
    }
    if (key != null) {
      key.prune(start);
    }
    return snapshot(request, key, totals(key, start), nowMillis);
  }

  /**
   * Takes back {@code reservation} as if it had never been admitted: its tokens and its request
   * leave the admission slot (while it is in the window) and its in-flight place is freed. For a
   * request admitted here but refused at another level (the key's own limits, or the model after
   * the key): it did not happen, so it must not count. The key stays active.
   */
  public void release(Reservation reservation, long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    long start = windowStart(nowMillis, bucket);
    KeyUsage key = keys.get(reservation.request().keyId());
    long admitted = reservation.bucket();
    if (admitted >= start) {
      int slot = Math.floorMod(admitted, slots);
      if (slotBucket[slot] == admitted) {
        slotTokens[slot] -= reservation.tokens();
        slotRequests[slot] -= 1;
      }
      if (key != null) {
        key.add(admitted, -reservation.tokens(), -1);
      }
    }
    if (key != null && key.inFlight > 0) {
      key.inFlight--;
      inFlight--;
    }
  }

  /** The standing {@code request}'s key would see now, without admitting anything. */
  public UsageSnapshot peek(AdmissionRequest request, long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    long start = windowStart(nowMillis, bucket);
    KeyUsage key = keys.get(request.keyId());
    if (key != null) {
      key.prune(start);
    }
    return snapshot(request, key, totals(key, start), nowMillis);
  }

  /** Tokens counted for the model in the window at {@code nowMillis}, reservations included. */
  public long tokensInWindow(long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    return totals(null, windowStart(nowMillis, bucket)).modelTokens;
  }

  /** Requests counted for the model in the window at {@code nowMillis}. */
  public long requestsInWindow(long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    return totals(null, windowStart(nowMillis, bucket)).modelRequests;
  }

  /** Requests admitted and not yet settled or released. */
  public int inFlight() {
    return inFlight;
  }

  /** Keys with state held (active, in flight, or with usage not yet pruned). */
  public int trackedKeys() {
    return keys.size();
  }

  /** True when nothing is held: the window may be dropped. */
  public boolean isIdle(long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    sweepIfDue(bucket, windowStart(nowMillis, bucket));
    return keys.isEmpty() && inFlight == 0;
  }

  /** Forces the removal of idle keys (normally done once per window). */
  public void sweep(long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    lastSweepBucket = KeyUsage.NEVER;
    sweepIfDue(bucket, windowStart(nowMillis, bucket));
  }

  // ---------------------------------------------------------------- the rule

  /** The sums the rule looks at; "others" excludes the requester. */
  private record Totals(
      long modelTokens,
      long modelRequests,
      long keyTokens,
      long keyRequests,
      double othersWeight,
      int othersCount,
      boolean requesterActive,
      boolean starved) {}

  private Verdict evaluate(AdmissionRequest request, Totals t, int keyInFlight) {
    KeyLimits limits = request.keyLimits();
    if (limits.maxParallelRequests() != ModelCapacity.UNLIMITED
        && keyInFlight >= limits.maxParallelRequests()) {
      return Verdict.KEY_PARALLEL_LIMIT;
    }
    if (limits.requestsPerWindow() != ModelCapacity.UNLIMITED
        && t.keyRequests >= limits.requestsPerWindow()) {
      return Verdict.KEY_REQUEST_LIMIT;
    }
    if (limits.tokensPerWindow() != ModelCapacity.UNLIMITED
        && t.keyTokens >= limits.tokensPerWindow()) {
      return Verdict.KEY_TOKEN_LIMIT;
    }
    ModelCapacity capacity = request.capacity();
    if (capacity.limitsTokens()) {
      long cost = cost(capacity.tokens(), request.estimatedTokens(), request.weight(), t);
      if (!modelFits(capacity.tokens(), t.modelTokens, cost)) {
        return Verdict.MODEL_TOKENS;
      }
      if (!mayTake(capacity.tokens(), t.modelTokens, t.keyTokens, cost, request.weight(), t)) {
        return Verdict.SHARE_TOKENS;
      }
    }
    if (capacity.limitsRequests()) {
      if (!modelFits(capacity.requests(), t.modelRequests, 1)) {
        return Verdict.MODEL_REQUESTS;
      }
      if (!mayTake(capacity.requests(), t.modelRequests, t.keyRequests, 1, request.weight(), t)) {
        return Verdict.SHARE_REQUESTS;
      }
    }
    return Verdict.ADMITTED;
  }

  /**
   * Whether the key may take {@code cost} more of a dimension whose model room is known to hold
   * it. Fair: while the request ends inside its share {@code C × w / Σw}; past it (borrowing) only
   * while the model stays within the saturation threshold with this request, and no key within
   * its share was turned away in the last window (that capacity is owed to it). LiteLLM v1: while
   * {@code floor((C − U) × w / n) > 0}.
   */
  private boolean mayTake(long capacity, long modelUsed, long keyUsed, long cost, double weight, Totals t) {
    if (settings.mode() == AllocationMode.LITELLM_V1) {
      return Math.floor((capacity - modelUsed) * weight / v1KeyCount(t)) > 0;
    }
    if (withinShare(capacity, keyUsed, cost, weight, t)) {
      return true;
    }
    return !t.starved && modelUsed + cost <= settings.saturationThreshold() * capacity;
  }

  private static double share(long capacity, double weight, Totals t) {
    return capacity * weight / (t.othersWeight + weight);
  }

  /** Whether a request of {@code cost} units ends inside the key's share (its last unit starts in it). */
  private static boolean withinShare(long capacity, long keyUsed, long cost, double weight, Totals t) {
    return share(capacity, weight, t) - (keyUsed + cost - 1) > SHARE_EPSILON;
  }

  /**
   * Fair: the request's cost fits in the model's room, so the budget is exceeded only by estimate
   * errors. LiteLLM v1: any room at all.
   */
  private boolean modelFits(long capacity, long modelUsed, long cost) {
    if (settings.mode() == AllocationMode.LITELLM_V1) {
      return capacity - modelUsed > 0;
    }
    return capacity - modelUsed >= cost;
  }

  /**
   * What a request asks of a dimension: its estimate, but never more than the key's whole share
   * (or the capacity): a request larger than that is admitted once the share is free, and its
   * overshoot is settled as debt.
   */
  private long cost(long capacity, long estimate, double weight, Totals t) {
    long cap = capacity;
    if (settings.mode() == AllocationMode.FAIR) {
      cap = Math.max(1, (long) Math.floor(share(capacity, weight, t) + SHARE_EPSILON));
    }
    return Math.max(1, Math.min(estimate, cap));
  }

  /** A rejection for want of model capacity while the request was within the key's share. */
  private boolean starvedBy(Verdict verdict, AdmissionRequest request, Totals t) {
    if (settings.mode() != AllocationMode.FAIR) {
      return false;
    }
    if (verdict == Verdict.MODEL_TOKENS) {
      long capacity = request.capacity().tokens();
      long cost = cost(capacity, request.estimatedTokens(), request.weight(), t);
      return withinShare(capacity, t.keyTokens, cost, request.weight(), t);
    }
    if (verdict == Verdict.MODEL_REQUESTS) {
      return withinShare(request.capacity().requests(), t.keyRequests, 1, request.weight(), t);
    }
    return false;
  }

  /** LiteLLM's {@code n}: the keys already admitted this minute, at least 1. */
  private static int v1KeyCount(Totals t) {
    return Math.max(1, t.othersCount + (t.requesterActive ? 1 : 0));
  }

  /** Tokens to reserve: the estimate, capped by what the model and the key's own limit have left. */
  private static long reservation(AdmissionRequest request, Totals t) {
    long reserved = request.estimatedTokens();
    if (request.capacity().limitsTokens()) {
      reserved = Math.min(reserved, request.capacity().tokens() - t.modelTokens);
    }
    long keyLimit = request.keyLimits().tokensPerWindow();
    if (keyLimit != ModelCapacity.UNLIMITED) {
      reserved = Math.min(reserved, keyLimit - t.keyTokens);
    }
    return Math.max(0, reserved);
  }

  /**
   * Time until the same request would be admitted with no other traffic: replays the window's
   * buckets leaving it, oldest first, and re-applies the rule after each.
   */
  private long retryAfter(
      AdmissionRequest request,
      KeyUsage key,
      Totals t,
      Verdict verdict,
      long nowMillis,
      long bucket,
      long start) {
    if (verdict == Verdict.KEY_PARALLEL_LIMIT) {
      // Freed by a completion, not by time: suggest a short wait.
      return bucketMillis;
    }
    if (settings.mode() == AllocationMode.LITELLM_V1) {
      return minuteEnd(nowMillis) - nowMillis;
    }
    long modelTokens = t.modelTokens;
    long modelRequests = t.modelRequests;
    long keyTokens = t.keyTokens;
    long keyRequests = t.keyRequests;
    double othersWeight = t.othersWeight;
    int othersCount = t.othersCount;
    boolean requesterActive = t.requesterActive;
    int keyEntry = 0;
    int keyInFlight = key == null ? 0 : key.inFlight;
    for (long leaving = start; leaving <= bucket; leaving++) {
      int slot = Math.floorMod(leaving, slots);
      if (slotBucket[slot] == leaving) {
        modelTokens -= slotTokens[slot];
        modelRequests -= slotRequests[slot];
        othersWeight -= slotActiveWeight[slot];
        othersCount -= slotActiveKeys[slot];
      }
      if (key != null) {
        while (keyEntry < key.size() && key.bucketAt(keyEntry) <= leaving) {
          if (key.bucketAt(keyEntry) >= start) {
            keyTokens -= key.tokensAt(keyEntry);
            keyRequests -= key.requestsAt(keyEntry);
          }
          keyEntry++;
        }
        if (requesterActive && key.lastActiveBucket == leaving) {
          // The slot sums just lost the requester's own weight, which "others" never held.
          requesterActive = false;
          othersWeight += key.weight;
          othersCount += 1;
        }
      }
      Totals later =
          new Totals(
              modelTokens,
              modelRequests,
              keyTokens,
              keyRequests,
              Math.max(0.0, othersWeight),
              othersCount,
              requesterActive,
              false);
      if (evaluate(request, later, keyInFlight).admitted()) {
        return (leaving + slots) * bucketMillis - nowMillis;
      }
    }
    return settings.effectiveWindowMillis();
  }

  // ---------------------------------------------------------------- headers

  private UsageSnapshot snapshot(
      AdmissionRequest request, KeyUsage key, Totals t, long nowMillis) {
    ModelCapacity capacity = request.capacity();
    KeyLimits limits = request.keyLimits();
    Allowance tokens =
        allowance(
            capacity.tokens(),
            limits.tokensPerWindow(),
            t.modelTokens,
            t.keyTokens,
            request.weight(),
            t,
            resetMillis(key == null ? KeyUsage.NEVER : key.lastTokenBucket(), nowMillis));
    Allowance requests =
        allowance(
            capacity.requests(),
            limits.requestsPerWindow(),
            t.modelRequests,
            t.keyRequests,
            request.weight(),
            t,
            resetMillis(key == null ? KeyUsage.NEVER : key.lastRequestBucket(), nowMillis));
    int active =
        settings.mode() == AllocationMode.LITELLM_V1 ? v1KeyCount(t) : t.othersCount + 1;
    return new UsageSnapshot(tokens, requests, active);
  }

  private Allowance allowance(
      long capacity,
      long keyLimit,
      long modelUsed,
      long keyUsed,
      double weight,
      Totals t,
      long resetMillis) {
    long unlimited = ModelCapacity.UNLIMITED;
    long modelRemaining = capacity == unlimited ? unlimited : Math.max(0, capacity - modelUsed);
    long share = unlimited;
    long remaining = unlimited;
    if (capacity != unlimited) {
      if (settings.mode() == AllocationMode.LITELLM_V1) {
        int n = v1KeyCount(t);
        share = (long) Math.floor(capacity * weight / n);
        remaining = Math.max(0, (long) Math.floor((capacity - modelUsed) * weight / n));
      } else {
        share = (long) Math.floor(capacity * weight / (t.othersWeight + weight) + SHARE_EPSILON);
        remaining = Math.max(0, share - keyUsed);
      }
    }
    if (keyLimit != unlimited) {
      long keyRemaining = Math.max(0, keyLimit - keyUsed);
      share = share == unlimited ? keyLimit : Math.min(share, keyLimit);
      remaining = remaining == unlimited ? keyRemaining : Math.min(remaining, keyRemaining);
    }
    return new Allowance(share, remaining, keyUsed, resetMillis, capacity, modelRemaining, modelUsed);
  }

  private long resetMillis(long lastUsedBucket, long nowMillis) {
    if (lastUsedBucket == KeyUsage.NEVER) {
      return 0;
    }
    if (settings.mode() == AllocationMode.LITELLM_V1) {
      return minuteEnd(nowMillis) - nowMillis;
    }
    return Math.max(0, (lastUsedBucket + slots) * bucketMillis - nowMillis);
  }

  // ---------------------------------------------------------------- ring

  private Totals totals(KeyUsage key, long start) {
    long tokens = 0;
    long requests = 0;
    double weight = 0;
    int count = 0;
    int starved = 0;
    for (int i = 0; i < slots; i++) {
      if (slotBucket[i] >= start) {
        tokens += slotTokens[i];
        requests += slotRequests[i];
        weight += slotActiveWeight[i];
        count += slotActiveKeys[i];
        starved += slotStarved[i];
      }
    }
    boolean active = key != null && key.lastActiveBucket >= start;
    if (active) {
      weight -= key.weight;
      count -= 1;
    }
    return new Totals(
        tokens,
        requests,
        key == null ? 0 : key.tokensSince(start),
        key == null ? 0 : key.requestsSince(start),
        Math.max(0.0, weight),
        count,
        active,
        starved > 0);
  }

  private void markActive(KeyUsage key, long bucket, double weight) {
    if (key.lastActiveBucket != KeyUsage.NEVER) {
      int previous = Math.floorMod(key.lastActiveBucket, slots);
      if (slotBucket[previous] == key.lastActiveBucket) {
        slotActiveWeight[previous] -= key.weight;
        slotActiveKeys[previous] -= 1;
      }
    }
    int slot = slotFor(bucket);
    slotActiveWeight[slot] += weight;
    slotActiveKeys[slot] += 1;
    key.lastActiveBucket = bucket;
    key.weight = weight;
  }

  /** The slot of {@code bucket}, cleared first if it still holds a bucket that left the window. */
  private int slotFor(long bucket) {
    int slot = Math.floorMod(bucket, slots);
    if (slotBucket[slot] != bucket) {
      slotBucket[slot] = bucket;
      slotTokens[slot] = 0;
      slotRequests[slot] = 0;
      slotActiveWeight[slot] = 0;
      slotActiveKeys[slot] = 0;
      slotStarved[slot] = 0;
    }
    return slot;
  }

  private long windowStart(long nowMillis, long bucket) {
    if (settings.mode() == AllocationMode.LITELLM_V1) {
      return Math.floorDiv(Math.floorDiv(nowMillis, 60_000L) * 60_000L, bucketMillis);
    }
    return bucket - slots + 1;
  }

  private static long minuteEnd(long nowMillis) {
    return (Math.floorDiv(nowMillis, 60_000L) + 1) * 60_000L;
  }

  private void sweepIfDue(long bucket, long start) {
    if (lastSweepBucket != KeyUsage.NEVER && bucket - lastSweepBucket < slots) {
      return;
    }
    lastSweepBucket = bucket;
    Iterator<KeyUsage> it = keys.values().iterator();
    while (it.hasNext()) {
      KeyUsage key = it.next();
      key.prune(start);
      if (key.inFlight == 0 && key.isEmpty() && key.lastActiveBucket < start) {
        it.remove();
      }
    }
  }
}
