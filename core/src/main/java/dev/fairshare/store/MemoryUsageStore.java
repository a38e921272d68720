package dev.fairshare.store;

import dev.fairshare.core.ActiveKey;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyStanding;
import dev.fairshare.core.ModelWindow;
import dev.fairshare.core.Reservation;
import dev.fairshare.core.UsageSnapshot;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Usage held in this JVM: one {@link ModelWindow} per model, each guarded by its own lock (no
 * global lock). Windows of models nobody used for a whole window are dropped.
 */
public final class MemoryUsageStore implements UsageStore {

  private volatile EngineSettings settings;
  private final ConcurrentHashMap<String, GuardedWindow> windows = new ConcurrentHashMap<>();
  private final AtomicLong nextSweepMillis = new AtomicLong(Long.MIN_VALUE);

  public MemoryUsageStore(EngineSettings settings) {
    this.settings = settings;
    this.keyLimitSettings =
        settings.withPool(
            EngineSettings.Pool.SLIDING_WINDOW, settings.poolBurst(), settings.poolReserve());
  }

  /**
   * The settings of a key's own limit window ({@link KeyLimitedUsageStore#KEY_WINDOW}): a key's
   * {@code tpm_limit} is counted in the sliding window whatever the model's pool, so that it is
   * never exceeded by a bucket's burst.
   */
  private volatile EngineSettings keyLimitSettings;

  private ModelWindow newWindow(String model) {
    return new ModelWindow(
        model.startsWith(KeyLimitedUsageStore.KEY_WINDOW) ? keyLimitSettings : settings);
  }

  @Override
  public Decision acquire(AdmissionRequest request, long nowMillis) {
    sweepIfDue(nowMillis);
    while (true) {
      GuardedWindow guarded =
          windows.computeIfAbsent(request.model(), m -> new GuardedWindow(newWindow(m)));
      synchronized (guarded) {
        // A sweeper may have retired this window between the lookup and the lock; it is no
        // longer in the map, so look again.
        if (!guarded.retired) {
          return guarded.window.decide(request, nowMillis);
        }
      }
    }
  }

  @Override
  public UsageSnapshot settle(Reservation reservation, long actualTokens, long nowMillis) {
    // A window holding an in-flight reservation is never idle, so it cannot have been retired.
    GuardedWindow guarded =
        windows.computeIfAbsent(
            reservation.request().model(), m -> new GuardedWindow(newWindow(m)));
    synchronized (guarded) {
      return guarded.window.settle(reservation, actualTokens, nowMillis);
    }
  }

  @Override
  public CompletionStage<Void> release(Reservation reservation, long nowMillis) {
    GuardedWindow guarded =
        windows.computeIfAbsent(
            reservation.request().model(), m -> new GuardedWindow(newWindow(m)));
    synchronized (guarded) {
      guarded.window.release(reservation, nowMillis);
    }
    return CompletableFuture.completedFuture(null);
  }

  /** The standing of {@code request}'s key now, without admitting anything. */
  public UsageSnapshot peek(AdmissionRequest request, long nowMillis) {
    GuardedWindow guarded = windows.get(request.model());
    if (guarded == null) {
      return new ModelWindow(settings).peek(request, nowMillis);
    }
    synchronized (guarded) {
      return guarded.window.peek(request, nowMillis);
    }
  }

  @Override
  public List<ActiveKey> activeKeys(String model, long nowMillis) {
    GuardedWindow guarded = windows.get(model);
    if (guarded == null) {
      return List.of();
    }
    synchronized (guarded) {
      return guarded.window.activeKeys(nowMillis);
    }
  }

  @Override
  public KeyStanding standing(AdmissionRequest request, long nowMillis) {
    GuardedWindow guarded = windows.get(request.model());
    if (guarded == null) {
      return new ModelWindow(settings).standing(request, nowMillis);
    }
    synchronized (guarded) {
      return guarded.window.standing(request, nowMillis);
    }
  }

  @Override
  public void setSaturationThreshold(double threshold) {
    settings = settings.withSaturationThreshold(threshold); // checks the value
    keyLimitSettings = keyLimitSettings.withSaturationThreshold(threshold);
    // Windows made from now on take the new settings; those already there change under their lock
    for (GuardedWindow guarded : windows.values()) {
      synchronized (guarded) {
        guarded.window.setSaturationThreshold(threshold);
      }
    }
  }

  /** Requests admitted to {@code model} and not yet settled; for tests and metrics. */
  public int inFlight(String model) {
    GuardedWindow guarded = windows.get(model);
    if (guarded == null) {
      return 0;
    }
    synchronized (guarded) {
      return guarded.window.inFlight();
    }
  }

  /** Number of models with state held; for tests and metrics. */
  public int trackedModels() {
    return windows.size();
  }

  private void sweepIfDue(long nowMillis) {
    long due = nextSweepMillis.get();
    if (nowMillis < due
        || !nextSweepMillis.compareAndSet(due, nowMillis + settings.windowMillis())) {
      return;
    }
    for (Map.Entry<String, GuardedWindow> entry : windows.entrySet()) {
      GuardedWindow guarded = entry.getValue();
      synchronized (guarded) {
        if (guarded.window.isIdle(nowMillis)) {
          guarded.retired = true;
          windows.remove(entry.getKey(), guarded);
        }
      }
    }
  }

  private static final class GuardedWindow {
    final ModelWindow window;
    boolean retired;

    GuardedWindow(ModelWindow window) {
      this.window = window;
    }
  }
}
