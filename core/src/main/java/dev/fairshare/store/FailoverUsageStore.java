package dev.fairshare.store;

import dev.fairshare.core.ActiveKey;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Allowance;
import dev.fairshare.core.Decision;
import dev.fairshare.core.KeyStanding;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.Reservation;
import dev.fairshare.core.UsageSnapshot;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A shared store with an explicit failure mode ({@code fairshare.redis.failure-mode}). When the
 * shared store fails or times out: {@code open} admits through a local memory store (this
 * instance's own budget, logged at most once a minute) and goes back to the shared store as soon as
 * it answers; {@code closed} throws {@link UsageStoreUnavailableException} (503).
 */
public final class FailoverUsageStore implements UsageStore {

  private static final Logger LOG = Logger.getLogger(FailoverUsageStore.class.getName());
  private static final long LOG_EVERY_MILLIS = 60_000;
  private static final Allowance UNKNOWN =
      new Allowance(
          ModelCapacity.UNLIMITED,
          ModelCapacity.UNLIMITED,
          0,
          0,
          ModelCapacity.UNLIMITED,
          ModelCapacity.UNLIMITED,
          0);

  private final UsageStore shared;
  private final MemoryUsageStore local;
  private final boolean failOpen;
  private final Predicate<RuntimeException> isStoreFailure;
  private final IntSupplier instances;
  private final Set<Reservation> localReservations = ConcurrentHashMap.newKeySet();
  private final AtomicLong lastLogMillis = new AtomicLong(Long.MIN_VALUE / 2);
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong localAdmissions = new AtomicLong();

  /** Settlements and releases the shared store did not take, and their reserved tokens. */
  private final AtomicLong settlementFailures = new AtomicLong();

  private final AtomicLong settlementFailedTokens = new AtomicLong();
  private final AtomicLong lastSettlementLogMillis = new AtomicLong(Long.MIN_VALUE / 2);

  /** Whether the last admission tried on the shared store failed (cleared by one that works). */
  private volatile boolean failing;

  /**
   * @param shared the shared store (Redis)
   * @param local where admissions go while the shared store is away (open mode)
   * @param failOpen true for {@code open}, false for {@code closed}
   * @param isStoreFailure which exceptions mean "the shared store is away"
   */
  public FailoverUsageStore(
      UsageStore shared,
      MemoryUsageStore local,
      boolean failOpen,
      Predicate<RuntimeException> isStoreFailure) {
    this(shared, local, failOpen, isStoreFailure, () -> 1);
  }

  /**
   * As above, for a shared store several instances use.
   *
   * @param instances how many instances share the store, as last seen (at least 1): while it is
   *     away, this instance admits against its part of every limit only ({@link
   *     AdmissionRequest#sharedBy}), so that together they stay within the budget
   */
  public FailoverUsageStore(
      UsageStore shared,
      MemoryUsageStore local,
      boolean failOpen,
      Predicate<RuntimeException> isStoreFailure,
      IntSupplier instances) {
    this.shared = shared;
    this.local = local;
    this.failOpen = failOpen;
    this.isStoreFailure = isStoreFailure;
    this.instances = instances;
  }

  @Override
  public Decision acquire(AdmissionRequest request, long nowMillis) {
    try {
      Decision decision = shared.acquire(request, nowMillis);
      failing = false;
      return decision;
    } catch (RuntimeException e) {
      if (!isStoreFailure.test(e)) {
        throw e;
      }
      failing = true;
      failed(e);
      if (!failOpen) {
        throw new UsageStoreUnavailableException("the shared usage store is unavailable", e);
      }
      Decision decision =
          local.acquire(request.sharedBy(Math.max(1, instances.getAsInt())), nowMillis);
      if (decision.admitted()) {
        localReservations.add(decision.reservation());
        localAdmissions.incrementAndGet();
      }
      return decision;
    }
  }

  @Override
  public UsageSnapshot settle(Reservation reservation, long actualTokens, long nowMillis) {
    if (localReservations.remove(reservation)) {
      return local.settle(reservation, actualTokens, nowMillis);
    }
    try {
      return shared.settle(reservation, actualTokens, nowMillis);
    } catch (RuntimeException e) {
      if (!isStoreFailure.test(e)) {
        throw e;
      }
      // The reservation stays in the shared store until its in-flight entry and window expire.
      failed(e);
      settlementFailed(reservation, e);
      return new UsageSnapshot(UNKNOWN, UNKNOWN, 0);
    }
  }

  @Override
  public CompletionStage<Void> settleWithoutWaiting(
      Reservation reservation, long actualTokens, long nowMillis) {
    if (localReservations.remove(reservation)) {
      local.settle(reservation, actualTokens, nowMillis);
      return CompletableFuture.completedFuture(null);
    }
    return quietly(
        reservation, () -> shared.settleWithoutWaiting(reservation, actualTokens, nowMillis));
  }

  @Override
  public CompletionStage<Void> release(Reservation reservation, long nowMillis) {
    if (localReservations.remove(reservation)) {
      return local.release(reservation, nowMillis);
    }
    return quietly(reservation, () -> shared.release(reservation, nowMillis));
  }

  private CompletionStage<Void> quietly(
      Reservation reservation, java.util.function.Supplier<CompletionStage<Void>> send) {
    CompletionStage<Void> sent;
    try {
      sent = send.get();
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    // As for settle: a settlement the shared store did not take leaves the reservation counted
    // there until its in-flight entry and window expire; it is counted and logged, never thrown.
    return sent.exceptionally(
        failure -> {
          Throwable cause =
              failure instanceof CompletionException && failure.getCause() != null
                  ? failure.getCause()
                  : failure;
          RuntimeException e =
              cause instanceof RuntimeException r ? r : new IllegalStateException(cause);
          if (isStoreFailure.test(e)) {
            failed(e);
          } else {
            LOG.log(Level.WARNING, "FairShare: a settlement failed", e);
          }
          settlementFailed(reservation, e);
          return null;
        });
  }

  /** How many calls to the shared store failed since start; for tests and metrics. */
  public long failures() {
    return failures.get();
  }

  /**
   * Settlements and releases the shared store did not take since start; for metrics. Each leaves
   * its reservation counted there until it leaves the window (its in-flight entry: until that
   * expires).
   */
  public long settlementFailures() {
    return settlementFailures.get();
  }

  /** The tokens reserved by the settlements and releases of {@link #settlementFailures}. */
  public long settlementFailedTokens() {
    return settlementFailedTokens.get();
  }

  private void settlementFailed(Reservation reservation, RuntimeException e) {
    long count = settlementFailures.incrementAndGet();
    long tokens = settlementFailedTokens.addAndGet(reservation.tokens());
    logAtMostOnceAMinute(
        lastSettlementLogMillis,
        () ->
            "FairShare: a settlement or release did not reach the shared usage store ("
                + e.getClass().getSimpleName()
                + ": "
                + e.getMessage()
                + "); its reservation stays counted there until it leaves the window. "
                + count
                + " so far, "
                + tokens
                + " tokens reserved by them (fairshare_store_settlement_failures_total). Logged"
                + " at most once a minute.");
  }

  /** Logs {@code message} unless {@code last} says it was logged less than a minute ago. */
  private static void logAtMostOnceAMinute(
      AtomicLong last, java.util.function.Supplier<String> message) {
    long now = System.currentTimeMillis();
    long then = last.get();
    if (now - then >= LOG_EVERY_MILLIS && last.compareAndSet(then, now)) {
      LOG.warning(message.get());
    }
  }

  /** Admissions counted locally because the shared store was away (open mode); for metrics. */
  public long localAdmissions() {
    return localAdmissions.get();
  }

  /**
   * Whether the last admission tried on the shared store failed: requests are now admitted locally
   * ({@link #failsOpen()}) or answered 503, until one succeeds.
   */
  public boolean failing() {
    return failing;
  }

  /** The failure mode: true for {@code open}. */
  public boolean failsOpen() {
    return failOpen;
  }

  private void failed(RuntimeException e) {
    failures.incrementAndGet();
    logAtMostOnceAMinute(
        lastLogMillis,
        () ->
            "FairShare: the shared usage store is unavailable ("
                + e.getClass().getSimpleName()
                + ": "
                + e.getMessage()
                + "); failure mode "
                + (failOpen
                    ? "open: counting locally, against 1/"
                        + Math.max(1, instances.getAsInt())
                        + " of every limit (the instances last seen sharing it)"
                    : "closed: answering 503")
                + ". Logged at most once a minute.");
  }

  /** The instances last seen sharing the shared store, this one included (at least 1). */
  public int sharingInstances() {
    return Math.max(1, instances.getAsInt());
  }

  /** Both stores': the local one decides while the shared one is away. */
  @Override
  public void setSaturationThreshold(double threshold) {
    shared.setSaturationThreshold(threshold);
    local.setSaturationThreshold(threshold);
  }

  /** The shared store's; 503 ({@link UsageStoreUnavailableException}) while it is away. */
  @Override
  public List<ActiveKey> activeKeys(String model, long nowMillis) {
    return read(() -> shared.activeKeys(model, nowMillis));
  }

  /** The shared store's; 503 ({@link UsageStoreUnavailableException}) while it is away. */
  @Override
  public KeyStanding standing(AdmissionRequest request, long nowMillis) {
    return read(() -> shared.standing(request, nowMillis));
  }

  private <T> T read(java.util.function.Supplier<T> read) {
    try {
      return read.get();
    } catch (RuntimeException e) {
      if (!isStoreFailure.test(e)) {
        throw e;
      }
      throw new UsageStoreUnavailableException("the shared usage store is unavailable", e);
    }
  }

  /** Whether the shared store answers (the local one always does). */
  @Override
  public boolean isReachable() {
    try {
      return shared.isReachable();
    } catch (RuntimeException e) {
      return false;
    }
  }

  @Override
  public void close() {
    shared.close();
    local.close();
  }
}
