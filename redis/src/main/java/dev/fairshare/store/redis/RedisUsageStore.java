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
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Usage shared by every instance through Redis: one Lua script checks and reserves atomically (one
 * round trip per admission), one settles (one per settlement). The scripts mirror {@link
 * dev.fairshare.core.ModelWindow}; the contract test holds both to the same timelines.
 *
 * <p>Every Redis key is hash-tagged by model ({@code fs:{model}:...}), so all keys one script
 * touches live in one Redis Cluster slot, and carries a TTL of two windows, so idle models and keys
 * leave nothing behind. The caller's wall clock is passed in: instances must be NTP-synced.
 */
public final class RedisUsageStore implements UsageStore {

  /**
   * How long an in-flight entry (what {@code max_parallel_requests} counts) lives if its instance
   * dies before settling it; the memory store has no such expiry, since it dies with its requests.
   */
  public static final long DEFAULT_IN_FLIGHT_LIFETIME_MILLIS = 10 * 60_000L;

  private static final String COMMON =
      RedisScript.resource("common.lua") + RedisScript.resource("pool.lua");
  private static final String SETTLEMENT = COMMON + RedisScript.resource("settlement.lua");

  /** The prefix of every key FairShare writes. */
  public static final String DEFAULT_PREFIX = "fs";

  private final RedisLink link;
  private final EngineSettings settings;
  private final String prefix;
  private final long inFlightLifetimeMillis;

  /** Sent with every call; changed at run time ({@link #setSaturationThreshold}). */
  private volatile String saturationThreshold;

  private final RedisScript acquire = RedisScript.of(COMMON + RedisScript.resource("acquire.lua"));
  private final RedisScript settle =
      RedisScript.of(SETTLEMENT + RedisScript.resource("settle.lua"));
  private final RedisScript settleQuietly =
      RedisScript.of(SETTLEMENT + RedisScript.resource("settle-quiet.lua"));
  private final RedisScript standing =
      RedisScript.of(COMMON + RedisScript.resource("standing.lua"));
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
    this.settings = settings;
    this.prefix = prefix;
    this.saturationThreshold = number(settings.saturationThreshold());
  }

  @Override
  public Decision acquire(AdmissionRequest request, long nowMillis) {
    // Identifies the in-flight entry among the key's others: unique, not secret.
    long id = ThreadLocalRandom.current().nextLong();
    String[] args = args(request, nowMillis, RedisProtocol.ACQUIRE_ARGS);
    RedisProtocol.set(args, RedisProtocol.ESTIMATE, Long.toString(request.estimatedTokens()));
    RedisProtocol.set(args, RedisProtocol.ACQUIRE_ID, Long.toString(id));
    RedisProtocol.set(
        args, RedisProtocol.IN_FLIGHT_LIFETIME, Long.toString(inFlightLifetimeMillis));
    List<Long> r = run(acquire, keys(request), args);
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
        run(settle, keys(reservation.request()), settleArgs(reservation, actualTokens, nowMillis));
    return snapshot(r, 0, r.get(0).intValue());
  }

  /**
   * Queues the settlement on the connection and returns without waiting for Redis: Redis applies it
   * before any later command of this instance, since they share the connection.
   */
  @Override
  public CompletionStage<Void> settleWithoutWaiting(
      Reservation reservation, long actualTokens, long nowMillis) {
    return sendQuietly(reservation, settleArgs(reservation, actualTokens, nowMillis));
  }

  /** Queued like {@link #settleWithoutWaiting}: one connection keeps its commands in order. */
  @Override
  public CompletionStage<Void> release(Reservation reservation, long nowMillis) {
    String[] args = settleArgs(reservation, 0, nowMillis);
    RedisProtocol.set(args, RedisProtocol.RELEASE, "1");
    return sendQuietly(reservation, args);
  }

  private CompletionStage<Void> sendQuietly(Reservation reservation, String[] args) {
    String[] keys = keys(reservation.request());
    RedisClusterAsyncCommands<String, String> redis = link.async();
    CompletableFuture<Void> sent =
        redis
            .<Long>evalsha(settleQuietly.sha(), ScriptOutputType.INTEGER, keys, args)
            .thenApply(ok -> (Void) null)
            .exceptionallyCompose(
                failure -> {
                  Throwable cause =
                      failure instanceof CompletionException && failure.getCause() != null
                          ? failure.getCause()
                          : failure;
                  if (cause instanceof RedisNoScriptException) {
                    // The node forgot the script (or never had it): send it whole, which caches it
                    // there.
                    return redis
                        .<Long>eval(settleQuietly.source(), ScriptOutputType.INTEGER, keys, args)
                        .thenApply(ok -> (Void) null);
                  }
                  return CompletableFuture.<Void>failedFuture(cause);
                })
            .toCompletableFuture();
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

  private String[] keys(AdmissionRequest request) {
    String model = prefix + ":{" + request.model().replace('{', '(').replace('}', ')') + "}:";
    String key = model + "k:" + request.keyId() + ":";
    return new String[] {
      model + "t",
      model + "r",
      model + "aw",
      model + "ac",
      key + "t",
      key + "r",
      key + "meta",
      key + "flight",
      model + "st",
      model + "tot",
      model + "pool",
      model + "tickets",
      model + "demand",
      model + "keys",
      key + "x"
    };
  }

  private String[] args(AdmissionRequest request, long nowMillis, int size) {
    ModelCapacity capacity = request.capacity();
    KeyLimits limits = request.keyLimits();
    String[] args = RedisProtocol.arguments(size);
    RedisProtocol.set(args, RedisProtocol.NOW, Long.toString(nowMillis));
    RedisProtocol.set(args, RedisProtocol.BUCKET_MILLIS, Long.toString(settings.bucketMillis()));
    RedisProtocol.set(args, RedisProtocol.BUCKETS, Integer.toString(settings.bucketsPerWindow()));
    RedisProtocol.set(
        args, RedisProtocol.MODE, settings.mode() == AllocationMode.LITELLM_V1 ? "1" : "0");
    RedisProtocol.set(args, RedisProtocol.THRESHOLD, saturationThreshold);
    RedisProtocol.set(args, RedisProtocol.CAPACITY_TOKENS, Long.toString(capacity.tokens()));
    RedisProtocol.set(args, RedisProtocol.CAPACITY_REQUESTS, Long.toString(capacity.requests()));
    RedisProtocol.set(args, RedisProtocol.WEIGHT, number(request.weight()));
    RedisProtocol.set(args, RedisProtocol.KEY_TOKENS, Long.toString(limits.tokensPerWindow()));
    RedisProtocol.set(args, RedisProtocol.KEY_REQUESTS, Long.toString(limits.requestsPerWindow()));
    RedisProtocol.set(
        args, RedisProtocol.KEY_PARALLEL, Long.toString(limits.maxParallelRequests()));
    RedisProtocol.set(
        args, RedisProtocol.TTL, Long.toString(2 * settings.effectiveWindowMillis() + 10_000));
    RedisProtocol.set(args, RedisProtocol.POOL, settings.tokenBucket() ? "1" : "0");
    RedisProtocol.set(args, RedisProtocol.POOL_BURST, number(settings.poolBurst()));
    RedisProtocol.set(args, RedisProtocol.POOL_RESERVE, number(settings.poolReserve()));
    RedisProtocol.set(
        args, RedisProtocol.TICKET_MAX_WAIT, Long.toString(ModelWindow.TICKET_MAX_WAIT_MILLIS));
    RedisProtocol.set(args, RedisProtocol.KEY_ID, request.keyId());
    return args;
  }

  @Override
  public List<ActiveKey> activeKeys(String model, long nowMillis) {
    AdmissionRequest modelOnly =
        new AdmissionRequest("", model, ModelCapacity.UNLIMITED_MODEL, 1.0, 0, KeyLimits.NONE);
    List<Object> flat =
        run(
            activeKeys,
            keys(modelOnly),
            args(modelOnly, nowMillis, RedisProtocol.COMMON_ARGS),
            ScriptOutputType.MULTI);
    List<ActiveKey> active = new ArrayList<>();
    for (int i = 0; i + 1 < flat.size(); i += 2) {
      active.add(new ActiveKey((String) flat.get(i), Double.parseDouble((String) flat.get(i + 1))));
    }
    return active;
  }

  @Override
  public KeyStanding standing(AdmissionRequest request, long nowMillis) {
    List<Long> r =
        run(standing, keys(request), args(request, nowMillis, RedisProtocol.COMMON_ARGS));
    return new KeyStanding(
        snapshot(r, 0, r.get(0).intValue()), r.get(15), r.get(16).intValue(), r.get(17));
  }

  @Override
  public void setSaturationThreshold(double threshold) {
    settings.withSaturationThreshold(threshold); // checks the value
    saturationThreshold = number(threshold);
  }

  /**
   * One round trip: EVALSHA of the script's SHA (computed here, never loaded: on a cluster a load
   * goes to every node, and one node away would fail it); only when the node lacks the script, the
   * script whole, which caches it there.
   */
  private List<Long> run(RedisScript script, String[] keys, String[] args) {
    return run(script, keys, args, ScriptOutputType.MULTI);
  }

  private <T> T run(RedisScript script, String[] keys, String[] args, ScriptOutputType type) {
    return script.run(link.commands(), type, keys, args);
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
