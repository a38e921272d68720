package dev.fairshare.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The two rules' math on its own, without a window: DESIGN.md's formulas, exact. */
class AllocationRuleTest {

  static final EngineSettings FAIR = EngineSettings.DEFAULTS;
  static final EngineSettings V1 = EngineSettings.DEFAULTS.withMode(AllocationMode.LITELLM_V1);

  /** Two other active keys of weight 1 and 2; the requester (weight 1) is active too. */
  static WindowTotals busy(long modelTokens, long keyTokens, boolean starved) {
    return new WindowTotals(modelTokens, 0, keyTokens, 0, 3.0, 2, true, starved);
  }

  @Test
  void theSettingsNameTheirRule() {
    assertThat(FAIR.rule()).isEqualTo(new FairRule(60, 1_000, 0.8));
    assertThat(V1.rule()).isEqualTo(new LiteLlmV1Rule(1_000));
  }

  @Test
  void fair_shareIsCapacityTimesWeightOverTheActiveWeight_andARequestCostsAtMostIt() {
    AllocationRule rule = FAIR.rule();
    WindowTotals t = busy(0, 0, false);
    assertThat(rule.share(1_000, 1.0, t)).isEqualTo(250); // 1000 × 1 / (3 + 1)
    assertThat(rule.cost(1_000, 900, 1.0, t)).isEqualTo(250);
    assertThat(rule.cost(1_000, 40, 1.0, t)).isEqualTo(40);
    assertThat(rule.activeKeys(t)).isEqualTo(3);
    assertThat(rule.remaining(250, 1_000, 600, 100, 1.0, 3)).isEqualTo(150);
  }

  @Test
  void fair_theCostMustFitTheRoom_andBorrowingStopsAtTheThresholdOrWhenCapacityIsOwed() {
    AllocationRule rule = FAIR.rule();
    assertThat(rule.fits(1_000, 960, 40)).isTrue();
    assertThat(rule.fits(1_000, 961, 40)).isFalse();
    // Within its share (250): always.
    assertThat(rule.mayTake(1_000, 900, 200, 50, 1.0, busy(900, 200, true))).isTrue();
    // Past it: while the model stays within 80 % with the request, and nobody is owed capacity.
    assertThat(rule.mayTake(1_000, 700, 250, 100, 1.0, busy(700, 250, false))).isTrue();
    assertThat(rule.mayTake(1_000, 701, 250, 100, 1.0, busy(701, 250, false))).isFalse();
    assertThat(rule.mayTake(1_000, 100, 250, 100, 1.0, busy(100, 250, true))).isFalse();
  }

  @Test
  void fair_aRefusalByTheModelOwesCapacityOnlyWithinTheShare() {
    AllocationRule rule = FAIR.rule();
    ModelCapacity capacity = new ModelCapacity(1_000, ModelCapacity.UNLIMITED);
    assertThat(rule.judge(capacity, 100, 1.0, busy(950, 0, false))).isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(rule.owedCapacity(Verdict.MODEL_TOKENS, capacity, 100, 1.0, busy(950, 0, false)))
        .isTrue();
    assertThat(rule.owedCapacity(Verdict.MODEL_TOKENS, capacity, 100, 1.0, busy(950, 250, false)))
        .isFalse();
    assertThat(rule.owedCapacity(Verdict.SHARE_TOKENS, capacity, 100, 1.0, busy(950, 0, false)))
        .isFalse();
  }

  @Test
  void litellmV1_allowanceIsFloorOfTheRoomTimesWeightOverTheKeysAdmitted_andAnyRoomFits() {
    AllocationRule rule = V1.rule();
    WindowTotals t = busy(400, 0, false);
    assertThat(rule.activeKeys(t)).isEqualTo(3);
    assertThat(rule.share(1_000, 1.0, t)).isEqualTo(333);
    assertThat(rule.remaining(333, 1_000, 400, 0, 1.0, 3)).isEqualTo(200); // floor(600 / 3)
    assertThat(rule.fits(1_000, 999, 500)).isTrue();
    assertThat(rule.fits(1_000, 1_000, 1)).isFalse();
    assertThat(rule.mayTake(1_000, 998, 0, 1, 1.0, t)).isFalse(); // floor(2 / 3) = 0
    assertThat(rule.turnedAwayKeysStayActive()).isFalse();
  }

  @Test
  void litellmV1_resetsAndRetriesAtTheEndOfTheCalendarMinute() {
    AllocationRule rule = V1.rule();
    long now = 1_800_000_015_250L; // 15.25 s into a minute
    assertThat(rule.fixedRetryAfter(now)).isEqualTo(44_750);
    assertThat(rule.resetMillis(now / 1_000, now)).isEqualTo(44_750);
    assertThat(rule.windowStart(now, now / 1_000)).isEqualTo(now / 1_000 - 15);
    assertThat(FAIR.rule().fixedRetryAfter(now)).isEqualTo(-1);
    assertThat(FAIR.rule().resetMillis(now / 1_000, now)).isEqualTo(59_750);
  }
}
