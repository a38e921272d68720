package dev.fairshare.store.redis;

import dev.fairshare.core.EngineSettings;
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
   * Opens the shared store. The connection is made in the background; until it is up, requests go
   * the way {@code failOpen} says.
   *
   * @param uri {@code redis://host:port} or {@code rediss://:password@host:port}
   * @param timeout how long one command may take
   * @param engine the engine's settings, the same on every instance
   * @param keyPrefix the prefix of every Redis key this store writes
   * @param failOpen true to admit on this instance's own memory store while Redis is away, false to
   *     refuse with 503
   */
  public static UsageStore open(
      String uri, Duration timeout, EngineSettings engine, String keyPrefix, boolean failOpen) {
    RedisLink link = RedisLink.create(uri, timeout);
    return new FailoverUsageStore(
        new RedisUsageStore(link, engine, keyPrefix),
        new MemoryUsageStore(engine),
        failOpen,
        e -> e instanceof RedisException);
  }
}
