package dev.fairshare;

import dev.fairshare.config.ConfigurationException;
import dev.fairshare.config.FailureMode;
import dev.fairshare.config.FairShareConfig;
import dev.fairshare.config.RedisSettings;
import dev.fairshare.quota.QuotaLedger;
import dev.fairshare.quota.SpendSeed;
import dev.fairshare.store.UsageStore;
import dev.fairshare.store.redis.RedisStores;
import java.util.List;

/**
 * The one place that reaches the optional {@code fairshare-redis} module. It is loaded only for
 * {@code fairshare.store=redis}, so an application on the memory store ships neither Lettuce nor
 * Netty; one that asks for Redis without the module gets a configuration error that says what to
 * add.
 */
final class SharedStore {

  static final String MODULE_CLASS = "dev.fairshare.store.redis.RedisStores";

  private SharedStore() {}

  static UsageStore open(FairShareConfig config) {
    if (!onClasspath(MODULE_CLASS) || !onClasspath("io.lettuce.core.RedisClient")) {
      throw new ConfigurationException(
          List.of(
              "fairshare.store=redis: the Redis store is not in this application; add the dependency"
                  + " dev.fairshare:fairshare-redis (it brings Lettuce) next to fairshare-filter"));
    }
    RedisSettings redis = config.redis();
    return RedisStores.open(
        redis.uri(),
        redis.connectTimeout(),
        redis.timeout(),
        config.engine(),
        redis.keyPrefix(),
        redis.failureMode() == FailureMode.OPEN);
  }

  /** The ledger of budgets and quotas, shared through the same Redis. */
  static QuotaLedger openLedger(FairShareConfig config, SpendSeed seed) {
    RedisSettings redis = config.redis();
    return RedisStores.openLedger(
        redis.uri(), redis.connectTimeout(), redis.timeout(), redis.keyPrefix(), seed);
  }

  private static boolean onClasspath(String className) {
    try {
      Class.forName(className, false, SharedStore.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }
}
