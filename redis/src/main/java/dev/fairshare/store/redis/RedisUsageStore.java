package dev.fairshare.store.redis;

import dev.fairshare.core.ActiveKey;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.AllocationMode;
import dev.fairshare.core.Allowance;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.KeyStanding;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.ModelWindow;
import dev.fairshare.core.Reservation;
import dev.fairshare.core.UsageSnapshot;
import dev.fairshare.core.Verdict;
import dev.fairshare.store.UsageStore;
import io.lettuce.core.ScriptOutputType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Usage shared by every instance through Redis: a Lua script checks and reserves atomically, and
 * settles. The scripts mirror {@link dev.fairshare.core.ModelWindow}; the contract test holds both
 * to the same timelines.
 *
 * <p>Admissions, settlements and standings go through {@link ScriptBatches}: one script call per
 * batch of this instance's calls on a model, each applied in order as its own decision. An idle
 * model's call goes at once; under load, the calls that arrive while a batch is in Redis go
 * together in the next. So a request costs at most one script call on its path, and Redis spends
 * its time on decisions rather than on script setup.
 *
 * <p>Each call reads and writes two hashes (the model's and the key's, running totals and buckets
 * as fields) and, only where they are in use, the pool's, the tickets' and the in-flight set. Every
 * Redis key is hash-tagged by model ({@code fs:{model}:...}), so all keys one script touches live
 * in one Redis Cluster slot, and carries a TTL of two windows, so idle models and keys leave
 * nothing behind. The caller's wall clock is passed in: instances must be NTP-synced.
 */
public final class RedisUsageStore implements UsageStore {

  /**
   * How long an in-flight entry (what {@code max_parallel_requests} counts) lives if its instance
   * dies before settling it; the memory store has no such expiry, since it dies with its requests.
   */
  public static final long DEFAULT_IN_FLIGHT_LIFETIME_MILLIS = 10 * 60_000L;

  private static final String COMMON =
      RedisScript.resource("common.lua") + RedisScript.resource("pool.lua");

  /** What a call of a batch is (batch.lua's kinds). */
  private static final int ACQUIRE = 1;

  private static final int SETTLE = 2;
  private static final int SETTLE_QUIETLY = 3;
  private static final int STANDING = 4;

  /** The Redis keys one call reads and writes ({@link #keys}). */
  static final int KEYS_PER_CALL = 8;

  /** The keys every call on a model has alike (the model's), sent once per batch. */
  private static final int[] SHARED_KEYS = {0, 3, 4, 5, 6};

  /** The arguments every call on a model has alike (settings, capacity), sent once per batch. */
  private static final int[] SHARED_ARGS = {
    RedisProtocol.BUCKET_MILLIS - 1,
    RedisProtocol.BUCKETS - 1,
    RedisProtocol.MODE - 1,
    RedisProtocol.THRESHOLD - 1,
    RedisProtocol.CAPACITY_TOKENS - 1,
    RedisProtocol.CAPACITY_REQUESTS - 1,
    RedisProtocol.TTL - 1,
    RedisProtocol.POOL - 1,
    RedisProtocol.POOL_BURST - 1,
    RedisProtocol.POOL_RESERVE - 1,
    RedisProtocol.TICKET_MAX_WAIT - 1
  };

  /** The prefix of every key FairShare writes. */
  public static final String DEFAULT_PREFIX = "fs";

  private final RedisLink link;
  private final EngineSettings settings;
  private final String prefix;
  private final long inFlightLifetimeMillis;

  /** Sent with every call; changed at run time ({@link #setSaturationThreshold}). */
  private volatile String saturationThreshold;

  private static final RedisScript BATCH =
      RedisScript.of(
          COMMON
              + RedisScript.resource("acquire.lua")
              + RedisScript.resource("settlement.lua")
              + RedisScript.resource("settle.lua")
              + RedisScript.resource("settle-quiet.lua")
              + RedisScript.resource("standing.lua")
              + RedisScript.resource("batch.lua"));

  private final ScriptBatches batches;
  private final String[] settingArgs;
  private final RedisScript activeKeys =
      RedisScript.of(COMMON + RedisScript.resource("active-keys.lua"));

  /** This instance's announcement to the others, or null. */
  private final RedisPresence presence;

  /**
   * @param link the connection; closed with the store
   * @param settings window, bucket, mode, threshold: must be the same on every instance
   * @param prefix key prefix ({@link #DEFAULT_PREFIX}; tests use their own)
   */
  public RedisUsageStore(RedisLink link, EngineSettings settings, String prefix) {
    this(link, settings, prefix, DEFAULT_IN_FLIGHT_LIFETIME_MILLIS);
  }

  /** As above, with the lifetime of in-flight entries of crashed instances. */
  public RedisUsageStore(
      RedisLink link, EngineSettings settings, String prefix, long inFlightLifetimeMillis) {
    this(link, settings, prefix, inFlightLifetimeMillis, null);
  }

  /** As above, announcing this instance through {@code presence} (closed with the store). */
  RedisUsageStore(
      RedisLink link,
      EngineSettings settings,
      String prefix,
      long inFlightLifetimeMillis,
      RedisPresence presence) {
    if (settings.owedCapacity() != EngineSettings.OwedCapacity.WINDOW && !settings.tokenBucket()) {
      // The Lua scripts keep owed capacity for a window (or, with the token bucket, as the pool's
      // tickets); the window's own tickets are an experiment of the memory store's (issue 14).
      throw new IllegalArgumentException(
          "the Redis store keeps owed capacity for a window only, not " + settings.owedCapacity());
    }
    this.presence = presence;
    this.inFlightLifetimeMillis = inFlightLifetimeMillis;
    this.link = link;
    this.batches = new ScriptBatches(link, BATCH, KEYS_PER_CALL, SHARED_KEYS, SHARED_ARGS);
    this.settings = settings;
    this.settingArgs = settingArgs(settings);
    this.prefix = prefix;
    this.saturationThreshold = number(settings.saturationThreshold());
  }

  @Override
  public Decision acquire(AdmissionRequest request, long nowMillis) {
    return batches.await(acquireAsync(request, nowMillis));
  }

  /**
   * The admission queued on its model's batches: what {@link #acquire} waits for. Calls queued one
   * after the other are decided in that order, each as if sent alone.
   */
  CompletableFuture<Decision> acquireAsync(AdmissionRequest request, long nowMillis) {
    // Identifies the in-flight entry among the key's others: unique, not secret.
    long id = ThreadLocalRandom.current().nextLong();
    String[] args = args(request, nowMillis, RedisProtocol.ACQUIRE_ARGS);
    RedisProtocol.set(args, RedisProtocol.ESTIMATE, Long.toString(request.estimatedTokens()));
    RedisProtocol.set(args, RedisProtocol.ACQUIRE_ID, Long.toString(id));
    RedisProtocol.set(
        args, RedisProtocol.IN_FLIGHT_LIFETIME, Long.toString(inFlightLifetimeMillis));
    CompletableFuture<Object> call = batches.submit(lane(request), ACQUIRE, keys(request), args);
    CompletableFuture<Decision> decision = call.thenApply(answer -> decision(request, id, answer));
    // Given up on (a timeout): so is the call, which is then not sent if it still waits
    decision.whenComplete(
        (ok, failure) -> {
          if (failure != null) {
            call.completeExceptionally(failure);
            if (request.keyLimits().maxParallelRequests() != ModelCapacity.UNLIMITED) {
              releaseIfInFlight(request, id, nowMillis);
            }
          }
        });
    return decision;
  }

  /**
   * Releases the admission {@code id} if Redis made it after all: its caller gave up waiting (or
   * the batch failed) while the call may already have been in Redis. Queued on the model's lane, so
   * it runs after that call. Without it, the admission would hold one of the key's parallel slots
   * until its in-flight entry expired (10 minutes) and count in the window; only a key with a
   * parallel limit keeps in-flight entries to release by id, so only such keys are released here
   * (the others' orphan counts only until it leaves the window). Best effort: a failure is dropped.
   */
  private void releaseIfInFlight(AdmissionRequest request, long id, long nowMillis) {
    // Its bucket and tokens are not known here: the script reads them from the in-flight entry
    String[] args = settleArgs(new Reservation(request, 0, 0, id), 0, nowMillis);
    RedisProtocol.set(args, RedisProtocol.RELEASE, RedisProtocol.RELEASE_IF_IN_FLIGHT);
    try {
      batches.submit(lane(request), SETTLE_QUIETLY, keys(request), args).exceptionally(e -> null);
    } catch (RuntimeException e) {
      // the lane is full or the store closed: the slot frees when its entry expires
    }
  }

  @SuppressWarnings("unchecked")
  private static Decision decision(AdmissionRequest request, long id, Object answer) {
    List<Long> r = (List<Long>) answer;
    Verdict verdict = RedisProtocol.verdict(r.get(0));
    UsageSnapshot usage = snapshot(r, 4, r.get(4).intValue());
    if (!verdict.admitted()) {
      return new Decision(verdict, null, usage, r.get(3));
    }
    return new Decision(verdict, new Reservation(request, r.get(2), r.get(1), id), usage, 0);
  }

  @Override
  public UsageSnapshot settle(Reservation reservation, long actualTokens, long nowMillis) {
    List<Long> r =
        call(reservation.request(), SETTLE, settleArgs(reservation, actualTokens, nowMillis));
    return snapshot(r, 0, r.get(0).intValue());
  }

  /**
   * Queues the settlement on its model's batches and returns without waiting for Redis: Redis
   * applies it before any later call of this instance on the model, since a model's batches go in
   * order.
   */
  @Override
  public CompletionStage<Void> settleWithoutWaiting(
      Reservation reservation, long actualTokens, long nowMillis) {
    return sendQuietly(reservation, settleArgs(reservation, actualTokens, nowMillis));
  }

  /** Queued like {@link #settleWithoutWaiting}. */
  @Override
  public CompletionStage<Void> release(Reservation reservation, long nowMillis) {
    String[] args = settleArgs(reservation, 0, nowMillis);
    RedisProtocol.set(args, RedisProtocol.RELEASE, "1");
    return sendQuietly(reservation, args);
  }

  private CompletionStage<Void> sendQuietly(Reservation reservation, String[] args) {
    AdmissionRequest request = reservation.request();
    CompletableFuture<Void> sent =
        batches
            .submit(lane(request), SETTLE_QUIETLY, keys(request), args)
            .thenApply(ok -> (Void) null);
    // Waited for on close: on a cluster the settlement may be on another node's connection.
    inFlight.add(sent);
    sent.whenComplete((ok, failure) -> inFlight.remove(sent));
    return sent;
  }

  /** Settlements sent and not answered yet. */
  private final java.util.Set<CompletableFuture<Void>> inFlight =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private String[] settleArgs(Reservation reservation, long actualTokens, long nowMillis) {
    String[] args = args(reservation.request(), nowMillis, RedisProtocol.SETTLE_ARGS);
    RedisProtocol.set(args, RedisProtocol.RESERVATION_BUCKET, Long.toString(reservation.bucket()));
    RedisProtocol.set(args, RedisProtocol.RESERVED, Long.toString(reservation.tokens()));
    RedisProtocol.set(args, RedisProtocol.ACTUAL, Long.toString(actualTokens));
    RedisProtocol.set(args, RedisProtocol.SETTLE_ID, Long.toString(reservation.id()));
    RedisProtocol.set(args, RedisProtocol.RELEASE, "0");
    return args;
  }

  /** The model's part of every key name: its hash tag, so a model's keys share a cluster slot. */
  private String lane(AdmissionRequest request) {
    return prefix + ":{" + request.model().replace('{', '(').replace('}', ')') + "}:";
  }

  /** The keys of a call, in the order common.lua numbers them. */
  private String[] keys(AdmissionRequest request) {
    String model = lane(request);
    String key = model + "k:" + request.keyId() + ":";
    return new String[] {
      model + "m",
      key + "k",
      key + "flight",
      model + "pool",
      model + "tickets",
      model + "demand",
      model + "keys",
      key + "x"
    };
  }

  /** One call through the model's batches, waited for. */
  @SuppressWarnings("unchecked")
  private List<Long> call(AdmissionRequest request, int kind, String[] args) {
    return (List<Long>) batches.await(batches.submit(lane(request), kind, keys(request), args));
  }

  /** The arguments the settings decide, made once; a call's are a copy with its own set. */
  private static String[] settingArgs(EngineSettings settings) {
    String[] args = RedisProtocol.arguments(RedisProtocol.SETTLE_ARGS);
    RedisProtocol.set(args, RedisProtocol.BUCKET_MILLIS, Long.toString(settings.bucketMillis()));
    RedisProtocol.set(args, RedisProtocol.BUCKETS, Integer.toString(settings.bucketsPerWindow()));
    RedisProtocol.set(
        args, RedisProtocol.MODE, settings.mode() == AllocationMode.LITELLM_V1 ? "1" : "0");
    RedisProtocol.set(
        args, RedisProtocol.TTL, Long.toString(2 * settings.effectiveWindowMillis() + 10_000));
    RedisProtocol.set(args, RedisProtocol.POOL, settings.tokenBucket() ? "1" : "0");
    RedisProtocol.set(args, RedisProtocol.POOL_BURST, number(settings.poolBurst()));
    RedisProtocol.set(args, RedisProtocol.POOL_RESERVE, number(settings.poolReserve()));
    RedisProtocol.set(
        args, RedisProtocol.TICKET_MAX_WAIT, Long.toString(ModelWindow.TICKET_MAX_WAIT_MILLIS));
    return args;
  }

  private String[] args(AdmissionRequest request, long nowMillis, int size) {
    ModelCapacity capacity = request.capacity();
    KeyLimits limits = request.keyLimits();
    String[] args = java.util.Arrays.copyOf(settingArgs, size);
    RedisProtocol.set(args, RedisProtocol.NOW, Long.toString(nowMillis));
    RedisProtocol.set(args, RedisProtocol.THRESHOLD, saturationThreshold);
    RedisProtocol.set(args, RedisProtocol.CAPACITY_TOKENS, Long.toString(capacity.tokens()));
    RedisProtocol.set(args, RedisProtocol.CAPACITY_REQUESTS, Long.toString(capacity.requests()));
    RedisProtocol.set(args, RedisProtocol.WEIGHT, number(request.weight()));
    RedisProtocol.set(args, RedisProtocol.KEY_TOKENS, Long.toString(limits.tokensPerWindow()));
    RedisProtocol.set(args, RedisProtocol.KEY_REQUESTS, Long.toString(limits.requestsPerWindow()));
    RedisProtocol.set(
        args, RedisProtocol.KEY_PARALLEL, Long.toString(limits.maxParallelRequests()));
    RedisProtocol.set(args, RedisProtocol.KEY_ID, request.keyId());
    return args;
  }

  @Override
  public List<ActiveKey> activeKeys(String model, long nowMillis) {
    AdmissionRequest modelOnly =
        new AdmissionRequest("", model, ModelCapacity.UNLIMITED_MODEL, 1.0, 0, KeyLimits.NONE);
    List<Object> flat =
        activeKeys.run(
            link.commands(),
            ScriptOutputType.MULTI,
            keys(modelOnly),
            args(modelOnly, nowMillis, RedisProtocol.COMMON_ARGS));
    List<ActiveKey> active = new ArrayList<>();
    for (int i = 0; i + 1 < flat.size(); i += 2) {
      active.add(new ActiveKey((String) flat.get(i), Double.parseDouble((String) flat.get(i + 1))));
    }
    return active;
  }

  @Override
  public KeyStanding standing(AdmissionRequest request, long nowMillis) {
    List<Long> r = call(request, STANDING, args(request, nowMillis, RedisProtocol.COMMON_ARGS));
    return new KeyStanding(
        snapshot(r, 0, r.get(0).intValue()), r.get(15), r.get(16).intValue(), r.get(17));
  }

  @Override
  public void setSaturationThreshold(double threshold) {
    settings.withSaturationThreshold(threshold); // checks the value
    saturationThreshold = number(threshold);
  }

  /** A {@code PING} within the command timeout. */
  @Override
  public boolean isReachable() {
    try {
      return "PONG".equals(link.commands().ping());
    } catch (RuntimeException e) {
      return false;
    }
  }

  @Override
  public void close() {
    try {
      // Settlements sent to other nodes' connections (a cluster) are answered first.
      CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new))
          .get(2, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      // failed or too slow: what Redis did not take is lost either way
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (presence != null) {
      presence.close(); // needs the link
    }
    link.close();
  }

  private static UsageSnapshot snapshot(List<Long> r, int activeAt, int activeKeys) {
    int t = activeAt + 1;
    return new UsageSnapshot(allowance(r, t), allowance(r, t + 7), activeKeys);
  }

  private static Allowance allowance(List<Long> r, int at) {
    return new Allowance(
        r.get(at),
        r.get(at + 1),
        r.get(at + 2),
        r.get(at + 3),
        r.get(at + 4),
        r.get(at + 5),
        r.get(at + 6));
  }

  /** A double as Lua's {@code tonumber} reads it back exactly (the shortest round-trip form). */
  private static String number(double value) {
    return Double.toString(value);
  }
}
