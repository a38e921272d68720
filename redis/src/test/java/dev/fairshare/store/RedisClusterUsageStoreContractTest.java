package dev.fairshare.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.Reservation;
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
import org.junit.jupiter.api.Test;

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

  /** Settlements sent to several nodes are answered before the store closes its connection. */
  @Test
  void closingTheStore_waitsForSettlementsSentToEveryNode() {
    String prefix = "fs-test-" + UUID.randomUUID();
    ModelCapacity capacity = new ModelCapacity(1_000_000, ModelCapacity.UNLIMITED);
    RedisUsageStore first =
        new RedisUsageStore(
            RedisLink.create(cluster.uri(), Duration.ofSeconds(5)),
            EngineSettings.DEFAULTS,
            prefix);
    List<Reservation> reservations = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      Decision d =
          first.acquire(
              new AdmissionRequest("k" + i, "model-" + (i % 12), capacity, 1.0, 20, KeyLimits.NONE),
              T0);
      reservations.add(d.reservation());
    }
    reservations.forEach(r -> first.settleWithoutWaiting(r, 2, T0 + 10));
    first.close();
    RedisUsageStore second =
        new RedisUsageStore(
            RedisLink.create(cluster.uri(), Duration.ofSeconds(5)),
            EngineSettings.DEFAULTS,
            prefix);
    stores.add(second);
    for (int m = 0; m < 12; m++) {
      Decision next =
          second.acquire(
              new AdmissionRequest("probe", "model-" + m, capacity, 1.0, 10, KeyLimits.NONE),
              T0 + 20);
      assertThat(next.usage().tokens().modelUsed()).as("model-%d", m).isEqualTo(25 * 2 + 10);
    }
  }

  @AfterEach
  void closeStores() {
    stores.forEach(RedisUsageStore::close);
    stores.clear();
  }
}
