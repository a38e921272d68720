package dev.fairshare.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** 64 threads against one model with a frozen clock: admissions are exact. */
class MemoryUsageStoreConcurrencyTest {

  static final long NOW = 1_800_000_000_000L;
  static final int THREADS = 64;
  static final int ATTEMPTS_PER_THREAD = 10;

  @Test
  void rpm100_admitsExactly100Of640ConcurrentRequests() throws Exception {
    MemoryUsageStore store = new MemoryUsageStore(EngineSettings.DEFAULTS);
    ModelCapacity rpm100 = new ModelCapacity(ModelCapacity.UNLIMITED, 100);
    List<Decision> admitted = hammer(store, rpm100, 15);
    assertThat(admitted).hasSize(100);
  }

  @Test
  void admittedTokenReservationsNeverExceedCapacity() throws Exception {
    MemoryUsageStore store = new MemoryUsageStore(EngineSettings.DEFAULTS);
    ModelCapacity tpm1000 = new ModelCapacity(1000, ModelCapacity.UNLIMITED);
    List<Decision> admitted = hammer(store, tpm1000, 15);
    long reserved = admitted.stream().mapToLong(d -> d.reservation().tokens()).sum();
    // 66 reservations of 15; the 10 tokens left do not hold a 15-token request (fair mode admits
    // only what fits, so the budget is exceeded by estimate errors alone)
    assertThat(reserved).isEqualTo(990);
    assertThat(admitted).hasSize(66);
  }

  private static List<Decision> hammer(
      MemoryUsageStore store, ModelCapacity capacity, long estimate) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    CountDownLatch start = new CountDownLatch(1);
    ConcurrentLinkedQueue<Decision> admitted = new ConcurrentLinkedQueue<>();
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      String key = "key-" + (t % 16);
      futures.add(
          pool.submit(
              () -> {
                start.await();
                for (int i = 0; i < ATTEMPTS_PER_THREAD; i++) {
                  AdmissionRequest r =
                      new AdmissionRequest(key, "m", capacity, 1.0, estimate, KeyLimits.NONE);
                  Decision d = store.acquire(r, NOW);
                  if (d.admitted()) {
                    admitted.add(d);
                  }
                }
                return null;
              }));
    }
    start.countDown();
    for (Future<?> f : futures) {
      f.get(30, TimeUnit.SECONDS);
    }
    pool.shutdown();
    return new ArrayList<>(admitted);
  }
}
