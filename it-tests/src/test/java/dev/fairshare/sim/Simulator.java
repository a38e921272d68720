package dev.fairshare.sim;

import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.AllocationMode;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.Reservation;
import dev.fairshare.store.MemoryUsageStore;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;

/**
 * Runs a {@link Scenario} through the engine and the memory store on simulated time: no HTTP, no
 * threads, no wall clock; the same seed gives the same result. A request is admitted or rejected at
 * its arrival (a rejected request is dropped: the client's next request comes on schedule) and an
 * admitted one settles with its actual usage {@value #LATENCY_MILLIS} ms later.
 */
public final class Simulator {

  static final long LATENCY_MILLIS = 500;
  static final long T0 = 1_800_000_000_000L;

  /** One request as it happened. */
  record Request(int key, long at, long estimate, long actual, long reserved, boolean admitted) {}

  /** Everything that happened in a run. */
  record Run(Scenario scenario, EngineSettings settings, List<Request> requests) {}

  private Simulator() {}

  public static Run run(Scenario scenario, EngineSettings settings, long seed) {
    MemoryUsageStore store = new MemoryUsageStore(settings);
    ModelCapacity capacity = scenario.modelCapacity();
    Random random = new Random(seed);
    long end = scenario.minutes() * 60_000L;
    List<Traffic> keys = scenario.keys();
    // Events: [time, kind (0 settle, 1 arrival), key, index into pending settlements]
    PriorityQueue<long[]> events =
        new PriorityQueue<>(
            (a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
    List<Object[]> settlements = new ArrayList<>();
    for (int k = 0; k < keys.size(); k++) {
      events.add(new long[] {keys.get(k).joinMillis(), 1, k, -1});
    }
    List<Request> log = new ArrayList<>();
    while (!events.isEmpty()) {
      long[] e = events.poll();
      long now = e[0];
      if (now >= end) {
        break;
      }
      if (e[1] == 0) {
        Object[] s = settlements.get((int) e[3]);
        store.settle((Reservation) s[0], (Long) s[1], T0 + now);
        continue;
      }
      int k = (int) e[2];
      Traffic traffic = keys.get(k);
      if (now >= traffic.leaveMillis()) {
        continue;
      }
      long estimate = traffic.sizes().next(random);
      double u = random.nextDouble() * 2 - 1;
      long actual = Math.max(1, Math.round(estimate * (1 + scenario.estimateError() * u)));
      AdmissionRequest request =
          new AdmissionRequest(
              traffic.key(), "sim-model", capacity, traffic.weight(), estimate, KeyLimits.NONE);
      Decision decision = store.acquire(request, T0 + now);
      if (decision.admitted()) {
        settlements.add(new Object[] {decision.reservation(), actual});
        events.add(new long[] {now + LATENCY_MILLIS, 0, k, settlements.size() - 1});
      }
      log.add(
          new Request(
              k,
              now,
              estimate,
              actual,
              decision.admitted() ? decision.reservation().tokens() : 0,
              decision.admitted()));
      events.add(new long[] {now + traffic.arrivals().nextGap(now, random), 1, k, -1});
    }
    return new Run(scenario, settings, log);
  }

  /** The engine settings for a mode (everything else at the defaults). */
  public static EngineSettings settings(AllocationMode mode) {
    return settings(mode, EngineSettings.DEFAULTS.saturationThreshold());
  }

  /** The engine settings for a mode and saturation threshold (everything else at the defaults). */
  public static EngineSettings settings(AllocationMode mode, double saturationThreshold) {
    EngineSettings d = EngineSettings.DEFAULTS;
    return new EngineSettings(mode, d.windowMillis(), d.bucketMillis(), saturationThreshold);
  }
}
