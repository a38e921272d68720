package dev.fairshare.sim;

import static dev.fairshare.sim.Traffic.Arrivals.every;
import static dev.fairshare.sim.Traffic.Arrivals.onOff;
import static dev.fairshare.sim.Traffic.Arrivals.poisson;
import static dev.fairshare.sim.Traffic.Sizes.fixed;
import static dev.fairshare.sim.Traffic.Sizes.pareto;

import dev.fairshare.core.AllocationMode;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.ModelCapacity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs the standard scenarios in {@code fair} and {@code litellm-v1} mode, prints the table and
 * writes {@code docs/FAIRNESS.md}. Deterministic: the same seed prints the same table.
 *
 * <pre>
 * mvn -B -q -pl it-tests -am -DskipTests install && mvn -B -q -pl it-tests -Psimulate exec:exec
 * </pre>
 */
public final class FairnessReport {

  static final long SEED = 20261125L;
  static final long NEVER = Long.MAX_VALUE;

  private FairnessReport() {}

  /** The standard scenario set; capacity 10,000 tokens per minute unless said otherwise. */
  public static List<Scenario> standardScenarios() {
    return standardScenarios(1);
  }

  /**
   * The standard scenarios at {@code scale} times the capacity and the request rates, with the same
   * request sizes: each request is {@code scale} times smaller relative to the capacity. Scale 1 is
   * the standard set.
   */
  public static List<Scenario> standardScenarios(int scale) {
    List<Scenario> all = new ArrayList<>();
    all.add(
        new Scenario(
            "2 equal keys" + scaled(scale),
            10_000L * scale,
            10,
            0.0,
            List.of(
                new Traffic("a", 1.0, 0, NEVER, every(1_000 / scale), fixed(500)),
                new Traffic("b", 1.0, 0, NEVER, every(1_000 / scale), fixed(500)))));
    List<Traffic> priorities = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      priorities.add(
          new Traffic(
              (i < 5 ? "prod-" : "dev-") + i,
              i < 5 ? 0.9 : 0.1,
              0,
              NEVER,
              poisson(1.0 * scale),
              fixed(50)));
    }
    all.add(
        new Scenario(
            "10 keys, 0.9/0.1 priorities" + scaled(scale), 10_000L * scale, 10, 0.0, priorities));
    List<Traffic> greedy = new ArrayList<>();
    greedy.add(new Traffic("greedy", 1.0, 0, NEVER, every(250 / scale), fixed(800)));
    for (int i = 0; i < 9; i++) {
      greedy.add(new Traffic("polite-" + i, 1.0, 0, NEVER, poisson(0.05 * scale), fixed(200)));
    }
    all.add(new Scenario("greedy + 9 polite" + scaled(scale), 10_000L * scale, 10, 0.0, greedy));
    List<Traffic> joining = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      joining.add(
          new Traffic("join-" + i, 1.0, i * 90_000L, NEVER, poisson(2.0 * scale), fixed(250)));
    }
    all.add(
        new Scenario("keys joining one by one" + scaled(scale), 10_000L * scale, 10, 0.0, joining));
    List<Traffic> bursty = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      bursty.add(
          new Traffic(
              "burst-" + i,
              1.0,
              0,
              NEVER,
              onOff(20_000, 40_000, i * 15_000L, 200 / scale),
              pareto(100, 1.5, 1_500)));
    }
    all.add(
        new Scenario(
            "bursty on/off, heavy-tailed sizes" + scaled(scale), 10_000L * scale, 10, 0.0, bursty));
    all.add(
        new Scenario(
            "estimates off by ±50 %" + scaled(scale),
            10_000L * scale,
            10,
            0.5,
            List.of(
                new Traffic("x", 1.0, 0, NEVER, poisson(2.0 * scale), fixed(400)),
                new Traffic("y", 1.0, 0, NEVER, poisson(1.0 * scale), fixed(400)),
                new Traffic("z", 2.0, 0, NEVER, poisson(0.5 * scale), fixed(400)))));
    return all;
  }

  private static String scaled(int scale) {
    return scale == 1 ? "" : " (×" + scale + ")";
  }

  public static void main(String[] args) throws IOException {
    Path out = Path.of(args.length > 0 ? args[0] : "../docs/FAIRNESS.md");
    StringBuilder table = new StringBuilder();
    table.append(
        "| scenario | mode | utilization | Jain (weighted) | over-admission (largest settlement error × most in flight) | join to 90 % | longest starvation | unfair 429s | 429s below the guaranteed share |\n");
    table.append("|---|---|---|---|---|---|---|---|---|\n");
    for (Scenario scenario : standardScenarios()) {
      for (AllocationMode mode : AllocationMode.values()) {
        Metrics m = Metrics.of(Simulator.run(scenario, Simulator.settings(mode), SEED));
        table.append(
            String.format(
                Locale.ROOT,
                "| %s | %s | %.3f | %.3f | %d (%d × %d) | %s | %.1f s | %d | %d |%n",
                scenario.name(),
                mode.configName(),
                m.utilization(),
                m.jain(),
                m.overAdmission(),
                m.settlementError(),
                m.maxInFlight(),
                m.joinSeconds() < 0
                    ? "—"
                    : Double.isInfinite(m.joinSeconds())
                        ? "never"
                        : String.format(Locale.ROOT, "%.1f s", m.joinSeconds()),
                m.starvationSeconds(),
                m.unfairRejections(),
                m.belowGuaranteed()));
      }
    }
    System.out.print(table);
    String tradeoff = thresholdTradeoff(standardScenarios().get(GREEDY_AND_POLITE));
    System.out.print(tradeoff);
    String seeds = otherSeeds();
    System.out.print(seeds);
    String clients = clientsTable();
    System.out.print(clients);
    String tickets = ticketsExperiment();
    System.out.print(tickets);
    String teams = TeamSimulation.table(SEED);
    System.out.print(teams);
    if (out.getParent() != null && Files.isDirectory(out.getParent())) {
      Files.writeString(out, document(table.toString(), tradeoff, seeds, clients, tickets) + teams);
      System.out.println("written: " + out.toAbsolutePath().normalize());
    }
  }

  /** Index of "greedy + 9 polite" in {@link #standardScenarios()}; its key 0 is the greedy one. */
  static final int GREEDY_AND_POLITE = 2;

  /** Utilization against 429s to polite keys, for saturation thresholds from 0.8 to 1.0. */
  static String thresholdTradeoff(Scenario scenario) {
    StringBuilder t = new StringBuilder();
    t.append(
        "| saturation threshold | utilization | unfair 429s to polite keys | unfair 429s to the greedy key |\n");
    t.append("|---|---|---|---|\n");
    for (double threshold : new double[] {0.8, 0.85, 0.9, 0.95, 1.0}) {
      Metrics m =
          Metrics.of(
              Simulator.run(scenario, Simulator.settings(AllocationMode.FAIR, threshold), SEED));
      int greedy = m.unfairByKey().get(0);
      t.append(
          String.format(
              Locale.ROOT,
              "| %.2f | %.3f | %d | %d |%n",
              threshold,
              m.utilization(),
              m.unfairRejections() - greedy,
              greedy));
    }
    return t.toString();
  }

  /** Seeds 1 to {@value #OTHER_SEEDS}: how far fair mode's figures move with the traffic's luck. */
  static final int OTHER_SEEDS = 8;

  /** Fair mode's worst figure per scenario over {@link #OTHER_SEEDS} other seeds. */
  static String otherSeeds() {
    StringBuilder t = new StringBuilder();
    t.append(
        "| scenario | lowest utilization | lowest Jain | most over-admission (largest error then) | longest join | most unfair 429s | most 429s below the guaranteed share |\n");
    t.append("|---|---|---|---|---|---|---|\n");
    for (Scenario scenario : standardScenarios()) {
      double utilization = 1;
      double jain = 1;
      long over = 0;
      long error = 0;
      double join = -1;
      int unfair = 0;
      int belowGuaranteed = 0;
      for (long seed = 1; seed <= OTHER_SEEDS; seed++) {
        Metrics m =
            Metrics.of(Simulator.run(scenario, Simulator.settings(AllocationMode.FAIR), seed));
        utilization = Math.min(utilization, m.utilization());
        jain = Math.min(jain, m.jain());
        if (m.overAdmission() > over || (over == 0 && m.settlementError() > error)) {
          over = m.overAdmission();
          error = m.settlementError();
        }
        join = Math.max(join, m.joinSeconds());
        unfair = Math.max(unfair, m.unfairRejections());
        belowGuaranteed = Math.max(belowGuaranteed, m.belowGuaranteed());
      }
      t.append(
          String.format(
              Locale.ROOT,
              "| %s | %.3f | %.3f | %d (%d) | %s | %d | %d |%n",
              scenario.name(),
              utilization,
              jain,
              over,
              error,
              join < 0 ? "—" : String.format(Locale.ROOT, "%.1f s", join),
              unfair,
              belowGuaranteed));
    }
    return t.toString();
  }

  /**
   * The clients' table's scenarios: the standard ones, a batch job among polite keys, and both at
   * ten times the capacity and rates.
   */
  /** {@code count} keys of weight 1, there all along, named {@code prefix} and a number. */
  private static List<Traffic> alike(
      String prefix, int count, Traffic.Arrivals arrivals, Traffic.Sizes sizes) {
    List<Traffic> keys = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      keys.add(new Traffic(prefix + i, 1.0, 0, NEVER, arrivals, sizes));
    }
    return keys;
  }

  static List<Scenario> clientScenarios() {
    List<Scenario> all = new ArrayList<>();
    for (int scale : new int[] {1, 10}) {
      all.addAll(standardScenarios(scale));
      List<Traffic> batch = new ArrayList<>();
      batch.add(new Traffic("batch", 1.0, 0, NEVER, Traffic.Arrivals.batch(8 * scale), fixed(800)));
      batch.addAll(alike("polite-", 9, poisson(0.05 * scale), fixed(200)));
      all.add(
          new Scenario(
              "batch job, 8 workers, + 9 polite" + scaled(scale), 10_000L * scale, 10, 0.0, batch));
      List<Traffic> reserving = alike("reserve-", 5, poisson(0.1 * scale), fixed(100));
      all.add(
          new Scenario(
              "5 keys, max_tokens 2,000 against completions of 10-2,000" + scaled(scale),
              30_000L * scale,
              10,
              0.0,
              reserving,
              ModelCapacity.UNLIMITED,
              2_000));
      List<Traffic> rpm = alike("rpm-", 10, poisson(0.2 * scale), fixed(50));
      all.add(
          new Scenario(
              "10 keys on an RPM limit (60 a minute)" + scaled(scale),
              1_000_000L * scale,
              10,
              0.0,
              rpm,
              60L * scale,
              0));
    }
    return all;
  }

  /**
   * Issue 14's first experiments, on the clients' table's scenarios at scale 1: owed capacity kept
   * by tickets instead of for a window, the saturation threshold at 1, each alone and both, and a
   * server that holds a call up to 5 s instead of answering 429 at once.
   */
  static String ticketsExperiment() {
    EngineSettings fair = Simulator.settings(AllocationMode.FAIR);
    EngineSettings full = Simulator.settings(AllocationMode.FAIR, 1.0);
    ClientSimulator.Clients sdk = ClientSimulator.Clients.SDK_STREAMING;
    ClientSimulator.Clients held = sdk.withServerWait(5_000);
    EngineSettings tickets = fair.withOwedCapacity(EngineSettings.OwedCapacity.TICKETS);
    Map<String, Setup> setups = new LinkedHashMap<>();
    setups.put("fair, tickets", new Setup(tickets, sdk));
    setups.put("fair, threshold 1", new Setup(full, sdk));
    setups.put(
        "fair, tickets, threshold 1",
        new Setup(full.withOwedCapacity(EngineSettings.OwedCapacity.TICKETS), sdk));
    setups.put("fair, held up to 5 s", new Setup(fair, held));
    setups.put("fair, tickets, held up to 5 s", new Setup(tickets, held));
    return clientsTable(setups, clientScenarios().subList(0, standardScenarios().size() + 3));
  }

  /** A rule and the clients it is measured with. */
  record Setup(EngineSettings settings, ClientSimulator.Clients clients) {}

  /** Seeds of the clients' table: the worst of each figure over these is reported. */
  static final int CLIENT_SEEDS = 20;

  /**
   * Issue 14's criteria from the clients' side ({@link ClientSimulator}, SDK clients, streamed
   * answers of 2 to 30 s): the worst of each figure over seeds 1 to {@value #CLIENT_SEEDS}.
   */
  static String clientsTable() {
    return clientsTable(clientSetups(), clientScenarios());
  }

  /**
   * The setups of the clients' table: both pools in fair mode, the token bucket also with the
   * server-side wait of issue 14's point 3 (modelled in the simulator; the filter does not hold
   * requests yet), and LiteLLM v1's rule.
   */
  static Map<String, Setup> clientSetups() {
    Map<String, Setup> rules = new LinkedHashMap<>();
    ClientSimulator.Clients sdk = ClientSimulator.Clients.SDK_STREAMING;
    ClientSimulator.Clients held = sdk.withServerWait(SERVER_WAIT_MILLIS);
    rules.put("fair, sliding-window", new Setup(Simulator.settings(AllocationMode.FAIR), sdk));
    rules.put(
        "fair, sliding-window, held up to 5 s",
        new Setup(Simulator.settings(AllocationMode.FAIR), held));
    rules.put("fair, token-bucket", new Setup(tokenBucket(), sdk));
    rules.put("fair, token-bucket, held up to 5 s", new Setup(tokenBucket(), held));
    rules.put("litellm-v1", new Setup(Simulator.settings(AllocationMode.LITELLM_V1), sdk));
    return rules;
  }

  /** Issue 14's {@code fairshare.max-queue-wait} default, as the simulator models it. */
  static final long SERVER_WAIT_MILLIS = 5_000;

  /** Fair mode with the token-bucket pool at its default burst and reserve. */
  static EngineSettings tokenBucket() {
    return Simulator.settings(AllocationMode.FAIR)
        .withPool(
            EngineSettings.Pool.TOKEN_BUCKET,
            EngineSettings.DEFAULT_POOL_BURST,
            EngineSettings.DEFAULT_POOL_RESERVE);
  }

  /** The clients' table for {@code rules} on {@code scenarios}. */
  static String clientsTable(Map<String, Setup> rules, List<Scenario> scenarios) {
    return clientsTable(rules, scenarios, CLIENT_SEEDS);
  }

  /**
   * The clients' table for {@code rules} on {@code scenarios}, worst of seeds 1 to {@code seeds}.
   */
  static String clientsTable(Map<String, Setup> rules, List<Scenario> scenarios, int seeds) {
    StringBuilder t = new StringBuilder();
    t.append(
        "| scenario | mode | E1 failed (of below-share requests) | E1 added delay p99 / max | E2 light goodput | E2 p99 delay | E3 Jain | E4 utilization min / p10 | E5 retries admitted (of) | E6 over-admission |\n");
    t.append("|---|---|---|---|---|---|---|---|---|---|\n");
    for (Scenario scenario : scenarios) {
      for (Map.Entry<String, Setup> rule : rules.entrySet()) {
        List<ClientMetrics> runs = new ArrayList<>();
        for (long seed = 1; seed <= seeds; seed++) {
          runs.add(
              ClientMetrics.of(
                  ClientSimulator.run(
                      scenario, rule.getValue().settings(), rule.getValue().clients(), seed)));
        }
        ClientMetrics m = ClientMetrics.worst(runs);
        t.append(
            String.format(
                Locale.ROOT,
                "| %s | %s | %d (%d) | %.1f s / %.1f s | %.4f | %.1f s | %.3f | %.3f / %.3f | %.3f (%d) | %d |%n",
                scenario.name(),
                rule.getKey(),
                m.belowShareFailed(),
                m.belowShareRequests(),
                m.belowShareDelayP99(),
                m.belowShareDelayMax(),
                m.lightGoodput(),
                m.lightDelayP99(),
                m.jain(),
                m.utilizationMin(),
                m.utilizationP10(),
                m.retryHonesty(),
                m.retries(),
                m.overAdmission()));
      }
    }
    return t.toString();
  }

  private static String document(
      String table, String tradeoff, String seeds, String clients, String tickets) {
    return """
        # Fairness: FairShare's rule against LiteLLM v1's, on the same traffic

        Generated by `dev.fairshare.sim.FairnessReport` (seed %d): a deterministic simulator that
        drives the engine and the memory store on simulated time (no HTTP, no threads). Rerun:

        ```bash
        mvn -B -q -pl it-tests -am -DskipTests install && mvn -B -q -pl it-tests -Psimulate exec:exec
        ```

        %s
        ## Scenarios (10 simulated minutes each, capacity 10,000 tokens/min, settlement 500 ms after admission)

        * **2 equal keys** — two keys, 500 tokens every second each (3× capacity each).
        * **10 keys, 0.9/0.1 priorities** — 5 keys of weight 0.9 and 5 of weight 0.1 (pools of 90 %% and 10 %%), Poisson 1 req/s of 50 tokens each (a dev key's share, 200 tokens/min, is four requests).
        * **greedy + 9 polite** — one key sends 800 tokens every 250 ms; nine send 200 tokens at Poisson 0.05 req/s.
        * **keys joining one by one** — five keys, one more every 90 s, Poisson 2 req/s of 250 tokens.
        * **bursty on/off, heavy-tailed sizes** — four keys on 20 s / off 40 s with shifted phases, a request every 200 ms while on, Pareto sizes (min 100, shape 1.5, cap 1,500).
        * **estimates off by ±50 %%** — three keys (weights 1, 1, 2); actual usage is the estimate × (1 ± up to 50 %%).

        A rejected request is dropped; the key's next request comes on schedule.

        ## The rule (fair mode)

        * A key's share is `C × w / Σw` over the **active** keys: those admitted in the window *or
          turned away by the model in it*. A key that arrives while the window is full counts at
          once, so the others' shares shrink before its first admission. (Before, such a key was
          never counted and, with on/off traffic in step with the window, one key got nothing:
          Jain 0.74 on the bursty scenario.)
        * A request asks for `min(estimate, the key's share)` and is admitted only if that **fits in
          the model's room**, so the budget is exceeded by estimate errors alone (before, any room
          at all admitted a whole request: 1,279 tokens over on heavy-tailed sizes). It is within
          the key's share if it ends inside it.
        * Within its share a key is admitted while the model has room. Past it a key may borrow
          only while the model, with this request, stays within the saturation threshold (0.8),
          and only if no key within its share was turned away for want of model capacity in the
          **last window**: capacity owed to a starved key is not lent out.

        ## What the table shows

        * Met on every scenario for the report's seed: Jain ≥ 0.98 among saturated keys,
          over-admission at most one request's estimate error (0 wherever estimates are exact), a
          joining key at 90 %% of its share within one window. `SimulatorTest` asserts these, and
          all targets on the equal, priorities and bursty scenarios. Over eight other seeds (table
          at the end) equal and bursty traffic still meet every target; priorities once gives 4
          unfair 429s; ±50 %% estimates once go to two requests' error, Jain 0.973, utilization
          0.948.
        * The last column counts 429s against the weaker promise a key can always be kept, its
          guaranteed share `C × w / Σw`, for comparison with the max-min "unfair" count: greedy +
          9 polite drops from 1,679 to 0 (6 at worst over the other seeds), because nearly all its
          unfair 429s go to the greedy key, past its guaranteed share; joining and ±50 %% keep
          the same counts under either definition.
        * Utilization ≥ 0.95 and zero unfair 429s are **not** met everywhere (issue 3 is blocked
          on a decision about these criteria):
          * **greedy + 9 polite**: the greedy key's max-min share is what the polite keys leave
            (about 4,600 a minute); the engine lends it only up to the threshold and never while a
            key within its share was turned away in the last window, so utilization is about 0.8
            and most greedy 429s count as unfair. Every 429 to a polite key came *past* its
            guaranteed share `C × w / Σw` (1,000 tokens, asserted): a Poisson burst asked for up to
            1,800, which the max-min ideal grants and the engine does not. A higher threshold does
            not buy utilization back (table below): it turns more polite keys away, and each stops
            lending for a window. For this traffic the targets cannot all be met by any sliding-
            window limiter, even one that knew the future: the greedy key's usage is bounded by
            `C −` the polite usage of the *trailing* minute, while its ideal is `C −` the polite
            demand of the *calendar* minute, so whenever polite demand falls from one minute to the
            next the greedy key is "below its ideal" with the window full; and capacity lent to it
            cannot be taken back before it leaves the window, so serving Poisson arrivals without
            a 429 needs headroom of about seven seconds of expiring usage (≈ 1,400 tokens for fewer
            than one turned-away request in a thousand at this load) where 0.95 utilization leaves
            500.
          * **keys joining**: 429s to keys holding 53–90 %% of their ideal share, in the window after
            another key joins, while usage admitted under the previous split is still in it.
          * **estimates off by ±50 %%**: 429s to keys holding 80–92 %% of their share, while other
            keys' usage above their estimates (debt, up to half a request each) is in the window.
        * Starvation near 50–60 s is inherent to a sliding window under sustained overload: the
          window fills, then everyone waits for the oldest usage to leave.
        * Tried on this table and not kept (each worse somewhere, none closing a gap): a higher
          threshold; keeping room for the largest recent request within a share; letting a key
          past its share borrow while another holds more per unit of weight (max-min); serving
          the most deprived starved key first, for a window or for 2–10 s; reserving the unused
          share of keys whose recent demand exceeds it; steadily paced instead of Poisson polite
          keys (0.78 utilization at the default threshold); reserving each request's estimate
          grown by the largest overshoot seen lately (over-admission 0 on ±50 %%, but utilization
          0.91 and 700 unfair 429s); pacing keys within their share to a few times their fair
          rate per second while the model is saturated (joining and bursty much worse); while a
          key within its share was turned away in the last 1–5 s, refusing keys further below
          their share than it by 10–30 %% of a share ("least deprived first", so that old keys
          are not overtaken by a newcomer: joining 42 → 23–36 unfair 429s with priorities 0 →
          17–41, or at best 42 → 33 and 73 → 67 over the other seeds with nothing else moved —
          too little, and lost at the next setting either way) and the reverse ("most deprived
          first": joining 42 → 59–236); after a key within its share is turned away, blocking
          lending for a back-off that starts at 2–4 s and doubles while such turn-aways recur
          (up to a window) instead of for a whole window: greedy + 9 polite 0.798 → 0.829 and
          1,679 → 1,338 unfair 429s on the report's seed, others unchanged, but nothing gained
          on the worst other seed (0.780); and a shorter fixed block (5–20 s) with the threshold
          at 0.9–1.0: greedy + 9 polite at 0.960–1.000 utilization and 176–555 unfair 429s, at
          the cost of Jain 0.47–0.86 and 695–1,800 unfair 429s on priorities and bursty traffic.

        ### greedy + 9 polite at other saturation thresholds

        %s
        ### fair mode over %d other seeds (1 to %d): the worst of each figure

        %s
        The figures above hold for the report's seed; over other seeds, ±50 %% estimates can exceed
        one request's error (two requests overshooting while the window is full) and dip just under
        the utilization and Jain targets: by construction the engine guarantees DESIGN.md's bound,
        one overshoot per request in flight, not issue 3's single-request bound.

        ## From the clients' side: issue 14's criteria

        The same scenarios through `ClientSimulator`: each key's arrivals are logical requests made
        by an OpenAI SDK client (two retries, each after `retry-after-ms`, none when the answer
        says `x-should-retry: false`, which FairShare says for waits over 5 s), and an admitted
        call settles after 2 to 30 s (streamed answers) instead of 500 ms. Each figure is the worst
        over seeds 1 to %d; the targets are issue 14's. The "batch job"
        scenario has a key that keeps 8 calls of 800 tokens going (closed loop; a second's pause
        after a call it gave up); "(×10)" rows have ten times the capacity and the rates, so each
        request is ten times smaller relative to the capacity. "max_tokens" keys (capacity 30,000)
        reserve a 100-token prompt plus `max_tokens` 2,000 and use the prompt plus 10 to 2,000
        (estimates run high); the RPM scenario is bound by 60 requests a minute, not by tokens.

        Setups: `fair, sliding-window` is the rule above; `fair, token-bucket` is
        `fairshare.pool=token-bucket` (below); `held up to 5 s` adds the filter's waiting room
        (`fairshare.max-queue-wait`, default 5 s; the rows without it are `0s`): a call whose
        honest retry-after fits in what is left of 5 s since it came is held and decided again
        then, and answered 429 only past that. The default is `fair, sliding-window, held up to
        5 s`.

        ### The promise, and why it is not "no 429 below the share"

        What a client is promised is a share **within a bounded delay**: a key asking no more than
        its guaranteed share `C × w / Σw` gets each call admitted within the waiting room's bound
        (5 s), on its first try or held by the server, and a 429 only with an honest wait it can
        act on. Zero first-try refusals below the share cannot be promised by any limiter that
        lends idle capacity and keeps the model full: room lent to a greedy key is in use until it
        is given back (in a sliding window, until the usage leaves the window, up to a whole
        window; in a bucket, until the refill brings it back, `need ÷ (C / window)` later), so a
        light key that arrives just after has to wait for it, or the model must keep room idle
        for it and lose utilization. The waiting room turns that wait into a delay instead of a
        failed call, and the token bucket makes the wait short (a 200-token call at 10,000 tokens
        a minute: 1.2 s) and exactly known.

        ### The token-bucket pool (`fairshare.pool=token-bucket`)

        * The model's tokens refill continuously at `C` per window into a bucket of
          `B = C × fairshare.pool-burst` (a sixth by default: ten seconds of a minute); a new or
          idle pool holds `B`. Room frees at a steady rate instead of when a full window's usage
          leaves it, so a wait is short and can be told exactly. A refund goes back to the bucket
          (never past `B`); debt is taken from it.
        * A request **within the key's guaranteed share** `C × w / Σw` (trailing usage + request)
          is served from the whole bucket; when the bucket does not hold it, the key takes a
          **ticket**, first come first served, and the retry-after it is told is the time the
          bucket needs to hold the tickets ahead and its own: nobody can overtake it, so a retry
          at that time is admitted unless debt came in between. A wait over 5 s takes no ticket
          (the client is told not to retry).
        * A request past the guaranteed share but **within the key's share of the measured
          demand** (the water level λ of a weighted max-min split of `C` over the active keys'
          demand in the window, usage plus refused tokens, recomputed once per bucket; the key
          may ask up to `λ × w`) is served after every guaranteed ticket, least used key (usage ÷
          weight) first, and never from the **reserve**: half the bucket, kept for guaranteed
          requests so that a light key arriving at a saturated model is usually served at once.
        * A request past both **borrows** what no ticket and no reserve needs. A full bucket lends
          to anyone: refill past `B` would be thrown away.
        * Requests per window (RPM) are still counted in the sliding window, so requests admitted
          in any window stay at most the RPM exactly.

        **Bounds.** Tokens reserved in any window are at most `C + B` (invariant 1 becomes
        "≤ C + burst per window" for this pool; E6 below is measured against it), plus estimate
        errors (debt) and requests larger than the bucket (admitted on a full bucket, leaving it in
        debt). A calendar window can come out short of `C` by the bucket's swing between its two
        ends: with exact estimates, tokens admitted in a window are `C + L(start) − L(end)` minus
        refill lost at a full bucket, and a saturated pool swings by up to the reserve plus the
        largest request (greedy + 9 polite: 833 + 800 of 10,000). So E4 ≥ 0.95 in *every* window
        holds only where requests are small against `C` (the ×10 rows), not where one request
        is 8 %% of `C`.

        **What changed in the criteria, and why.** E1 now counts a key's own earlier requests
        still waiting (neither admitted nor given up) as part of its usage: a key that keeps six
        times its share waiting cannot have every request served by any scheduler, though each
        may find its *admitted* usage under the share (with the old definition "2 equal keys
        (×10)", two keys each asking three times their share, showed 65 below-share failures).
        E2 does not judge the last window (the run ends with calls still waiting, so its demand
        is cut short), and E3 is computed from logical requests (a retried call is not more
        demand), the lowest window rather than the mean.

        %s
        * **E1** — logical requests of keys below their guaranteed share (requesting for a whole
          window; admitted tokens in the trailing window + the key's own requests still waiting +
          the estimate ≤ `C × w / Σw` at the first call) that failed after the retries (target
          0), and their added delay (p99 ≤ 2 s, max ≤ 5 s). In brackets, how many below-share
          requests that seed had.
        * **E2** — light keys' (demand in the calendar window within their max-min ideal; not the
          last window) logical requests that succeeded (≥ 0.999), and their p99 added delay
          (≤ 2 s).
        * **E3** — weighted Jain among saturated keys (requesting since before the window, demand
          above 105 %% of the ideal), the lowest window after the first and before the last, the
          lowest seed (≥ 0.98).
        * **E4** — admitted tokens ÷ min(C, demand) per calendar window after the first: the lowest
          window and the 10th percentile, lowest seed (≥ 0.95 in every window).
        * **E5** — of the retries made by keys below their share (each at the advised time), the
          share admitted (≥ 0.95); in brackets the most such retries in a seed.
        * **E6** — the most tokens admitted above C in any engine window (the token bucket's
          bound: `B` = C ÷ 6 plus estimate errors).

        What the table says, the token bucket (with SDK clients, as FairShare runs today) against
        the sliding window:

        * **Better** with a greedy key or a batch job among polite keys: utilization 0.70 → 0.90
          and 0.74 → 0.88 at ×1, 0.80 → 0.99 at ×10; light goodput 0.88 → 0.97 and 0.87 → 0.94
          (×1), 0.94 → 1.00 (×10); no below-share request fails; Jain ≥ 0.99 (`SimulatorTest`
          asserts these over the 20 seeds). Fewer below-share failures on priorities (18 → 2),
          bursty traffic (33 → 2), ±50 %% estimates (289 → 40) and `max_tokens` reserves (64 →
          28; ×10: 627 → 154), with a p99 delay of about a second instead of five.
        * **The price**: E6 at the bucket (up to `C ÷ 6` above C in a window) instead of 0.
        * **Worse** on keys joining at ×10 (32 → 1,030 below-share failures, retry honesty 0.14):
          keys each sending three times the whole capacity, whose calls are told the same short
          retry time and come back together; only one per ticket is served, the rest fail after
          the SDK's two retries. Tickets are per key (a retried call carries no identity of the
          call it retries); keeping a key's ticket for its later call did not change the figure,
          and why these calls count as below their share was not pinned down. The server-side
          wait removes it (0 failures). Jain in the lowest window is 0.93–0.96 on priorities and
          joining at ×1 (a window where one key's queued calls were served late).
        * **Not met** by any setup: E1 with ±50 %% estimates at ×1 (debt arrives after the
          retry-after was told), `max_tokens` reserves of 2,100 at ×1 (a bucket of 5,000 holds
          two; waits pass 5 s), E2 on the RPM scenario (the requests dimension is still the
          sliding window), and E4 in every window at ×1 (the bound above).
        * The waiting room (`held up to 5 s`) adds to the token bucket: 0 below-share failures
          on 12 of the 18 scenarios, retry honesty 1.000 on most. To the sliding window it is
          mixed (its waits are mostly past 5 s, as the experiments below found): better for
          joining keys (6 → 0; ×10: 32 → 0) and `max_tokens` reserves at ×10 (627 → 272), worse
          on priorities at ×1 (18 → 54; why was not analysed).

        **Why the sliding window stays the default.** The reference scenario (a 60-TPM model, a
        call of 30 tokens reserving 266) is the product's promise: 200, 200, then a prompt 429;
        with the bucket of a sixth (10 tokens) the second key's first call would wait for the
        first call's debt (30 s). The sliding window over-admits nothing where estimates are
        exact (E6 = 0), the bucket up to `B`. Choose `token-bucket` for greedy or batch traffic
        beside interactive keys, the case it wins clearly; it works alike with the Redis store
        (the scripts mirror the bucket, its tickets and λ, and `UsageStoreContract` holds both
        stores to the same decisions, bit for bit, on 4,500 random steps; two gateways share the
        tickets).

        ### Experiments: tickets for owed capacity, the threshold at 1, a server-side wait

        `EngineSettings.OwedCapacity.TICKETS` (memory store only, not a configuration setting):
        a key turned away within its share holds a ticket for the room it needs, first come first
        served, until its retry time (at most 5 s) plus a bucket; freed room goes to tickets
        first, and nobody borrows past its share while another key holds one. Alone it changes
        little and is worse for below-share keys (tickets hold room for retries 5 s away while
        other below-share keys are refused and queue behind them); with the threshold at 1 it
        brings greedy and batch traffic to 0.98 utilization but starves light keys (goodput 0.18).
        The threshold at 1 without tickets loses utilization on greedy and batch traffic (0.40
        and 0.38: the greedy key fills the window and a below-share turn-away then stops all
        borrowing for a window). Kept as a measured dead end of this shape: the token-bucket pool
        above is what came of it (tickets there wait for a steady refill, not for a window's
        usage to leave).

        "held up to 5 s" models issue 14's queue in its simplest form (the server holds a call whose
        retry-after fits in what is left of 5 s since it came, tries it again then, and answers 429
        only past that): on the sliding window it moves retries from the client to the server but
        fails about as many below-share requests (priorities 18 → 54, ±50 %% 289 → 331, joining
        6 → 0), because the
        wall is the retry-after itself: in a full sliding window, room frees only as usage leaves
        it, and for most refused below-share requests that is more than 5 s away. A queue pays only
        with capacity kept free near the window's edge for keys below their share (the headroom
        of a few seconds of expiring usage estimated in the first table's notes) and demand-based
        shares: with the token bucket's reserve and demand shares it does pay (the
        `held up to 5 s` rows of the clients' table).

        %s

        ## Columns

        * **utilization** — mean, over the one-minute windows (after the first) whose demand exceeds the capacity, of tokens admitted ÷ capacity.
        * **Jain (weighted)** — mean, over windows with at least two saturated keys (demand above 105 %% of the ideal share; a key counts from the first window it was already requesting at the start of), of Jain's index of admitted ÷ ideal share; the ideal is the weighted max-min fair share computed by water-filling over the window's demand. 1 is perfectly fair.
        * **over-admission** — the most tokens admitted above capacity in any engine window (60 consecutive one-second buckets), with, in brackets, the largest single-request settlement error (actual − reserved) of the run and the most requests in flight at once. Issue 3's bound is one request's estimate error; DESIGN.md's is one overshoot per request in flight.
        * **join to 90 %%** — for keys that join late: the longest time from joining until the key's admissions over the trailing 10 s reach 90 %% of its ideal rate.
        * **longest starvation** — the longest time between two admissions of a key while it was being rejected.
        * **unfair 429s** — rejections of a key that had been requesting for a whole window and whose admissions in the trailing window, plus this request, were still within its ideal share.
        * **429s below the guaranteed share** — the same, against the key's guaranteed share `C × w / Σw`, Σw over the keys requesting in that calendar window.
        """
        .formatted(
            SEED, table, tradeoff, OTHER_SEEDS, OTHER_SEEDS, seeds, CLIENT_SEEDS, clients, tickets);
  }
}
