package dev.fairshare.quota;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class MemoryQuotaLedgerTest extends QuotaLedgerContract {

  @Override
  protected QuotaLedger newLedger(SpendSeed seed) {
    return new MemoryQuotaLedger(seed);
  }

  @Test
  void concurrentReservations_neverPassTheLimit() throws Exception {
    MemoryQuotaLedger ledger = new MemoryQuotaLedger(SpendSeed.NONE);
    QuotaCounter budget = counter("key:a:spend", 1_000_000, QuotaCounter.NO_ALERT, T0);
    AtomicInteger admitted = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<?>> done = new java.util.ArrayList<>();
    for (int i = 0; i < 64; i++) {
      String id = "h" + i;
      done.add(
          pool.submit(
              () -> {
                if (ledger.reserve(charge(budget, 400_000), id, T0 + 60_000, T0).admitted()) {
                  admitted.incrementAndGet();
                }
              }));
    }
    for (Future<?> f : done) {
      f.get();
    }
    pool.shutdown();
    assertThat(admitted.get()).isEqualTo(2);
    assertThat(ledger.holds()).isEqualTo(2);
  }
}
