package dev.fairshare.core;

import static dev.fairshare.core.ModelWindowTest.T0;
import static dev.fairshare.core.ModelWindowTest.request;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The token-bucket pool ({@link EngineSettings.Pool#TOKEN_BUCKET}) through {@link ModelWindow}:
 * timelines with exact numbers, on simulated time.
 */
class TokenPoolTest {

  /** 600 tokens a minute: 10 a second. */
  static final ModelCapacity TPM_600 = new ModelCapacity(600, ModelCapacity.UNLIMITED);

  /** A bucket of a sixth of the capacity (100 tokens), half of it kept for guaranteed requests. */
  static ModelWindow pool() {
    return pool(EngineSettings.DEFAULT_POOL_BURST);
  }

  static ModelWindow pool(double burst) {
    return new ModelWindow(
        EngineSettings.DEFAULTS.withPool(
            EngineSettings.Pool.TOKEN_BUCKET, burst, EngineSettings.DEFAULT_POOL_RESERVE));
  }

  @Test
  void aNewPoolHoldsTheBurst_andRefillsAtTheCapacityPerWindow() {
    ModelWindow window = pool();

    // The bucket starts full at 100: a request of 100 is admitted, the next one waits for refill.
    assertThat(window.decide(request("a", TPM_600, 100), T0).admitted()).isTrue();
    Decision refused = window.decide(request("a", TPM_600, 30), T0);
    assertThat(refused.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    // 30 tokens at 10 a second: 3 s, told exactly.
    assertThat(refused.retryAfterMillis()).isEqualTo(3_000);
    assertThat(window.decide(request("a", TPM_600, 30), T0 + 2_999).admitted()).isFalse();
    assertThat(window.decide(request("a", TPM_600, 30), T0 + 3_000).admitted()).isTrue();
  }

  @Test
  void anIdlePoolKeepsNoMoreThanTheBurst() {
    ModelWindow window = pool();
    window.decide(request("a", TPM_600, 100), T0);

    // A whole window later, 600 tokens were refilled but the bucket holds 100.
    long later = T0 + 120_000;
    assertThat(window.decide(request("a", TPM_600, 100), later).admitted()).isTrue();
    Decision next = window.decide(request("a", TPM_600, 1), later);
    assertThat(next.admitted()).isFalse();
    assertThat(next.retryAfterMillis()).isEqualTo(100);
  }

  @Test
  void ticketsAreServedFirstComeFirstServed_andTheRetryAfterTheyAreToldIsHonest() {
    ModelWindow window = pool();
    assertThat(window.decide(request("a", TPM_600, 100), T0).admitted()).isTrue();

    // b and then c, both within their share, find the bucket empty: each holds a ticket.
    Decision b = window.decide(request("b", TPM_600, 50), T0);
    assertThat(b.retryAfterMillis()).isEqualTo(5_000);
    Decision c = window.decide(request("c", TPM_600, 10), T0 + 1_000);
    // c's 10 tokens come after b's 50: the bucket needs 60, holds 10 by then.
    assertThat(c.retryAfterMillis()).isEqualTo(5_000);

    // At +3 s the bucket holds 30: enough for c alone, but b is ahead of it.
    assertThat(window.decide(request("c", TPM_600, 10), T0 + 3_000).admitted()).isFalse();
    // Each is admitted at the time it was told.
    assertThat(window.decide(request("b", TPM_600, 50), T0 + 5_000).admitted()).isTrue();
    assertThat(window.decide(request("c", TPM_600, 10), T0 + 6_000).admitted()).isTrue();
  }

  @Test
  void aTicketWhoseKeyDoesNotComeBack_expiresAfterItsRetryTimeAndAGrace() {
    ModelWindow window = pool();
    window.decide(request("a", TPM_600, 100), T0);
    assertThat(window.decide(request("b", TPM_600, 50), T0).retryAfterMillis()).isEqualTo(5_000);

    // b never comes back; c asks at +5.5 s and must wait behind b's ticket...
    assertThat(window.decide(request("c", TPM_600, 50), T0 + 5_500).admitted()).isFalse();
    // ...until it expires one second after b's retry time.
    assertThat(window.decide(request("c", TPM_600, 50), T0 + 6_000).admitted()).isTrue();
  }

  @Test
  void aKeysTicketOutlivesAnAdmission_whileAnotherOfItsCallsWasToldToComeBackLater() {
    ModelWindow window = pool();
    window.decide(request("a", TPM_600, 100), T0);
    // b's first call waits 2 s for 20 tokens; its second, at +1.5 s, 2.5 s for 40.
    assertThat(window.decide(request("b", TPM_600, 20), T0).retryAfterMillis()).isEqualTo(2_000);
    assertThat(window.decide(request("b", TPM_600, 40), T0 + 1_500).retryAfterMillis())
        .isEqualTo(2_500);

    // The first call is admitted at its time; the key's place is kept for the second.
    assertThat(window.decide(request("b", TPM_600, 20), T0 + 2_000).admitted()).isTrue();
    // So c, which finds 10 tokens at +3 s, is still behind b's ticket.
    assertThat(window.decide(request("c", TPM_600, 10), T0 + 3_000).admitted()).isFalse();
  }

  @Test
  void aKeyPastItsGuaranteedShare_cannotTakeTheReserve_whichAKeyWithinItsShareThenGets() {
    // Burst = the whole capacity (600), reserve 300.
    ModelWindow window = pool(1.0);
    assertThat(window.decide(request("b", TPM_600, 10), T0).admitted()).isTrue();
    // a and b are active: each is guaranteed 300. a takes its 300.
    assertThat(window.decide(request("a", TPM_600, 300), T0).admitted()).isTrue();

    // a asks 100 more: past its guaranteed share, it may not dip into the reserve (290 left).
    Decision borrowing = window.decide(request("a", TPM_600, 100), T0);
    assertThat(borrowing.admitted()).isFalse();
    // It waits for 300 + 100 in the bucket: 110 more, 11 s.
    assertThat(borrowing.retryAfterMillis()).isEqualTo(11_000);

    // b, within its share, takes from the reserve at once.
    assertThat(window.decide(request("b", TPM_600, 200), T0).admitted()).isTrue();
  }

  @Test
  void aRequestLargerThanTheBucket_reservesWhatTheBucketHolds_andSettlesTheRestAsDebt() {
    ModelWindow window = pool();
    // Estimated at 266 (prompt + completion reserve) against a bucket of 100.
    Decision first = window.decide(request("a", TPM_600, 266), T0);
    assertThat(first.reservation().tokens()).isEqualTo(100);
    // It used 130: 30 of debt, so 40 tokens (4 s) before a call of 10 fits.
    window.settle(first.reservation(), 130, T0);
    assertThat(window.decide(request("a", TPM_600, 10), T0).retryAfterMillis()).isEqualTo(4_000);
  }

  @Test
  void aModelClosedToTokens_admitsNothing_evenFromANewBucket() {
    ModelWindow window = pool();
    Decision d = window.decide(request("a", new ModelCapacity(0, ModelCapacity.UNLIMITED), 1), T0);
    assertThat(d.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(d.retryAfterMillis()).isEqualTo(60_000);
  }

  @Test
  void debtIsCappedAtAWindowOfRefill() {
    ModelWindow window = pool();
    Decision runaway = window.decide(request("a", TPM_600, 100), T0);
    // A call that reserved 100 and used 100,000: the bucket goes to -600, not to -99,900.
    window.settle(runaway.reservation(), 100_000, T0);
    assertThat(window.decide(request("b", TPM_600, 10), T0).retryAfterMillis()).isEqualTo(61_000);
  }

  @Test
  void aRefundGoesBackToTheBucket_andDebtIsTakenFromIt() {
    ModelWindow window = pool();
    Decision first = window.decide(request("a", TPM_600, 100), T0);
    // Used 40 of the 100 reserved: 60 come back.
    window.settle(first.reservation(), 40, T0);
    assertThat(window.decide(request("a", TPM_600, 60), T0).admitted()).isTrue();
    Decision second = window.decide(request("a", TPM_600, 1), T0);
    assertThat(second.admitted()).isFalse();

    // A call that used 50 more than its reservation leaves the bucket 50 in debt.
    Decision third = window.decide(request("a", TPM_600, 10), T0 + 1_000);
    assertThat(third.admitted()).isTrue();
    window.settle(third.reservation(), 60, T0 + 1_000);
    Decision fourth = window.decide(request("a", TPM_600, 10), T0 + 1_000);
    // -50 now: 60 tokens to refill, 6 s.
    assertThat(fourth.retryAfterMillis()).isEqualTo(6_000);
  }

  @Test
  void tokensAdmittedInAnyWindow_stayWithinCapacityPlusBurst_underRandomTraffic() {
    ModelWindow window = pool();
    Random random = new Random(14);
    // Every admission: [time, tokens]; settled exactly at once (no estimate error).
    ArrayDeque<long[]> admitted = new ArrayDeque<>();
    long inWindow = 0;
    long most = 0;
    for (long t = 0; t < 300_000; t += 50) {
      String key = "k" + random.nextInt(5);
      Decision d = window.decide(request(key, TPM_600, 1 + random.nextInt(40)), T0 + t);
      if (d.admitted()) {
        window.settle(d.reservation(), d.reservation().tokens(), T0 + t);
        admitted.addLast(new long[] {t, d.reservation().tokens()});
        inWindow += d.reservation().tokens();
      }
      while (admitted.peekFirst()[0] <= t - 60_000) {
        inWindow -= admitted.pollFirst()[1];
      }
      most = Math.max(most, inWindow);
    }
    // C + B = 600 + 100; and a saturated pool really uses it.
    assertThat(most).isLessThanOrEqualTo(700).isGreaterThanOrEqualTo(600);
  }
}
