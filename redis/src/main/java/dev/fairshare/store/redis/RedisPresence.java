package dev.fairshare.store.redis;

import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Which instances share the Redis store: each announces itself every {@link #PERIOD_MILLIS} in a
 * sorted set ({@code <prefix>:instances}, scored by the time of its last announcement) and counts
 * the members seen in the last three periods. While Redis is away the last count stands, and each
 * instance that fails open admits against its part of every limit (capacity / instances), so that
 * together they stay within the budget instead of each spending all of it.
 *
 * <p>One daemon thread, stopped by {@link #close}; an announcement that fails is simply retried at
 * the next period.
 */
final class RedisPresence implements AutoCloseable {

  static final long PERIOD_MILLIS = 2_000;

  private final RedisLink link;
  private final String key;
  private final String id = UUID.randomUUID().toString();
  private final AtomicInteger instances = new AtomicInteger(1);
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "fairshare-redis-presence");
            t.setDaemon(true);
            return t;
          });

  RedisPresence(RedisLink link, String prefix) {
    this.link = link;
    this.key = prefix + ":instances";
  }

  /** Announces this instance now (on the caller's thread) and then every period. */
  RedisPresence start() {
    announce();
    timer.scheduleWithFixedDelay(
        this::announce, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    return this;
  }

  /** The instances last seen sharing the store, this one included: at least 1. */
  int instances() {
    return instances.get();
  }

  private void announce() {
    try {
      long now = System.currentTimeMillis();
      var redis = link.commands();
      redis.zadd(key, now, id);
      redis.zremrangebyscore(
          key, io.lettuce.core.Range.create(Double.NEGATIVE_INFINITY, now - 3.0 * PERIOD_MILLIS));
      redis.pexpire(key, 10 * PERIOD_MILLIS);
      instances.set((int) Math.max(1, redis.zcard(key)));
    } catch (RuntimeException e) {
      // Redis is away: keep the last count; the store reports the failure itself.
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      link.commands().zrem(key, id);
    } catch (RuntimeException e) {
      // Redis is away: the entry ages out of the count after three periods.
    }
  }
}
