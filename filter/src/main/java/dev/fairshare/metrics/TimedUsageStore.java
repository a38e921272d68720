package dev.fairshare.metrics;

import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.store.ForwardingUsageStore;
import dev.fairshare.store.UsageStore;

/** A usage store whose admissions are timed into {@link FairShareMetrics#storeAdmission}. */
public final class TimedUsageStore extends ForwardingUsageStore {

  private final FairShareMetrics metrics;

  public TimedUsageStore(UsageStore store, FairShareMetrics metrics) {
    super(store);
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
}
