package dev.fairshare.store;

import dev.fairshare.core.ActiveKey;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.KeyStanding;
import dev.fairshare.core.Reservation;
import dev.fairshare.core.UsageSnapshot;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * A store that hands every call to another: the base of decorators, which override what they add to
 * (the keys' own limits, timing) and forward the rest, so that a method added to {@link UsageStore}
 * reaches the store underneath without each decorator repeating it.
 */
public abstract class ForwardingUsageStore implements UsageStore {

  /** The store underneath; closed with this one. */
  protected final UsageStore store;

  protected ForwardingUsageStore(UsageStore store) {
    this.store = store;
  }

  @Override
  public Decision acquire(AdmissionRequest request, long nowMillis) {
    return store.acquire(request, nowMillis);
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
  public List<ActiveKey> activeKeys(String model, long nowMillis) {
    return store.activeKeys(model, nowMillis);
  }

  @Override
  public KeyStanding standing(AdmissionRequest request, long nowMillis) {
    return store.standing(request, nowMillis);
  }

  @Override
  public void setSaturationThreshold(double threshold) {
    store.setSaturationThreshold(threshold);
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
