package dev.fairshare.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Issue 14's criteria, judged per logical request ({@link ClientSimulator}), in tokens, or in
 * requests for a scenario with a request capacity.
 *
 * @param belowShareRequests logical requests of keys below their guaranteed share: the key had been
 *     requesting for a whole window, and its admitted tokens in the trailing window, plus the
 *     estimates of its own earlier requests still waiting (neither admitted nor given up), plus the
 *     request's estimate were within {@code C × w / Σw} (Σw over the keys requesting in that
 *     trailing window) when it first called. The earlier requests count because a key's own backlog
 *     is its demand: a key that keeps six times its share waiting cannot have every request served,
 *     whatever the scheduler, though each may find its admitted usage under the share
 * @param belowShareFailed of those, how many failed after the client's retries (E1: 0)
 * @param belowShareDelayP99 their added delay, 99th percentile, seconds (E1: ≤ 2 s)
 * @param belowShareDelayMax their longest added delay, seconds (E1: ≤ 5 s)
 * @param lightGoodput share of light keys' logical requests that succeeded (E2: ≥ 0.999); a key is
 *     light in a calendar window (but the last, whose demand the run's end cuts short) when its
 *     demand there is within its max-min ideal
 * @param lightDelayP99 light keys' added delay, 99th percentile, seconds (E2: ≤ 2 s)
 * @param utilizationMin the lowest, over calendar windows after the first, of admitted tokens /
 *     min(C, demand) (E4: ≥ 0.95)
 * @param utilizationP10 the 10th percentile of the same
 * @param retryHonesty share of retries by keys below their share that were admitted (E5: ≥ 0.95); 1
 *     when there was none
 * @param retries how many such retries there were
 * @param jain weighted Jain over saturated keys, the lowest window (E3), from the logical requests
 * @param overAdmission tokens admitted above C in any engine window (E6), from {@link Metrics}
 */
public record ClientMetrics(
    int belowShareRequests,
    int belowShareFailed,
    double belowShareDelayP99,
    double belowShareDelayMax,
    double lightGoodput,
    double lightDelayP99,
    double utilizationMin,
    double utilizationP10,
    double retryHonesty,
    int retries,
    double jain,
    long overAdmission) {

  /** Computes the criteria of a run. */
  public static ClientMetrics of(ClientSimulator.ClientRun run) {
    Scenario s = run.calls().scenario();
    long window = run.calls().settings().effectiveWindowMillis();
    int keys = s.keys().size();
    int windows = (int) (s.minutes() * 60_000L / window);
    double[] weights = s.keys().stream().mapToDouble(Traffic::weight).toArray();
    // A scenario bound by requests is judged in requests: each counts 1, against the RPM.
    boolean byRequests = s.requestCapacity() != dev.fairshare.core.ModelCapacity.UNLIMITED;
    double capacity = byRequests ? s.requestCapacity() : s.capacity();
    List<ClientSimulator.Logical> logical = new ArrayList<>(run.logical());
    logical.sort((a, b) -> Long.compare(a.at(), b.at()));

    // Demand per calendar window (what the clients asked for) and what was admitted in it.
    double[][] demand = new double[windows + 1][keys];
    double[] admitted = new double[windows + 1];
    for (ClientSimulator.Logical l : logical) {
      demand[(int) (l.at() / window)][l.key()] += byRequests ? 1 : l.actual();
    }
    for (Simulator.Request c : run.calls().requests()) {
      if (c.admitted()) {
        admitted[(int) (c.at() / window)] += byRequests ? 1 : c.actual();
      }
    }
    double[][] ideal = new double[windows][];
    List<Double> utilization = new ArrayList<>();
    for (int w = 0; w < windows; w++) {
      ideal[w] = WaterFilling.allocate(capacity, demand[w], weights);
      double total = Arrays.stream(demand[w]).sum();
      if (w > 0 && total > 0) {
        utilization.add(Math.min(1.0, admitted[w] / Math.min(capacity, total)));
      }
    }

    // Below the guaranteed share, at the first call: trailing admitted usage per key, keys
    // requesting in the trailing window, and since when each key has been requesting.
    List<ArrayDeque<long[]>> used = new ArrayList<>();
    for (int k = 0; k < keys; k++) {
      used.add(new ArrayDeque<>());
    }
    long[] usedSum = new long[keys];
    // Per key, its earlier logical requests not yet ended: [endedAt, amount], soonest end first.
    List<java.util.PriorityQueue<long[]>> waiting = new ArrayList<>();
    long[] waitingSum = new long[keys];
    for (int k = 0; k < keys; k++) {
      waiting.add(new java.util.PriorityQueue<>((a, b) -> Long.compare(a[0], b[0])));
    }
    long[] lastAt = new long[keys];
    long[] activeSince = new long[keys];
    Arrays.fill(lastAt, Long.MIN_VALUE / 2);
    List<ClientSimulator.Logical> admittedInOrder = new ArrayList<>();
    for (ClientSimulator.Logical l : logical) {
      if (l.succeeded()) {
        admittedInOrder.add(l);
      }
    }
    admittedInOrder.sort((a, b) -> Long.compare(a.admittedAt(), b.admittedAt()));
    int next = 0;
    List<Double> belowDelays = new ArrayList<>();
    int below = 0;
    int belowFailed = 0;
    int retries = 0;
    int retriesAdmitted = 0;
    int light = 0;
    int lightOk = 0;
    List<Double> lightDelays = new ArrayList<>();
    for (ClientSimulator.Logical l : logical) {
      long t = l.at();
      while (next < admittedInOrder.size() && admittedInOrder.get(next).admittedAt() <= t) {
        ClientSimulator.Logical a = admittedInOrder.get(next++);
        long amount = byRequests ? 1 : a.actual();
        used.get(a.key()).addLast(new long[] {a.admittedAt(), amount});
        usedSum[a.key()] += amount;
      }
      double requestingWeight = 0;
      for (int k = 0; k < keys; k++) {
        ArrayDeque<long[]> q = used.get(k);
        while (!q.isEmpty() && q.peekFirst()[0] <= t - window) {
          usedSum[k] -= q.pollFirst()[1];
        }
        if (t - lastAt[k] < window || k == l.key()) {
          requestingWeight += weights[k];
        }
      }
      int k = l.key();
      if (t - lastAt[k] > window) {
        activeSince[k] = t;
      }
      lastAt[k] = t;
      double guaranteed = capacity * weights[k] / requestingWeight;
      long asked = byRequests ? 1 : l.estimate();
      java.util.PriorityQueue<long[]> own = waiting.get(k);
      while (!own.isEmpty() && own.peek()[0] <= t) {
        waitingSum[k] -= own.poll()[1];
      }
      boolean belowShare = usedSum[k] + waitingSum[k] + asked <= guaranteed;
      if (l.endedAt() > t) {
        own.add(new long[] {l.endedAt(), asked});
        waitingSum[k] += asked;
      }
      if (t - activeSince[k] >= window && belowShare) {
        below++;
        retries += l.calls() - 1;
        if (l.succeeded()) {
          retriesAdmitted += l.calls() > 1 ? 1 : 0;
          belowDelays.add(l.addedDelay() / 1000.0);
        } else {
          belowFailed++;
        }
      }
      int w = (int) (t / window);
      // Not the last window: the run ends with calls still waiting, so its demand is cut short.
      if (w < windows - 1 && demand[w][k] <= ideal[w][k] + 1e-9) {
        light++;
        if (l.succeeded()) {
          lightOk++;
          lightDelays.add(l.addedDelay() / 1000.0);
        }
      }
    }
    Metrics engine = Metrics.of(run.calls());
    double jain = jain(logical, s, window, windows, weights, capacity, byRequests, demand, ideal);
    return new ClientMetrics(
        below,
        belowFailed,
        percentile(belowDelays, 0.99),
        percentile(belowDelays, 1.0),
        light == 0 ? 1.0 : (double) lightOk / light,
        percentile(lightDelays, 0.99),
        utilization.stream().mapToDouble(Double::doubleValue).min().orElse(1.0),
        percentile(utilization, 0.10),
        retries == 0 ? 1.0 : (double) retriesAdmitted / retries,
        retries,
        jain,
        engine.overAdmission());
  }

  /**
   * Weighted Jain of admitted / ideal over the keys saturated in a calendar window (requesting
   * since before it began, demand above 1.05 × their max-min ideal), the lowest over the windows
   * after the first and before the last (whose demand the run's end cuts short) with two such keys
   * or more; 1 when no window has two. From the logical requests: a retried call is not more
   * demand.
   */
  private static double jain(
      List<ClientSimulator.Logical> logical,
      Scenario s,
      long window,
      int windows,
      double[] weights,
      double capacity,
      boolean byRequests,
      double[][] demand,
      double[][] ideal) {
    int keys = weights.length;
    double[][] served = new double[windows + 1][keys];
    long[] firstAt = new long[keys];
    Arrays.fill(firstAt, Long.MAX_VALUE);
    for (ClientSimulator.Logical l : logical) {
      firstAt[l.key()] = Math.min(firstAt[l.key()], l.at());
      if (l.succeeded()) {
        served[(int) (l.admittedAt() / window)][l.key()] += byRequests ? 1 : l.actual();
      }
    }
    double lowest = 1.0;
    for (int w = 1; w < windows - 1; w++) {
      List<Integer> saturated = new ArrayList<>();
      for (int k = 0; k < keys; k++) {
        if (firstAt[k] < (long) w * window
            && ideal[w][k] > 0
            && demand[w][k] > ideal[w][k] * 1.05) {
          saturated.add(k);
        }
      }
      if (saturated.size() >= 2) {
        lowest = Math.min(lowest, WaterFilling.jain(saturated, served[w], ideal[w]));
      }
    }
    return lowest;
  }

  /** The {@code q} quantile (nearest rank) of {@code values}; 0 when there is none. */
  static double percentile(List<Double> values, double q) {
    if (values.isEmpty()) {
      return 0;
    }
    double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  /**
   * The worst of several runs' criteria, each figure on its own (the run with the most failures
   * need not be the one with the lowest utilization); the below-share count is the one of the run
   * with the most below-share failures.
   */
  static ClientMetrics worst(List<ClientMetrics> runs) {
    ClientMetrics mostFailed =
        runs.stream()
            .max(java.util.Comparator.comparingInt(ClientMetrics::belowShareFailed))
            .orElseThrow();
    return new ClientMetrics(
        mostFailed.belowShareRequests(),
        mostFailed.belowShareFailed(),
        runs.stream().mapToDouble(ClientMetrics::belowShareDelayP99).max().orElse(0),
        runs.stream().mapToDouble(ClientMetrics::belowShareDelayMax).max().orElse(0),
        runs.stream().mapToDouble(ClientMetrics::lightGoodput).min().orElse(1),
        runs.stream().mapToDouble(ClientMetrics::lightDelayP99).max().orElse(0),
        runs.stream().mapToDouble(ClientMetrics::utilizationMin).min().orElse(1),
        runs.stream().mapToDouble(ClientMetrics::utilizationP10).min().orElse(1),
        runs.stream().mapToDouble(ClientMetrics::retryHonesty).min().orElse(1),
        runs.stream().mapToInt(ClientMetrics::retries).max().orElse(0),
        runs.stream().mapToDouble(ClientMetrics::jain).min().orElse(1),
        runs.stream().mapToLong(ClientMetrics::overAdmission).max().orElse(0));
  }
}
