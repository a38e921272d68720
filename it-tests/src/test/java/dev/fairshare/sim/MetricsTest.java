package dev.fairshare.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.AllocationMode;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The two ways of counting a 429 as owed, on a run written by hand. */
class MetricsTest {

  /**
   * Two keys of weight 1 on 1,000 tokens a minute, for two minutes; the requests are written out.
   */
  static final Scenario TWO_KEYS =
      new Scenario(
          "hand-written",
          1_000,
          2,
          0.0,
          List.of(
              new Traffic(
                  "a",
                  1.0,
                  0,
                  Long.MAX_VALUE,
                  (now, random) -> Long.MAX_VALUE / 4,
                  Traffic.Sizes.fixed(100)),
              new Traffic(
                  "b",
                  1.0,
                  0,
                  Long.MAX_VALUE,
                  (now, random) -> Long.MAX_VALUE / 4,
                  Traffic.Sizes.fixed(100))));

  @Test
  void aRefusalWithinTheGuaranteedShareButPastTheIdealOne_countsOnlyAsBelowGuaranteed() {
    List<Simulator.Request> requests =
        List.of(
            new Simulator.Request(0, 0, 400, 400, 400, true),
            new Simulator.Request(0, 30_000, 100, 100, 100, true),
            new Simulator.Request(1, 60_500, 300, 300, 300, true),
            // Key a, requesting since 0 s: 100 in its trailing window, asks 100. Its guaranteed
            // share
            // in the second minute is 1,000 / 2 = 500, so 200 is within it; its ideal share is its
            // demand that minute, 100 (b asks 300 of the 1,000), so 200 is past it.
            new Simulator.Request(0, 61_000, 100, 100, 0, false));
    Metrics m =
        Metrics.of(new Simulator.Run(TWO_KEYS, Simulator.settings(AllocationMode.FAIR), requests));
    assertThat(m.belowGuaranteed()).isEqualTo(1);
    assertThat(m.unfairRejections()).isZero();
  }

  @Test
  void aRefusalBelowTheIdealShareOfABorrower_countsOnlyAsUnfair() {
    List<Simulator.Request> requests =
        List.of(
            new Simulator.Request(0, 0, 100, 100, 100, true),
            new Simulator.Request(0, 30_000, 100, 100, 100, true),
            new Simulator.Request(1, 60_500, 100, 100, 100, true),
            new Simulator.Request(0, 61_000, 500, 500, 500, true),
            // Second minute: a asks 500 + 100 + 400 = 1,000 and b 100, so a's ideal share is 900;
            // its
            // guaranteed share is 500. At 62 s a holds 600 in its trailing window and asks 100: 700
            // is
            // within the ideal share (unfair) but past the guaranteed one.
            new Simulator.Request(0, 62_000, 100, 100, 0, false),
            // At 63 s it asks 400: 1,000 is past both.
            new Simulator.Request(0, 63_000, 400, 400, 0, false));
    Metrics m =
        Metrics.of(new Simulator.Run(TWO_KEYS, Simulator.settings(AllocationMode.FAIR), requests));
    assertThat(m.unfairRejections()).isEqualTo(1);
    assertThat(m.unfairByKey()).containsExactly(1, 0);
    assertThat(m.belowGuaranteed()).isZero();
  }
}
