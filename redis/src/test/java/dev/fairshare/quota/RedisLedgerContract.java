package dev.fairshare.quota;

import dev.fairshare.store.redis.RedisLink;
import dev.fairshare.store.redis.RedisQuotaLedger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;

/**
 * The ledger contract on a Redis at {@link #uri()}: a ledger per test, each on a prefix of its own.
 */
abstract class RedisLedgerContract extends QuotaLedgerContract {

  private final List<QuotaLedger> ledgers = new ArrayList<>();

  /** The Redis (or Redis Cluster) the ledgers use. */
  abstract String uri();

  @Override
  protected QuotaLedger newLedger(SpendSeed seed) {
    QuotaLedger ledger =
        new RedisQuotaLedger(
            RedisLink.create(uri(), Duration.ofSeconds(5)),
            "fs-test-" + UUID.randomUUID(),
            seed,
            true);
    ledgers.add(ledger);
    return ledger;
  }

  @AfterEach
  void closeLedgers() {
    ledgers.forEach(QuotaLedger::close);
    ledgers.clear();
  }
}
