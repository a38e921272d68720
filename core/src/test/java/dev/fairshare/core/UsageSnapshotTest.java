package dev.fairshare.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link UsageSnapshot#afterSettling} against the engine itself: when nothing happens between an
 * admission and its settlement, the standing worked out from the admission snapshot is the one
 * {@link ModelWindow#settle} returns, to the token and the millisecond.
 */
class UsageSnapshotTest {

  static final long T0 = 1_800_000_000_000L;

  @Test
  void referenceScenario_firstCallSettledAt30_leaves30() {
    ModelWindow window = new ModelWindow(EngineSettings.DEFAULTS);
    AdmissionRequest request =
        new AdmissionRequest(
            "k1", "m", new ModelCapacity(60, ModelCapacity.UNLIMITED), 1.0, 266, KeyLimits.NONE);
    Decision first = window.decide(request, T0);
    UsageSnapshot local =
        first.usage().afterSettling(first.reservation(), 30, T0 + 250, EngineSettings.DEFAULTS);
    assertThat(local.tokens().remaining()).isEqualTo(30);
    assertThat(local.tokens().used()).isEqualTo(30);
    assertThat(local.tokens().modelRemaining()).isEqualTo(30);
    assertThat(local.tokens().resetMillis()).isEqualTo(59_750);
    assertThat(local).isEqualTo(window.settle(first.reservation(), 30, T0 + 250));
  }

  @Test
  void randomTimelines_matchTheEngine_inBothModes() {
    for (AllocationMode mode : AllocationMode.values()) {
      EngineSettings settings = EngineSettings.DEFAULTS.withMode(mode);
      Random random = new Random(20261125);
      ModelWindow window = new ModelWindow(settings);
      ModelCapacity capacity = new ModelCapacity(30_000, 150);
      KeyLimits[] limits = {KeyLimits.NONE, new KeyLimits(1_500, 10, ModelCapacity.UNLIMITED)};
      long now = T0;
      int compared = 0;
      for (int step = 0; step < 3_000; step++) {
        now += random.nextInt(700);
        int key = random.nextInt(6);
        AdmissionRequest request =
            new AdmissionRequest(
                "k" + key,
                "m",
                capacity,
                key < 2 ? 3.0 : 1.0,
                1 + random.nextInt(900),
                limits[key % 2]);
        Decision decision = window.decide(request, now);
        if (!decision.admitted()) {
          continue;
        }
        // Settled later in the same bucket, so no usage leaves the window in between.
        long settledAt =
            now
                + random.nextInt(
                    (int) (settings.bucketMillis() - Math.floorMod(now, settings.bucketMillis())));
        long actual = random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(1_200);
        UsageSnapshot local =
            decision.usage().afterSettling(decision.reservation(), actual, settledAt, settings);
        UsageSnapshot engine = window.settle(decision.reservation(), actual, settledAt);
        if (actual == 0) {
          // The documented approximation: only the token reset may differ.
          assertThat(local.tokens().remaining()).isEqualTo(engine.tokens().remaining());
          assertThat(local.tokens().used()).isEqualTo(engine.tokens().used());
          assertThat(local.tokens().modelRemaining()).isEqualTo(engine.tokens().modelRemaining());
          assertThat(local.requests()).isEqualTo(engine.requests());
        } else {
          assertThat(local).as("%s step %d", mode, step).isEqualTo(engine);
        }
        now = settledAt;
        compared++;
      }
      assertThat(compared).as("admissions compared in %s", mode).isGreaterThan(500);
    }
  }
}
