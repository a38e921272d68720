package dev.fairshare.config;

import java.time.Duration;

/**
 * The shared store's settings ({@code fairshare.redis.*}), used when {@code fairshare.store=redis}.
 *
 * @param uri {@code redis://host:port} or {@code rediss://:password@host:port}
 * @param failureMode what requests get while Redis is away
 * @param timeout the longest wait for Redis on a request
 * @param keyPrefix prefix of FairShare's Redis keys (separates deployments sharing a Redis)
 */
public record RedisSettings(
    String uri, FailureMode failureMode, Duration timeout, String keyPrefix) {

  static RedisSettings read(ConfigValues v) {
    String uri = v.string("fairshare.redis.uri", "redis://127.0.0.1:6379");
    FailureMode failureMode =
        v.choice("fairshare.redis.failure-mode", FailureMode.class, FailureMode.OPEN);
    Duration timeout = v.duration("fairshare.redis.timeout", Duration.ofMillis(50));
    if (timeout.isZero()) {
      v.problem("fairshare.redis.timeout", "must be positive");
    }
    String keyPrefix = v.string("fairshare.redis.key-prefix", "fs");
    if (keyPrefix.contains("{") || keyPrefix.contains("}")) {
      v.problem("fairshare.redis.key-prefix", "must not contain { or }");
    }
    return new RedisSettings(uri, failureMode, timeout, keyPrefix);
  }

  @Override
  public String toString() {
    // The URI may carry a password.
    return "RedisSettings[failureMode="
        + failureMode
        + ", timeout="
        + timeout
        + ", keyPrefix="
        + keyPrefix
        + "]";
  }
}
