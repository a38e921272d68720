package dev.fairshare.store;

import dev.fairshare.core.EngineSettings;
import dev.fairshare.store.redis.RedisLink;
import dev.fairshare.store.redis.RedisUsageStore;
import io.lettuce.core.RedisException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;

/**
 * The contract through {@link FailoverUsageStore} in front of the real Redis on 127.0.0.1:6379 (up
 * throughout): the failover layer changes no decision. Fails, does not skip, without Redis.
 */
class FailoverUsageStoreContractTest extends UsageStoreContract {

  private final List<UsageStore> stores = new ArrayList<>();

  @Override
  UsageStore newStore(EngineSettings settings) {
    RedisLink link = RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5));
    RedisUsageStore redis =
        new RedisUsageStore(link, settings, "fs-test-" + UUID.randomUUID(), Long.MAX_VALUE / 4);
    FailoverUsageStore store =
        new FailoverUsageStore(
            redis, new MemoryUsageStore(settings), true, e -> e instanceof RedisException);
    stores.add(store);
    return store;
  }

  @AfterEach
  void close() {
    stores.forEach(UsageStore::close);
  }
}
