package dev.fairshare.metrics;

import dev.fairshare.config.FairShareConfig;
import dev.fairshare.config.OperationsSettings;
import dev.fairshare.core.Allowance;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.UsageSnapshot;
import dev.fairshare.core.Verdict;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.openai.TokenUsage;
import dev.fairshare.store.FailoverUsageStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;

/**
 * What FairShare tells an operator, as Micrometer meters: scraped as Prometheus text from {@code
 * /metrics} ({@link #scrape()}), and sent to any registry of the user's own added with {@link
 * #addRegistry} (Spring, Quarkus, WildFly). The names, in Prometheus form:
 *
 * <ul>
 *   <li>{@code fairshare_model_capacity{model,dimension}}: tokens or requests per window;
 *   <li>{@code fairshare_model_used{model,dimension}}: used plus reserved in the window, and {@code
 *       fairshare_model_active_keys{model}}, as of this instance's latest decision on the model
 *       (what the engine decided on, not a recount);
 *   <li>{@code fairshare_calls_total{model,outcome,reason}}: admitted, and refused by reason
 *       ({@code share}, {@code model_full}, {@code key_limit}, {@code parallel}, {@code too_large},
 *       {@code unauthorized}, {@code invalid}, {@code store_down}); calls refused before a model
 *       was known carry {@code model=""};
 *   <li>{@code fairshare_queue_waiting{model}} and {@code fairshare_queue_wait_seconds{model,
 *       outcome}}: requests held in the waiting room, and how long they waited;
 *   <li>{@code fairshare_estimate_error_tokens{model,direction}}: |actual − reserved| for settled
 *       calls, {@code over} when the reservation was larger, {@code under} when smaller;
 *   <li>{@code fairshare_settlements_total{model,kind}}: {@code settled} or {@code released};
 *   <li>{@code fairshare_key_tokens_total{model,key}} and {@code
 *       fairshare_key_refusals_total{model,key}}: per key alias, bounded by {@code
 *       fairshare.metrics.key-labels} (none, alias, or the top N keys by tokens, refreshed at each
 *       scrape);
 *   <li>{@code fairshare_store_admission_seconds}: time to decide an admission in the usage store;
 *       {@code fairshare_store_state{state}} (1 for the current of {@code healthy}, {@code
 *       failing_open}, {@code failing_closed}), {@code fairshare_store_failures_total} and {@code
 *       fairshare_store_local_admissions_total} (admitted locally while failing open); {@code
 *       fairshare_store_settlement_failures_total} and {@code
 *       fairshare_store_settlement_failed_tokens_total} (settlements the shared store did not take,
 *       and the tokens they reserved);
 *   <li>{@code gen_ai_client_token_usage{gen_ai_token_type,gen_ai_request_model}}: the
 *       OpenTelemetry GenAI histogram of tokens per call, input and output.
 * </ul>
 *
 * <p>Thread-safe; recording costs a map lookup and an atomic add.
 */
public final class FairShareMetrics {

  /** Why a call was refused: the {@code reason} label. */
  public enum Refusal {
    /** The key used its fair share (the model is saturated, or full). */
    SHARE,
    /** The model has no room in the window, though the key has share left. */
    MODEL_FULL,
    /** The key's own tpm or rpm limit. */
    KEY_LIMIT,
    /** The key's own max_parallel_requests. */
    PARALLEL,
    /** The request alone is larger than the key's own limit. */
    TOO_LARGE,
    /** No valid key. */
    UNAUTHORIZED,
    /** A request FairShare could not accept (bad body, path, method, model). */
    INVALID,
    /** The shared usage store or the key store is away. */
    STORE_DOWN,
    /** The key's or its team's budget is spent. */
    BUDGET,
    /** The key's or its team's daily or monthly quota is used up. */
    QUOTA;

    /** The reason for refusing with {@code error}. */
    public static Refusal of(dev.fairshare.openai.ApiError error) {
      if (error.status() == 401) {
        return UNAUTHORIZED;
      }
      if ("budget_exceeded".equals(error.type())) {
        return BUDGET;
      }
      return "quota_exceeded".equals(error.code()) ? QUOTA : INVALID;
    }

    /** The label value. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The reason of a refusal by {@code verdict} for a key whose standing was {@code usage}: a full
     * model refusing a key that had used up its share is {@link #SHARE} (it got what was its);
     * {@link #MODEL_FULL} is a key refused with share left (others held the room).
     */
    public static Refusal of(Verdict verdict, UsageSnapshot usage) {
      Refusal reason = of(verdict);
      if (reason == MODEL_FULL && usage != null) {
        Allowance a = verdict == Verdict.MODEL_TOKENS ? usage.tokens() : usage.requests();
        if (a.limit() != ModelCapacity.UNLIMITED && a.remaining() <= 0) {
          return SHARE;
        }
      }
      return reason;
    }

    /** The reason of a refusing {@code verdict}. */
    public static Refusal of(Verdict verdict) {
      return switch (verdict) {
        case SHARE_TOKENS, SHARE_REQUESTS -> SHARE;
        case MODEL_TOKENS, MODEL_REQUESTS -> MODEL_FULL;
        case KEY_TOKEN_LIMIT, KEY_REQUEST_LIMIT -> KEY_LIMIT;
        case KEY_PARALLEL_LIMIT -> PARALLEL;
        case REQUEST_TOO_LARGE -> TOO_LARGE;
        case ADMITTED -> throw new IllegalArgumentException("an admission is not a refusal");
      };
    }
  }

  private final PrometheusMeterRegistry prometheus =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final CompositeMeterRegistry registry = new CompositeMeterRegistry();
  private final Supplier<FairShareConfig> config;
  private final OperationsSettings settings;
  private final Set<String> capacityModels = ConcurrentHashMap.newKeySet();
  private volatile ToIntFunction<String> waitingRoom;
  private final Set<String> waitingModels = ConcurrentHashMap.newKeySet();

  /** Calls refused before a model was known, by reason. */
  private final Map<String, Counter> calls = new ConcurrentHashMap<>();

  /** Each model's meters, by its label: one map lookup per recording. */
  private final Map<String, ModelMeters> models = new ConcurrentHashMap<>();

  private final Map<String, Timer> waits = new ConcurrentHashMap<>();
  private final Map<KeyModel, KeyTotals> keys = new ConcurrentHashMap<>();
  private final Timer storeAdmission;

  /** A key on a model: what per-key series are kept for. */
  private record KeyModel(String model, String key) {}

  /** One key's counts on one model since start, and the meters that read them, if registered. */
  private static final class KeyTotals {
    final LongAdder tokens = new LongAdder();
    final LongAdder refusals = new LongAdder();
    volatile List<Meter> meters;
  }

  /** Metrics for a fixed configuration. */
  public FairShareMetrics(FairShareConfig config) {
    this(() -> config);
  }

  /**
   * Metrics for the configuration {@code config} gives now (its limits may change at run time: the
   * capacity gauges read it); the configured models' capacities are registered at once.
   */
  public FairShareMetrics(Supplier<FairShareConfig> config) {
    this.config = config;
    this.settings = config.get().operations();
    registry.add(prometheus);
    modelsChanged();
    storeAdmission =
        Timer.builder("fairshare.store.admission")
            .description("Time to decide an admission in the usage store")
            .publishPercentileHistogram()
            .register(registry);
  }

  /**
   * Registers the capacity gauges (and the waiting room's) of models configured since; call when
   * the limits changed. A gauge reads the capacity now: NaN when unlimited or no longer configured.
   */
  public void modelsChanged() {
    for (String model : config.get().models().capacities().keySet()) {
      if (capacityModels.add(model)) {
        capacity(model, "tokens", ModelCapacity::tokens);
        capacity(model, "requests", ModelCapacity::requests);
        meters(model);
      }
    }
    bindWaiting();
  }

  private void capacity(
      String model, String dimension, java.util.function.ToLongFunction<ModelCapacity> part) {
    Gauge.builder(
            "fairshare.model.capacity",
            () -> {
              ModelCapacity capacity = config.get().capacityOf(model);
              long value = capacity == null ? ModelCapacity.UNLIMITED : part.applyAsLong(capacity);
              return value == ModelCapacity.UNLIMITED ? Double.NaN : (double) value;
            })
        .description("The model's capacity per window (NaN: unlimited)")
        .tags("model", model, "dimension", dimension)
        .register(registry);
  }

  /** The registry every meter is registered in; add a registry of your own to it. */
  public MeterRegistry registry() {
    return registry;
  }

  /** Sends every meter to {@code own} as well (a Spring, Quarkus or WildFly registry). */
  public void addRegistry(MeterRegistry own) {
    registry.add(own);
  }

  /** The meters as Prometheus text (format 0.0.4), per-key series refreshed first. */
  public String scrape() {
    refreshKeySeries();
    return prometheus.scrape();
  }

  /** Times an admission decided by the usage store. */
  public void storeAdmission(long nanos) {
    safely(
        () -> {
          storeAdmission.record(nanos, TimeUnit.NANOSECONDS);
        });
  }

  /**
   * Registers the shared store's failure-mode state and counts (with {@code
   * fairshare.store=redis}).
   */
  public void bindStore(FailoverUsageStore store) {
    for (String state : List.of("healthy", "failing_open", "failing_closed")) {
      Gauge.builder("fairshare.store.state", store, s -> state.equals(stateOf(s)) ? 1 : 0)
          .description("The shared usage store's state: 1 for the current one")
          .tag("state", state)
          .register(registry);
    }
    FunctionCounter.builder("fairshare.store.failures", store, FailoverUsageStore::failures)
        .description("Calls to the shared usage store that failed")
        .register(registry);
    FunctionCounter.builder(
            "fairshare.store.local.admissions", store, FailoverUsageStore::localAdmissions)
        .description("Admissions counted locally while the shared store was away (failing open)")
        .register(registry);
    FunctionCounter.builder(
            "fairshare.store.settlement.failures", store, FailoverUsageStore::settlementFailures)
        .description(
            "Settlements and releases the shared store did not take: their reservations stay"
                + " counted there until they leave the window")
        .register(registry);
    FunctionCounter.builder(
            "fairshare.store.settlement.failed.tokens",
            store,
            FailoverUsageStore::settlementFailedTokens)
        .description(
            "Tokens reserved by the settlements and releases the shared store did not take")
        .register(registry);
  }

  private static String stateOf(FailoverUsageStore store) {
    if (!store.failing()) {
      return "healthy";
    }
    return store.failsOpen() ? "failing_open" : "failing_closed";
  }

  /** Registers the number of requests held per configured model, as {@code waiting} counts them. */
  public void bindWaitingRoom(ToIntFunction<String> waiting) {
    waitingRoom = waiting;
    bindWaiting();
  }

  private void bindWaiting() {
    ToIntFunction<String> waiting = waitingRoom;
    if (waiting == null) {
      return;
    }
    for (String model : config.get().models().capacities().keySet()) {
      if (waitingModels.add(model)) {
        Gauge.builder("fairshare.queue.waiting", () -> waiting.applyAsInt(model))
            .description("Requests held in the waiting room")
            .tag("model", model)
            .register(registry);
      }
    }
  }

  /** An admitted call of {@code key} on {@code model}; {@code usage} is its standing. */
  public void admitted(String model, UsageSnapshot usage) {
    safely(
        () -> {
          ModelMeters meters = meters(modelLabel(model));
          meters.admitted().increment();
          meters.observe(usage);
        });
  }

  /** A call of {@code key} refused by {@code verdict} on {@code model}. */
  public void refused(String model, ApiKey key, Verdict verdict, UsageSnapshot usage) {
    safely(
        () -> {
          String label = modelLabel(model);
          ModelMeters meters = meters(label);
          meters.refused(Refusal.of(verdict, usage)).increment();
          meters.observe(usage);
          KeyTotals totals = keyTotals(label, key);
          if (totals != null) {
            totals.refusals.increment();
          }
        });
  }

  /** A call refused before (or without) a model: no key, a bad request, a store away. */
  public void refused(Refusal reason) {
    safely(
        () -> {
          calls
              .computeIfAbsent(reason.label(), r -> callCounter(registry, "", "refused", r))
              .increment();
        });
  }

  /**
   * A call settled with {@code actual} tokens for a reservation of {@code reserved}; {@code usage}
   * is what the answer reported (null when it reported nothing).
   */
  public void settled(String model, ApiKey key, long reserved, long actual, TokenUsage usage) {
    safely(
        () -> {
          String label = modelLabel(model);
          ModelMeters meters = meters(label);
          meters.settled().increment();
          long error = actual - reserved;
          if (error != 0) {
            meters.estimateError(error < 0).record(Math.abs(error));
          }
          if (usage != null) {
            meters.tokens(true).record(usage.input());
            meters.tokens(false).record(usage.output());
          }
          KeyTotals totals = keyTotals(label, key);
          if (totals != null) {
            totals.tokens.add(actual);
          }
        });
  }

  /** An admitted call whose reservation was released (it did not happen). */
  public void released(String model) {
    safely(
        () -> {
          meters(modelLabel(model)).released().increment();
        });
  }

  /** A request held in the waiting room for {@code nanos}, then admitted or not. */
  public void waited(String model, long nanos, boolean admitted) {
    safely(
        () -> {
          String label = modelLabel(model);
          String key = "wait|" + label + "|" + admitted;
          Timer timer =
              waits.computeIfAbsent(
                  key,
                  k ->
                      Timer.builder("fairshare.queue.wait")
                          .description("How long requests were held in the waiting room")
                          .tags("model", label, "outcome", admitted ? "admitted" : "refused")
                          .publishPercentileHistogram()
                          .register(registry));
          timer.record(nanos, TimeUnit.NANOSECONDS);
        });
  }

  // ------------------------------------------------------------------ internals

  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(FairShareMetrics.class.getName());

  private final AtomicLong lastFailureLog = new AtomicLong(Long.MIN_VALUE / 2);

  /**
   * Runs a recording; a registry that throws (a user's own, added with {@link #addRegistry}) never
   * reaches the request whose call it counts, where it would skip a settlement or an answer: it is
   * logged at most once a minute.
   */
  private void safely(Runnable recording) {
    try {
      recording.run();
    } catch (RuntimeException e) {
      long now = System.currentTimeMillis();
      long last = lastFailureLog.get();
      if (now - last >= 60_000 && lastFailureLog.compareAndSet(last, now)) {
        LOG.log(
            java.util.logging.Level.WARNING,
            "FairShare: a meter could not be recorded (logged at most once a minute)",
            e);
      }
    }
  }

  /**
   * The model label: a configured model's name; calls to unconfigured models (allowed with {@code
   * fairshare.unknown-models=allow}) share one label, since their names come from clients.
   */
  private String modelLabel(String model) {
    return config.get().countedAs(model);
  }

  /** The {@code fairshare.calls} counter of {@code model} (empty: before a model was known). */
  static Counter callCounter(MeterRegistry registry, String model, String outcome, String reason) {
    return Counter.builder("fairshare.calls")
        .description("Calls decided by FairShare, by outcome and reason")
        .tags("model", model, "outcome", outcome, "reason", reason)
        .register(registry);
  }

  /** The model's meters (made with its gauges on first use). */
  private ModelMeters meters(String model) {
    ModelMeters meters = models.get(model);
    return meters != null
        ? meters
        : models.computeIfAbsent(model, m -> new ModelMeters(registry, m));
  }

  /** The key's totals on {@code model}, or null when per-key series are off. */
  private KeyTotals keyTotals(String model, ApiKey key) {
    if (settings.keyLabels() == OperationsSettings.KeyLabels.NONE || key == null) {
      return null;
    }
    String name = key.displayName() == null ? "unnamed" : key.displayName();
    KeyModel id = new KeyModel(model, name);
    KeyTotals totals = keys.get(id);
    if (totals == null) {
      totals = keys.computeIfAbsent(id, k -> new KeyTotals());
      if (settings.keyLabels() == OperationsSettings.KeyLabels.ALIAS) {
        register(id, totals);
      }
    }
    return totals;
  }

  private synchronized void register(KeyModel id, KeyTotals totals) {
    if (totals.meters != null) {
      return;
    }
    Tags tags = Tags.of("model", id.model(), "key", id.key());
    totals.meters =
        List.of(
            FunctionCounter.builder("fairshare.key.tokens", totals.tokens, LongAdder::sum)
                .description("Tokens settled for the key")
                .tags(tags)
                .register(registry),
            FunctionCounter.builder("fairshare.key.refusals", totals.refusals, LongAdder::sum)
                .description("The key's calls refused for rate")
                .tags(tags)
                .register(registry));
  }

  /**
   * With {@code top-N}: keeps series for the N keys (on any model) that used most tokens, and
   * removes the others' (their counts go on; a key back in the top N continues where it was).
   */
  public synchronized void refreshKeySeries() {
    if (settings.keyLabels() != OperationsSettings.KeyLabels.TOP) {
      return;
    }
    List<Map.Entry<KeyModel, KeyTotals>> all = new ArrayList<>(keys.entrySet());
    all.sort(
        Comparator.comparingLong((Map.Entry<KeyModel, KeyTotals> e) -> e.getValue().tokens.sum())
            .reversed());
    Set<KeyModel> top = new HashSet<>();
    for (int i = 0; i < Math.min(settings.topKeys(), all.size()); i++) {
      top.add(all.get(i).getKey());
    }
    for (Map.Entry<KeyModel, KeyTotals> e : all) {
      KeyTotals totals = e.getValue();
      if (top.contains(e.getKey())) {
        register(e.getKey(), totals);
      } else if (totals.meters != null) {
        for (Meter meter : totals.meters) {
          // A composite's removal does not reach its children's meters: remove those too.
          registry.remove(meter);
          registry.getRegistries().forEach(child -> child.remove(meter.getId()));
        }
        totals.meters = null;
      }
    }
  }
}
