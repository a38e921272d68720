package dev.fairshare.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.Reservation;
import dev.fairshare.store.redis.RedisLink;
import dev.fairshare.store.redis.RedisUsageStore;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The contract against the real Redis on 127.0.0.1:6379; fails, does not skip, without it. */
class RedisUsageStoreContractTest extends UsageStoreContract {

  private final List<RedisUsageStore> stores = new ArrayList<>();

  @Override
  UsageStore newStore(EngineSettings settings) {
    RedisLink link = RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5));
    // In-flight entries never expire here, as in the memory store (timelines run for simulated
    // hours).
    RedisUsageStore store =
        new RedisUsageStore(link, settings, "fs-test-" + UUID.randomUUID(), Long.MAX_VALUE / 4);
    stores.add(store);
    return store;
  }

  @Test
  void closingTheStore_waitsForSettlementsItSent() {
    EngineSettings settings = EngineSettings.DEFAULTS;
    String prefix = "fs-test-" + UUID.randomUUID();
    ModelCapacity tpm1000 = new ModelCapacity(10_000, ModelCapacity.UNLIMITED);
    RedisUsageStore first =
        new RedisUsageStore(
            RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5)), settings, prefix);
    List<Reservation> reservations = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      reservations.add(first.acquire(request("k" + i, tpm1000, 20), T0).reservation());
    }
    // 500 × 20 reserved, the model full; each call really used 2
    reservations.forEach(r -> first.settleWithoutWaiting(r, 2, T0 + 10));
    first.close();

    RedisUsageStore second =
        new RedisUsageStore(
            RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5)), settings, prefix);
    stores.add(second);
    Decision next = second.acquire(request("k0", tpm1000, 10), T0 + 20);
    assertThat(next.usage().tokens().modelUsed()).isEqualTo(500 * 2 + 10);
  }

  @Test
  void tokenBucket_twoInstancesShareTickets_aKeyWaitingOnOneIsNotOvertakenOnTheOther() {
    String prefix = "fs-test-" + UUID.randomUUID();
    RedisUsageStore first =
        new RedisUsageStore(
            RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5)),
            WHOLE_BUCKET,
            prefix);
    RedisUsageStore second =
        new RedisUsageStore(
            RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5)),
            WHOLE_BUCKET,
            prefix);
    stores.add(first);
    stores.add(second);
    ticketsAreServedInOrder(first, second);
  }

  /**
   * One key calling every 1.5 s for 10 minutes, each call settled just before the next (so a
   * settlement is often the first script of a bucket): the demand table keeps a field per bucket of
   * the window only, and every key the store wrote expires.
   */
  @Test
  void tokenBucket_theDemandTableKeepsOnlyTheWindow_andEveryKeyExpires() {
    String prefix = "fs-test-" + UUID.randomUUID();
    RedisUsageStore store =
        new RedisUsageStore(
            RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5)),
            TOKEN_BUCKET,
            prefix);
    stores.add(store);
    ModelCapacity tpm = new ModelCapacity(100_000, ModelCapacity.UNLIMITED);
    Reservation last = null;
    long now = T0;
    for (int i = 0; i < 400; i++) {
      now += 1_500;
      if (last != null) {
        store.settle(last, 5, now);
      }
      Decision d = store.acquire(request("k", tpm, 10), now);
      assertThat(d.admitted()).isTrue();
      last = d.reservation();
    }
    RedisClient client = RedisClient.create("redis://127.0.0.1:6379");
    try (StatefulRedisConnection<String, String> c = client.connect()) {
      RedisCommands<String, String> redis = c.sync();
      long buckets = TOKEN_BUCKET.bucketsPerWindow();
      // 'a|k' and one 'd|bucket|k' per bucket of the window at most
      assertThat(redis.hlen(prefix + ":{m}:demand")).isBetween(2L, buckets + 1);
      List<String> written = redis.keys(prefix + ":*");
      assertThat(written).contains(prefix + ":{m}:pool", prefix + ":{m}:demand");
      for (String key : written) {
        assertThat(redis.pttl(key)).as("TTL of %s", key).isPositive();
      }
    } finally {
      client.shutdown();
    }
  }

  @AfterEach
  void close() {
    stores.forEach(RedisUsageStore::close);
  }
}
