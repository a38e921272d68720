package dev.fairshare.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.Reservation;
import dev.fairshare.store.redis.RedisLink;
import dev.fairshare.store.redis.RedisUsageStore;
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

  @AfterEach
  void close() {
    stores.forEach(RedisUsageStore::close);
  }
}
