package dev.fairshare.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The simulator's metrics on small cases checked by hand. */
class WaterFillingTest {

  @Test
  void equalWeights_demandAboveCapacity_splitEvenly() {
    assertThat(WaterFilling.allocate(60, new double[] {100, 100}, new double[] {1, 1}))
        .containsExactly(new double[] {30, 30}, within(1e-9));
  }

  @Test
  void aSmallDemandIsMet_andTheRestGoesToTheOthers() {
    // 100 over demands 10, 100, 100 (equal weights): 10, then 45 and 45
    assertThat(WaterFilling.allocate(100, new double[] {10, 100, 100}, new double[] {1, 1, 1}))
        .containsExactly(new double[] {10, 45, 45}, within(1e-9));
  }

  @Test
  void weightsSplitTheCapacity() {
    assertThat(WaterFilling.allocate(1000, new double[] {5000, 5000}, new double[] {0.9, 0.1}))
        .containsExactly(new double[] {900, 100}, within(1e-9));
    // the 0.1 key wants only 50: 950 for the other
    assertThat(WaterFilling.allocate(1000, new double[] {5000, 50}, new double[] {0.9, 0.1}))
        .containsExactly(new double[] {950, 50}, within(1e-9));
  }

  @Test
  void demandBelowCapacity_everyoneGetsTheirDemand() {
    assertThat(WaterFilling.allocate(100, new double[] {20, 30}, new double[] {1, 2}))
        .containsExactly(new double[] {20, 30}, within(1e-9));
  }

  @Test
  void jainIndex() {
    assertThat(WaterFilling.jain(new double[] {30, 30}, new double[] {30, 30})).isEqualTo(1.0);
    // one key gets everything: 1/n
    assertThat(WaterFilling.jain(new double[] {60, 0}, new double[] {30, 30}))
        .isCloseTo(0.5, within(1e-12));
    // x = 840/900, 160/100: (0.9333 + 1.6)^2 / (2 * (0.8711 + 2.56)) = 0.9352
    assertThat(WaterFilling.jain(new double[] {840, 160}, new double[] {900, 100}))
        .isCloseTo(0.93524, within(1e-5));
  }
}
