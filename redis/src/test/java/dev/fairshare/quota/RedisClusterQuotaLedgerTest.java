package dev.fairshare.quota;

import dev.fairshare.store.redis.LocalRedisCluster;
import java.nio.file.Files;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The ledger contract through a local Redis Cluster of three masters. */
class RedisClusterQuotaLedgerTest extends RedisLedgerContract {

  static LocalRedisCluster cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = LocalRedisCluster.start(Files.createTempDirectory("fs-cluster"));
  }

  @AfterAll
  static void stopCluster() {
    cluster.close();
  }

  @Override
  String uri() {
    return cluster.uri();
  }
}
