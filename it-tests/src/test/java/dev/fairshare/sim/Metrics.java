package dev.fairshare.sim;

import java.util.ArrayList;
import java.util.List;

/**
 * What a run is judged by.
 *
 * @param utilization mean over windows whose demand exceeds capacity of tokens admitted / capacity
 * @param jain mean over windows with 2+ saturated keys (requesting since the window began) of
 *     Jain's index of admitted / ideal share
 * @param overAdmission most tokens admitted above capacity in any engine window (N whole buckets)
 * @param settlementError the largest single-request overshoot (actual − reserved) in the run
 * @param maxInFlight the most requests admitted and not yet settled at once
 * @param joinSeconds longest time for a key that joined late to reach 90 % of its ideal rate
 *     (trailing 10 s), or -1 when no key joined late
 * @param starvationSeconds longest gap between two admissions of a key that was being rejected
 * @param unfairRejections 429s to a key whose admissions in the trailing window plus the request
 *     would still be within its ideal share, after it had been requesting for a whole window
 * @param unfairByKey {@code unfairRejections} per key, in scenario order
 * @param belowGuaranteed 429s to a key, requesting for a whole window, whose admissions in the
 *     trailing window plus the request would still be within its guaranteed share {@code C × w /
 *     Σw} (Σw over the keys requesting in that calendar window): what a key can count on whatever
 *     the others do, where the ideal share also counts what they leave unused
 */
public record Metrics(
    double utilization,
    double jain,
    long overAdmission,
    long settlementError,
    int maxInFlight,
    double joinSeconds,
    double starvationSeconds,
    int unfairRejections,
    List<Integer> unfairByKey,
    int belowGuaranteed) {

  /** Computes the metrics of a run. */
  public static Metrics of(Simulator.Run run) {
    Scenario s = run.scenario();
    List<Simulator.Request> requests = run.requests();
    int keys = s.keys().size();
    long window = run.settings().effectiveWindowMillis();
    long bucket = run.settings().bucketMillis();
    int windows = (int) (s.minutes() * 60_000L / window);
    double[] weights = s.keys().stream().mapToDouble(Traffic::weight).toArray();

    // Per fixed window: demand, admitted, ideal.
    double[][] demand = new double[windows][keys];
    double[][] admitted = new double[windows][keys];
    // A key is judged in a window's Jain index only if it was already requesting when the window
    // began: the window in which a key joins is judged by the join time instead (the others'
    // usage from before the join is legitimately still in the window).
    boolean[][] presentAtStart = new boolean[windows][keys];
    long[] runSince = new long[keys];
    long[] previous = new long[keys];
    java.util.Arrays.fill(previous, Long.MIN_VALUE / 2);
    for (Simulator.Request r : requests) {
      int w = (int) (r.at() / window);
      if (r.at() - previous[r.key()] > window) {
        runSince[r.key()] = r.at();
      }
      previous[r.key()] = r.at();
      if (runSince[r.key()] <= (long) w * window) {
        presentAtStart[w][r.key()] = true;
      }
      demand[w][r.key()] += r.actual();
      if (r.admitted()) {
        admitted[w][r.key()] += r.actual();
      }
    }
    double[] requestingWeight = new double[windows];
    for (int w = 0; w < windows; w++) {
      for (int k = 0; k < keys; k++) {
        if (demand[w][k] > 0) {
          requestingWeight[w] += weights[k];
        }
      }
    }
    double[][] ideal = new double[windows][];
    List<Double> utilizations = new ArrayList<>();
    List<Double> jains = new ArrayList<>();
    for (int w = 0; w < windows; w++) {
      ideal[w] = WaterFilling.allocate(s.capacity(), demand[w], weights);
      if (w == 0) {
        continue; // warm-up
      }
      double totalDemand = 0;
      double totalAdmitted = 0;
      List<Integer> saturated = new ArrayList<>();
      for (int k = 0; k < keys; k++) {
        totalDemand += demand[w][k];
        totalAdmitted += admitted[w][k];
        if (presentAtStart[w][k] && ideal[w][k] > 0 && demand[w][k] > ideal[w][k] * 1.05) {
          saturated.add(k);
        }
      }
      if (totalDemand > s.capacity()) {
        utilizations.add(Math.min(1.0, totalAdmitted / s.capacity()));
      }
      if (saturated.size() >= 2) {
        jains.add(WaterFilling.jain(saturated, admitted[w], ideal[w]));
      }
    }

    // Over-admission per engine window (N whole buckets), and the largest settlement error.
    int n = (int) (window / bucket);
    long buckets = s.minutes() * 60_000L / bucket + 1;
    long[] perBucket = new long[(int) buckets];
    long settlementError = 0;
    for (Simulator.Request r : requests) {
      if (r.admitted()) {
        perBucket[(int) (r.at() / bucket)] += r.actual();
        settlementError = Math.max(settlementError, r.actual() - r.reserved());
      }
    }
    // Requests in flight at once: each is settled LATENCY_MILLIS after its admission.
    int maxInFlight = 0;
    java.util.ArrayDeque<Long> flying = new java.util.ArrayDeque<>();
    for (Simulator.Request r : requests) {
      if (r.admitted()) {
        while (!flying.isEmpty() && flying.peekFirst() + Simulator.LATENCY_MILLIS <= r.at()) {
          flying.pollFirst();
        }
        flying.addLast(r.at());
        maxInFlight = Math.max(maxInFlight, flying.size());
      }
    }
    long over = 0;
    long sum = 0;
    for (int b = 0; b < buckets; b++) {
      sum += perBucket[b];
      if (b >= n) {
        sum -= perBucket[b - n];
      }
      over = Math.max(over, sum - s.capacity());
    }

    // Starvation, unfair rejections, joining.
    long[] lastAdmit = new long[keys];
    long[] firstPendingSince = new long[keys];
    long[] activeSince = new long[keys];
    long[] lastRequest = new long[keys];
    java.util.Arrays.fill(lastAdmit, -1);
    java.util.Arrays.fill(firstPendingSince, -1);
    java.util.Arrays.fill(lastRequest, Long.MIN_VALUE / 2);
    List<java.util.ArrayDeque<long[]>> recent = new ArrayList<>();
    for (int k = 0; k < keys; k++) {
      recent.add(new java.util.ArrayDeque<>());
    }
    long[] recentSum = new long[keys];
    long starvation = 0;
    int unfair = 0;
    int belowGuaranteed = 0;
    int[] unfairPerKey = new int[keys];
    double join = -1;
    boolean[] joined = new boolean[keys];
    List<java.util.ArrayDeque<long[]>> trailing10 = new ArrayList<>();
    long[] trailingSum = new long[keys];
    for (int k = 0; k < keys; k++) {
      trailing10.add(new java.util.ArrayDeque<>());
    }
    for (Simulator.Request r : requests) {
      int k = r.key();
      long t = r.at();
      if (t - lastRequest[k] > window) {
        activeSince[k] = t;
      }
      lastRequest[k] = t;
      java.util.ArrayDeque<long[]> q = recent.get(k);
      long windowStart = (t / bucket - n + 1) * bucket;
      while (!q.isEmpty() && q.peekFirst()[0] < windowStart) {
        recentSum[k] -= q.pollFirst()[1];
      }
      java.util.ArrayDeque<long[]> q10 = trailing10.get(k);
      while (!q10.isEmpty() && q10.peekFirst()[0] <= t - 10_000) {
        trailingSum[k] -= q10.pollFirst()[1];
      }
      int w = (int) Math.min(windows - 1, t / window);
      if (r.admitted()) {
        if (firstPendingSince[k] >= 0) {
          starvation = Math.max(starvation, t - Math.max(lastAdmit[k], firstPendingSince[k]));
          firstPendingSince[k] = -1;
        }
        lastAdmit[k] = t;
        q.addLast(new long[] {t, r.actual()});
        recentSum[k] += r.actual();
        q10.addLast(new long[] {t, r.actual()});
        trailingSum[k] += r.actual();
      } else {
        if (firstPendingSince[k] < 0) {
          firstPendingSince[k] = t;
        }
        if (t - activeSince[k] >= window && recentSum[k] + r.estimate() <= ideal[w][k]) {
          unfair++;
          unfairPerKey[k]++;
        }
        if (t - activeSince[k] >= window
            && recentSum[k] + r.estimate() <= s.capacity() * weights[k] / requestingWeight[w]) {
          belowGuaranteed++;
        }
      }
      Traffic traffic = s.keys().get(k);
      if (traffic.joinMillis() > 0
          && !joined[k]
          && ideal[w][k] > 0
          && trailingSum[k] >= 0.9 * ideal[w][k] * 10_000.0 / window) {
        joined[k] = true;
        join = Math.max(join, (t - traffic.joinMillis()) / 1000.0);
      }
    }
    for (int k = 0; k < keys; k++) {
      if (s.keys().get(k).joinMillis() > 0 && !joined[k]) {
        join = Double.POSITIVE_INFINITY;
      }
    }
    return new Metrics(
        utilizations.stream().mapToDouble(Double::doubleValue).average().orElse(1.0),
        jains.stream().mapToDouble(Double::doubleValue).average().orElse(1.0),
        over,
        settlementError,
        maxInFlight,
        join,
        starvation / 1000.0,
        unfair,
        java.util.Arrays.stream(unfairPerKey).boxed().toList(),
        belowGuaranteed);
  }
}
