package dev.fairshare.quota;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The ledger of one JVM: counters and holds in maps under one lock. A counter's period is read from
 * the {@link SpendSeed} the first time it is touched (after a restart: what was persisted); a
 * period's state is dropped a day after the period ends.
 */
public final class MemoryQuotaLedger implements QuotaLedger {

  /** How long past its end a period's state is kept for late settlements. */
  static final long KEEP_AFTER_END_MILLIS = 24 * 3_600_000L;

  private final SpendSeed seed;
  private final Map<String, Counter> counters = new HashMap<>();

  /** Holds in force, by id. */
  private final Map<String, QuotaHold> holds = new HashMap<>();

  /** The same holds, in the order they lapse. */
  private final TreeSet<QuotaHold> lapsing =
      new TreeSet<>(Comparator.comparingLong(QuotaHold::untilMillis).thenComparing(QuotaHold::id));

  private long nextPruneMillis;

  /** A counter in one period. */
  private static final class Counter {
    final long endMillis;
    long used;
    long reserved;
    boolean alerted;

    Counter(long endMillis, long used) {
      this.endMillis = endMillis;
      this.used = used;
    }
  }

  public MemoryQuotaLedger(SpendSeed seed) {
    this.seed = Objects.requireNonNull(seed, "seed");
  }

  @Override
  public QuotaDecision reserve(
      List<QuotaCharge> charges, String holdId, long untilMillis, long nowMillis) {
    List<QuotaCounter> counters = new ArrayList<>(charges.size());
    for (QuotaCharge charge : charges) {
      counters.add(charge.counter());
    }
    Map<String, Long> seeds = seedsOf(counters);
    synchronized (this) {
      return reserve(charges, holdId, untilMillis, nowMillis, seeds);
    }
  }

  private QuotaDecision reserve(
      List<QuotaCharge> charges,
      String holdId,
      long untilMillis,
      long nowMillis,
      Map<String, Long> seeds) {
    lapse(nowMillis);
    List<Counter> states = new ArrayList<>(charges.size());
    for (QuotaCharge charge : charges) {
      Counter c = counter(charge.counter(), seeds);
      long counted = c.used + c.reserved;
      long limit = charge.counter().limit();
      if (limit != QuotaCounter.UNLIMITED && counted > limit - charge.amount()) {
        return QuotaDecision.refused(charge, counted);
      }
      states.add(c);
    }
    for (int i = 0; i < charges.size(); i++) {
      states.get(i).reserved += charges.get(i).amount();
    }
    QuotaHold hold = new QuotaHold(holdId, charges, untilMillis);
    QuotaHold earlier = holds.put(holdId, hold);
    if (earlier != null) {
      lapsing.remove(earlier);
    }
    lapsing.add(hold);
    return QuotaDecision.admitted(hold);
  }

  @Override
  public synchronized List<QuotaCounter> settle(QuotaHold hold, long[] actual, long nowMillis) {
    if (actual.length != hold.charges().size()) {
      throw new IllegalArgumentException("one actual amount per charge");
    }
    boolean held = forget(hold);
    List<QuotaCounter> crossed = new ArrayList<>();
    for (int i = 0; i < actual.length; i++) {
      QuotaCharge charge = hold.charges().get(i);
      Counter c = counters.get(charge.counter().periodKey());
      if (c == null) {
        continue; // the period is long over: only the persisted record takes it
      }
      if (held) {
        c.reserved -= charge.amount();
      }
      long before = c.used;
      c.used += actual[i];
      long alertAt = charge.counter().alertAt();
      if (alertAt >= 0 && !c.alerted && before < alertAt && c.used >= alertAt) {
        c.alerted = true;
        crossed.add(charge.counter());
      }
    }
    return crossed;
  }

  @Override
  public synchronized void release(QuotaHold hold, long nowMillis) {
    if (forget(hold)) {
      unreserve(hold);
    }
  }

  /** Takes {@code hold}'s amounts out of what its counters have reserved. */
  private void unreserve(QuotaHold hold) {
    for (QuotaCharge charge : hold.charges()) {
      Counter c = counters.get(charge.counter().periodKey());
      if (c != null) {
        c.reserved -= charge.amount();
      }
    }
  }

  @Override
  public QuotaStanding standing(QuotaCounter counter, long nowMillis) {
    Map<String, Long> seeds = seedsOf(List.of(counter));
    synchronized (this) {
      lapse(nowMillis);
      Counter c = counter(counter, seeds);
      return new QuotaStanding(c.used, c.reserved);
    }
  }

  /**
   * What the seed holds for the counters this ledger does not hold yet, read outside the lock (a
   * database round trip at a period's start must not stall every admission).
   */
  private Map<String, Long> seedsOf(List<QuotaCounter> wanted) {
    Map<String, Long> seeds = new HashMap<>();
    for (QuotaCounter counter : wanted) {
      boolean held;
      synchronized (this) {
        held = counters.containsKey(counter.periodKey());
      }
      if (!held) {
        seeds.put(
            counter.periodKey(), seed.persisted(counter.id(), counter.period().startMillis()));
      }
    }
    return seeds;
  }

  /** Forgets {@code hold}; whether it was in force. */
  private boolean forget(QuotaHold hold) {
    QuotaHold held = holds.remove(hold.id());
    if (held == null) {
      return false;
    }
    lapsing.remove(held);
    return true;
  }

  /** Holds in force now; for tests. */
  synchronized int holds() {
    return holds.size();
  }

  /** The counter's state, made from {@code seeds} (or, if it was dropped meanwhile, read now). */
  private Counter counter(QuotaCounter counter, Map<String, Long> seeds) {
    return counters.computeIfAbsent(
        counter.periodKey(),
        k -> {
          Long seeded = seeds.get(k);
          return new Counter(
              counter.period().endMillis(),
              seeded != null
                  ? seeded
                  : seed.persisted(counter.id(), counter.period().startMillis()));
        });
  }

  /** Lets lapsed holds go, and (once a minute) drops periods over for a day. */
  private void lapse(long nowMillis) {
    while (!lapsing.isEmpty() && lapsing.first().untilMillis() <= nowMillis) {
      QuotaHold hold = lapsing.pollFirst();
      holds.remove(hold.id());
      unreserve(hold);
    }
    if (nowMillis >= nextPruneMillis) {
      nextPruneMillis = nowMillis + 60_000;
      for (Iterator<Counter> it = counters.values().iterator(); it.hasNext(); ) {
        Counter c = it.next();
        if (c.endMillis != Long.MAX_VALUE && c.endMillis + KEEP_AFTER_END_MILLIS < nowMillis) {
          it.remove();
        }
      }
    }
  }
}
