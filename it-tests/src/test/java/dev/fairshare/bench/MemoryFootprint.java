package dev.fairshare.bench;

import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.store.MemoryUsageStore;
import java.util.Locale;

/**
 * Heap held by the memory store with 100,000 active keys over 100 models (each key admitted and
 * settled 3 times in different buckets), measured as used heap after GC, before and after.
 *
 * <pre>mvn -B -q -pl it-tests -am -DskipTests install &&
 * mvn -B -q -pl it-tests -Pbench exec:exec -Dbench.main=dev.fairshare.bench.MemoryFootprint</pre>
 */
public final class MemoryFootprint {

  public static void main(String[] args) {
    long before = usedAfterGc();
    MemoryUsageStore store = new MemoryUsageStore(EngineSettings.DEFAULTS);
    ModelCapacity capacity = new ModelCapacity(1_000_000_000L, 10_000_000L);
    long now = 1_800_000_000_000L;
    for (int round = 0; round < 3; round++) {
      for (int k = 0; k < 100_000; k++) {
        String model = "model-" + (k % 100);
        // 64-hex-character key ids, like the sha256 tokens the filter uses
        String key = String.format(Locale.ROOT, "%064x", k);
        AdmissionRequest r = new AdmissionRequest(key, model, capacity, 1.0, 300, KeyLimits.NONE);
        Decision d = store.acquire(r, now);
        store.settle(d.reservation(), 250, now);
      }
      now += 5_000;
    }
    long after = usedAfterGc();
    System.out.printf(
        Locale.ROOT,
        "| 100,000 active keys, 100 models | %.1f MB | %d models tracked |%n",
        (after - before) / 1e6,
        store.trackedModels());
  }

  private static long usedAfterGc() {
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return rt.totalMemory() - rt.freeMemory();
  }
}
