package dev.fairshare.store.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One multiplexed Lettuce connection, opened at start ({@link #connectNow}) or on first use, to a
 * Redis server or to a Redis Cluster. Connecting has a timeout of its own, longer than a command's;
 * while the connection is down commands are rejected at once (not queued), Lettuce reconnects in
 * the background, and a connection that could not be opened is retried at most once a second.
 * Password and TLS come with the URI ({@code rediss://:password@host:6379}).
 *
 * <p>A cluster is named {@code redis-cluster://[:password@]host:port,host:port,...} (or {@code
 * rediss-cluster://} for TLS): the nodes to learn the cluster from. Every script's keys carry one
 * hash tag, so Lettuce sends each script to the node that holds its slot, and follows the cluster's
 * topology (refreshed every 30 s and on a redirection).
 */
public final class RedisLink implements AutoCloseable {

  private static final long RETRY_CONNECT_MILLIS = 1_000;

  /** A client for one server or for a cluster, and what it connects. */
  private interface Client {
    StatefulConnection<String, String> connect();

    RedisClusterCommands<String, String> sync(StatefulConnection<String, String> c);

    RedisClusterAsyncCommands<String, String> async(StatefulConnection<String, String> c);

    void shutdown();
  }

  private final Client client;
  private final ClientResources resources;
  private final Duration commandTimeout;
  private volatile StatefulConnection<String, String> connection;
  private long nextAttemptMillis;

  private RedisLink(Client client, ClientResources resources, Duration commandTimeout) {
    this.client = client;
    this.resources = resources;
    this.commandTimeout = commandTimeout;
  }

  /** A link to {@code uri} whose connection and commands time out after {@code timeout}. */
  public static RedisLink create(String uri, Duration timeout) {
    return create(uri, timeout.multipliedBy(4), timeout);
  }

  /**
   * True when {@code uri} names a cluster ({@code redis-cluster://}, {@code rediss-cluster://}).
   */
  public static boolean isCluster(String uri) {
    return uri.startsWith("redis-cluster://") || uri.startsWith("rediss-cluster://");
  }

  /**
   * A link to {@code uri}: connecting (socket and handshake) may take {@code connectTimeout}, a
   * command {@code commandTimeout}. Under a burst of load a connection's handshake can take far
   * longer than a command should: with one timeout for both, a busy instance never connects and
   * fails open.
   */
  public static RedisLink create(String uri, Duration connectTimeout, Duration commandTimeout) {
    // Reconnect every half second while Redis is away (Lettuce's default backs off to 30 s).
    ClientResources resources =
        DefaultClientResources.builder()
            .reconnectDelay(Delay.constant(Duration.ofMillis(500)))
            .build();
    SocketOptions socket = SocketOptions.builder().connectTimeout(connectTimeout).build();
    TimeoutOptions timeouts = TimeoutOptions.enabled(commandTimeout);
    if (isCluster(uri)) {
      RedisClusterClient cluster =
          RedisClusterClient.create(resources, clusterNodes(uri, connectTimeout));
      cluster.setOptions(
          ClusterClientOptions.builder()
              .autoReconnect(true)
              .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
              .timeoutOptions(timeouts)
              .socketOptions(socket)
              .topologyRefreshOptions(
                  ClusterTopologyRefreshOptions.builder()
                      .enablePeriodicRefresh(Duration.ofSeconds(30))
                      .enableAllAdaptiveRefreshTriggers()
                      .build())
              .build());
      return new RedisLink(
          new Client() {
            @Override
            public StatefulConnection<String, String> connect() {
              return cluster.connect(Utf8Codec.INSTANCE);
            }

            @Override
            public RedisClusterCommands<String, String> sync(StatefulConnection<String, String> c) {
              return ((StatefulRedisClusterConnection<String, String>) c).sync();
            }

            @Override
            public RedisClusterAsyncCommands<String, String> async(
                StatefulConnection<String, String> c) {
              return ((StatefulRedisClusterConnection<String, String>) c).async();
            }

            @Override
            public void shutdown() {
              cluster.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }
          },
          resources,
          commandTimeout);
    }
    RedisURI redisUri = RedisURI.create(uri);
    redisUri.setTimeout(connectTimeout); // the handshake's commands (HELLO, AUTH, SELECT)
    RedisClient single = RedisClient.create(resources, redisUri);
    single.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .timeoutOptions(timeouts)
            .socketOptions(socket)
            .build());
    return new RedisLink(
        new Client() {
          @Override
          public StatefulConnection<String, String> connect() {
            return single.connect(Utf8Codec.INSTANCE);
          }

          @Override
          public RedisClusterCommands<String, String> sync(StatefulConnection<String, String> c) {
            return ((StatefulRedisConnection<String, String>) c).sync();
          }

          @Override
          public RedisClusterAsyncCommands<String, String> async(
              StatefulConnection<String, String> c) {
            return ((StatefulRedisConnection<String, String>) c).async();
          }

          @Override
          public void shutdown() {
            single.shutdown(Duration.ZERO, Duration.ofSeconds(2));
          }
        },
        resources,
        commandTimeout);
  }

  /** How long a command may take before it fails. */
  public Duration commandTimeout() {
    return commandTimeout;
  }

  /**
   * The seed nodes of {@code redis-cluster://[[user]:password@]host:port,host:port}: each a node
   * URI with the (URL-decoded) credentials, TLS for {@code rediss-cluster://}. A password may hold
   * {@code @}: the host list starts after the last one. Options after {@code /} or {@code ?} are
   * not read.
   *
   * @throws IllegalArgumentException naming no password when the URI holds no {@code host:port}
   */
  static List<RedisURI> clusterNodes(String uri, Duration connectTimeout) {
    boolean tls = uri.startsWith("rediss-cluster://");
    String rest = uri.substring(uri.indexOf("://") + 3);
    String user = null;
    String password = null;
    int at = rest.lastIndexOf('@');
    if (at >= 0) {
      String userInfo = rest.substring(0, at);
      rest = rest.substring(at + 1);
      int colon = userInfo.indexOf(':');
      String rawUser = colon < 0 ? "" : userInfo.substring(0, colon);
      String rawPassword = colon < 0 ? userInfo : userInfo.substring(colon + 1);
      user = rawUser.isEmpty() ? null : decode(rawUser);
      password = decode(rawPassword);
    }
    int end = rest.length();
    for (char stop : new char[] {'/', '?'}) {
      int i = rest.indexOf(stop);
      if (i >= 0 && i < end) {
        end = i;
      }
    }
    rest = rest.substring(0, end);
    List<RedisURI> nodes = new ArrayList<>();
    for (String node : rest.split(",")) {
      String hostPort = node.strip();
      if (hostPort.isEmpty()) {
        continue;
      }
      int colon = hostPort.lastIndexOf(':');
      if (colon <= 0 || hostPort.endsWith("]")) {
        throw new IllegalArgumentException(
            "a redis-cluster:// URI lists host:port pairs; one has no port");
      }
      String host = hostPort.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1); // IPv6
      }
      int port;
      try {
        port = Integer.parseInt(hostPort.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "a redis-cluster:// URI lists host:port pairs; a port is not a number");
      }
      RedisURI.Builder builder =
          RedisURI.Builder.redis(host, port).withSsl(tls).withTimeout(connectTimeout);
      if (password != null) {
        builder =
            user == null
                ? builder.withPassword(password.toCharArray())
                : builder.withAuthentication(user, password.toCharArray());
      }
      nodes.add(builder.build());
    }
    if (nodes.isEmpty()) {
      throw new IllegalArgumentException("a redis-cluster:// URI names at least one host:port");
    }
    return nodes;
  }

  private static String decode(String text) {
    return java.net.URLDecoder.decode(text.replace("+", "%2B"), StandardCharsets.UTF_8);
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
  public RedisClusterCommands<String, String> commands() {
    return client.sync(connection());
  }

  /**
   * The asynchronous commands of the same connection: a command is queued on the connection before
   * the call returns, in order with the synchronous ones, and Redis applies one connection's
   * commands in the order they were queued.
   *
   * @throws RedisConnectionException when there is no connection (yet)
   */
  public RedisClusterAsyncCommands<String, String> async() {
    return client.async(connection());
  }

  private StatefulConnection<String, String> connection() {
    StatefulConnection<String, String> c = connection;
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
          // From the failure, not the attempt: a connect that took its whole timeout is not
          // tried again at once.
          nextAttemptMillis = System.currentTimeMillis() + RETRY_CONNECT_MILLIS;
          throw e;
        }
      }
      return connection;
    }
  }

  @Override
  public void close() {
    StatefulConnection<String, String> c = connection;
    if (c != null) {
      try {
        // Answered after every command sent before it (settlements not waited for): none is lost.
        client.sync(c).ping();
      } catch (RuntimeException e) {
        // Redis is away: what it has not taken is lost either way.
      }
      c.close();
    }
    client.shutdown();
    resources.shutdown(0, 2, java.util.concurrent.TimeUnit.SECONDS);
  }
}
