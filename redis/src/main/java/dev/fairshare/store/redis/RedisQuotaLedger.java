package dev.fairshare.store.redis;

import dev.fairshare.quota.QuotaCharge;
import dev.fairshare.quota.QuotaCounter;
import dev.fairshare.quota.QuotaDecision;
import dev.fairshare.quota.QuotaHold;
import dev.fairshare.quota.QuotaLedger;
import dev.fairshare.quota.QuotaStanding;
import dev.fairshare.quota.SpendSeed;
import dev.fairshare.store.UsageStoreUnavailableException;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.util.ArrayList;
import java.util.List;

/**
 * Budgets and quotas shared by every instance through Redis: one script reserves a call's charges
 * on all its counters, atomically, all or none; one settles them (and tells, once across all
 * instances, that an alert level was crossed). A counter's period lives in a hash and a sorted set
 * of holds ({@code <prefix>quota:{q}:<counter>@<period start>}), kept until a day after the period
 * ends but at most 30 days after its last call; a counter Redis does not hold (a new period, a
 * {@code FLUSHALL}, one left idle) is read from the key database ({@link SpendSeed}) by the first
 * call that needs it.
 *
 * <p>Every key carries the hash tag {@code {q}}, so a call's counters are on one node.
 */
public final class RedisQuotaLedger implements QuotaLedger {

  /** How long a counter idle in Redis is kept; after that it is read back from the database. */
  static final long MAX_IDLE_MILLIS = 30L * 24 * 3_600_000L;

  /** How long past its end a period is kept for late settlements. */
  static final long KEEP_AFTER_END_MILLIS = 24 * 3_600_000L;

  private final RedisLink link;
  private final String prefix;
  private final SpendSeed seed;
  private final boolean ownsLink;
  private final RedisScript reserveScript =
      RedisScript.of(RedisScript.resource("quota-reserve.lua"));
  private final RedisScript settleScript = RedisScript.of(RedisScript.resource("quota-settle.lua"));

  /**
   * @param link the connection (closed with the ledger when {@code ownsLink})
   * @param prefix the prefix of every Redis key
   * @param seed where counters Redis does not hold are read from
   */
  public RedisQuotaLedger(RedisLink link, String prefix, SpendSeed seed, boolean ownsLink) {
    this.link = link;
    this.prefix = prefix;
    this.seed = seed;
    this.ownsLink = ownsLink;
  }

  @Override
  public QuotaDecision reserve(
      List<QuotaCharge> charges, String holdId, long untilMillis, long nowMillis) {
    String[] keys = keys(charges);
    long[] seeds = new long[charges.size()];
    java.util.Arrays.fill(seeds, -1);
    for (int attempt = 0; attempt < 3; attempt++) {
      String[] args = new String[4 + 4 * charges.size()];
      args[0] = Long.toString(nowMillis);
      args[1] = holdId;
      args[2] = Long.toString(untilMillis);
      args[3] = Integer.toString(charges.size());
      for (int i = 0; i < charges.size(); i++) {
        QuotaCharge c = charges.get(i);
        long limit = c.counter().limit();
        args[4 + 4 * i] = limit == QuotaCounter.UNLIMITED ? "-1" : Long.toString(limit);
        args[5 + 4 * i] = Long.toString(c.amount());
        args[6 + 4 * i] = Long.toString(seeds[i]);
        args[7 + 4 * i] = Long.toString(timeToLive(c.counter(), nowMillis));
      }
      List<Long> r = run(reserveScript, keys, args);
      if (r.get(0) == 1) {
        return QuotaDecision.admitted(new QuotaHold(holdId, charges, untilMillis));
      }
      if (r.get(0) == 0) {
        return QuotaDecision.refused(charges.get(r.get(1).intValue() - 1), r.get(2));
      }
      // Periods Redis does not hold: what the key database has for them (a race with another
      // instance seeding the same period is harmless: the first seed stands).
      for (int i = 1; i < r.size(); i++) {
        QuotaCounter counter = charges.get(r.get(i).intValue() - 1).counter();
        seeds[r.get(i).intValue() - 1] =
            seed.persisted(counter.id(), counter.period().startMillis());
      }
    }
    throw new UsageStoreUnavailableException(
        "the quota counters could not be seeded in Redis", null);
  }

  @Override
  public List<QuotaCounter> settle(QuotaHold hold, long[] actual, long nowMillis) {
    return settle(hold, actual, true);
  }

  @Override
  public void release(QuotaHold hold, long nowMillis) {
    settle(hold, new long[hold.charges().size()], false);
  }

  private List<QuotaCounter> settle(QuotaHold hold, long[] actual, boolean alerts) {
    List<QuotaCharge> charges = hold.charges();
    String[] args = new String[2 + 3 * charges.size()];
    args[0] = hold.id();
    args[1] = Integer.toString(charges.size());
    for (int i = 0; i < charges.size(); i++) {
      args[2 + 3 * i] = Long.toString(charges.get(i).amount());
      args[3 + 3 * i] = Long.toString(actual[i]);
      args[4 + 3 * i] = Long.toString(alerts ? charges.get(i).counter().alertAt() : -1);
    }
    List<Long> r = run(settleScript, keys(charges), args);
    List<QuotaCounter> crossed = new ArrayList<>(r.size());
    for (Long i : r) {
      crossed.add(charges.get(i.intValue() - 1).counter());
    }
    return crossed;
  }

  /**
   * Two reads, not one atomic step (for {@code /key/info}, never a decision): holds that lapsed but
   * were not let go yet (that happens when the counter is next reserved on) are left out, as the
   * next reservation will.
   */
  @Override
  public QuotaStanding standing(QuotaCounter counter, long nowMillis) {
    try {
      RedisClusterCommands<String, String> redis = link.commands();
      String hash = hash(counter);
      List<String> v =
          redis.hmget(hash, "used", "reserved").stream()
              .map(kv -> kv.getValueOrElse(null))
              .toList();
      if (v.get(0) == null) {
        return new QuotaStanding(seed.persisted(counter.id(), counter.period().startMillis()), 0);
      }
      long lapsed = 0;
      for (String member :
          redis.zrangebyscore(
              hash + ":holds", io.lettuce.core.Range.create(Double.NEGATIVE_INFINITY, nowMillis))) {
        lapsed += Long.parseLong(member.substring(member.lastIndexOf('|') + 1));
      }
      return new QuotaStanding(Long.parseLong(v.get(0)), Long.parseLong(v.get(1)) - lapsed);
    } catch (RedisException e) {
      throw new UsageStoreUnavailableException("Redis is unavailable: " + e.getMessage(), e);
    }
  }

  private String[] keys(List<QuotaCharge> charges) {
    String[] keys = new String[2 * charges.size()];
    for (int i = 0; i < charges.size(); i++) {
      keys[2 * i] = hash(charges.get(i).counter());
      keys[2 * i + 1] = keys[2 * i] + ":holds";
    }
    return keys;
  }

  private String hash(QuotaCounter counter) {
    return prefix + "quota:{q}:" + counter.periodKey();
  }

  /** Until a day after the period ends, at most 30 days from now. */
  static long timeToLive(QuotaCounter counter, long nowMillis) {
    long end = counter.period().endMillis();
    long untilEnd =
        end >= Long.MAX_VALUE - KEEP_AFTER_END_MILLIS
            ? Long.MAX_VALUE
            : end + KEEP_AFTER_END_MILLIS - nowMillis;
    return Math.max(1, Math.min(untilEnd, MAX_IDLE_MILLIS));
  }

  private List<Long> run(RedisScript script, String[] keys, String[] args) {
    try {
      return script.run(link.commands(), ScriptOutputType.MULTI, keys, args);
    } catch (RedisException e) {
      throw new UsageStoreUnavailableException("Redis is unavailable: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    if (ownsLink) {
      link.close();
    }
  }
}
