package dev.fairshare.bench;

import dev.fairshare.gateway.FairShareGateway;
import dev.fairshare.store.redis.LocalRedisCluster;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * Throughput and latency at saturation (issue 17), with {@code wrk} as the load generator (1
 * thread, 32 connections, the Debian package, installed when missing): bare Jetty and the mock
 * model without the filter, and the gateway with the memory store, the Redis store (local Redis)
 * and a Redis Cluster of three local masters, each also with every call refused (a key past the
 * model's room: the greedy client's path). Alternating 5 s rounds after a warm-up; each setup's
 * rate is divided by the bare rate of the same round and the median of those ratios is reported,
 * with wrk's p50 and p99, and the Redis time per call ({@code INFO commandstats}, all script calls
 * of an admission and its settlement, divided by the calls wrk made).
 *
 * <p>The generator check: wrk is what drives bare Jetty here, so bare's rate is the generator's
 * ceiling on this machine; a setup's ratio is what the filter costs under that same generator.
 *
 * <pre>mvn -B -q -pl it-tests -am -DskipTests install &&
 * mvn -B -q -pl it-tests -Pbench exec:exec -Dbench.main=dev.fairshare.bench.ThroughputBenchmark
 * </pre>
 */
public final class ThroughputBenchmark {

  static final int ROUNDS = 5;
  static final String ROUND = "5s";
  static final String WARM_UP_REDIS = "45s";
  static final String REDIS = "redis://127.0.0.1:6379";

  /** One wrk run: requests per second, p50 and p99 in µs, and requests made. */
  record Run(double rate, double p50Micros, double p99Micros, long requests) {}

  /** A setup: where wrk points, with which script, and the Redis it uses (or null). */
  record Setup(String name, URI base, Path script, String redisUri, boolean refused) {}

  public static void main(String[] args) throws Exception {
    HistoryCostBenchmark.ensureWrk();
    Path dir = Files.createTempDirectory("fairshare-throughput");
    LocalRedisCluster cluster = LocalRedisCluster.start(dir.resolve("cluster"));
    Server bare = OverheadBenchmark.bareJetty();
    URI bareUri =
        URI.create(
            "http://127.0.0.1:" + ((ServerConnector) bare.getConnectors()[0]).getLocalPort());
    // Refusals are answered at once: within max-queue-wait of the window's emptying (a minute after
    // the fill) they would wait in the fair queue, beyond wrk's 2 s timeout.
    Map<String, String> full =
        Map.of("fairshare.models.full-model.tpm", "1", "fairshare.max-queue-wait", "0s");
    FairShareGateway memory = OverheadBenchmark.gateway(dir.resolve("memory"), full);
    FairShareGateway redis = OverheadBenchmark.gateway(dir.resolve("redis"), redisProps(REDIS));
    FairShareGateway clustered =
        OverheadBenchmark.gateway(dir.resolve("cluster-gw"), redisProps(cluster.uri()));
    List<Setup> setups = new ArrayList<>();
    Path bareScript =
        script(dir.resolve("bare.lua"), OverheadBenchmark.unknownKeys(), "bench-model");
    setups.add(new Setup("bare Jetty + mock (wrk's ceiling)", bareUri, bareScript, null, false));
    for (var e :
        Map.of("memory store", memory, "Redis store", redis, "Redis Cluster (3 masters)", clustered)
            .entrySet()) {
      FairShareGateway g = e.getValue();
      List<String> keys = OverheadBenchmark.mint(g);
      String uri = g == redis ? REDIS : g == clustered ? cluster.uri() : null;
      setups.add(
          new Setup(
              "FairShare, " + e.getKey(),
              g.baseUri(),
              script(dir.resolve(UUID.randomUUID() + ".lua"), keys, "bench-model"),
              uri,
              false));
      String greedy = fill(g, keys.get(0));
      setups.add(
          new Setup(
              "FairShare, " + e.getKey() + ", every call refused (429)",
              g.baseUri(),
              script(dir.resolve(UUID.randomUUID() + ".lua"), List.of(greedy), "full-model"),
              uri,
              true));
    }
    // -Dbench=<regex>: only the setups whose name it finds (and bare Jetty, the baseline)
    java.util.regex.Pattern only = java.util.regex.Pattern.compile(args.length > 0 ? args[0] : "");
    setups.removeIf(s -> !s.base().equals(bareUri) && !only.matcher(s.name()).find());
    setups.sort((a, b) -> a.name().compareTo(b.name()));
    // Warm-up (JIT, pools, connections). A gateway on Redis reaches its steady rate only after
    // about 40 s of load on this machine (the JIT compiles Lettuce's and Netty's paths with the
    // load on both cores): a shorter warm-up reported its first rounds' rates, a third of it.
    for (Setup s : setups) {
      wrk(s, s.redisUri() == null ? "10s" : WARM_UP_REDIS);
    }
    Map<Setup, List<Run>> runs = new LinkedHashMap<>();
    Map<Setup, List<Double>> ratios = new LinkedHashMap<>();
    Map<Setup, long[]> redisTime = new LinkedHashMap<>(); // {usec, requests, script calls}
    for (Setup s : setups) {
      runs.put(s, new ArrayList<>());
      ratios.put(s, new ArrayList<>());
      redisTime.put(s, new long[3]);
    }
    Setup bareSetup = setups.stream().filter(s -> s.base().equals(bareUri)).findFirst().get();
    for (int round = 0; round < ROUNDS; round++) {
      Run bareRun = wrk(bareSetup, ROUND);
      runs.get(bareSetup).add(bareRun);
      List<Setup> order = new ArrayList<>(setups);
      order.remove(bareSetup);
      if (round % 2 == 1) {
        java.util.Collections.reverse(order);
      }
      for (Setup s : order) {
        long[] before = s.redisUri() == null ? new long[2] : scriptStats(s.redisUri());
        Run run = wrk(s, ROUND);
        if (s.redisUri() != null) {
          long[] after = scriptStats(s.redisUri());
          redisTime.get(s)[0] += after[0] - before[0];
          redisTime.get(s)[1] += run.requests();
          redisTime.get(s)[2] += after[1] - before[1];
        }
        runs.get(s).add(run);
        ratios.get(s).add(run.rate() / bareRun.rate());
      }
    }
    System.out.println(
        "| setup | requests/s (median) | ratio to bare (median of rounds) | p50 | p99 | Redis time per call | script calls per call |");
    System.out.println("|---|---|---|---|---|---|---|");
    for (Setup s : setups) {
      List<Run> r = runs.get(s);
      long[] t = redisTime.get(s);
      System.out.printf(
          Locale.ROOT,
          "| %s | %.0f | %s | %.0f µs | %.0f µs | %s | %s |%n",
          s.name(),
          median(r.stream().mapToDouble(Run::rate).toArray()),
          s == bareSetup
              ? "1.000"
              : String.format(
                  Locale.ROOT,
                  "%.3f",
                  median(ratios.get(s).stream().mapToDouble(Double::doubleValue).toArray())),
          median(r.stream().mapToDouble(Run::p50Micros).toArray()),
          median(r.stream().mapToDouble(Run::p99Micros).toArray()),
          t[1] == 0 ? "—" : String.format(Locale.ROOT, "%.0f µs", (double) t[0] / t[1]),
          t[1] == 0 ? "—" : String.format(Locale.ROOT, "%.2f", (double) t[2] / t[1]));
    }
    memory.close();
    redis.close();
    clustered.close();
    bare.stop();
    cluster.close();
  }

  private static Map<String, String> redisProps(String uri) {
    return Map.of(
        "fairshare.store",
        "redis",
        "fairshare.redis.uri",
        uri,
        "fairshare.redis.key-prefix",
        "fs-bench-" + UUID.randomUUID(),
        "fairshare.models.full-model.tpm",
        "1",
        "fairshare.max-queue-wait",
        "0s");
  }

  /**
   * Mints a key and spends the whole of {@code full-model} with it (one call larger than the model
   * is admitted into an empty window); every later call of the key is refused for a minute.
   */
  private static String fill(FairShareGateway g, String key) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> first =
        http.send(
            HttpRequest.newBuilder(g.baseUri().resolve("/chat/completions"))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        OverheadBenchmark.BODY.replace("bench-model", "full-model")))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (first.statusCode() != 200) {
      throw new IllegalStateException("the first call should fill the model: " + first.body());
    }
    return key;
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  /** A wrk script posting a chat completion for {@code model} with each key in turn. */
  static Path script(Path file, List<String> keys, String model) throws Exception {
    StringBuilder lua = new StringBuilder("local keys = {");
    for (String key : keys) {
      lua.append('"').append(key).append("\",");
    }
    lua.append("}\n")
        .append("local body = '")
        .append(OverheadBenchmark.BODY.replace("bench-model", model).replace("'", "\\'"))
        .append("'\n")
        .append("local i = 0\n")
        .append("request = function()\n")
        .append("  i = i + 1\n")
        .append("  return wrk.format('POST', '/chat/completions',")
        .append(" {['Content-Type'] = 'application/json',")
        .append(" ['Authorization'] = 'Bearer ' .. keys[(i % #keys) + 1]}, body)\n")
        .append("end\n");
    Files.writeString(file, lua, StandardCharsets.UTF_8);
    return file;
  }

  private static final Pattern RATE = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern REQUESTS = Pattern.compile("(\\d+) requests in");
  private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");
  private static final Pattern PERCENTILE = Pattern.compile("\\s(50|99)%\\s+([0-9.]+)(us|ms|s)\\b");

  /**
   * Runs wrk on {@code setup}: every answer must be a 200, or (a refused setup) a 429 but for the
   * call a minute that fits again; the bare setup's mock answers 200 whatever the key.
   */
  static Run wrk(Setup setup, String duration) throws Exception {
    Process p =
        new ProcessBuilder(
                "wrk",
                "-t1",
                "-c32",
                "--latency",
                "-d" + duration,
                "-s",
                setup.script().toString(),
                setup.base().toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException("wrk failed:\n" + out);
    }
    Matcher requests = REQUESTS.matcher(out);
    Matcher rate = RATE.matcher(out);
    if (!requests.find() || !rate.find()) {
      throw new IllegalStateException("no rate in wrk's output:\n" + out);
    }
    long made = Long.parseLong(requests.group(1));
    if (out.contains("Socket errors:")) {
      throw new IllegalStateException(setup.name() + ": wrk saw socket errors:\n" + out);
    }
    Matcher bad = NON_2XX.matcher(out);
    long non2xx = bad.find() ? Long.parseLong(bad.group(1)) : 0;
    // A refused setup: the window empties once a minute, when the greedy key's next call fits.
    if (setup.refused() ? non2xx < made - 2 : non2xx != 0) {
      throw new IllegalStateException(
          setup.name() + ": " + non2xx + " of " + made + " answers not 200:\n" + out);
    }
    double p50 = 0;
    double p99 = 0;
    Matcher pct = PERCENTILE.matcher(out);
    while (pct.find()) {
      double v = Double.parseDouble(pct.group(2));
      double micros =
          switch (pct.group(3)) {
            case "us" -> v;
            case "ms" -> v * 1_000;
            default -> v * 1_000_000;
          };
      if (pct.group(1).equals("50")) {
        p50 = micros;
      } else {
        p99 = micros;
      }
    }
    return new Run(Double.parseDouble(rate.group(1)), p50, p99, made);
  }

  /** The microseconds Redis (every node of a cluster) has spent in scripts so far. */
  /** Microseconds Redis spent in scripts and the script calls it answered ({usec, calls}). */
  static long[] scriptStats(String uri) {
    List<String> nodes = new ArrayList<>();
    if (uri.startsWith("redis-cluster://")) {
      for (String node : uri.substring("redis-cluster://".length()).split(",")) {
        nodes.add("redis://" + node);
      }
    } else {
      nodes.add(uri);
    }
    long micros = 0;
    long calls = 0;
    for (String node : nodes) {
      RedisClient client = RedisClient.create(node);
      try (StatefulRedisConnection<String, String> c = client.connect()) {
        Matcher m =
            Pattern.compile("cmdstat_(?:evalsha|eval):calls=(\\d+),usec=(\\d+)")
                .matcher(c.sync().info("commandstats"));
        while (m.find()) {
          calls += Long.parseLong(m.group(1));
          micros += Long.parseLong(m.group(2));
        }
      } finally {
        client.shutdown();
      }
    }
    return new long[] {micros, calls};
  }

  private ThroughputBenchmark() {}
}
