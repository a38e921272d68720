package dev.fairshare.store;

import dev.fairshare.core.EngineSettings;
import dev.fairshare.store.redis.LocalRedisCluster;
import dev.fairshare.store.redis.RedisLink;
import dev.fairshare.store.redis.RedisUsageStore;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * The store contract through a local Redis Cluster of three masters: every script's keys carry the
 * model's hash tag, so each runs on the node that holds the model's slot.
 */
class RedisClusterUsageStoreContractTest extends UsageStoreContract {

  static LocalRedisCluster cluster;
  private final List<RedisUsageStore> stores = new ArrayList<>();

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = LocalRedisCluster.start(Files.createTempDirectory("fs-cluster"));
  }

  @AfterAll
  static void stopCluster() {
    cluster.close();
  }

  @Override
  UsageStore newStore(EngineSettings settings) {
    RedisUsageStore store =
        new RedisUsageStore(
            RedisLink.create(cluster.uri(), Duration.ofSeconds(5)),
            settings,
            "fs-test-" + UUID.randomUUID(),
            Long.MAX_VALUE / 4);
    stores.add(store);
    return store;
  }

  @AfterEach
  void closeStores() {
    stores.forEach(RedisUsageStore::close);
    stores.clear();
  }
}
