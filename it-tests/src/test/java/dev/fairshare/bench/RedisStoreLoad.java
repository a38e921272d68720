package dev.fairshare.bench;

import com.sun.management.OperatingSystemMXBean;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.store.redis.RedisLink;
import dev.fairshare.store.redis.RedisUsageStore;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Redis store without HTTP: 16 threads admit and settle on one model with 64 keys against the
 * local Redis, settling two ways in the same run: waiting for the standing ({@code settle}, as the
 * filter did until session 3) and not waiting ({@code settleWithoutWaiting}, as it does now).
 * Prints, per way, admissions per second, this process's CPU per admission, and Redis's own time
 * per script call from {@code INFO commandstats}.
 *
 * <pre>mvn -B -q -pl it-tests -am -DskipTests install &&
 * mvn -B -q -pl it-tests -Pbench exec:exec -Dbench.main=dev.fairshare.bench.RedisStoreLoad</pre>
 */
public final class RedisStoreLoad {

  static final int THREADS = 16;
  static final int KEYS = 64;
  static final long ROUND_MILLIS = 5_000;
  static final int ROUNDS = 3;

  public static void main(String[] args) throws Exception {
    RedisLink link = RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(1));
    RedisUsageStore store =
        new RedisUsageStore(link, EngineSettings.DEFAULTS, "fs-load-" + System.nanoTime());
    ModelCapacity capacity = new ModelCapacity(1_000_000_000L, 100_000_000L);
    round(store, capacity, 4_000, true); // warm-up, both ways
    round(store, capacity, 4_000, false);
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long[] admitted = new long[2];
    long[] cpu = new long[2];
    long[] redisCalls = new long[2];
    long[] redisMicros = new long[2];
    for (int r = 0; r < 2 * ROUNDS; r++) {
      int way = r % 2; // alternating, so that both ways see the same machine
      link.commands().configResetstat();
      long cpuBefore = os.getProcessCpuTime();
      admitted[way] += round(store, capacity, ROUND_MILLIS, way == 0);
      cpu[way] += os.getProcessCpuTime() - cpuBefore;
      String stats =
          link.commands()
              .info("commandstats")
              .lines()
              .filter(l -> l.startsWith("cmdstat_evalsha:"))
              .findFirst()
              .orElseThrow();
      redisCalls[way] += Long.parseLong(stats.replaceAll("^cmdstat_evalsha:calls=(\\d+),.*", "$1"));
      redisMicros[way] += Long.parseLong(stats.replaceAll(".*usec=(\\d+),.*", "$1"));
    }
    System.out.println(
        "| settlement | admissions/s | ratio | client CPU per admission | Redis time per script call | Redis time per admission |");
    System.out.println("|---|---|---|---|---|---|");
    for (int way = 0; way < 2; way++) {
      System.out.printf(
          Locale.ROOT,
          "| %s | %.0f | %.2f | %.1f us | %.1f us | %.1f us |%n",
          way == 0 ? "`settle` (waited for)" : "`settleWithoutWaiting`",
          admitted[way] * 1000.0 / (ROUNDS * ROUND_MILLIS),
          (double) admitted[way] / admitted[0],
          cpu[way] / 1000.0 / admitted[way],
          (double) redisMicros[way] / redisCalls[way],
          (double) redisMicros[way] / admitted[way]);
    }
    store.close();
  }

  private static long round(
      RedisUsageStore store, ModelCapacity capacity, long millis, boolean wait) throws Exception {
    AtomicLong count = new AtomicLong();
    long end = System.nanoTime() + millis * 1_000_000L;
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int thread = t;
      futures.add(
          pool.submit(
              () -> {
                int i = thread;
                while (System.nanoTime() < end) {
                  AdmissionRequest r =
                      new AdmissionRequest(
                          "key-" + (i++ % KEYS), "bench-model", capacity, 1.0, 50, KeyLimits.NONE);
                  Decision d = store.acquire(r, System.currentTimeMillis());
                  if (wait) {
                    store.settle(d.reservation(), 40, System.currentTimeMillis());
                  } else {
                    store.settleWithoutWaiting(d.reservation(), 40, System.currentTimeMillis());
                  }
                  count.incrementAndGet();
                }
                return null;
              }));
    }
    for (Future<?> f : futures) {
      f.get();
    }
    pool.shutdown();
    return count.get();
  }
}
