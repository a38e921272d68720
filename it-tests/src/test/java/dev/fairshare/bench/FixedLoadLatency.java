package dev.fairshare.bench;

import dev.fairshare.gateway.FairShareGateway;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * Latency at a fixed offered load (issue 17): half of the rate wrk drives bare Jetty to in this
 * run, offered open-loop by Jetty's asynchronous client, each call's latency counted from when it
 * was due to be sent, not from when it was sent (so a stalled server is charged for the calls it
 * held back: no coordinated omission), into an HdrHistogram. Bare Jetty + the mock, a second bare
 * Jetty (an A/A control: the resolution of the comparison on this machine), the memory store and
 * the Redis store, 5 rounds of 10 s each in turn after a warm-up; per-round differences against
 * bare Jetty's same round are printed too. {@code -Dbench=memory} leaves the Redis store out. The
 * generator check: the rate achieved against bare Jetty must be within 5 % of the rate offered.
 *
 * <pre>mvn -B -q -pl it-tests -am -DskipTests install &&
 * mvn -B -q -pl it-tests -Pbench exec:exec -Dbench.main=dev.fairshare.bench.FixedLoadLatency
 * </pre>
 */
public final class FixedLoadLatency {

  static final int ROUNDS = 5;
  static final long ROUND_MILLIS = 10_000;

  static final String BARE = "bare Jetty + mock";
  static final String CONTROL = "bare Jetty + mock, a second server (A/A control)";
  static final String MEMORY = "FairShare, memory store";
  static final String REDIS = "FairShare, Redis store";

  /** One round: what was achieved and the histogram of latencies from the due times. */
  record Round(double rate, Histogram latency) {}

  public static void main(String[] args) {
    try {
      benchmark(args);
    } catch (Exception e) {
      // Exits either way: the servers' threads would keep a failed run's JVM alive
      e.printStackTrace();
      System.exit(1);
    }
    System.exit(0);
  }

  private static void benchmark(String[] args) throws Exception {
    HistoryCostBenchmark.ensureWrk();
    Path dir = Files.createTempDirectory("fairshare-fixed-load");
    // -Dbench=<regex>: only the gateways whose setup name it finds; both bare servers always run
    Pattern only = Pattern.compile(args.length > 0 ? args[0] : "");
    Server bare = OverheadBenchmark.bareJetty();
    URI bareUri = uriOf(bare);
    // A second, identical bare Jetty: what two equal servers differ by in the same run is the
    // resolution of this machine's latencies (an A/A control), the floor under any comparison.
    Server control = OverheadBenchmark.bareJetty();
    Map<String, URI> setups = new LinkedHashMap<>();
    Map<String, List<String>> keys = new LinkedHashMap<>();
    List<String> unknown = OverheadBenchmark.unknownKeys();
    setups.put(BARE, bareUri);
    keys.put(BARE, unknown);
    setups.put(CONTROL, uriOf(control));
    keys.put(CONTROL, unknown);
    List<FairShareGateway> gateways = new ArrayList<>();
    if (only.matcher(MEMORY).find()) {
      FairShareGateway memory = OverheadBenchmark.gateway(dir.resolve("memory"), Map.of());
      gateways.add(memory);
      setups.put(MEMORY, memory.baseUri());
      keys.put(MEMORY, OverheadBenchmark.mint(memory));
    }
    if (only.matcher(REDIS).find()) {
      FairShareGateway redis =
          OverheadBenchmark.gateway(
              dir.resolve("redis"),
              Map.of(
                  "fairshare.store",
                  "redis",
                  "fairshare.redis.key-prefix",
                  "fs-bench-" + UUID.randomUUID()));
      gateways.add(redis);
      setups.put(REDIS, redis.baseUri());
      keys.put(REDIS, OverheadBenchmark.mint(redis));
    }

    // Saturation of bare Jetty with wrk, in this run: half of it is the offered load.
    ThroughputBenchmark.Setup wrkBare =
        new ThroughputBenchmark.Setup(
            "bare",
            bareUri,
            ThroughputBenchmark.script(dir.resolve("bare.lua"), unknown, "bench-model"),
            null,
            false);
    ThroughputBenchmark.wrk(wrkBare, "5s");
    double saturation = ThroughputBenchmark.wrk(wrkBare, "5s").rate();
    HttpClient client = new HttpClient();
    client.setMaxConnectionsPerDestination(256);
    client.setMaxRequestsQueuedPerDestination(1_000_000);
    client.start();
    for (double fraction : new double[] {0.25, 0.5}) {
      double offered = Math.floor(saturation * fraction);
      System.out.printf(
          Locale.ROOT,
          "%nbare Jetty saturates at %.0f requests/s (wrk); offering %.0f (%.0f %%)%n",
          saturation,
          offered,
          fraction * 100);
      measure(client, setups, keys, offered);
    }
    client.stop();
    for (FairShareGateway gateway : gateways) {
      gateway.close();
    }
    bare.stop();
    control.stop();
  }

  private static URI uriOf(Server server) {
    return URI.create(
        "http://127.0.0.1:" + ((ServerConnector) server.getConnectors()[0]).getLocalPort());
  }

  /** Warm-up, then {@link #ROUNDS} rounds of every setup at {@code offered}; prints the table. */
  private static void measure(
      HttpClient client, Map<String, URI> setups, Map<String, List<String>> keys, double offered)
      throws Exception {
    for (var e : setups.entrySet()) {
      // Warm-up: a gateway on Redis needs about 40 s of load to reach its steady rate here.
      long warmUp = e.getKey().contains("Redis") ? 45_000 : 10_000;
      run(client, e.getValue(), keys.get(e.getKey()), offered, warmUp);
    }
    Map<String, List<Round>> rounds = new LinkedHashMap<>();
    setups.keySet().forEach(name -> rounds.put(name, new ArrayList<>()));
    for (int round = 0; round < ROUNDS; round++) {
      for (var e : setups.entrySet()) {
        rounds
            .get(e.getKey())
            .add(run(client, e.getValue(), keys.get(e.getKey()), offered, ROUND_MILLIS));
      }
    }
    System.out.println("| setup | offered/s | achieved/s | p50 | p99 | p99.9 | max |");
    System.out.println("|---|---|---|---|---|---|---|");
    for (var e : rounds.entrySet()) {
      Histogram all = new Histogram(3);
      double achieved = 0;
      for (Round r : e.getValue()) {
        all.add(r.latency());
        achieved += r.rate() / ROUNDS;
      }
      System.out.printf(
          Locale.ROOT,
          "| %s | %.0f | %.0f | %d µs | %d µs | %d µs | %d µs |%n",
          e.getKey(),
          offered,
          achieved,
          all.getValueAtPercentile(50) / 1000,
          all.getValueAtPercentile(99) / 1000,
          all.getValueAtPercentile(99.9) / 1000,
          all.getMaxValue() / 1000);
      if (e.getKey().equals(BARE) && achieved < offered * 0.95) {
        System.out.println(
            "GENERATOR CHECK FAILED: bare Jetty got "
                + Math.round(achieved)
                + " of "
                + Math.round(offered)
                + " requests/s offered; the latencies above are the generator's");
      }
    }
    // Round by round, against the bare server's same round: the spread the aggregate hides.
    System.out.println();
    System.out.println("| setup | p50 − bare's, by round | p99 / bare's, by round |");
    System.out.println("|---|---|---|");
    List<Round> bareRounds = rounds.get(BARE);
    for (var e : rounds.entrySet()) {
      if (e.getKey().equals(BARE)) {
        continue;
      }
      StringBuilder p50 = new StringBuilder();
      StringBuilder p99 = new StringBuilder();
      for (int i = 0; i < ROUNDS; i++) {
        Histogram mine = e.getValue().get(i).latency();
        Histogram base = bareRounds.get(i).latency();
        p50.append(i == 0 ? "" : ", ")
            .append(
                String.format(
                    Locale.ROOT,
                    "%+d µs",
                    (mine.getValueAtPercentile(50) - base.getValueAtPercentile(50)) / 1000));
        p99.append(i == 0 ? "" : ", ")
            .append(
                String.format(
                    Locale.ROOT,
                    "%.2f",
                    (double) mine.getValueAtPercentile(99) / base.getValueAtPercentile(99)));
      }
      System.out.printf(Locale.ROOT, "| %s | %s | %s |%n", e.getKey(), p50, p99);
    }
  }

  /**
   * Offers {@code rate} calls a second to {@code base} for {@code millis}, open loop: the calls due
   * by now are sent, each one's latency counted from its due time to its answer.
   */
  static Round run(HttpClient client, URI base, List<String> keys, double rate, long millis)
      throws Exception {
    Histogram latency = new ConcurrentHistogram(TimeUnit.SECONDS.toNanos(60), 3);
    AtomicLong answered = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    java.util.concurrent.atomic.AtomicReference<String> firstFailure =
        new java.util.concurrent.atomic.AtomicReference<>();
    long interval = (long) (1e9 / rate);
    long start = System.nanoTime();
    long end = start + TimeUnit.MILLISECONDS.toNanos(millis);
    long sent = 0;
    URI uri = base.resolve("/chat/completions");
    while (true) {
      long due = start + sent * interval;
      if (due >= end) {
        break;
      }
      long now = System.nanoTime();
      if (now < due) {
        LockSupport.parkNanos(due - now);
        continue;
      }
      String key = keys.get((int) (sent % keys.size()));
      client
          .newRequest(uri)
          .method(HttpMethod.POST)
          .headers(h -> h.put("Authorization", "Bearer " + key))
          .body(new StringRequestContent("application/json", OverheadBenchmark.BODY))
          .send(
              result -> {
                if (result.isSucceeded() && result.getResponse().getStatus() == 200) {
                  latency.recordValue(
                      Math.min(System.nanoTime() - due, TimeUnit.SECONDS.toNanos(60)));
                  answered.incrementAndGet();
                } else {
                  if (failed.getAndIncrement() == 0) {
                    firstFailure.set(
                        result.isSucceeded()
                            ? "status " + result.getResponse().getStatus()
                            : String.valueOf(result.getFailure()));
                  }
                }
              });
      sent++;
    }
    // The calls still in flight: waited for, up to 30 s
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (answered.get() + failed.get() < sent && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
    if (failed.get() > 0) {
      String failures =
          failed.get() + " of " + sent + " calls to " + base + " failed, first: " + firstFailure;
      if (failed.get() * 100 > sent) {
        throw new IllegalStateException(failures);
      }
      // A few (a connection the machine was slow to accept) are reported, not hidden
      System.out.println(failures);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return new Round(answered.get() / seconds, latency);
  }

  private FixedLoadLatency() {}
}
