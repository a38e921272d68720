package dev.fairshare.quota;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What every {@link QuotaLedger} does, run against each (the memory ledger, Redis): fixed timelines
 * with exact numbers, then random timelines compared step by step with the memory ledger as the
 * reference.
 */
public abstract class QuotaLedgerContract {

  protected static final long T0 = 1_800_000_000_000L; // 2027-01-15T08:00:00Z
  static final ZoneId UTC = ZoneOffset.UTC;

  /** A new, empty ledger reading counters it does not hold from {@code seed}. */
  protected abstract QuotaLedger newLedger(SpendSeed seed);

  static QuotaCounter counter(String id, long limit, long alertAt, long now) {
    return new QuotaCounter(id, QuotaPeriod.day(UTC, now), limit, alertAt);
  }

  static List<QuotaCharge> charge(QuotaCounter counter, long amount) {
    return List.of(new QuotaCharge(counter, amount));
  }

  @Test
  void reservesUpToTheLimit_countingCallsInFlight() {
    QuotaLedger ledger = newLedger(SpendSeed.NONE);
    QuotaCounter budget = counter("key:a:spend", 1_000, QuotaCounter.NO_ALERT, T0);
    QuotaDecision first = ledger.reserve(charge(budget, 400), "h1", T0 + 60_000, T0);
    QuotaDecision second = ledger.reserve(charge(budget, 400), "h2", T0 + 60_000, T0);
    QuotaDecision third = ledger.reserve(charge(budget, 400), "h3", T0 + 60_000, T0);
    assertThat(first.admitted()).isTrue();
    assertThat(second.admitted()).isTrue();
    assertThat(third.admitted()).isFalse();
    assertThat(third.counted()).isEqualTo(800);
    assertThat(ledger.standing(budget, T0)).isEqualTo(new QuotaStanding(0, 800));
    // The first cost 300, not 400: a call of 300 fits again (100 + 400 + 300 ... 700 + 300)
    ledger.settle(first.hold(), new long[] {300}, T0 + 1);
    assertThat(ledger.standing(budget, T0 + 1)).isEqualTo(new QuotaStanding(300, 400));
    assertThat(ledger.reserve(charge(budget, 300), "h4", T0 + 60_000, T0 + 1).admitted()).isTrue();
    assertThat(ledger.reserve(charge(budget, 1), "h5", T0 + 60_000, T0 + 1).admitted()).isFalse();
    ledger.release(second.hold(), T0 + 2);
    assertThat(ledger.standing(budget, T0 + 2)).isEqualTo(new QuotaStanding(300, 300));
  }

  @Test
  void aTrackedCounter_neverRefuses_evenTheLargestCharge() {
    QuotaLedger ledger = newLedger(SpendSeed.NONE);
    QuotaCounter tracked =
        counter("key:a:spend", QuotaCounter.UNLIMITED, QuotaCounter.NO_ALERT, T0);
    for (int i = 0; i < 3; i++) {
      assertThat(
              ledger.reserve(charge(tracked, Long.MAX_VALUE), "h" + i, T0 + 60_000, T0).admitted())
          .isTrue();
    }
    assertThat(ledger.standing(tracked, T0).reserved()).isEqualTo(3 * QuotaCharge.MAX_AMOUNT);
  }

  @Test
  void allOrNone_acrossCounters() {
    QuotaLedger ledger = newLedger(SpendSeed.NONE);
    QuotaCounter key = counter("key:a:requests:day", 10, QuotaCounter.NO_ALERT, T0);
    QuotaCounter team = counter("team:t:requests:day", 1, QuotaCounter.NO_ALERT, T0);
    List<QuotaCharge> both = List.of(new QuotaCharge(key, 1), new QuotaCharge(team, 1));
    assertThat(ledger.reserve(both, "h1", T0 + 60_000, T0).admitted()).isTrue();
    QuotaDecision refused = ledger.reserve(both, "h2", T0 + 60_000, T0);
    assertThat(refused.admitted()).isFalse();
    assertThat(refused.refusedBy().counter()).isEqualTo(team);
    // The key's counter was not charged by the refused call
    assertThat(ledger.standing(key, T0)).isEqualTo(new QuotaStanding(0, 1));
  }

  @Test
  void aHoldNeverSettled_lapses_andItsLateSettlementStillCounts() {
    QuotaLedger ledger = newLedger(SpendSeed.NONE);
    QuotaCounter quota = counter("key:a:tokens:day", 100, QuotaCounter.NO_ALERT, T0);
    QuotaDecision held = ledger.reserve(charge(quota, 100), "h1", T0 + 10_000, T0);
    assertThat(ledger.reserve(charge(quota, 1), "h2", T0 + 20_000, T0 + 9_999).admitted())
        .isFalse();
    assertThat(ledger.reserve(charge(quota, 1), "h3", T0 + 20_000, T0 + 10_000).admitted())
        .isTrue();
    ledger.settle(held.hold(), new long[] {50}, T0 + 11_000);
    assertThat(ledger.standing(quota, T0 + 11_000)).isEqualTo(new QuotaStanding(50, 1));
  }

  @Test
  void aNewPeriod_startsAtWhatTheDatabaseHolds_andAnAlertIsToldOncePerPeriod() {
    Map<String, Long> persisted = new HashMap<>();
    SpendSeed seed = (id, start) -> persisted.getOrDefault(id + "@" + start, 0L);
    QuotaLedger ledger = newLedger(seed);
    QuotaCounter today = counter("key:a:spend", 1_000, 500, T0);
    persisted.put(today.periodKey(), 450L);
    QuotaDecision a = ledger.reserve(charge(today, 40), "h1", T0 + 60_000, T0);
    assertThat(ledger.settle(a.hold(), new long[] {40}, T0)).isEmpty(); // 490
    QuotaDecision b = ledger.reserve(charge(today, 40), "h2", T0 + 60_000, T0);
    assertThat(ledger.settle(b.hold(), new long[] {40}, T0)).containsExactly(today); // 530
    QuotaDecision c = ledger.reserve(charge(today, 40), "h3", T0 + 60_000, T0);
    assertThat(ledger.settle(c.hold(), new long[] {400}, T0)).isEmpty(); // 930, told already
    long tomorrow = T0 + 86_400_000L;
    QuotaCounter next = counter("key:a:spend", 1_000, 500, tomorrow);
    assertThat(next.period()).isNotEqualTo(today.period());
    assertThat(ledger.standing(next, tomorrow)).isEqualTo(new QuotaStanding(0, 0));
    QuotaDecision d = ledger.reserve(charge(next, 600), "h4", tomorrow + 60_000, tomorrow);
    assertThat(ledger.settle(d.hold(), new long[] {600}, tomorrow)).containsExactly(next);
  }

  @Test
  void aSettlementAfterItsPeriodEnded_countsInThePeriodItWasReservedIn() {
    QuotaLedger ledger = newLedger(SpendSeed.NONE);
    long lateEvening = T0 + 15 * 3_600_000L + 59 * 60_000L; // 23:59 UTC
    QuotaCounter today = counter("key:a:tokens:day", 100, QuotaCounter.NO_ALERT, lateEvening);
    QuotaDecision held =
        ledger.reserve(charge(today, 60), "h1", lateEvening + 600_000, lateEvening);
    long after = lateEvening + 120_000; // 00:01 the next day
    QuotaCounter tomorrow = counter("key:a:tokens:day", 100, QuotaCounter.NO_ALERT, after);
    ledger.settle(held.hold(), new long[] {70}, after);
    assertThat(ledger.standing(today, after)).isEqualTo(new QuotaStanding(70, 0));
    assertThat(ledger.standing(tomorrow, after)).isEqualTo(new QuotaStanding(0, 0));
  }

  /**
   * Random timelines of reservations, settlements, releases and lapses on a few counters with small
   * limits, decided by this ledger and by the memory ledger: the same decisions, standings and
   * alerts at every step.
   */
  @Test
  void randomTimelines_decideAsTheMemoryLedger() {
    for (int seedNo = 0; seedNo < 20; seedNo++) {
      Random random = new Random(seedNo);
      QuotaLedger ledger = newLedger(SpendSeed.NONE);
      QuotaLedger reference = new MemoryQuotaLedger(SpendSeed.NONE);
      long now = T0;
      List<QuotaHold> open = new ArrayList<>();
      for (int step = 0; step < 150; step++) {
        now += random.nextInt(5) * 1_000L;
        List<QuotaCharge> charges = new ArrayList<>();
        for (String id : List.of("key:a:spend", "team:t:spend", "key:a:requests:day")) {
          if (charges.isEmpty() || random.nextBoolean()) {
            QuotaCounter c =
                new QuotaCounter(
                    id,
                    QuotaPeriod.of("60s", UTC, now),
                    10 + random.nextInt(3) * 10,
                    id.startsWith("team") ? 15 : QuotaCounter.NO_ALERT);
            charges.add(new QuotaCharge(c, random.nextInt(8)));
          }
        }
        int action = random.nextInt(3);
        if (action == 0 || open.isEmpty()) {
          String id = seedNo + "-" + step;
          long until = now + 2_000 + random.nextInt(10) * 1_000L;
          QuotaDecision got = ledger.reserve(charges, id, until, now);
          QuotaDecision want = reference.reserve(charges, id, until, now);
          assertThat(got).as("seed %d step %d", seedNo, step).isEqualTo(want);
          if (got.admitted()) {
            open.add(got.hold());
          }
        } else {
          QuotaHold hold = open.remove(random.nextInt(open.size()));
          if (action == 1) {
            long[] actual = new long[hold.charges().size()];
            for (int i = 0; i < actual.length; i++) {
              actual[i] = random.nextInt(10);
            }
            assertThat(ledger.settle(hold, actual, now))
                .as("seed %d step %d", seedNo, step)
                .isEqualTo(reference.settle(hold, actual, now));
          } else {
            ledger.release(hold, now);
            reference.release(hold, now);
          }
        }
        for (QuotaCharge c : charges) {
          assertThat(ledger.standing(c.counter(), now))
              .as("seed %d step %d %s", seedNo, step, c.counter().id())
              .isEqualTo(reference.standing(c.counter(), now));
        }
      }
      ledger.close();
    }
  }
}
