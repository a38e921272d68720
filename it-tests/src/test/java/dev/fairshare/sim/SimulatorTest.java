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
      Metrics first = Metrics.of(Simulator.run(scenario, Simulator.settings(AllocationMode.FAIR), 1));
      Metrics second = Metrics.of(Simulator.run(scenario, Simulator.settings(AllocationMode.FAIR), 1));
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
      Metrics fair = Metrics.of(Simulator.run(scenario, Simulator.settings(AllocationMode.FAIR), FairnessReport.SEED));
      Metrics v1 = Metrics.of(Simulator.run(scenario, Simulator.settings(AllocationMode.LITELLM_V1), FairnessReport.SEED));
      assertThat(fair.jain()).as("Jain, %s", scenario.name()).isGreaterThanOrEqualTo(v1.jain());
      assertThat(fair.overAdmission()).as("over-admission, %s", scenario.name()).isLessThanOrEqualTo(v1.overAdmission());
      // DESIGN.md invariant 1: at most one request's overshoot per request in flight.
      assertThat(fair.overAdmission()).as("fair over-admission, %s", scenario.name())
          .isLessThanOrEqualTo((long) fair.maxInFlight() * fair.settlementError());
    }
  }
}
