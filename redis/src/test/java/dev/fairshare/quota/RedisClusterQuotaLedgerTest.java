package dev.fairshare.quota;

import dev.fairshare.store.redis.LocalRedisCluster;
import dev.fairshare.store.redis.RedisLink;
import dev.fairshare.store.redis.RedisQuotaLedger;
import java.nio.file.Files;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The ledger contract through a local Redis Cluster of three masters. */
class RedisClusterQuotaLedgerTest extends QuotaLedgerContract {

  static LocalRedisCluster cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = LocalRedisCluster.start(Files.createTempDirectory("fs-cluster"));
  }

  @AfterAll
  static void stopCluster() {
    cluster.close();
  }

  private final java.util.List<QuotaLedger> ledgers = new java.util.ArrayList<>();

  @Override
  protected QuotaLedger newLedger(SpendSeed seed) {
    QuotaLedger ledger =
        new RedisQuotaLedger(
            RedisLink.create(cluster.uri(), Duration.ofSeconds(5)),
            "fs-test-" + UUID.randomUUID(),
            seed,
            true);
    ledgers.add(ledger);
    return ledger;
  }

  @org.junit.jupiter.api.AfterEach
  void closeLedgers() {
    ledgers.forEach(QuotaLedger::close);
    ledgers.clear();
  }
}
