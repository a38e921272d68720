package dev.fairshare.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/**
 * Issue 16's acceptance: two saturated teams of weight 1 get 50 % ± 2 % each; inside a team, keys
 * split by their weights (Jain ≥ 0.98). Requests of 20 tokens: small against a light key's share
 * (FAIRNESS.md shows what 100-token requests give).
 */
class TeamSimulationTest {

  @Test
  void twoSaturatedTeams_getHalfEach_andTheLightKeysSplitTheirTeamsHalfByWeight() {
    for (boolean weighted : new boolean[] {false, true}) {
      for (long seed = 1; seed <= 5; seed++) {
        TeamSimulation.Result r = TeamSimulation.run(weighted, 20, seed);
        assertThat(r.shareA())
            .as("team A, seed %d, weighted %s", seed, weighted)
            .isCloseTo(0.5, within(0.02));
        assertThat(r.shareB()).isCloseTo(0.5, within(0.02));
        assertThat(r.jainB())
            .as("Jain inside B, seed %d, weighted %s", seed, weighted)
            .isGreaterThanOrEqualTo(0.98);
        assertThat(r.utilization()).isGreaterThan(0.95);
      }
    }
  }
}
