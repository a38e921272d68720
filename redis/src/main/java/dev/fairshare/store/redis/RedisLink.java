package dev.fairshare.store.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;

/**
 * One multiplexed Lettuce connection, opened at start ({@link #connectNow}) or on first use.
 * Connecting has a timeout of its own, longer than a command's; while the connection is down
 * commands are rejected at once (not queued), Lettuce reconnects in the background, and a
 * connection that could not be opened is retried at most once a second. Password and TLS come with
 * the URI ({@code rediss://:password@host:6379}).
 */
public final class RedisLink implements AutoCloseable {

  private static final long RETRY_CONNECT_MILLIS = 1_000;

  private final RedisClient client;
  private final ClientResources resources;
  private volatile StatefulRedisConnection<String, String> connection;
  private long nextAttemptMillis;

  private RedisLink(RedisClient client, ClientResources resources) {
    this.client = client;
    this.resources = resources;
  }

  /** A link to {@code uri} whose connection and commands time out after {@code timeout}. */
  public static RedisLink create(String uri, Duration timeout) {
    return create(uri, timeout.multipliedBy(4), timeout);
  }

  /**
   * A link to {@code uri}: connecting (socket and handshake) may take {@code connectTimeout}, a
   * command {@code commandTimeout}. Under a burst of load a connection's handshake can take far
   * longer than a command should: with one timeout for both, a busy instance never connects and
   * fails open.
   */
  public static RedisLink create(String uri, Duration connectTimeout, Duration commandTimeout) {
    RedisURI redisUri = RedisURI.create(uri);
    redisUri.setTimeout(connectTimeout); // the handshake's commands (HELLO, AUTH, SELECT)
    // Reconnect every half second while Redis is away (Lettuce's default backs off to 30 s).
    ClientResources resources =
        DefaultClientResources.builder()
            .reconnectDelay(Delay.constant(Duration.ofMillis(500)))
            .build();
    RedisClient client = RedisClient.create(resources, redisUri);
    client.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .timeoutOptions(TimeoutOptions.enabled(commandTimeout))
            .socketOptions(SocketOptions.builder().connectTimeout(connectTimeout).build())
            .build());
    return new RedisLink(client, resources);
  }

  /**
   * Connects now rather than on the first request (which may come in a burst); a Redis that is down
   * is retried on use, at most once a second, and Lettuce reconnects a lost connection itself.
   */
  public void connectNow() {
    try {
      connection();
    } catch (RuntimeException e) {
      // Not up yet: the first use tries again.
    }
  }

  /**
   * The synchronous commands of the connection.
   *
   * @throws RedisConnectionException when there is no connection (yet)
   */
  public RedisCommands<String, String> commands() {
    return connection().sync();
  }

  /**
   * The asynchronous commands of the same connection: a command is queued on the connection before
   * the call returns, in order with the synchronous ones, and Redis applies one connection's
   * commands in the order they were queued.
   *
   * @throws RedisConnectionException when there is no connection (yet)
   */
  public RedisAsyncCommands<String, String> async() {
    return connection().async();
  }

  private StatefulRedisConnection<String, String> connection() {
    StatefulRedisConnection<String, String> c = connection;
    if (c != null) {
      return c;
    }
    synchronized (this) {
      if (connection == null) {
        long now = System.currentTimeMillis();
        if (now < nextAttemptMillis) {
          throw new RedisConnectionException(
              "Redis is not connected; next attempt in " + (nextAttemptMillis - now) + " ms");
        }
        try {
          connection = client.connect();
        } catch (RuntimeException e) {
          nextAttemptMillis = now + RETRY_CONNECT_MILLIS;
          throw e;
        }
      }
      return connection;
    }
  }

  @Override
  public void close() {
    StatefulRedisConnection<String, String> c = connection;
    if (c != null) {
      try {
        // Answered after every command sent before it (settlements not waited for): none is lost.
        c.sync().ping();
      } catch (RuntimeException e) {
        // Redis is away: what it has not taken is lost either way.
      }
      c.close();
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    resources.shutdown(0, 2, java.util.concurrent.TimeUnit.SECONDS);
  }
}
