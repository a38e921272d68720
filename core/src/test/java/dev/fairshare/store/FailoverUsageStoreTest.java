package dev.fairshare.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.Reservation;
import dev.fairshare.core.UsageSnapshot;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** While the shared store is away, open mode admits against this instance's part of each limit. */
class FailoverUsageStoreTest {

  static final long T0 = 1_800_000_000_000L;

  /** A shared store that is away. */
  static final class Away implements UsageStore {
    @Override
    public Decision acquire(AdmissionRequest request, long nowMillis) {
      throw new IllegalStateException("away");
    }

    @Override
    public UsageSnapshot settle(Reservation reservation, long actualTokens, long nowMillis) {
      throw new IllegalStateException("away");
    }

    @Override
    public CompletionStage<Void> release(Reservation reservation, long nowMillis) {
      throw new IllegalStateException("away");
    }

    @Override
    public boolean isReachable() {
      return false;
    }
  }

  @Test
  void openMode_countsLocallyAgainstCapacityOverTheInstancesLastSeen() {
    AtomicInteger instances = new AtomicInteger(4);
    FailoverUsageStore store =
        new FailoverUsageStore(
            new Away(),
            new MemoryUsageStore(EngineSettings.DEFAULTS),
            true,
            e -> e instanceof IllegalStateException,
            instances::get);
    ModelCapacity capacity = new ModelCapacity(ModelCapacity.UNLIMITED, 100);
    int admitted = 0;
    for (int i = 0; i < 200; i++) {
      AdmissionRequest r =
          new AdmissionRequest("key-" + (i % 5), "m", capacity, 1.0, 10, KeyLimits.NONE);
      if (store.acquire(r, T0).admitted()) {
        admitted++;
      }
    }
    assertThat(admitted).as("100 requests a window shared by 4 instances").isEqualTo(25);
    assertThat(store.sharingInstances()).isEqualTo(4);
    assertThat(store.isReachable()).isFalse();
  }

  @Test
  void aKeysOwnLimitsAreSharedToo_andNothingIsEverDividedToZero() {
    assertThat(new KeyLimits(1_000, 3, 2).sharedBy(4)).isEqualTo(new KeyLimits(250, 1, 1));
    assertThat(new ModelCapacity(0, ModelCapacity.UNLIMITED).sharedBy(4))
        .isEqualTo(new ModelCapacity(0, ModelCapacity.UNLIMITED));
    assertThat(KeyLimits.NONE.sharedBy(3)).isSameAs(KeyLimits.NONE);
  }

  /** A shared store that admits but takes no settlement or release. */
  static final class AdmitsOnly implements UsageStore {
    final MemoryUsageStore memory = new MemoryUsageStore(EngineSettings.DEFAULTS);

    @Override
    public Decision acquire(AdmissionRequest request, long nowMillis) {
      return memory.acquire(request, nowMillis);
    }

    @Override
    public UsageSnapshot settle(Reservation reservation, long actualTokens, long nowMillis) {
      throw new IllegalStateException("away");
    }

    @Override
    public CompletionStage<Void> settleWithoutWaiting(
        Reservation reservation, long actualTokens, long nowMillis) {
      return java.util.concurrent.CompletableFuture.failedFuture(new IllegalStateException("away"));
    }

    @Override
    public CompletionStage<Void> release(Reservation reservation, long nowMillis) {
      throw new IllegalStateException("away");
    }
  }

  @Test
  void settlementsTheSharedStoreDoesNotTake_areCountedWithTheTokensTheyReserved() {
    FailoverUsageStore store =
        new FailoverUsageStore(
            new AdmitsOnly(),
            new MemoryUsageStore(EngineSettings.DEFAULTS),
            true,
            e -> e instanceof IllegalStateException,
            () -> 1);
    ModelCapacity capacity = new ModelCapacity(1_000, 100);
    Reservation[] reservations = new Reservation[3];
    for (int i = 0; i < 3; i++) {
      Decision d =
          store.acquire(
              new AdmissionRequest("key", "m", capacity, 1.0, 10 * (i + 1), KeyLimits.NONE), T0);
      assertThat(d.admitted()).isTrue();
      reservations[i] = d.reservation();
    }
    store.settle(reservations[0], 5, T0);
    store.settleWithoutWaiting(reservations[1], 5, T0).toCompletableFuture().join();
    store.release(reservations[2], T0).toCompletableFuture().join();
    assertThat(store.settlementFailures()).isEqualTo(3);
    assertThat(store.settlementFailedTokens()).isEqualTo(10 + 20 + 30);
    assertThat(store.localAdmissions()).isZero();
  }
}
