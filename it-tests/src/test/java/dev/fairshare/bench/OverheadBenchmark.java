package dev.fairshare.bench;

import dev.fairshare.core.Clock;
import dev.fairshare.gateway.FairShareGateway;
import dev.fairshare.gateway.GatewayConfiguration;
import dev.fairshare.gateway.GatewaySettings;
import dev.fairshare.gateway.MockModelServlet;
import dev.fairshare.keys.KeyHashing;
import dev.fairshare.openai.Endpoint;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * HTTP load harness: the same Jetty and mock model with and without FairShare in front, measured in
 * the same run, alternating rounds. Reports throughput ratios and added latency percentiles.
 *
 * <pre>mvn -B -q -pl it-tests -am -DskipTests install &&
 * mvn -B -q -pl it-tests -Pbench exec:exec -Dbench.main=dev.fairshare.bench.OverheadBenchmark</pre>
 */
public final class OverheadBenchmark {

  static final int THREADS = 16;
  static final int KEYS = 64;

  /**
   * KEYS keys of the shape FairShare mints, unknown to any gateway: what bare Jetty is sent, so
   * that the baseline parses the same request headers as the gateways (Jetty's parser caches a
   * header field that repeats on a connection: one key for bare Jetty made its baseline about a
   * tenth faster than the same traffic would be).
   */
  static List<String> unknownKeys() {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < KEYS; i++) {
      keys.add(KeyHashing.newKey());
    }
    return keys;
  }

  static final long ROUND_MILLIS = 5_000;
  static final int ROUNDS = 5;
  static final String BODY =
      "{\"model\":\"bench-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello world, how are you today?\"}]}";

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("fairshare-bench");
    Server bare = bareJetty();
    FairShareGateway memory = gateway(dir.resolve("memory"), Map.of());
    FairShareGateway redis =
        gateway(
            dir.resolve("redis"),
            Map.of(
                "fairshare.store",
                "redis",
                "fairshare.redis.key-prefix",
                "fs-bench-" + System.nanoTime(),
                "fairshare.redis.timeout",
                "1s"));
    List<String> memoryKeys = mint(memory);
    List<String> redisKeys = mint(redis);
    URI bareUri =
        URI.create(
            "http://127.0.0.1:" + ((ServerConnector) bare.getConnectors()[0]).getLocalPort());

    // Warm-up
    load(bareUri, memoryKeys, 3_000);
    load(memory.baseUri(), memoryKeys, 3_000);
    load(redis.baseUri(), redisKeys, 3_000);

    List<Result> bareResults = new ArrayList<>();
    List<Result> memoryResults = new ArrayList<>();
    List<Result> redisResults = new ArrayList<>();
    for (int round = 0; round < ROUNDS; round++) {
      bareResults.add(load(bareUri, memoryKeys, ROUND_MILLIS));
      memoryResults.add(load(memory.baseUri(), memoryKeys, ROUND_MILLIS));
      redisResults.add(load(redis.baseUri(), redisKeys, ROUND_MILLIS));
    }
    Result b = Result.merge(bareResults);
    Result m = Result.merge(memoryResults);
    Result r = Result.merge(redisResults);
    System.out.println(
        "| setup | requests/s | ratio to bare Jetty | median of the rounds' ratios | p50 | p99 | added p50 | added p99 | failed |");
    System.out.println("|---|---|---|---|---|---|---|---|---|");
    Object[][] rows = {
      {"bare Jetty + mock", b, bareResults},
      {"FairShare, memory store", m, memoryResults},
      {"FairShare, Redis store", r, redisResults}
    };
    for (Object[] row : rows) {
      Result x = (Result) row[1];
      @SuppressWarnings("unchecked")
      List<Result> rounds = (List<Result>) row[2];
      // Each round against the bare round just before it: the machine's drift cancels out.
      double[] ratios = new double[ROUNDS];
      for (int i = 0; i < ROUNDS; i++) {
        ratios[i] = rounds.get(i).throughput() / bareResults.get(i).throughput();
      }
      Arrays.sort(ratios);
      System.out.printf(
          Locale.ROOT,
          "| %s | %.0f | %.3f | %.3f | %.2f ms | %.2f ms | %+.2f ms | %+.2f ms | %d |%n",
          row[0],
          x.throughput(),
          x.throughput() / b.throughput(),
          ratios[ROUNDS / 2],
          x.percentile(50),
          x.percentile(99),
          x.percentile(50) - b.percentile(50),
          x.percentile(99) - b.percentile(99),
          x.errors);
    }
    memory.close();
    redis.close();
    bare.stop();
  }

  static Server bareJetty() throws Exception {
    return bareJetty(0);
  }

  /** Jetty 12 and the mock model servlet on {@code port} (0: any free port), without FairShare. */
  static Server bareJetty(int port) throws Exception {
    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setPort(port);
    connector.setHost("127.0.0.1");
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    ServletHolder mock =
        new ServletHolder(
            new MockModelServlet(new GatewaySettings(0, "127.0.0.1", Optional.empty(), Map.of())));
    for (Endpoint e : Endpoint.values()) {
      context.addServlet(mock, e.path());
    }
    server.setHandler(context);
    server.start();
    return server;
  }

  static FairShareGateway gateway(Path dir, Map<String, String> extra) throws Exception {
    Map<String, String> props = new HashMap<>(extra);
    props.put("fairshare.master-key", "sk-bench");
    props.put("fairshare.keys.jdbc-url", "jdbc:h2:file:" + dir.resolve("keys").toAbsolutePath());
    props.put("fairshare.gateway.port", "0");
    props.put("fairshare.gateway.host", "127.0.0.1");
    props.put("fairshare.models.bench-model.tpm", "1000000000");
    props.put("fairshare.models.bench-model.rpm", "100000000");
    GatewayConfiguration c =
        GatewayConfiguration.read(k -> Optional.ofNullable(props.get(k)), props.keySet());
    return FairShareGateway.start(c, Clock.system());
  }

  static List<String> mint(FairShareGateway gateway) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < KEYS; i++) {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(gateway.baseUri().resolve("/key/generate"))
                  .header("Authorization", "Bearer sk-bench")
                  .POST(HttpRequest.BodyPublishers.ofString("{}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      keys.add(r.body().replaceAll(".*\"key\":\"([^\"]+)\".*", "$1"));
    }
    return keys;
  }

  /** THREADS closed-loop clients for {@code millis}; every request latency recorded. */
  static Result load(URI base, List<String> keys, long millis) throws Exception {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    AtomicInteger errors = new AtomicInteger();
    long end = System.nanoTime() + millis * 1_000_000;
    List<Future<long[]>> futures = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int thread = t;
      futures.add(
          pool.submit(
              () -> {
                long[] latencies = new long[1 << 16];
                int n = 0;
                int i = thread;
                while (System.nanoTime() < end) {
                  HttpRequest request =
                      HttpRequest.newBuilder(base.resolve("/chat/completions"))
                          .header("Authorization", "Bearer " + keys.get(i++ % keys.size()))
                          .header("Content-Type", "application/json")
                          .POST(HttpRequest.BodyPublishers.ofString(BODY))
                          .build();
                  long start = System.nanoTime();
                  try {
                    HttpResponse<byte[]> r =
                        http.send(request, HttpResponse.BodyHandlers.ofByteArray());
                    if (r.statusCode() != 200) {
                      errors.incrementAndGet();
                      System.err.println(
                          "failed request to "
                              + base
                              + ": status "
                              + r.statusCode()
                              + " "
                              + new String(r.body()));
                    }
                  } catch (java.io.IOException e) {
                    // Counted and said, not fatal.
                    errors.incrementAndGet();
                    System.err.println("failed request to " + base + ": " + e);
                    continue;
                  }
                  long took = System.nanoTime() - start;
                  if (n == latencies.length) {
                    latencies = Arrays.copyOf(latencies, n * 2);
                  }
                  latencies[n++] = took;
                }
                return Arrays.copyOf(latencies, n);
              }));
    }
    List<long[]> all = new ArrayList<>();
    for (Future<long[]> f : futures) {
      all.add(f.get());
    }
    pool.shutdown();
    return new Result(
        all.stream().flatMapToLong(Arrays::stream).sorted().toArray(), millis, errors.get());
  }

  record Result(long[] sortedNanos, long millis, int errors) {
    double throughput() {
      return sortedNanos.length * 1000.0 / millis;
    }

    double percentile(double p) {
      int index =
          (int) Math.min(sortedNanos.length - 1, Math.ceil(p / 100 * sortedNanos.length) - 1);
      return sortedNanos[Math.max(0, index)] / 1e6;
    }

    static Result merge(List<Result> results) {
      long[] all =
          results.stream().flatMapToLong(r -> Arrays.stream(r.sortedNanos)).sorted().toArray();
      return new Result(
          all,
          results.stream().mapToLong(Result::millis).sum(),
          results.stream().mapToInt(Result::errors).sum());
    }
  }
}
