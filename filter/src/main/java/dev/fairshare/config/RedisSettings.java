package dev.fairshare.config;

import java.time.Duration;

/**
 * The shared store's settings ({@code fairshare.redis.*}), used when {@code fairshare.store=redis}.
 *
 * @param uri {@code redis://host:port} or {@code rediss://:password@host:port}; a Redis Cluster:
 *     {@code redis-cluster://[:password@]host:port,host:port,...} (or {@code rediss-cluster://})
 * @param failureMode what requests get while Redis is away
 * @param timeout the longest wait for Redis on a request (one command)
 * @param connectTimeout the longest wait for a connection and its handshake (at start, and when
 *     Redis comes back), longer than a command's: under a burst of load a handshake takes longer
 * @param keyPrefix prefix of FairShare's Redis keys (separates deployments sharing a Redis)
 */
public record RedisSettings(
    String uri,
    FailureMode failureMode,
    Duration timeout,
    Duration connectTimeout,
    String keyPrefix) {

  static RedisSettings read(ConfigValues v) {
    String uri = v.string("fairshare.redis.uri", "redis://127.0.0.1:6379").strip();
    java.util.regex.Matcher scheme =
        java.util.regex.Pattern.compile("([a-z+-]+)://(.*)").matcher(uri);
    if (!scheme.matches()
        || !java.util.List.of(
                "redis",
                "rediss",
                "redis+ssl",
                "redis+tls",
                "redis-socket",
                "redis-sentinel",
                "rediss-sentinel",
                "redis-cluster",
                "rediss-cluster")
            .contains(scheme.group(1))) {
      // Only the scheme is shown: the rest may hold a password.
      v.problem(
          "fairshare.redis.uri",
          "not a Redis URI (redis://, rediss://, redis-sentinel://, redis-socket://,"
              + " redis-cluster:// or rediss-cluster://); its scheme was '"
              + (scheme.matches() ? scheme.group(1) : "")
              + "'");
    } else if (scheme.group(1).endsWith("-cluster")
        && !scheme.group(2).replaceFirst("^.*@", "").matches("\\s*[^,/?]+:\\d+.*")) {
      v.problem(
          "fairshare.redis.uri",
          "a redis-cluster:// URI lists the cluster's nodes as host:port,host:port");
    }
    FailureMode failureMode =
        v.choice("fairshare.redis.failure-mode", FailureMode.class, FailureMode.OPEN);
    // 250 ms, not 50: on a 2-core machine a burst of 32 clients pushed commands past 50 ms (39 of
    // 1,280 calls failed open, and two instances admitted 213 for an RPM of 200); at 250 ms none
    // did (RedisSaturationIT).
    Duration timeout = v.duration("fairshare.redis.timeout", Duration.ofMillis(250));
    if (timeout.isZero()) {
      v.problem("fairshare.redis.timeout", "must be positive");
    }
    Duration connectTimeout = v.duration("fairshare.redis.connect-timeout", Duration.ofSeconds(2));
    if (connectTimeout.isZero()) {
      v.problem("fairshare.redis.connect-timeout", "must be positive");
    }
    String keyPrefix = v.string("fairshare.redis.key-prefix", "fs");
    if (keyPrefix.contains("{") || keyPrefix.contains("}")) {
      v.problem("fairshare.redis.key-prefix", "must not contain { or }");
    }
    return new RedisSettings(uri, failureMode, timeout, connectTimeout, keyPrefix);
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
