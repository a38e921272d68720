package dev.fairshare.store.redis;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * A Redis Cluster of three masters of the test's own: the installed {@code redis-server} on free
 * loopback ports, joined with {@code redis-cli --cluster create}. Fails loudly when it cannot
 * start.
 */
public final class LocalRedisCluster implements AutoCloseable {

  private final List<Integer> ports;
  private final List<Process> processes;

  private LocalRedisCluster(List<Integer> ports, List<Process> processes) {
    this.ports = ports;
    this.processes = processes;
  }

  /** Starts three masters under {@code dir} and waits until the cluster is {@code ok}. */
  public static LocalRedisCluster start(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    List<Integer> ports = new ArrayList<>();
    List<Process> processes = new ArrayList<>();
    LocalRedisCluster cluster = new LocalRedisCluster(ports, processes);
    // A JVM that ends without closing (a killed fork) takes its servers with it.
    Runtime.getRuntime().addShutdownHook(new Thread(cluster::close));
    try {
      for (int i = 0; i < 3; i++) {
        int port = freePort();
        ports.add(port);
        processes.add(
            new ProcessBuilder(
                    "redis-server",
                    "--port",
                    Integer.toString(port),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    dir.resolve("nodes-" + port + ".conf").toString(),
                    "--cluster-node-timeout",
                    "5000",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    dir.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("redis-" + port + ".log").toFile())
                .start());
      }
      for (int port : ports) {
        awaitAccepting(port);
      }
      List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
      for (int port : ports) {
        create.add("127.0.0.1:" + port);
      }
      create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
      Process p =
          new ProcessBuilder(create)
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("cluster-create.log").toFile())
              .start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("redis-cli --cluster create did not end in 30 s");
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(
            "redis-cli --cluster create failed: "
                + Files.readString(dir.resolve("cluster-create.log")));
      }
      Awaitility.await("cluster_state:ok on every node")
          .atMost(Duration.ofSeconds(30))
          .until(cluster::ok);
      return cluster;
    } catch (IOException | InterruptedException | RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  /** {@code redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3}. */
  public String uri() {
    StringBuilder uri = new StringBuilder("redis-cluster://");
    for (int i = 0; i < ports.size(); i++) {
      uri.append(i == 0 ? "" : ",").append("127.0.0.1:").append(ports.get(i));
    }
    return uri.toString();
  }

  /** Every node says {@code cluster_state:ok}. */
  private boolean ok() throws IOException, InterruptedException {
    for (int port : ports) {
      Process info =
          new ProcessBuilder(
                  "timeout", "5", "redis-cli", "-p", Integer.toString(port), "cluster", "info")
              .redirectErrorStream(true)
              .start();
      String out = new String(info.getInputStream().readAllBytes());
      info.waitFor(6, TimeUnit.SECONDS);
      if (!out.contains("cluster_state:ok")) {
        return false;
      }
    }
    return true;
  }

  private static final java.util.Random PORTS = new java.util.Random();

  /**
   * A port whose bus port (+10000) is free too, both below Linux's ephemeral range (32768 up), so
   * an outgoing connection cannot take one between this check and the server's bind.
   */
  private static int freePort() throws IOException {
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = 20_000 + PORTS.nextInt(2_700);
      if (free(port) && free(port + 10_000)) {
        return port;
      }
    }
    throw new IOException("no free port pair for a cluster node");
  }

  private static boolean free(int port) {
    try (ServerSocket socket = new ServerSocket(port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void awaitAccepting(int port) {
    Awaitility.await("redis-server on port " + port)
        .atMost(Duration.ofSeconds(10))
        .until(() -> accepts(port));
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void close() {
    for (Process p : processes) {
      p.destroy();
    }
    for (Process p : processes) {
      try {
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
