package dev.fairshare.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Timelines for the allocation rule, with exact numbers. Time is passed in; nothing sleeps. */
class ModelWindowTest {

  /** A bucket- and minute-aligned instant. */
  static final long T0 = 1_800_000_000_000L;

  static final ModelCapacity TPM_60 = new ModelCapacity(60, ModelCapacity.UNLIMITED);

  static AdmissionRequest request(String key, ModelCapacity capacity, long estimate) {
    return new AdmissionRequest(key, "m", capacity, 1.0, estimate, KeyLimits.NONE);
  }

  static AdmissionRequest weighted(
      String key, ModelCapacity capacity, double weight, long estimate) {
    return new AdmissionRequest(key, "m", capacity, weight, estimate, KeyLimits.NONE);
  }

  /** Admits and settles at once; fails if not admitted. */
  static UsageSnapshot use(ModelWindow window, AdmissionRequest request, long actual, long now) {
    Decision d = window.decide(request, now);
    assertThat(d.verdict())
        .as("admission of %s at +%d ms", request.keyId(), now - T0)
        .isEqualTo(Verdict.ADMITTED);
    return window.settle(d.reservation(), actual, now);
  }

  @Test
  void referenceScenario_twoKeysOnA60TpmModel_thirdCallGets429WithExactNumbers() {
    ModelWindow window = new ModelWindow(EngineSettings.DEFAULTS);

    // Given key 1's call, estimated at 266 tokens (prompt + completion reserve)
    Decision first = window.decide(request("k1", TPM_60, 266), T0);
    // Then it is admitted and reserves only what the model has: 60
    assertThat(first.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(first.reservation().tokens()).isEqualTo(60);
    // When it settles at 30 real tokens, key 1 alone holds the whole model as its share
    UsageSnapshot afterFirst = window.settle(first.reservation(), 30, T0);
    assertThat(afterFirst.tokens().limit()).isEqualTo(60);
    assertThat(afterFirst.tokens().remaining()).isEqualTo(30);
    assertThat(afterFirst.tokens().modelRemaining()).isEqualTo(30);
    assertThat(afterFirst.tokens().resetMillis()).isEqualTo(60_000);
    assertThat(afterFirst.activeKeys()).isEqualTo(1);

    // Key 2: share 30 of 60, reserves the 30 left
    Decision second = window.decide(request("k2", TPM_60, 266), T0 + 100);
    assertThat(second.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(second.reservation().tokens()).isEqualTo(30);
    UsageSnapshot afterSecond = window.settle(second.reservation(), 30, T0 + 100);
    assertThat(afterSecond.tokens().limit()).isEqualTo(30);
    assertThat(afterSecond.tokens().remaining()).isZero();
    assertThat(afterSecond.activeKeys()).isEqualTo(2);

    // Key 2 again: the model is full; it waits until key 1's bucket leaves the window
    Decision third = window.decide(request("k2", TPM_60, 266), T0 + 200);
    assertThat(third.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(third.verdict().dimension()).isEqualTo(Dimension.TOKENS);
    assertThat(third.reservation()).isNull();
    assertThat(third.retryAfterMillis()).isEqualTo(59_800);
    assertThat(third.usage().tokens().limit()).isEqualTo(30);
    assertThat(third.usage().tokens().remaining()).isZero();
    assertThat(third.usage().tokens().used()).isEqualTo(30);
    assertThat(third.usage().tokens().modelUsed()).isEqualTo(60);
    assertThat(third.usage().activeKeys()).isEqualTo(2);
  }

  @Test
  void windowSlides_usage59sOldStillCounts_61sOldDoesNot() {
    ModelWindow window = new ModelWindow(EngineSettings.DEFAULTS);
    use(window, request("k1", TPM_60, 60), 60, T0);

    assertThat(window.tokensInWindow(T0 + 59_000)).isEqualTo(60);
    assertThat(window.decide(request("k1", TPM_60, 10), T0 + 59_000).verdict())
        .isEqualTo(Verdict.MODEL_TOKENS);

    assertThat(window.tokensInWindow(T0 + 61_000)).isZero();
    assertThat(window.decide(request("k1", TPM_60, 10), T0 + 61_000).verdict())
        .isEqualTo(Verdict.ADMITTED);
  }

  @Test
  void aKeyBorrowsIdleCapacityBelowTheThreshold_andIsHeldToItsShareAboveIt() {
    ModelWindow window = new ModelWindow(EngineSettings.DEFAULTS); // threshold 0.8
    ModelCapacity c100 = new ModelCapacity(100, ModelCapacity.UNLIMITED);
    use(window, request("k2", c100, 1), 1, T0); // k2 active, nearly idle
    use(window, request("k1", c100, 60), 60, T0); // k1: 60 used, share 50

    // Model at 61/100: k1 is over its share of 50 but may borrow while the model stays within 80
    assertThat(window.decide(request("k1", c100, 20), T0 + 1_000).verdict())
        .isEqualTo(Verdict.SHARE_TOKENS);
    Decision borrow = window.decide(request("k1", c100, 19), T0 + 1_000);
    assertThat(borrow.verdict()).isEqualTo(Verdict.ADMITTED);
    window.settle(borrow.reservation(), 19, T0 + 1_000); // k1 79, model 80

    // Model at 80/100: k1 is held to its share
    Decision held = window.decide(request("k1", c100, 5), T0 + 2_000);
    assertThat(held.verdict()).isEqualTo(Verdict.SHARE_TOKENS);
    assertThat(held.usage().tokens().limit()).isEqualTo(50);
    assertThat(held.usage().tokens().used()).isEqualTo(79);
    // ...and waits until its own first 60 tokens leave the window (then 19 used, alone: share 100)
    assertThat(held.retryAfterMillis()).isEqualTo(58_000);
    // k2, under its share, still gets in
    assertThat(window.decide(request("k2", c100, 5), T0 + 2_000).verdict())
        .isEqualTo(Verdict.ADMITTED);
  }

  @Test
  void weights09And01_splitASaturatedModelWithinOneToken() {
    // No borrowing (threshold just above 0): each key is held to C × w / Σw from the start.
    ModelWindow window =
        new ModelWindow(new EngineSettings(AllocationMode.FAIR, 60_000, 1_000, 0.001));
    ModelCapacity c1000 = new ModelCapacity(1000, ModelCapacity.UNLIMITED);
    AdmissionRequest prod = weighted("prod", c1000, 0.9, 1);
    AdmissionRequest dev = weighted("dev", c1000, 0.1, 1);
    long prodTokens = 0;
    long devTokens = 0;
    for (int i = 0; i < 2_000; i++) {
      Decision p = window.decide(prod, T0);
      if (p.admitted()) {
        window.settle(p.reservation(), 1, T0);
        prodTokens++;
      }
      Decision d = window.decide(dev, T0);
      if (d.admitted()) {
        window.settle(d.reservation(), 1, T0);
        devTokens++;
      }
    }
    assertThat(prodTokens + devTokens).isEqualTo(1000);
    assertThat(prodTokens).isBetween(899L, 901L);
    assertThat(devTokens).isBetween(99L, 101L);
  }

  @Test
  void aKeyTurnedAwayWithinItsShare_blocksBorrowingForAWholeWindow() {
    EngineSettings noThreshold = new EngineSettings(AllocationMode.FAIR, 60_000, 1_000, 1.0);
    ModelCapacity c100 = new ModelCapacity(100, ModelCapacity.UNLIMITED);
    ModelWindow window = new ModelWindow(noThreshold);
    use(window, request("k1", c100, 50), 50, T0);
    use(window, request("k2", c100, 50), 50, T0 + 10_000);
    // The model is full; k3 (nothing of a share of 33) is turned away and owed capacity
    assertThat(window.decide(request("k3", c100, 10), T0 + 20_000).verdict())
        .isEqualTo(Verdict.MODEL_TOKENS);
    // k1's 50 leave at +60 s; k2 (50 of a share of 50) may not borrow 10 of them, k3 takes 30
    assertThat(window.decide(request("k2", c100, 10), T0 + 60_000).verdict())
        .isEqualTo(Verdict.SHARE_TOKENS);
    use(window, request("k3", c100, 30), 30, T0 + 60_000);
    // 59 s after k3 was turned away borrowing is still blocked (k3's next 30 would pass its 50)...
    assertThat(window.decide(request("k3", c100, 30), T0 + 79_000).verdict())
        .isEqualTo(Verdict.SHARE_TOKENS);
    // ...and once that rejection has left the window it is allowed again
    assertThat(window.decide(request("k3", c100, 30), T0 + 80_000).verdict())
        .isEqualTo(Verdict.ADMITTED);
  }

  @Test
  void aKeyTurnedAwayWhileTheWindowIsFull_countsAsActiveAtOnce_andGetsTheCapacityThatFreesUp() {
    ModelCapacity c100 = new ModelCapacity(100, ModelCapacity.UNLIMITED);
    ModelWindow window = new ModelWindow(EngineSettings.DEFAULTS);
    use(window, request("k1", c100, 100), 100, T0);
    assertThat(window.peek(request("k1", c100, 1), T0 + 1_000).tokens().limit()).isEqualTo(100);
    assertThat(window.decide(request("k2", c100, 10), T0 + 10_000).verdict())
        .isEqualTo(Verdict.MODEL_TOKENS);
    // k2 never got a token, yet k1's share is halved at once
    assertThat(window.peek(request("k1", c100, 1), T0 + 11_000).tokens().limit()).isEqualTo(50);
    // k1's 100 leave at +60 s: k1 gets its 50, not the k2's half as well
    use(window, request("k1", c100, 30), 30, T0 + 60_000);
    assertThat(window.decide(request("k1", c100, 30), T0 + 60_500).verdict())
        .isEqualTo(Verdict.SHARE_TOKENS);
    use(window, request("k2", c100, 50), 50, T0 + 61_000);
  }

  @Test
  void aRequestMustFitTheModelsRoom_andOneLargerThanTheKeysShareAsksForTheShare() {
    ModelCapacity c100 = new ModelCapacity(100, ModelCapacity.UNLIMITED);
    ModelWindow full = new ModelWindow(EngineSettings.DEFAULTS);
    use(full, request("k1", c100, 95), 95, T0);
    assertThat(full.decide(request("k2", c100, 10), T0 + 1_000).verdict())
        .isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(full.decide(request("k2", c100, 5), T0 + 1_000).reservation().tokens()).isEqualTo(5);

    ModelWindow large = new ModelWindow(EngineSettings.DEFAULTS);
    use(large, request("k1", c100, 10), 10, T0);
    // k2's share is 50: a 500-token request asks for 50, fits the 90 left, reserves all 90
    Decision d = large.decide(request("k2", c100, 500), T0 + 1_000);
    assertThat(d.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(d.reservation().tokens()).isEqualTo(90);
  }

  @Test
  void settlingAboveTheReservationLeavesDebtThatDelaysTheNextAdmission() {
    ModelWindow window = new ModelWindow(EngineSettings.DEFAULTS);
    Decision d = window.decide(request("k1", TPM_60, 10), T0);
    assertThat(d.reservation().tokens()).isEqualTo(10);
    // The call really used 100 tokens: charged in full at settlement time (+1 s)
    UsageSnapshot after = window.settle(d.reservation(), 100, T0 + 1_000);
    assertThat(window.tokensInWindow(T0 + 1_000)).isEqualTo(100);
    assertThat(after.tokens().remaining()).isZero();

    Decision blocked = window.decide(request("k1", TPM_60, 10), T0 + 30_000);
    assertThat(blocked.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    // The reservation's 10 leave at +60 s (model at 90: still over), the debt's 90 at +61 s
    assertThat(blocked.retryAfterMillis()).isEqualTo(31_000);
    assertThat(window.decide(request("other", TPM_60, 10), T0 + 60_500).verdict())
        .isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(window.decide(request("k1", TPM_60, 10), T0 + 61_000).verdict())
        .isEqualTo(Verdict.ADMITTED);
  }

  @Test
  void retryAfterIsTheTimeUntilEnoughUsageLeavesTheWindow() {
    ModelWindow window = new ModelWindow(EngineSettings.DEFAULTS);
    use(window, request("k1", TPM_60, 20), 20, T0);
    use(window, request("k1", TPM_60, 20), 20, T0 + 10_000);
    use(window, request("k1", TPM_60, 20), 20, T0 + 20_000);

    Decision d = window.decide(request("k1", TPM_60, 20), T0 + 30_250);
    assertThat(d.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(d.retryAfterMillis()).isEqualTo(29_750);
    // Exactly then it is admitted, one millisecond before it is not
    assertThat(window.decide(request("k1", TPM_60, 20), T0 + 59_999).verdict())
        .isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(window.decide(request("k1", TPM_60, 20), T0 + 60_000).verdict())
        .isEqualTo(Verdict.ADMITTED);
  }

  @Test
  void aFailedCallReleasesItsTokensButKeepsItsRequest() {
    ModelWindow window = new ModelWindow(EngineSettings.DEFAULTS);
    ModelCapacity c = new ModelCapacity(60, 10);
    Decision d = window.decide(request("k1", c, 40), T0);
    assertThat(window.tokensInWindow(T0)).isEqualTo(40);
    window.settle(d.reservation(), 0, T0 + 500);
    assertThat(window.tokensInWindow(T0 + 500)).isZero();
    assertThat(window.requestsInWindow(T0 + 500)).isEqualTo(1);
  }

  @Test
  void requestsAndTokensAreCountedIndependently() {
    ModelWindow window = new ModelWindow(EngineSettings.DEFAULTS);
    ModelCapacity c = new ModelCapacity(1_000, 2);
    use(window, request("k1", c, 1), 1, T0);
    use(window, request("k1", c, 1), 1, T0);
    Decision third = window.decide(request("k1", c, 1), T0);
    assertThat(third.verdict()).isEqualTo(Verdict.MODEL_REQUESTS);
    assertThat(third.verdict().dimension()).isEqualTo(Dimension.REQUESTS);
    assertThat(third.usage().tokens().remaining()).isEqualTo(998);
    assertThat(third.usage().requests().remaining()).isZero();
    assertThat(third.usage().requests().limit()).isEqualTo(2);
  }

  @Test
  void keyLimitsApplyOnTopOfTheShare() {
    ModelWindow window = new ModelWindow(EngineSettings.DEFAULTS);
    AdmissionRequest limited =
        new AdmissionRequest(
            "k1",
            "m",
            ModelCapacity.UNLIMITED_MODEL,
            1.0,
            5,
            new KeyLimits(ModelCapacity.UNLIMITED, 2, 1));
    Decision first = window.decide(limited, T0);
    assertThat(first.verdict()).isEqualTo(Verdict.ADMITTED);
    // One in flight: the parallel limit of 1 holds
    assertThat(window.decide(limited, T0).verdict()).isEqualTo(Verdict.KEY_PARALLEL_LIMIT);
    window.settle(first.reservation(), 5, T0);
    use(window, limited, 5, T0);
    Decision third = window.decide(limited, T0 + 1_000);
    assertThat(third.verdict()).isEqualTo(Verdict.KEY_REQUEST_LIMIT);
    assertThat(third.usage().requests().limit()).isEqualTo(2);
    assertThat(third.retryAfterMillis()).isEqualTo(59_000);
  }

  @Test
  void idleKeysAreEvictedAfterAWindow() {
    ModelWindow window = new ModelWindow(EngineSettings.DEFAULTS);
    for (int i = 0; i < 100; i++) {
      use(window, request("k" + i, TPM_60, 0), 0, T0);
    }
    assertThat(window.trackedKeys()).isEqualTo(100);
    window.sweep(T0 + 60_000);
    assertThat(window.trackedKeys()).isZero();
    assertThat(window.isIdle(T0 + 60_000)).isTrue();
  }

  @Nested
  class LiteLlmV1 {

    final ModelWindow window =
        new ModelWindow(EngineSettings.DEFAULTS.withMode(AllocationMode.LITELLM_V1));

    @Test
    void reproducesLiteLlmsDocumentedTrace_allowance60Then30Then0() {
      assertThat(window.peek(request("k1", TPM_60, 10), T0).tokens().remaining()).isEqualTo(60);
      use(window, request("k1", TPM_60, 10), 30, T0);

      UsageSnapshot beforeSecond = window.peek(request("k2", TPM_60, 10), T0 + 1_000);
      assertThat(beforeSecond.tokens().remaining()).isEqualTo(30);
      assertThat(beforeSecond.activeKeys()).isEqualTo(1);
      use(window, request("k2", TPM_60, 10), 30, T0 + 1_000);

      Decision third = window.decide(request("k2", TPM_60, 10), T0 + 2_000);
      assertThat(third.admitted()).isFalse();
      assertThat(third.verdict().dimension()).isEqualTo(Dimension.TOKENS);
      assertThat(third.usage().tokens().remaining()).isZero();
      assertThat(third.usage().activeKeys()).isEqualTo(2);
      // Calendar minute: everything resets at the minute boundary
      assertThat(third.retryAfterMillis()).isEqualTo(58_000);
      assertThat(window.decide(request("k2", TPM_60, 10), T0 + 60_000).admitted()).isTrue();
    }

    @Test
    void allowanceIsFloorOfRemainingTimesWeightOverActiveKeys() {
      ModelCapacity c100 = new ModelCapacity(100, ModelCapacity.UNLIMITED);
      use(window, request("a", c100, 1), 1, T0);
      use(window, request("b", c100, 1), 1, T0);
      use(window, request("c", c100, 1), 1, T0);
      // (100 - 3) * 1 / 3 = 32.33 -> 32
      assertThat(window.peek(request("a", c100, 1), T0).tokens().remaining()).isEqualTo(32);
      // weight 0.5: floor(97 * 0.5 / 3) = 16
      assertThat(window.peek(weighted("a", c100, 0.5, 1), T0).tokens().remaining()).isEqualTo(16);
    }
  }

  /**
   * a fills a 90-token model; b, within its share, is turned away; a's settlement refunds 40; then
   * c (within its share, never turned away) asks for 30, and b for its 20 again.
   */
  @Nested
  class OwedCapacityTickets {

    final ModelCapacity tpm90 = new ModelCapacity(90, ModelCapacity.UNLIMITED);

    ModelWindow refunded(EngineSettings settings) {
      ModelWindow window = new ModelWindow(settings);
      Decision a = window.decide(request("a", tpm90, 90), T0);
      assertThat(a.reservation().tokens()).isEqualTo(90);
      assertThat(window.decide(request("b", tpm90, 20), T0 + 100).verdict())
          .isEqualTo(Verdict.MODEL_TOKENS);
      window.settle(a.reservation(), 50, T0 + 200);
      return window;
    }

    @Test
    void withTickets_theFreedRoomGoesToTheKeyTurnedAwayFirst() {
      ModelWindow window =
          refunded(EngineSettings.DEFAULTS.withOwedCapacity(EngineSettings.OwedCapacity.TICKETS));
      // 40 free, 20 of them b's: c's 30 do not fit in the 20 left
      assertThat(window.decide(request("c", tpm90, 30), T0 + 300).verdict())
          .isEqualTo(Verdict.MODEL_TOKENS);
      assertThat(window.decide(request("b", tpm90, 20), T0 + 400).admitted()).isTrue();
    }

    @Test
    void withoutTickets_theFreedRoomGoesToWhoeverAsksFirst() {
      ModelWindow window = refunded(EngineSettings.DEFAULTS);
      assertThat(window.decide(request("c", tpm90, 30), T0 + 300).admitted()).isTrue();
      assertThat(window.decide(request("b", tpm90, 20), T0 + 400).verdict())
          .isEqualTo(Verdict.MODEL_TOKENS);
    }

    @Test
    void anExpiredTicketKeepsNothing() {
      ModelWindow window =
          refunded(EngineSettings.DEFAULTS.withOwedCapacity(EngineSettings.OwedCapacity.TICKETS));
      // A ticket lives at most TICKET_MAX_WAIT_MILLIS plus a bucket after the turn-away.
      long later = T0 + 100 + ModelWindow.TICKET_MAX_WAIT_MILLIS + 1_000;
      assertThat(window.decide(request("c", tpm90, 30), later).admitted()).isTrue();
    }
  }
}
