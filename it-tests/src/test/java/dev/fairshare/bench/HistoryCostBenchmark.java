package dev.fairshare.bench;

import dev.fairshare.gateway.FairShareGateway;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * What the usage history costs (issue 15): the gateway (memory store, 64 keys) with {@code
 * fairshare.usage.history} on (written every second, ten times the default rate) and off, driven by
 * {@code wrk} (1 thread, 32 connections; the Debian package, installed when missing) in alternating
 * 5 s rounds after a warm-up; bare Jetty and the mock in the same run show that the generator is
 * not what limits the gateways. Reports each setup's requests per second and the median of the
 * rounds' on/off ratios.
 *
 * <pre>mvn -B -q -pl it-tests -am -DskipTests install &&
 * mvn -B -q -pl it-tests -Pbench exec:exec -Dbench.main=dev.fairshare.bench.HistoryCostBenchmark
 * </pre>
 */
public final class HistoryCostBenchmark {

  static final int ROUNDS = 7;
  static final String ROUND = "5s";

  public static void main(String[] args) throws Exception {
    ensureWrk();
    Path dir = Files.createTempDirectory("fairshare-history-bench");
    Server bare = OverheadBenchmark.bareJetty();
    FairShareGateway on =
        OverheadBenchmark.gateway(
            dir.resolve("on"),
            Map.of("fairshare.usage.history", "true", "fairshare.usage.flush-interval", "1s"));
    FairShareGateway off =
        OverheadBenchmark.gateway(dir.resolve("off"), Map.of("fairshare.usage.history", "false"));
    Path onScript = script(dir.resolve("on.lua"), OverheadBenchmark.mint(on));
    Path offScript = script(dir.resolve("off.lua"), OverheadBenchmark.mint(off));
    URI bareUri =
        URI.create(
            "http://127.0.0.1:" + ((ServerConnector) bare.getConnectors()[0]).getLocalPort());

    // Warm-up (JIT, pools)
    wrk(bareUri, offScript, "5s");
    wrk(on.baseUri(), onScript, "10s");
    wrk(off.baseUri(), offScript, "10s");

    double[] bareRates = new double[ROUNDS];
    double[] onRates = new double[ROUNDS];
    double[] offRates = new double[ROUNDS];
    double[] ratios = new double[ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
      // Alternate which of the two goes first
      if (round % 2 == 0) {
        onRates[round] = wrk(on.baseUri(), onScript, ROUND);
        offRates[round] = wrk(off.baseUri(), offScript, ROUND);
      } else {
        offRates[round] = wrk(off.baseUri(), offScript, ROUND);
        onRates[round] = wrk(on.baseUri(), onScript, ROUND);
      }
      bareRates[round] = wrk(bareUri, offScript, ROUND);
      ratios[round] = onRates[round] / offRates[round];
    }
    double[] sorted = ratios.clone();
    Arrays.sort(sorted);
    System.out.println("| setup | requests/s per round | median |");
    System.out.println("|---|---|---|");
    row("bare Jetty + mock (generator check)", bareRates);
    row("gateway, history off", offRates);
    row("gateway, history on (flushed every 1 s)", onRates);
    System.out.printf(
        Locale.ROOT,
        "%nhistory on / off, median of the rounds' ratios: %.3f (rounds: %s)%n",
        sorted[ROUNDS / 2],
        Arrays.toString(Arrays.stream(ratios).map(r -> Math.round(r * 1000) / 1000.0).toArray()));
    on.close();
    off.close();
    bare.stop();
  }

  private static void row(String name, double[] rates) {
    double[] sorted = rates.clone();
    Arrays.sort(sorted);
    StringBuilder each = new StringBuilder();
    for (double r : rates) {
      each.append(each.length() == 0 ? "" : ", ").append(Math.round(r));
    }
    System.out.printf(Locale.ROOT, "| %s | %s | %.0f |%n", name, each, sorted[sorted.length / 2]);
  }

  /** A wrk script posting a chat completion with each key in turn. */
  private static Path script(Path file, List<String> keys) throws Exception {
    return ThroughputBenchmark.script(file, keys, "bench-model");
  }

  private static final Pattern RATE = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");

  /** Runs wrk against {@code base}; its requests per second (every answer must be a 200). */
  static double wrk(URI base, Path script, String duration) throws Exception {
    Process p =
        new ProcessBuilder(
                "wrk", "-t1", "-c32", "-d" + duration, "-s", script.toString(), base.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException("wrk failed:\n" + out);
    }
    Matcher bad = NON_2XX.matcher(out);
    if (bad.find()) {
      throw new IllegalStateException(bad.group(1) + " answers were not 200:\n" + out);
    }
    Matcher m = RATE.matcher(out);
    if (!m.find()) {
      throw new IllegalStateException("no rate in wrk's output:\n" + out);
    }
    return Double.parseDouble(m.group(1));
  }

  /** Installs Debian's wrk when it is missing. */
  static void ensureWrk() throws Exception {
    if (new ProcessBuilder("sh", "-c", "command -v wrk").start().waitFor() == 0) {
      return;
    }
    Process install =
        new ProcessBuilder(
                "sh",
                "-c",
                "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk")
            .inheritIO()
            .start();
    if (install.waitFor() != 0) {
      throw new IllegalStateException("wrk is missing and could not be installed");
    }
  }

  private HistoryCostBenchmark() {}
}
