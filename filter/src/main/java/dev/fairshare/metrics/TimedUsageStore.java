package dev.fairshare.metrics;

import dev.fairshare.core.ActiveKey;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.KeyStanding;
import dev.fairshare.core.Reservation;
import dev.fairshare.core.UsageSnapshot;
import dev.fairshare.store.UsageStore;
import java.util.List;
import java.util.concurrent.CompletionStage;

/** A usage store whose admissions are timed into {@link FairShareMetrics#storeAdmission}. */
public final class TimedUsageStore implements UsageStore {

  private final UsageStore store;
  private final FairShareMetrics metrics;

  public TimedUsageStore(UsageStore store, FairShareMetrics metrics) {
    this.store = store;
    this.metrics = metrics;
  }

  @Override
  public Decision acquire(AdmissionRequest request, long nowMillis) {
    long start = System.nanoTime();
    try {
      return store.acquire(request, nowMillis);
    } finally {
      metrics.storeAdmission(System.nanoTime() - start);
    }
  }

  @Override
  public UsageSnapshot settle(Reservation reservation, long actualTokens, long nowMillis) {
    return store.settle(reservation, actualTokens, nowMillis);
  }

  @Override
  public CompletionStage<Void> settleWithoutWaiting(
      Reservation reservation, long actualTokens, long nowMillis) {
    return store.settleWithoutWaiting(reservation, actualTokens, nowMillis);
  }

  @Override
  public CompletionStage<Void> release(Reservation reservation, long nowMillis) {
    return store.release(reservation, nowMillis);
  }

  @Override
  public void setSaturationThreshold(double threshold) {
    store.setSaturationThreshold(threshold);
  }

  @Override
  public List<ActiveKey> activeKeys(String model, long nowMillis) {
    return store.activeKeys(model, nowMillis);
  }

  @Override
  public KeyStanding standing(AdmissionRequest request, long nowMillis) {
    return store.standing(request, nowMillis);
  }

  @Override
  public boolean isReachable() {
    return store.isReachable();
  }

  @Override
  public void close() {
    store.close();
  }
}
