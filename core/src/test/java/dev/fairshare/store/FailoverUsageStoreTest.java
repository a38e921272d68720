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
}
