package dev.fairshare.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.AllocationMode;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The simulator is deterministic, and its metrics tell the two rules apart on the same traffic. */
class SimulatorTest {

  @Test
  void sameSeed_sameMetrics() {
    for (Scenario scenario : FairnessReport.standardScenarios()) {
      Metrics first =
          Metrics.of(Simulator.run(scenario, Simulator.settings(AllocationMode.FAIR), 1));
      Metrics second =
          Metrics.of(Simulator.run(scenario, Simulator.settings(AllocationMode.FAIR), 1));
      assertThat(second).as(scenario.name()).isEqualTo(first);
    }
  }

  @Test
  void twoEqualKeys_splitEveryWindowEvenly_inBothModes() {
    Scenario two = FairnessReport.standardScenarios().get(0);
    for (AllocationMode mode : AllocationMode.values()) {
      Metrics m = Metrics.of(Simulator.run(two, Simulator.settings(mode), FairnessReport.SEED));
      assertThat(m.jain()).as(mode.configName()).isEqualTo(1.0);
      assertThat(m.utilization()).isEqualTo(1.0);
      assertThat(m.overAdmission()).isZero();
      assertThat(m.unfairRejections()).isZero();
    }
  }

  @Test
  void fairModeIsFairerAndAdmitsLessAboveCapacityThanLiteLlmV1_onEveryContendedScenario() {
    List<Scenario> scenarios = FairnessReport.standardScenarios();
    for (Scenario scenario : scenarios.subList(1, scenarios.size())) {
      Metrics fair =
          Metrics.of(
              Simulator.run(
                  scenario, Simulator.settings(AllocationMode.FAIR), FairnessReport.SEED));
      Metrics v1 =
          Metrics.of(
              Simulator.run(
                  scenario, Simulator.settings(AllocationMode.LITELLM_V1), FairnessReport.SEED));
      assertThat(fair.jain()).as("Jain, %s", scenario.name()).isGreaterThanOrEqualTo(v1.jain());
      assertThat(fair.jain()).as("fair Jain, %s", scenario.name()).isGreaterThanOrEqualTo(0.98);
      assertThat(fair.overAdmission())
          .as("over-admission, %s", scenario.name())
          .isLessThanOrEqualTo(v1.overAdmission());
      // Issue 3: over-admission at most one request's estimate error (fair admits only what fits).
      assertThat(fair.overAdmission())
          .as("fair over-admission, %s", scenario.name())
          .isLessThanOrEqualTo(fair.settlementError());
    }
  }

  /** The acceptance targets, on the scenarios where fair mode meets all of them. */
  @Test
  void fairMode_meetsTheTargets_onPrioritiesAndBurstyHeavyTailedTraffic() {
    List<Scenario> scenarios = FairnessReport.standardScenarios();
    for (Scenario scenario : List.of(scenarios.get(0), scenarios.get(1), scenarios.get(4))) {
      Metrics m =
          Metrics.of(
              Simulator.run(
                  scenario, Simulator.settings(AllocationMode.FAIR), FairnessReport.SEED));
      assertThat(m.jain()).as("Jain, %s", scenario.name()).isGreaterThanOrEqualTo(0.98);
      assertThat(m.utilization())
          .as("utilization, %s", scenario.name())
          .isGreaterThanOrEqualTo(0.95);
      assertThat(m.unfairRejections()).as("unfair 429s, %s", scenario.name()).isZero();
    }
  }

  @Test
  void fairMode_joiningKeysReachTheirShareWithinAWindow_andWindowsAfterAJoinSplitFairly() {
    Scenario joining = FairnessReport.standardScenarios().get(3);
    Metrics m =
        Metrics.of(
            Simulator.run(joining, Simulator.settings(AllocationMode.FAIR), FairnessReport.SEED));
    assertThat(m.joinSeconds()).isBetween(0.0, 60.0);
    assertThat(m.jain()).isGreaterThanOrEqualTo(0.98);
    assertThat(m.utilization()).isGreaterThanOrEqualTo(0.95);
  }

  @Test
  void greedyAndPolite_noPoliteKeyIsTurnedAwayBelowItsGuaranteedShare() {
    Scenario scenario = FairnessReport.standardScenarios().get(FairnessReport.GREEDY_AND_POLITE);
    Simulator.Run run =
        Simulator.run(scenario, Simulator.settings(AllocationMode.FAIR), FairnessReport.SEED);
    // C × w / Σw with ten active keys of weight 1: 1,000 tokens; a polite request is 200
    long bucket = run.settings().bucketMillis();
    long buckets = run.settings().effectiveWindowMillis() / bucket;
    long window = buckets * bucket;
    List<Simulator.Request> log = run.requests();
    long[] activeSince = new long[scenario.keys().size()];
    long[] previous = new long[activeSince.length];
    java.util.Arrays.fill(previous, Long.MIN_VALUE / 2);
    int checked = 0;
    for (int i = 0; i < log.size(); i++) {
      Simulator.Request r = log.get(i);
      if (r.at() - previous[r.key()] > window) {
        activeSince[r.key()] = r.at();
      }
      previous[r.key()] = r.at();
      // Before a key has been active for a whole window, capacity lent while it was idle is
      // legitimately still in the window (the definition of an unfair 429).
      if (r.key() == 0 || r.admitted() || r.at() - activeSince[r.key()] < window) {
        continue;
      }
      checked++;
      long windowStart = (r.at() / bucket - buckets + 1) * bucket;
      long used = 0;
      for (int j = i - 1; j >= 0 && log.get(j).at() >= windowStart; j--) {
        if (log.get(j).key() == r.key() && log.get(j).admitted()) {
          used += log.get(j).actual();
        }
      }
      assertThat(used + r.estimate())
          .as("polite key %d turned away at %d ms", r.key(), r.at())
          .isGreaterThan(1_000);
    }
    assertThat(checked).as("polite keys turned away after a window of activity").isPositive();
  }

  @Test
  void clientSimulator_sameSeedSameRun_andEveryLogicalRequestEndsOnceWithinTheSdksCalls() {
    for (Scenario scenario : FairnessReport.clientScenarios()) {
      ClientSimulator.ClientRun run =
          ClientSimulator.run(
              scenario,
              Simulator.settings(AllocationMode.FAIR),
              ClientSimulator.Clients.SDK_STREAMING,
              3);
      assertThat(
              ClientSimulator.run(
                  scenario,
                  Simulator.settings(AllocationMode.FAIR),
                  ClientSimulator.Clients.SDK_STREAMING,
                  3))
          .as(scenario.name())
          .isEqualTo(run);
      int calls = 0;
      for (ClientSimulator.Logical l : run.logical()) {
        assertThat(l.calls()).isBetween(1, 1 + ClientSimulator.Clients.SDK_RETRIES);
        calls += l.calls();
        if (l.succeeded()) {
          assertThat(l.addedDelay()).isNotNegative();
        }
      }
      // Every call belongs to one logical request; those still waiting for a retry at the end
      // of the run are the only calls not counted.
      assertThat(calls).isLessThanOrEqualTo(run.calls().requests().size());
      long admitted = run.calls().requests().stream().filter(Simulator.Request::admitted).count();
      assertThat(run.logical().stream().filter(ClientSimulator.Logical::succeeded).count())
          .isEqualTo(admitted);
    }
  }

  @Test
  void clientSimulator_twoEqualKeysBelowNoShare_andADroppingClientNeverRetries() {
    Scenario two = FairnessReport.standardScenarios().get(0);
    ClientSimulator.Clients dropping =
        new ClientSimulator.Clients(ClientSimulator.ClientKind.DROP, 2_000, 30_000, 5_000);
    ClientSimulator.ClientRun run =
        ClientSimulator.run(two, Simulator.settings(AllocationMode.FAIR), dropping, 1);
    assertThat(run.logical()).allMatch(l -> l.calls() == 1);
    ClientMetrics m = ClientMetrics.of(run);
    // Each key asks three times the capacity: none is ever below its share, none light, and the
    // model is full in every window after the first.
    assertThat(m.belowShareRequests()).isZero();
    assertThat(m.retries()).isZero();
    assertThat(m.utilizationMin()).isGreaterThanOrEqualTo(0.95);
    assertThat(m.overAdmission()).isZero();
  }

  @Test
  void percentile_isTheNearestRank() {
    List<Double> values = List.of(5.0, 1.0, 4.0, 2.0, 3.0);
    assertThat(ClientMetrics.percentile(values, 0.2)).isEqualTo(1.0);
    assertThat(ClientMetrics.percentile(values, 0.5)).isEqualTo(3.0);
    assertThat(ClientMetrics.percentile(values, 0.99)).isEqualTo(5.0);
    assertThat(ClientMetrics.percentile(List.of(), 0.99)).isZero();
  }

  @Test
  void clientSimulator_aServerWaitHoldsACallAtMostThatLong_insteadOfAnswering429() {
    Scenario priorities = FairnessReport.standardScenarios().get(1);
    ClientSimulator.Clients held = ClientSimulator.Clients.SDK_STREAMING.withServerWait(5_000);
    ClientSimulator.ClientRun run =
        ClientSimulator.run(priorities, Simulator.settings(AllocationMode.FAIR), held, 1);
    List<ClientSimulator.Logical> firstCall =
        run.logical().stream().filter(l -> l.succeeded() && l.calls() == 1).toList();
    assertThat(firstCall).allMatch(l -> l.addedDelay() <= 5_000);
    assertThat(firstCall).anyMatch(l -> l.addedDelay() > 0);
    // Held calls are tried again by the server: more engine decisions than client calls.
    int clientCalls = run.logical().stream().mapToInt(ClientSimulator.Logical::calls).sum();
    assertThat(run.calls().requests().size()).isGreaterThan(clientCalls);
  }

  /** The worst of seeds 1 to {@link FairnessReport#CLIENT_SEEDS} of {@code scenario} in a setup. */
  private static ClientMetrics worst(Scenario scenario, FairnessReport.Setup setup) {
    List<ClientMetrics> runs = new java.util.ArrayList<>();
    for (long seed = 1; seed <= FairnessReport.CLIENT_SEEDS; seed++) {
      runs.add(
          ClientMetrics.of(ClientSimulator.run(scenario, setup.settings(), setup.clients(), seed)));
    }
    return ClientMetrics.worst(runs);
  }

  private static Scenario clientScenario(String name) {
    return FairnessReport.clientScenarios().stream()
        .filter(s -> s.name().equals(name))
        .findFirst()
        .orElseThrow();
  }

  /**
   * Issue 14's criteria that the token-bucket pool meets with SDK clients (what FairShare does
   * today: no server-side wait), on the worst of 20 seeds: a greedy key and a batch job among
   * polite keys, at both scales.
   */
  @Test
  void tokenBucket_greedyOrBatchAmongPoliteKeys_meetsE1E3AndE6_andBeatsTheSlidingWindow() {
    FairnessReport.Setup bucket = FairnessReport.clientSetups().get("fair, token-bucket");
    FairnessReport.Setup sliding = FairnessReport.clientSetups().get("fair, sliding-window");
    for (String name :
        List.of(
            "greedy + 9 polite",
            "batch job, 8 workers, + 9 polite",
            "greedy + 9 polite (×10)",
            "batch job, 8 workers, + 9 polite (×10)")) {
      Scenario scenario = clientScenario(name);
      ClientMetrics m = worst(scenario, bucket);
      ClientMetrics before = worst(scenario, sliding);
      assertThat(m.belowShareFailed()).as("E1 failed, %s", name).isZero();
      assertThat(m.belowShareRequests()).as("E1 requests, %s", name).isPositive();
      assertThat(m.belowShareDelayMax()).as("E1 max delay, %s", name).isLessThanOrEqualTo(5.0);
      assertThat(m.jain()).as("E3, %s", name).isGreaterThanOrEqualTo(0.98);
      // E6: at most the bucket, a sixth of the capacity (estimates are exact here).
      assertThat(m.overAdmission())
          .as("E6, %s", name)
          .isLessThanOrEqualTo(scenario.capacity() / 6 + 1);
      assertThat(m.utilizationMin())
          .as("E4, %s", name)
          .isGreaterThan(before.utilizationMin())
          .isGreaterThanOrEqualTo(name.contains("×10") ? 0.95 : 0.88);
      assertThat(m.lightGoodput()).as("E2, %s", name).isGreaterThanOrEqualTo(before.lightGoodput());
    }
  }

  /**
   * E6 for the token bucket: tokens admitted in any window stay within C + B, on every scenario.
   */
  @Test
  void tokenBucket_neverAdmitsMoreThanTheBurstAboveCapacity_whereEstimatesAreExact() {
    FairnessReport.Setup bucket =
        FairnessReport.clientSetups().get("fair, token-bucket, held up to 5 s");
    for (Scenario scenario : FairnessReport.clientScenarios()) {
      if (scenario.estimateError() > 0) {
        continue; // debt is an estimate error: no pool bounds it
      }
      for (long seed = 1; seed <= 3; seed++) {
        ClientMetrics m =
            ClientMetrics.of(
                ClientSimulator.run(scenario, bucket.settings(), bucket.clients(), seed));
        assertThat(m.overAdmission())
            .as("%s, seed %d", scenario.name(), seed)
            .isLessThanOrEqualTo((long) Math.ceil(scenario.capacity() / 6.0));
      }
    }
  }

  /**
   * With the waiting room (what FairShare does by default) and the token bucket: no below-share
   * request fails and every retry at the advised time is admitted (E1, E5), on the worst of 20
   * seeds, wherever FAIRNESS.md reports it.
   */
  @Test
  void tokenBucketWithTheWaitingRoom_failsNoBelowShareRequest_andItsRetryAftersAreHonest() {
    FairnessReport.Setup held =
        FairnessReport.clientSetups().get("fair, token-bucket, held up to 5 s");
    List<String> names = new java.util.ArrayList<>();
    for (String suffix : List.of("", " (×10)")) {
      for (String name :
          List.of(
              "2 equal keys",
              "10 keys, 0.9/0.1 priorities",
              "greedy + 9 polite",
              "keys joining one by one",
              "batch job, 8 workers, + 9 polite")) {
        names.add(name + suffix);
      }
    }
    names.add("estimates off by ±50 % (×10)");
    names.add("10 keys on an RPM limit (60 a minute) (×10)");
    for (String name : names) {
      ClientMetrics m = worst(clientScenario(name), held);
      assertThat(m.belowShareFailed()).as("E1 failed, %s", name).isZero();
      assertThat(m.retryHonesty()).as("E5, %s", name).isEqualTo(1.0);
    }
  }
}
