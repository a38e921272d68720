package dev.fairshare.store;

import dev.fairshare.core.EngineSettings;
import dev.fairshare.store.redis.RedisLink;
import dev.fairshare.store.redis.RedisUsageStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;

/** The contract against the real Redis on 127.0.0.1:6379; fails, does not skip, without it. */
class RedisUsageStoreContractTest extends UsageStoreContract {

  private final List<RedisUsageStore> stores = new ArrayList<>();

  @Override
  UsageStore newStore(EngineSettings settings) {
    RedisLink link = RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5));
    // In-flight entries never expire here, as in the memory store (timelines run for simulated hours).
    RedisUsageStore store = new RedisUsageStore(link, settings, "fs-test-" + UUID.randomUUID(), Long.MAX_VALUE / 4);
    stores.add(store);
    return store;
  }

  @AfterEach
  void close() {
    stores.forEach(RedisUsageStore::close);
  }
}
