package dev.fairshare.core;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The usage of one model over the sliding window, and its {@link AllocationRule} applied to it:
 * decide, settle, release, and the retry-after and standing of a key. The rule is the engine's
 * math, written once; the {@link UsageRing} holds the window's sums; stores supply the atomicity
 * around both (the Redis store mirrors them in Lua).
 *
 * <p>In-flight reservations are counted in the slot of their admission, so {@code U + R} of
 * DESIGN.md is a plain sum over the ring; settlement replaces a reservation by the real usage: a
 * refund goes back to the admission slot (if it is still in the window), debt is charged in the
 * current slot.
 *
 * <p>A key is active while its latest admission (or, under the fair rule, its latest rejection for
 * want of model capacity: it still wants its share) is in the window.
 *
 * <p>Not thread-safe: callers serialise access (one lock per model in the memory store).
 */
public final class ModelWindow {

  private EngineSettings settings;
  private AllocationRule rule;
  private final UsageRing ring;
  private final int slots;
  private final long bucketMillis;
  private final Map<String, KeyUsage> keys = new HashMap<>();
  private long lastSweepBucket = KeyUsage.NEVER;
  private int inFlight;
  private long reservations;

  /**
   * The longest a ticket is held: a client told to wait longer is told not to retry (the filter's
   * default {@code fairshare.client-retry-max-wait}), so room kept longer would be kept for nobody.
   */
  public static final long TICKET_MAX_WAIT_MILLIS = 5_000;

  /** With {@link EngineSettings.OwedCapacity#TICKETS}: keys owed room, first come first served. */
  private final boolean ticketing;

  /**
   * The tickets in the order they were taken; a key keeps its place when it is turned away again.
   */
  private final LinkedHashMap<String, Ticket> tickets = new LinkedHashMap<>();

  /** Room a key within its share is owed, until {@code expiresAt}. */
  private record Ticket(long tokens, long expiresAt) {}

  /** The token bucket, with {@link EngineSettings.Pool#TOKEN_BUCKET}; null with the window. */
  private final TokenPool pool;

  public ModelWindow(EngineSettings settings) {
    this.settings = settings;
    this.rule = settings.rule();
    this.slots = settings.bucketsPerWindow();
    this.ring = new UsageRing(slots);
    this.bucketMillis = settings.bucketMillis();
    this.ticketing =
        settings.owedCapacity() == EngineSettings.OwedCapacity.TICKETS
            && settings.mode() == AllocationMode.FAIR
            && !settings.tokenBucket();
    this.pool = settings.tokenBucket() ? new TokenPool() : null;
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
    WindowTotals totals = ring.totals(key, start);
    if (pool != null) {
      return decideFromPool(request, key, totals, nowMillis, bucket, start);
    }
    if (ticketing) {
      totals = withTicketsAhead(totals, request.keyId(), nowMillis);
    }
    Verdict verdict = evaluate(request, totals, key == null ? 0 : key.inFlight);
    if (!verdict.admitted()) {
      boolean owed =
          rule.owedCapacity(
              verdict, request.capacity(), request.estimatedTokens(), request.weight(), totals);
      if (owed && !ticketing) {
        ring.starve(bucket);
      }
      long retryAfter = retryAfter(request, key, totals, verdict, nowMillis, bucket, start);
      if (owed && ticketing) {
        long tokens =
            request.capacity().limitsTokens()
                ? rule.cost(
                    request.capacity().tokens(),
                    request.estimatedTokens(),
                    request.weight(),
                    totals)
                : 0;
        // A key turned away again keeps its place in the order (LinkedHashMap.put).
        tickets.put(
            request.keyId(),
            new Ticket(
                tokens, nowMillis + Math.min(retryAfter, TICKET_MAX_WAIT_MILLIS) + bucketMillis));
      }
      UsageSnapshot standing = snapshot(request, key, totals, nowMillis);
      if (rule.turnedAwayKeysStayActive() && !verdict.isKeyLimit()) {
        // A key turned away by the model still wants its share: it counts as active from now on,
        // so the others' shares shrink at once instead of after its first admission (without
        // this, a key that arrives while the window is full is never admitted: its share is
        // never reserved for it).
        if (key == null) {
          key = new KeyUsage();
          keys.put(request.keyId(), key);
        }
        ring.markActive(key, bucket, request.weight());
        key.addRefusal(bucket);
      }
      return new Decision(verdict, null, standing, retryAfter);
    }

    long reserved = reservation(request, totals);
    tickets.remove(request.keyId());
    return admit(request, key, totals, reserved, nowMillis, bucket);
  }

  /** Reserves {@code reserved} tokens and one request for {@code request}, now admitted. */
  private Decision admit(
      AdmissionRequest request,
      KeyUsage key,
      WindowTotals totals,
      long reserved,
      long nowMillis,
      long bucket) {
    if (key == null) {
      key = new KeyUsage();
      keys.put(request.keyId(), key);
    }
    ring.add(bucket, reserved, 1);
    key.add(bucket, reserved, 1);
    ring.markActive(key, bucket, request.weight());
    key.inFlight++;
    key.inFlightTokens += reserved;
    inFlight++;
    Reservation reservation = new Reservation(request, bucket, reserved, ++reservations);
    // The sums after this admission follow from those before it (no second pass over the ring):
    // the requester's own weight is never among the "others", whatever bucket it now sits in.
    WindowTotals after =
        new WindowTotals(
            totals.modelTokens() + reserved,
            totals.modelRequests() + 1,
            totals.keyTokens() + reserved,
            totals.keyRequests() + 1,
            totals.othersWeight(),
            totals.othersCount(),
            true,
            totals.starved());
    return new Decision(Verdict.ADMITTED, reservation, snapshot(request, key, after, nowMillis), 0);
  }

  /**
   * {@link #decide} with the token bucket: the key's own limits, then the tokens from the {@link
   * TokenPool} (tickets for keys within their share, a reserve they alone may use), then the
   * requests in the sliding window as the rule counts them (so requests admitted in any window stay
   * at most the RPM).
   */
  private Decision decideFromPool(
      AdmissionRequest request,
      KeyUsage key,
      WindowTotals totals,
      long nowMillis,
      long bucket,
      long start) {
    int keyInFlight = key == null ? 0 : key.inFlight;
    Verdict limit = keyLimitVerdict(request, totals, keyInFlight);
    if (limit != null) {
      return refuse(request, key, totals, limit, false, -1, nowMillis, bucket, start);
    }
    ModelCapacity capacity = request.capacity();
    if (capacity.tokens() == 0) {
      // A model closed to tokens: nothing refills, and a new bucket must not start full.
      return refuse(
          request,
          key,
          totals,
          Verdict.MODEL_TOKENS,
          false,
          settings.effectiveWindowMillis(),
          nowMillis,
          bucket,
          start);
    }
    TokenPool.Outcome tokens = null;
    if (capacity.limitsTokens()) {
      TokenPool.Shape shape = TokenPool.Shape.of(capacity.tokens(), settings);
      long cost = rule.cost(capacity.tokens(), request.estimatedTokens(), request.weight(), totals);
      TokenPool.Standing standing = standing(request, totals, cost, bucket, start);
      tokens =
          pool.judge(
              request.keyId(),
              cost,
              standing,
              totals.keyTokens() / request.weight(),
              shape,
              TICKET_MAX_WAIT_MILLIS,
              nowMillis);
      if (!tokens.admitted()) {
        Verdict verdict =
            standing == TokenPool.Standing.BORROWING ? Verdict.SHARE_TOKENS : Verdict.MODEL_TOKENS;
        Decision refused =
            refuse(
                request,
                key,
                totals,
                verdict,
                false,
                tokens.retryAfterMillis(),
                nowMillis,
                bucket,
                start);
        keys.get(request.keyId()).addRefused(bucket, request.estimatedTokens());
        return refused;
      }
    }
    Verdict requests = requestsVerdict(request, totals);
    if (requests != Verdict.ADMITTED) {
      boolean owed =
          rule.owedCapacity(
              requests, capacity, request.estimatedTokens(), request.weight(), totals);
      return refuse(request, key, totals, requests, owed, -1, nowMillis, bucket, start);
    }
    long reserved = request.estimatedTokens();
    long keyLimit = request.keyLimits().tokensPerWindow();
    if (keyLimit != ModelCapacity.UNLIMITED) {
      reserved = Math.max(0, Math.min(reserved, keyLimit - totals.keyTokens()));
    }
    if (tokens != null) {
      // As the window reserves at most the model's room: never more than the bucket holds above
      // the tickets ahead and the reserve (room promised to others stays theirs), so it goes below
      // zero by debt alone; use past the reservation is settled as debt.
      reserved = Math.min(reserved, tokens.room());
      pool.take(request.keyId(), reserved);
    }
    return admit(request, key, totals, reserved, nowMillis, bucket);
  }

  /**
   * Where {@code request} stands: within the key's guaranteed share {@code C × w / Σw}, within its
   * share of the measured demand (the water level of a weighted max-min split of the window's
   * demand, {@link #shareLevel}), or past both.
   */
  private TokenPool.Standing standing(
      AdmissionRequest request, WindowTotals totals, long cost, long bucket, long start) {
    long capacity = request.capacity().tokens();
    double weight = request.weight();
    long used = totals.keyTokens() + cost - 1; // the request's last token starts within the share
    if (capacity * weight / (totals.othersWeight() + weight) - used > SHARE_EPSILON) {
      return TokenPool.Standing.GUARANTEED;
    }
    if (shareLevel(capacity, bucket, start) * weight - used > SHARE_EPSILON) {
      return TokenPool.Standing.WITHIN_SHARE;
    }
    return TokenPool.Standing.BORROWING;
  }

  private static final double SHARE_EPSILON = 1e-9;

  /** The water level of {@link #shareLevel}, the bucket and the capacity it was computed for. */
  private double shareLevel = Double.POSITIVE_INFINITY;

  private long shareLevelBucket = KeyUsage.NEVER;
  private long shareLevelCapacity = -1;

  /**
   * The water level λ of the weighted max-min split of {@code capacity} between the active keys'
   * demands in the window (tokens counted for them plus tokens they were refused): each key's share
   * is {@code min(demand, λ × w)}, and a key may ask for up to {@code λ × w}. Infinite when the
   * demands fit in the capacity. Computed at most once per bucket: demand moves slowly, and a scan
   * of every key per request would not.
   */
  private double shareLevel(long capacity, long bucket, long start) {
    // A level computed for a later bucket stands (a caller whose clock lags another's, sharing
    // one pool through Redis, does not recompute it backwards).
    if (shareLevelBucket >= bucket && shareLevelCapacity == capacity) {
      return shareLevel;
    }
    int n = 0;
    String[] id = new String[keys.size()];
    double[] ratio = new double[keys.size()];
    double[] demand = new double[keys.size()];
    double[] weight = new double[keys.size()];
    for (Map.Entry<String, KeyUsage> e : keys.entrySet()) {
      KeyUsage k = e.getValue();
      if (k.lastActiveBucket >= start && k.weight > 0) {
        id[n] = e.getKey();
        demand[n] = k.demandSince(start);
        weight[n] = k.weight;
        ratio[n] = demand[n] / weight[n];
        n++;
      }
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    // Least demand per unit of weight first, ties by key id, and every sum taken in that order:
    // the Redis script computes the same level bit for bit (its hash has no order of its own).
    java.util.Arrays.sort(
        order,
        (a, b) -> {
          int byRatio = Double.compare(ratio[a], ratio[b]);
          return byRatio != 0 ? byRatio : id[a].compareTo(id[b]);
        });
    double left = capacity;
    double weightLeft = 0;
    for (int i = 0; i < n; i++) {
      weightLeft += weight[order[i]];
    }
    double level = Double.POSITIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      int k = order[i];
      if (demand[k] > left / weightLeft * weight[k]) {
        level = left / weightLeft;
        break;
      }
      left -= demand[k];
      weightLeft -= weight[k];
    }
    shareLevel = level;
    shareLevelBucket = bucket;
    shareLevelCapacity = capacity;
    return level;
  }

  /**
   * A refusal with the token bucket: {@code retryAfter} when the pool told it, else the window's
   * replay; {@code starve} stops borrowing of requests for a window (sliding, as in fair mode).
   */
  private Decision refuse(
      AdmissionRequest request,
      KeyUsage key,
      WindowTotals totals,
      Verdict verdict,
      boolean starve,
      long retryAfter,
      long nowMillis,
      long bucket,
      long start) {
    if (starve) {
      ring.starve(bucket);
    }
    if (retryAfter < 0) {
      retryAfter = retryAfter(request, key, totals, verdict, nowMillis, bucket, start);
    }
    UsageSnapshot standing = snapshot(request, key, totals, nowMillis);
    if (!verdict.isKeyLimit()) {
      if (key == null) {
        key = new KeyUsage();
        keys.put(request.keyId(), key);
      }
      ring.markActive(key, bucket, request.weight());
      key.addRefusal(bucket);
    }
    return new Decision(verdict, null, standing, retryAfter);
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
    if (pool != null && request.capacity().limitsTokens()) {
      TokenPool.Shape shape = TokenPool.Shape.of(request.capacity().tokens(), settings);
      if (delta < 0) {
        pool.giveBack(shape, -delta, nowMillis);
      } else if (delta > 0) {
        pool.charge(shape, delta, nowMillis);
      }
    }
    if (delta < 0) {
      // Refund into the admission slot, which holds at least the reserved tokens; once that slot
      // has left the window the reservation no longer counts and there is nothing to refund.
      long admitted = reservation.bucket();
      if (admitted >= start) {
        ring.adjust(admitted, delta, 0);
        if (key != null) {
          key.add(admitted, delta, 0);
        }
      }
    } else if (delta > 0) {
      ring.add(bucket, delta, 0);
      if (key != null) {
        key.add(bucket, delta, 0);
      }
    }
    if (key != null && key.inFlight > 0) {
      key.inFlight--;
      key.inFlightTokens = Math.max(0, key.inFlightTokens - reservation.tokens());
      inFlight--;
    }
    if (key != null) {
      key.prune(start);
    }
    return snapshot(request, key, ring.totals(key, start), nowMillis);
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
    ModelCapacity capacity = reservation.request().capacity();
    if (pool != null && capacity.limitsTokens()) {
      pool.giveBack(
          TokenPool.Shape.of(capacity.tokens(), settings), reservation.tokens(), nowMillis);
    }
    long admitted = reservation.bucket();
    if (admitted >= start) {
      ring.adjust(admitted, -reservation.tokens(), -1);
      if (key != null) {
        key.add(admitted, -reservation.tokens(), -1);
      }
    }
    if (key != null && key.inFlight > 0) {
      key.inFlight--;
      key.inFlightTokens = Math.max(0, key.inFlightTokens - reservation.tokens());
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
    return snapshot(request, key, ring.totals(key, start), nowMillis);
  }

  /**
   * The keys active on the model at {@code nowMillis} (admitted, or turned away by the model, in
   * the window), with the weight each was last seen with.
   */
  public List<ActiveKey> activeKeys(long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    long start = windowStart(nowMillis, bucket);
    List<ActiveKey> active = new ArrayList<>();
    for (Map.Entry<String, KeyUsage> e : keys.entrySet()) {
      if (e.getValue().lastActiveBucket >= start) {
        active.add(new ActiveKey(e.getKey(), e.getValue().weight));
      }
    }
    return active;
  }

  /**
   * What the engine holds of {@code request}'s key now, without admitting anything: its standing
   * ({@link #peek}), the tokens its calls in flight reserved, and the calls the model refused it in
   * the window.
   */
  public KeyStanding standing(AdmissionRequest request, long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    long start = windowStart(nowMillis, bucket);
    KeyUsage key = keys.get(request.keyId());
    UsageSnapshot usage = peek(request, nowMillis);
    if (key == null) {
      return new KeyStanding(usage, 0, 0, 0);
    }
    return new KeyStanding(usage, key.inFlightTokens, key.inFlight, key.refusalsSince(start));
  }

  /** Tokens counted for the model in the window at {@code nowMillis}, reservations included. */
  public long tokensInWindow(long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    return ring.totals(null, windowStart(nowMillis, bucket)).modelTokens();
  }

  /** Requests counted for the model in the window at {@code nowMillis}. */
  public long requestsInWindow(long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    return ring.totals(null, windowStart(nowMillis, bucket)).modelRequests();
  }

  /**
   * Decides from now on with {@code threshold} as the saturation threshold (set at run time); what
   * was admitted stays.
   */
  public void setSaturationThreshold(double threshold) {
    settings = settings.withSaturationThreshold(threshold);
    rule = settings.rule();
  }

  /** Requests admitted and not yet settled or released. */
  public int inFlight() {
    return inFlight;
  }

  /**
   * Keys with state held (active, in flight, or with usage not yet pruned): what this window costs
   * in memory.
   */
  int trackedKeys() {
    return keys.size();
  }

  /** True when nothing is held: the window may be dropped. */
  public boolean isIdle(long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    sweepIfDue(bucket, windowStart(nowMillis, bucket));
    return keys.isEmpty() && inFlight == 0;
  }

  /** Forces the removal of idle keys (normally done once per window). */
  void sweep(long nowMillis) {
    long bucket = Math.floorDiv(nowMillis, bucketMillis);
    lastSweepBucket = KeyUsage.NEVER;
    sweepIfDue(bucket, windowStart(nowMillis, bucket));
  }

  // ---------------------------------------------------------------- tickets

  /**
   * {@code t} with the room owed to the tickets ahead of {@code keyId}'s (all of them when it holds
   * none) counted as used, and "starved" (nobody borrows) while another key holds a ticket. Expired
   * tickets are dropped first.
   */
  private WindowTotals withTicketsAhead(WindowTotals t, String keyId, long nowMillis) {
    tickets.values().removeIf(ticket -> ticket.expiresAt() <= nowMillis);
    long ahead = 0;
    for (Map.Entry<String, Ticket> e : tickets.entrySet()) {
      if (e.getKey().equals(keyId)) {
        break;
      }
      ahead += e.getValue().tokens();
    }
    // Any ticket but this key's own, ahead of it or behind, stops borrowing.
    boolean others = tickets.size() > (tickets.containsKey(keyId) ? 1 : 0);
    return new WindowTotals(
        t.modelTokens() + ahead,
        t.modelRequests(),
        t.keyTokens(),
        t.keyRequests(),
        t.othersWeight(),
        t.othersCount(),
        t.requesterActive(),
        others);
  }

  // ---------------------------------------------------------------- the rule's application

  private Verdict evaluate(AdmissionRequest request, WindowTotals t, int keyInFlight) {
    Verdict limit = keyLimitVerdict(request, t, keyInFlight);
    if (limit != null) {
      return limit;
    }
    if (pool != null) {
      // The window's replay answers for the requests only: the pool tells its own waits.
      return requestsVerdict(request, t);
    }
    return rule.judge(request.capacity(), request.estimatedTokens(), request.weight(), t);
  }

  /** The requests dimension alone, as the rule judges it over the window. */
  private Verdict requestsVerdict(AdmissionRequest request, WindowTotals t) {
    ModelCapacity capacity = request.capacity();
    return rule.judge(
        new ModelCapacity(ModelCapacity.UNLIMITED, capacity.requests()),
        request.estimatedTokens(),
        request.weight(),
        t);
  }

  /** The key's own limits' verdict, or null when none of them refuses. */
  private static Verdict keyLimitVerdict(
      AdmissionRequest request, WindowTotals t, int keyInFlight) {
    KeyLimits limits = request.keyLimits();
    if (limits.maxParallelRequests() != ModelCapacity.UNLIMITED
        && keyInFlight >= limits.maxParallelRequests()) {
      return Verdict.KEY_PARALLEL_LIMIT;
    }
    if (limits.requestsPerWindow() != ModelCapacity.UNLIMITED
        && t.keyRequests() >= limits.requestsPerWindow()) {
      return Verdict.KEY_REQUEST_LIMIT;
    }
    if (limits.tokensPerWindow() != ModelCapacity.UNLIMITED
        && t.keyTokens() >= limits.tokensPerWindow()) {
      return Verdict.KEY_TOKEN_LIMIT;
    }
    return null;
  }

  /**
   * Tokens to reserve: the estimate, capped by what the model and the key's own limit have left.
   */
  private static long reservation(AdmissionRequest request, WindowTotals t) {
    long reserved = request.estimatedTokens();
    if (request.capacity().limitsTokens()) {
      reserved = Math.min(reserved, request.capacity().tokens() - t.modelTokens());
    }
    long keyLimit = request.keyLimits().tokensPerWindow();
    if (keyLimit != ModelCapacity.UNLIMITED) {
      reserved = Math.min(reserved, keyLimit - t.keyTokens());
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
      WindowTotals t,
      Verdict verdict,
      long nowMillis,
      long bucket,
      long start) {
    if (verdict == Verdict.KEY_PARALLEL_LIMIT) {
      // Freed by a completion, not by time: suggest a short wait.
      return bucketMillis;
    }
    long fixed = rule.fixedRetryAfter(nowMillis);
    if (fixed >= 0) {
      return fixed;
    }
    int keyInFlight = key == null ? 0 : key.inFlight;
    long leaving =
        ring.firstAdmittingDeparture(
            key, t, start, bucket, later -> evaluate(request, later, keyInFlight).admitted());
    if (leaving == KeyUsage.NEVER) {
      return settings.effectiveWindowMillis();
    }
    return (leaving + slots) * bucketMillis - nowMillis;
  }

  // ---------------------------------------------------------------- headers

  private UsageSnapshot snapshot(
      AdmissionRequest request, KeyUsage key, WindowTotals t, long nowMillis) {
    return UsageSnapshot.of(
        rule,
        request,
        t,
        resetMillis(key == null ? KeyUsage.NEVER : key.lastTokenBucket(), nowMillis),
        resetMillis(key == null ? KeyUsage.NEVER : key.lastRequestBucket(), nowMillis));
  }

  private long resetMillis(long lastUsedBucket, long nowMillis) {
    return lastUsedBucket == KeyUsage.NEVER ? 0 : rule.resetMillis(lastUsedBucket, nowMillis);
  }

  // ---------------------------------------------------------------- keys

  private long windowStart(long nowMillis, long bucket) {
    return rule.windowStart(nowMillis, bucket);
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
