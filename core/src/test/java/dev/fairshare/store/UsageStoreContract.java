package dev.fairshare.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.ActiveKey;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.AllocationMode;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.KeyStanding;
import dev.fairshare.core.LimitWindow;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.ModelWindow;
import dev.fairshare.core.Reservation;
import dev.fairshare.core.ShareGroup;
import dev.fairshare.core.UsageSnapshot;
import dev.fairshare.core.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * What every {@link UsageStore} must do: the same timelines give the same decisions as the
 * reference rule ({@link ModelWindow}, run directly), number for number.
 */
abstract class UsageStoreContract {

  static final long T0 = 1_800_000_000_000L;
  static final ModelCapacity TPM_60 = new ModelCapacity(60, ModelCapacity.UNLIMITED);

  /** A fresh, empty store with these settings. */
  abstract UsageStore newStore(EngineSettings settings);

  static AdmissionRequest request(String key, ModelCapacity capacity, long estimate) {
    return new AdmissionRequest(key, "m", capacity, 1.0, estimate, KeyLimits.NONE);
  }

  @Test
  void referenceScenario() {
    UsageStore store = newStore(EngineSettings.DEFAULTS);
    Decision first = store.acquire(request("k1", TPM_60, 266), T0);
    assertThat(first.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(first.reservation().tokens()).isEqualTo(60);
    UsageSnapshot afterFirst = store.settle(first.reservation(), 30, T0);
    assertThat(afterFirst.tokens().limit()).isEqualTo(60);
    assertThat(afterFirst.tokens().remaining()).isEqualTo(30);
    assertThat(afterFirst.tokens().resetMillis()).isEqualTo(60_000);

    Decision second = store.acquire(request("k2", TPM_60, 266), T0 + 100);
    assertThat(second.reservation().tokens()).isEqualTo(30);
    UsageSnapshot afterSecond = store.settle(second.reservation(), 30, T0 + 100);
    assertThat(afterSecond.tokens().limit()).isEqualTo(30);
    assertThat(afterSecond.tokens().remaining()).isZero();
    assertThat(afterSecond.activeKeys()).isEqualTo(2);

    Decision third = store.acquire(request("k2", TPM_60, 266), T0 + 200);
    assertThat(third.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(third.retryAfterMillis()).isEqualTo(59_800);
    assertThat(third.usage().tokens().used()).isEqualTo(30);
    assertThat(third.usage().tokens().modelUsed()).isEqualTo(60);
    assertThat(third.usage().activeKeys()).isEqualTo(2);
  }

  @Test
  void aReleasedReservationCountsNeitherTokensNorItsRequest() throws Exception {
    UsageStore store = newStore(EngineSettings.DEFAULTS);
    ModelCapacity capacity = new ModelCapacity(60, 2);
    KeyLimits parallelOne = new KeyLimits(ModelCapacity.UNLIMITED, ModelCapacity.UNLIMITED, 1);
    AdmissionRequest r = new AdmissionRequest("k1", "m", capacity, 1.0, 40, parallelOne);
    Decision d = store.acquire(r, T0);
    assertThat(d.reservation().tokens()).isEqualTo(40);
    store.release(d.reservation(), T0 + 10).toCompletableFuture().get();
    // Its in-flight place, its tokens and its request are gone: two more requests fit in RPM 2
    Decision again = store.acquire(r, T0 + 20);
    assertThat(again.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(again.usage().tokens().used()).isEqualTo(40);
    assertThat(again.usage().requests().used()).isEqualTo(1);
    store.settle(again.reservation(), 10, T0 + 30);
    Decision second = store.acquire(r, T0 + 40);
    assertThat(second.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(second.usage().requests().used()).isEqualTo(2);
    assertThat(second.usage().tokens().used()).isEqualTo(50);
  }

  @Test
  void keyLimitsHoldAcrossModelsAndCountThisRequestsCost() throws Exception {
    KeyLimitedUsageStore store =
        new KeyLimitedUsageStore(newStore(EngineSettings.DEFAULTS), 60_000);
    ModelCapacity big = new ModelCapacity(100_000, 1_000);
    KeyLimits rpm2 = new KeyLimits(ModelCapacity.UNLIMITED, 2, ModelCapacity.UNLIMITED);
    List<Verdict> verdicts = new ArrayList<>();
    for (String model : List.of("a", "b", "a", "b", "c")) {
      Decision d = store.acquire(new AdmissionRequest("k1", model, big, 1.0, 10, rpm2), T0);
      verdicts.add(d.verdict());
      if (d.admitted()) {
        store.settle(d.reservation(), 10, T0);
      }
    }
    assertThat(verdicts)
        .containsExactly(
            Verdict.ADMITTED,
            Verdict.ADMITTED,
            Verdict.KEY_REQUEST_LIMIT,
            Verdict.KEY_REQUEST_LIMIT,
            Verdict.KEY_REQUEST_LIMIT);
    // tpm_limit 60: usage so far plus this request's cost must fit
    KeyLimits tpm60 = new KeyLimits(60, ModelCapacity.UNLIMITED, ModelCapacity.UNLIMITED);
    Decision first = store.acquire(new AdmissionRequest("k2", "a", big, 1.0, 25, tpm60), T0);
    Decision second = store.acquire(new AdmissionRequest("k2", "b", big, 1.0, 25, tpm60), T0);
    Decision third = store.acquire(new AdmissionRequest("k2", "c", big, 1.0, 25, tpm60), T0);
    assertThat(first.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(second.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(third.verdict()).isEqualTo(Verdict.KEY_TOKEN_LIMIT);
    assertThat(third.usage().tokens().used()).isEqualTo(50);
    assertThat(third.usage().tokens().limit()).isEqualTo(60);
    // A request larger than the whole limit is refused for good, and costs nothing
    Decision tooLarge = store.acquire(new AdmissionRequest("k5", "a", big, 1.0, 61, tpm60), T0);
    assertThat(tooLarge.verdict()).isEqualTo(Verdict.REQUEST_TOO_LARGE);
    assertThat(tooLarge.retryAfterMillis()).isEqualTo(60_000);
    assertThat(tooLarge.usage().tokens().used()).isZero();
    Decision whole = store.acquire(new AdmissionRequest("k5", "a", big, 1.0, 60, tpm60), T0);
    assertThat(whole.verdict()).isEqualTo(Verdict.ADMITTED);
    store.settle(whole.reservation(), 60, T0);
    // A request the model refuses is released from the key's window: it counts nowhere
    ModelCapacity tiny = new ModelCapacity(5, ModelCapacity.UNLIMITED);
    assertThat(
            store
                .acquire(new AdmissionRequest("k4", "tiny", tiny, 1.0, 5, KeyLimits.NONE), T0)
                .admitted())
        .isTrue();
    Decision refused = store.acquire(new AdmissionRequest("k3", "tiny", tiny, 1.0, 20, rpm2), T0);
    assertThat(refused.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    Decision ok1 = store.acquire(new AdmissionRequest("k3", "a", big, 1.0, 20, rpm2), T0);
    Decision ok2 = store.acquire(new AdmissionRequest("k3", "b", big, 1.0, 20, rpm2), T0);
    assertThat(ok1.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(ok2.verdict()).isEqualTo(Verdict.ADMITTED);
    store.settleWithoutWaiting(first.reservation(), 25, T0).toCompletableFuture().get();
    store.release(second.reservation(), T0).toCompletableFuture().get();
    store.settle(ok1.reservation(), 20, T0);
    store.settle(ok2.reservation(), 20, T0);
    assertThat(store.pending()).isZero();
  }

  @Test
  void windowSlidesAndDebtDelays() {
    UsageStore store = newStore(EngineSettings.DEFAULTS);
    Decision d = store.acquire(request("k1", TPM_60, 10), T0);
    store.settle(d.reservation(), 100, T0 + 1_000);
    Decision blocked = store.acquire(request("k1", TPM_60, 10), T0 + 30_000);
    assertThat(blocked.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(blocked.retryAfterMillis()).isEqualTo(31_000);
    assertThat(store.acquire(request("k1", TPM_60, 10), T0 + 61_000).verdict())
        .isEqualTo(Verdict.ADMITTED);
  }

  @Test
  void aKeyTurnedAwayByAFullModelCountsAsActiveAtOnce() {
    UsageStore store = newStore(EngineSettings.DEFAULTS);
    ModelCapacity c100 = new ModelCapacity(100, ModelCapacity.UNLIMITED);
    Decision d = store.acquire(request("k1", c100, 100), T0);
    store.settle(d.reservation(), 100, T0);
    Decision turnedAway = store.acquire(request("k2", c100, 10), T0 + 10_000);
    assertThat(turnedAway.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    // k1's 100 leave at +60 s: k1's share is 50 (k2 wants its half), so its second 30 is refused
    assertThat(store.acquire(request("k1", c100, 30), T0 + 60_000).verdict())
        .isEqualTo(Verdict.ADMITTED);
    Decision second = store.acquire(request("k1", c100, 30), T0 + 60_500);
    assertThat(second.verdict()).isEqualTo(Verdict.SHARE_TOKENS);
    assertThat(second.usage().activeKeys()).isEqualTo(2);
    assertThat(second.usage().tokens().limit()).isEqualTo(50);
    assertThat(store.acquire(request("k2", c100, 50), T0 + 61_000).verdict())
        .isEqualTo(Verdict.ADMITTED);
  }

  @Test
  void exactRequestCountUnderAFrozenClock() {
    UsageStore store = newStore(EngineSettings.DEFAULTS);
    ModelCapacity rpm5 = new ModelCapacity(ModelCapacity.UNLIMITED, 5);
    int admitted = 0;
    for (int i = 0; i < 20; i++) {
      if (store.acquire(request("k" + (i % 3), rpm5, 1), T0).admitted()) {
        admitted++;
      }
    }
    assertThat(admitted).isEqualTo(5);
  }

  @Test
  void parallelLimitHoldsUntilSettlement() {
    UsageStore store = newStore(EngineSettings.DEFAULTS);
    AdmissionRequest limited =
        new AdmissionRequest(
            "k1",
            "m",
            ModelCapacity.UNLIMITED_MODEL,
            1.0,
            5,
            new KeyLimits(ModelCapacity.UNLIMITED, 10, 1));
    Decision first = store.acquire(limited, T0);
    assertThat(first.admitted()).isTrue();
    assertThat(store.acquire(limited, T0).verdict()).isEqualTo(Verdict.KEY_PARALLEL_LIMIT);
    store.settle(first.reservation(), 5, T0);
    assertThat(store.acquire(limited, T0).admitted()).isTrue();
  }

  @Test
  void aSettlementNotWaitedFor_isSeenByTheNextAdmission() {
    UsageStore store = newStore(EngineSettings.DEFAULTS);
    AdmissionRequest oneAtATime =
        new AdmissionRequest(
            "k1", "m", TPM_60, 1.0, 266, new KeyLimits(ModelCapacity.UNLIMITED, 10, 1));
    Decision first = store.acquire(oneAtATime, T0);
    assertThat(first.reservation().tokens()).isEqualTo(60);
    CompletionStage<Void> settled = store.settleWithoutWaiting(first.reservation(), 30, T0 + 100);
    // The in-flight slot is free and the refund made: a call of 30 fits in the 30 left
    AdmissionRequest thirty =
        new AdmissionRequest(
            "k1", "m", TPM_60, 1.0, 30, new KeyLimits(ModelCapacity.UNLIMITED, 10, 1));
    Decision second = store.acquire(thirty, T0 + 200);
    assertThat(second.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(second.reservation().tokens()).isEqualTo(30);
    assertThat(settled.toCompletableFuture().join()).isNull();
    // Debt: a settlement above the reservation is charged to the current bucket
    store.settleWithoutWaiting(second.reservation(), 50, T0 + 1_500).toCompletableFuture().join();
    Decision third = store.acquire(thirty, T0 + 1_600);
    assertThat(third.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(third.usage().tokens().used()).isEqualTo(80);
    assertThat(third.retryAfterMillis()).isEqualTo(60_000 - 1_600);
  }

  @Test
  void randomTimelines_fairMode_sameDecisionsAsTheReferenceRule() {
    compareWithReference(EngineSettings.DEFAULTS, 42);
    compareWithReference(EngineSettings.DEFAULTS, 7);
  }

  @Test
  void randomTimelines_litellmV1Mode_sameDecisionsAsTheReferenceRule() {
    compareWithReference(EngineSettings.DEFAULTS.withMode(AllocationMode.LITELLM_V1), 42);
  }

  @Test
  void randomTimelines_shortWindow_sameDecisionsAsTheReferenceRule() {
    compareWithReference(new EngineSettings(AllocationMode.FAIR, 10_000, 500, 0.5), 3);
  }

  @Test
  void randomTimelines_tokenBucket_sameDecisionsAsTheReferenceRule() {
    compareWithReference(TOKEN_BUCKET, 42);
    compareWithReference(TOKEN_BUCKET, 7);
    compareWithReference(
        new EngineSettings(AllocationMode.FAIR, 10_000, 500, 0.5)
            .withPool(EngineSettings.Pool.TOKEN_BUCKET, 0.25, 0.5),
        3);
  }

  /** The token-bucket pool, its bucket the whole capacity: 600 tokens a minute, 10 a second. */
  static final EngineSettings WHOLE_BUCKET =
      EngineSettings.DEFAULTS.withPool(EngineSettings.Pool.TOKEN_BUCKET, 1.0, 0.5);

  static final EngineSettings TOKEN_BUCKET =
      EngineSettings.DEFAULTS.withPool(
          EngineSettings.Pool.TOKEN_BUCKET,
          EngineSettings.DEFAULT_POOL_BURST,
          EngineSettings.DEFAULT_POOL_RESERVE);

  @Test
  void tokenBucket_aKeyWithinItsShareHoldsATicket_andIsNotOvertaken() {
    UsageStore store = newStore(WHOLE_BUCKET);
    ticketsAreServedInOrder(store, store);
  }

  /**
   * Key a empties the bucket; b (within its share) is told 3 s and holds a ticket for 30 tokens; c,
   * also within its share, finds 25 tokens at 2.5 s, enough for its 20 but not on top of b's
   * ticket, so it queues behind b; b is admitted at the time it was told, then c at its own. {@code
   * first} serves a and c, {@code second} serves b: two instances on one shared store.
   */
  static void ticketsAreServedInOrder(UsageStore first, UsageStore second) {
    ModelCapacity tpm600 = new ModelCapacity(600, ModelCapacity.UNLIMITED);
    assertThat(first.acquire(request("a", tpm600, 600), T0).reservation().tokens()).isEqualTo(600);

    Decision b = second.acquire(request("b", tpm600, 30), T0);
    assertThat(b.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(b.retryAfterMillis()).isEqualTo(3_000);

    Decision c = first.acquire(request("c", tpm600, 20), T0 + 2_500);
    assertThat(c.verdict()).isEqualTo(Verdict.MODEL_TOKENS);
    assertThat(c.retryAfterMillis()).isEqualTo(2_500);
    // a, past its share, may not borrow the room refilled for the tickets and the reserve
    Decision a = first.acquire(request("a", tpm600, 5), T0 + 2_900);
    assertThat(a.verdict()).isEqualTo(Verdict.SHARE_TOKENS);

    Decision bAgain = second.acquire(request("b", tpm600, 30), T0 + 3_000);
    assertThat(bAgain.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(bAgain.reservation().tokens()).isEqualTo(30);
    Decision cAgain = first.acquire(request("c", tpm600, 20), T0 + 5_000);
    assertThat(cAgain.verdict()).isEqualTo(Verdict.ADMITTED);
    assertThat(cAgain.reservation().tokens()).isEqualTo(20);
  }

  @Test
  void tokenBucket_aRefundGoesBackIntoTheBucket_debtIsTakenFromIt() {
    UsageStore store = newStore(WHOLE_BUCKET);
    ModelCapacity tpm600 = new ModelCapacity(600, ModelCapacity.UNLIMITED);
    Decision first = store.acquire(request("a", tpm600, 600), T0);
    store.settle(first.reservation(), 100, T0); // 500 back: the bucket holds 500
    assertThat(store.acquire(request("a", tpm600, 500), T0).reservation().tokens()).isEqualTo(500);
    Decision empty = store.acquire(request("b", tpm600, 10), T0);
    assertThat(empty.retryAfterMillis()).isEqualTo(1_000);
    Decision small = store.acquire(request("b", tpm600, 10), T0 + 1_000);
    store.settle(small.reservation(), 110, T0 + 1_000); // 100 of debt: the bucket at -100
    Decision later = store.acquire(request("b", tpm600, 10), T0 + 1_000);
    assertThat(later.retryAfterMillis()).isEqualTo(11_000);
  }

  /**
   * The keys active now and, for every key, what the store holds of it (GET /usage): as the
   * reference rule holds them.
   */
  private static void sameStandings(
      UsageStore store,
      ModelWindow reference,
      ModelCapacity capacity,
      double[] weights,
      KeyLimits[] limits,
      long now,
      int step) {
    assertThat(store.activeKeys("m", now))
        .as("active keys at step %d", step)
        .containsExactlyInAnyOrderElementsOf(reference.activeKeys(now));
    for (int k = 0; k < weights.length; k++) {
      AdmissionRequest probe =
          new AdmissionRequest("key-" + k, "m", capacity, weights[k], 0, limits[k]);
      assertThat(store.standing(probe, now))
          .as("standing of key-%d at step %d", k, step)
          .isEqualTo(reference.standing(probe, now));
    }
  }

  @Test
  void aSaturationThresholdChangedAtRunTime_decidesTheNextRequest() {
    UsageStore store = newStore(EngineSettings.DEFAULTS);
    ModelCapacity tpm100 = new ModelCapacity(100, ModelCapacity.UNLIMITED);
    assertThat(store.acquire(request("a", tpm100, 50), T0).admitted()).isTrue();
    assertThat(store.acquire(request("b", tpm100, 10), T0).admitted()).isTrue();
    // a is past its share of 50: it may borrow while the model stays within 0.8 of 100
    Decision refused = store.acquire(request("a", tpm100, 25), T0 + 1);
    assertThat(refused.verdict()).isEqualTo(Verdict.SHARE_TOKENS);
    store.setSaturationThreshold(0.9);
    assertThat(store.acquire(request("a", tpm100, 25), T0 + 2).admitted()).isTrue();
    store.setSaturationThreshold(0.5);
    assertThat(store.acquire(request("a", tpm100, 1), T0 + 3).verdict())
        .isEqualTo(Verdict.SHARE_TOKENS);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.setSaturationThreshold(1.5))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aKeysStanding_countsItsTokensInFlight_andTheModelsRefusals() {
    UsageStore store = newStore(EngineSettings.DEFAULTS);
    Decision first = store.acquire(request("k1", TPM_60, 40), T0);
    Decision second = store.acquire(request("k2", TPM_60, 20), T0);
    assertThat(second.admitted()).isTrue();
    assertThat(store.acquire(request("k2", TPM_60, 20), T0 + 1).admitted()).isFalse();
    assertThat(store.acquire(request("k2", TPM_60, 20), T0 + 2).admitted()).isFalse();

    assertThat(store.activeKeys("m", T0 + 3))
        .containsExactlyInAnyOrder(new ActiveKey("k1", 1.0), new ActiveKey("k2", 1.0));
    KeyStanding k1 = store.standing(request("k1", TPM_60, 0), T0 + 3);
    assertThat(k1.reservedTokens()).isEqualTo(40);
    assertThat(k1.inFlight()).isEqualTo(1);
    assertThat(k1.refusals()).isZero();
    assertThat(k1.usage().tokens().used()).isEqualTo(40);
    KeyStanding k2 = store.standing(request("k2", TPM_60, 0), T0 + 3);
    assertThat(k2.refusals()).isEqualTo(2);
    assertThat(k2.usage().tokens().limit()).isEqualTo(30);

    store.settle(first.reservation(), 25, T0 + 4);
    KeyStanding settled = store.standing(request("k1", TPM_60, 0), T0 + 5);
    assertThat(settled.reservedTokens()).isZero();
    assertThat(settled.inFlight()).isZero();
    assertThat(settled.usage().tokens().used()).isEqualTo(25);
    // A window later nobody is active, and the refusals have left it
    assertThat(store.activeKeys("m", T0 + 61_000)).isEmpty();
    assertThat(store.standing(request("k2", TPM_60, 0), T0 + 61_000).refusals()).isZero();
  }

  /**
   * 1,500 random steps (keys with weights and limits, estimates, settlements above and below the
   * reservation, time moving 0-4 s): each decision and settlement matches the reference rule.
   */
  /**
   * Teams: keys admitted as their group, then in their group's window on the model, with a team's
   * limit and a per-model limit as more windows. The composition runs on this store and on the
   * memory store: the same decisions, standings, retry-afters and reservations at every step.
   */
  @Test
  void randomTimelines_teamsAndTheirWindows_decideAsOnTheMemoryStore() {
    KeyLimitedUsageStore store =
        new KeyLimitedUsageStore(newStore(EngineSettings.DEFAULTS), 60_000);
    KeyLimitedUsageStore reference =
        new KeyLimitedUsageStore(new MemoryUsageStore(EngineSettings.DEFAULTS), 60_000);
    Random random = new Random(16);
    ModelCapacity capacity = new ModelCapacity(3_000, 60);
    ShareGroup teamA = ShareGroup.team("a", 1.0);
    ShareGroup teamB = ShareGroup.team("b", 2.0);
    ShareGroup teamless = new ShareGroup(ShareGroup.TEAMLESS, 1.0);
    LimitWindow teamALimit =
        new LimitWindow(
            "fairshare:team-limits:a", new ModelCapacity(1_200, ModelCapacity.UNLIMITED));
    LimitWindow perModel =
        new LimitWindow("fairshare:key-model-limits:k3:m", new ModelCapacity(400, 10));
    KeyLimits[] limits = {
      KeyLimits.NONE.withGroup(teamA),
      new KeyLimits(
          ModelCapacity.UNLIMITED,
          ModelCapacity.UNLIMITED,
          ModelCapacity.UNLIMITED,
          List.of(teamALimit),
          teamA),
      KeyLimits.NONE.withGroup(teamB),
      new KeyLimits(ModelCapacity.UNLIMITED, 8, ModelCapacity.UNLIMITED, List.of(perModel), teamB),
      KeyLimits.NONE.withGroup(teamless),
      KeyLimits.NONE.withGroup(teamless)
    };
    double[] weights = {1.0, 1.0, 0.5, 2.0, 1.0, 3.0};
    List<Reservation[]> inFlight = new ArrayList<>();
    long now = T0;
    for (int step = 0; step < 800; step++) {
      now += random.nextInt(3_000);
      if (!inFlight.isEmpty() && random.nextInt(3) == 0) {
        Reservation[] pair = inFlight.remove(random.nextInt(inFlight.size()));
        long actual = random.nextInt(4) == 0 ? 0 : random.nextInt(400);
        if (random.nextInt(5) == 0) {
          reference.release(pair[0], now);
          store.release(pair[1], now);
        } else {
          assertThat(store.settle(pair[1], actual, now))
              .as("settlement at step %d", step)
              .isEqualTo(reference.settle(pair[0], actual, now));
        }
        continue;
      }
      int k = random.nextInt(weights.length);
      AdmissionRequest r =
          new AdmissionRequest(
              "k" + k, "m", capacity, weights[k], 20 + random.nextInt(300), limits[k]);
      Decision expected = reference.acquire(r, now);
      Decision actual = store.acquire(r, now);
      assertThat(actual.verdict()).as("verdict at step %d", step).isEqualTo(expected.verdict());
      assertThat(actual.usage()).as("standing at step %d", step).isEqualTo(expected.usage());
      assertThat(actual.retryAfterMillis())
          .as("retry-after at step %d", step)
          .isEqualTo(expected.retryAfterMillis());
      if (expected.admitted()) {
        assertThat(actual.reservation().tokens()).isEqualTo(expected.reservation().tokens());
        inFlight.add(new Reservation[] {expected.reservation(), actual.reservation()});
      }
    }
    for (Reservation[] pair : inFlight) {
      reference.settle(pair[0], 0, now);
      store.settle(pair[1], 0, now);
    }
    assertThat(store.pending()).isZero();
  }

  private void compareWithReference(EngineSettings settings, long seed) {
    UsageStore store = newStore(settings);
    ModelWindow reference = new ModelWindow(settings);
    Random random = new Random(seed);
    ModelCapacity capacity = new ModelCapacity(2_000, 40);
    double[] weights = {1.0, 1.0, 0.5, 2.0, 0.1};
    KeyLimits[] limits = {
      KeyLimits.NONE,
      KeyLimits.NONE,
      new KeyLimits(500, ModelCapacity.UNLIMITED, 2),
      KeyLimits.NONE,
      new KeyLimits(ModelCapacity.UNLIMITED, 6, ModelCapacity.UNLIMITED)
    };
    List<Reservation[]> inFlight = new ArrayList<>();
    long now = T0;
    for (int step = 0; step < 1_500; step++) {
      now += random.nextInt(4_000);
      if (!inFlight.isEmpty() && random.nextInt(3) == 0) {
        Reservation[] pair = inFlight.remove(random.nextInt(inFlight.size()));
        long actual = random.nextInt(3) == 0 ? 0 : random.nextInt(300);
        UsageSnapshot expected = reference.settle(pair[0], actual, now);
        if (random.nextBoolean()) {
          UsageSnapshot actualSnapshot = store.settle(pair[1], actual, now);
          assertThat(actualSnapshot).as("settlement at step %d", step).isEqualTo(expected);
        } else {
          // Not waited for: the next decisions must see it all the same.
          store.settleWithoutWaiting(pair[1], actual, now);
        }
        continue;
      }
      if (step % 50 == 49) {
        sameStandings(store, reference, capacity, weights, limits, now, step);
      }
      int k = random.nextInt(weights.length);
      AdmissionRequest r =
          new AdmissionRequest(
              "key-" + k, "m", capacity, weights[k], 20 + random.nextInt(250), limits[k]);
      Decision expected = reference.decide(r, now);
      Decision actual = store.acquire(r, now);
      assertThat(actual.verdict()).as("verdict at step %d", step).isEqualTo(expected.verdict());
      assertThat(actual.usage()).as("standing at step %d", step).isEqualTo(expected.usage());
      assertThat(actual.retryAfterMillis())
          .as("retry-after at step %d (%s, %s)", step, expected.verdict(), r)
          .isEqualTo(expected.retryAfterMillis());
      if (expected.admitted()) {
        assertThat(actual.reservation().tokens()).isEqualTo(expected.reservation().tokens());
        assertThat(actual.reservation().bucket()).isEqualTo(expected.reservation().bucket());
        inFlight.add(new Reservation[] {expected.reservation(), actual.reservation()});
      }
    }
  }
}
