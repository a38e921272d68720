package dev.fairshare.quota;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.store.redis.RedisLink;
import dev.fairshare.store.redis.RedisQuotaLedger;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The ledger contract against the real Redis on 127.0.0.1:6379; fails, does not skip, without it.
 */
class RedisQuotaLedgerTest extends RedisLedgerContract {

  static final String URI = "redis://127.0.0.1:6379";

  @Override
  String uri() {
    return URI;
  }

  @Test
  void twoInstances_shareOneBudget_andEveryCounterExpires() {
    String prefix = "fs-test-" + UUID.randomUUID();
    try (RedisQuotaLedger a =
            new RedisQuotaLedger(
                RedisLink.create(URI, Duration.ofSeconds(5)), prefix, SpendSeed.NONE, true);
        RedisQuotaLedger b =
            new RedisQuotaLedger(
                RedisLink.create(URI, Duration.ofSeconds(5)), prefix, SpendSeed.NONE, true)) {
      QuotaCounter budget = counter("key:a:spend", 1_000, 500, T0);
      QuotaDecision onA = a.reserve(charge(budget, 400), "h1", T0 + 60_000, T0);
      QuotaDecision onB = b.reserve(charge(budget, 400), "h2", T0 + 60_000, T0);
      assertThat(a.reserve(charge(budget, 400), "h3", T0 + 60_000, T0).admitted()).isFalse();
      assertThat(a.settle(onA.hold(), new long[] {400}, T0)).isEmpty();
      assertThat(b.settle(onB.hold(), new long[] {400}, T0)).containsExactly(budget);
      RedisClient client = RedisClient.create(URI);
      try (StatefulRedisConnection<String, String> c = client.connect()) {
        List<String> keys = c.sync().keys(prefix + "*");
        // The counter's hash (its holds went with the last settlement)
        assertThat(keys).containsExactly(prefix + "quota:{q}:" + budget.periodKey());
        for (String key : keys) {
          // until a day after the period (today, UTC) ends
          assertThat(c.sync().pttl(key)).isPositive().isLessThanOrEqualTo(40 * 3_600_000L);
        }
      } finally {
        client.shutdown();
      }
    }
  }
}
