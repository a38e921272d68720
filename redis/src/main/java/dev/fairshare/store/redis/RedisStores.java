package dev.fairshare.store.redis;

import dev.fairshare.core.EngineSettings;
import dev.fairshare.quota.QuotaLedger;
import dev.fairshare.quota.SpendSeed;
import dev.fairshare.store.FailoverUsageStore;
import dev.fairshare.store.MemoryUsageStore;
import dev.fairshare.store.UsageStore;
import io.lettuce.core.RedisException;
import java.time.Duration;

/**
 * The entry point of this module: the shared usage store as {@code fairshare.store=redis}
 * configures it, a {@link RedisUsageStore} behind a {@link FailoverUsageStore} that knows which
 * exceptions mean "Redis is away".
 */
public final class RedisStores {

  private RedisStores() {}

  /**
   * Opens the shared store and connects at once (a Redis that is down at start is retried in the
   * background; requests meanwhile go the way {@code failOpen} says).
   *
   * @param uri {@code redis://host:port} or {@code rediss://:password@host:port}
   * @param connectTimeout how long connecting (and the connection's handshake) may take
   * @param commandTimeout how long one command may take
   * @param engine the engine's settings, the same on every instance
   * @param keyPrefix the prefix of every Redis key this store writes
   * @param failOpen true to admit on this instance's own memory store while Redis is away, against
   *     this instance's part of every limit (the instances sharing Redis announce themselves),
   *     false to refuse with 503
   */
  public static UsageStore open(
      String uri,
      Duration connectTimeout,
      Duration commandTimeout,
      EngineSettings engine,
      String keyPrefix,
      boolean failOpen) {
    RedisLink link = RedisLink.create(uri, connectTimeout, commandTimeout);
    link.connectNow();
    RedisPresence presence = new RedisPresence(link, keyPrefix).start();
    return new FailoverUsageStore(
        new RedisUsageStore(
            link, engine, keyPrefix, RedisUsageStore.DEFAULT_IN_FLIGHT_LIFETIME_MILLIS, presence),
        new MemoryUsageStore(engine),
        failOpen,
        e -> e instanceof RedisException,
        presence::instances);
  }

  /**
   * Opens the shared ledger of budgets and quotas on a connection of its own.
   *
   * @param seed where a counter Redis does not hold is read from (the key database)
   */
  public static QuotaLedger openLedger(
      String uri,
      Duration connectTimeout,
      Duration commandTimeout,
      String keyPrefix,
      SpendSeed seed) {
    RedisLink link = RedisLink.create(uri, connectTimeout, commandTimeout);
    link.connectNow();
    return new RedisQuotaLedger(link, keyPrefix, seed, true);
  }
}
