package dev.fairshare;

import com.knuddels.jtokkit.api.EncodingType;
import dev.fairshare.admission.Admissions;
import dev.fairshare.admission.QuotaPolicy;
import dev.fairshare.admission.Teams;
import dev.fairshare.config.ConfigurationException;
import dev.fairshare.config.FairShareConfig;
import dev.fairshare.config.KeysDatabase;
import dev.fairshare.config.MicroProfileConfigSource;
import dev.fairshare.config.RuntimeLimits;
import dev.fairshare.config.StoreKind;
import dev.fairshare.core.Clock;
import dev.fairshare.keys.JdbcKeyStore;
import dev.fairshare.keys.KeyService;
import dev.fairshare.keys.KeyStore;
import dev.fairshare.metrics.FairShareMetrics;
import dev.fairshare.metrics.TimedUsageStore;
import dev.fairshare.openai.TokenEstimator;
import dev.fairshare.quota.MemoryQuotaLedger;
import dev.fairshare.quota.QuotaLedger;
import dev.fairshare.quota.SpendSeed;
import dev.fairshare.store.FailoverUsageStore;
import dev.fairshare.store.KeyLimitedUsageStore;
import dev.fairshare.store.MemoryUsageStore;
import dev.fairshare.store.UsageStore;
import dev.fairshare.usage.AlertSender;
import dev.fairshare.usage.SpendRecorder;
import dev.fairshare.usage.UsageRecorder;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.naming.InitialContext;
import javax.naming.NamingException;
import javax.sql.DataSource;

/**
 * One FairShare instance: configuration, usage store, key service, token estimator and clock, wired
 * together. The filter and the admin resources share one instance; in a WAR deployed from {@code
 * web.xml} that is {@link #shared()}, built from MicroProfile Config.
 */
public final class FairShare implements AutoCloseable {

  private static volatile FairShare shared;

  private static final Logger LOG = Logger.getLogger(FairShare.class.getName());

  /**
   * The configuration now: the one this instance started with, whose models and priorities are
   * replaced by those read again every {@code fairshare.config-refresh} and by the run-time limits
   * ({@link #refresh}). Read once per decision.
   */
  private volatile FairShareConfig config;

  /** The configuration this instance started with. */
  private final FairShareConfig initial;

  /** Reads the configuration again, or null when it cannot be (built from a fixed one). */
  private final Supplier<FairShareConfig> source;

  /** The last configuration {@link #source} read without a problem. */
  private volatile FairShareConfig base;

  private final ScheduledExecutorService refresher;
  private final Clock clock;
  private final UsageStore usageStore;
  private final KeyService keys;
  private final TokenEstimator estimator;
  private final KeyLimitedUsageStore admissions;
  private final Admissions admissionPolicy;
  private final FairShareMetrics metrics;
  private final UsageRecorder history;
  private final SpendRecorder spend;
  private final AlertSender alerts;
  private final QuotaLedger ledger;
  private final QuotaPolicy quotas;

  private FairShare(
      FairShareConfig config,
      Clock clock,
      UsageStore usageStore,
      KeyService keys,
      Supplier<FairShareConfig> source) {
    this.config = config;
    this.initial = config;
    this.base = config;
    this.source = source;
    this.clock = clock;
    this.usageStore = usageStore;
    this.metrics = new FairShareMetrics(this::config);
    this.history =
        config.operations().history()
            ? new UsageRecorder(
                keys.store(),
                clock::millis,
                config.operations().historyFlush(),
                config.operations().historyRetention())
            : UsageRecorder.off(keys.store());
    if (usageStore instanceof FailoverUsageStore shared) {
      metrics.bindStore(shared);
    }
    this.admissions =
        new KeyLimitedUsageStore(
            new TimedUsageStore(usageStore, metrics), config.engine().effectiveWindowMillis());
    this.keys = keys;
    Map<String, EncodingType> encodings = new HashMap<>();
    config
        .models()
        .encodings()
        .forEach((model, name) -> encodings.put(model, EncodingType.fromName(name).orElseThrow()));
    this.estimator =
        new TokenEstimator(
            config.filter().completionReserve(),
            config.filter().tokenCount(),
            encodings,
            config.bounds().minRequestTokens());
    this.spend = new SpendRecorder(keys.store()::addSpend, config.operations().historyFlush());
    this.alerts = new AlertSender(config.operations().alertsWebhook());
    this.ledger = openLedger(config, keys.store()::spend);
    this.quotas =
        new QuotaPolicy(
            this::config,
            ledger,
            spend,
            alerts,
            config.store() != StoreKind.MEMORY
                && config.redis().failureMode() == dev.fairshare.config.FailureMode.OPEN);
    this.admissionPolicy =
        new Admissions(
            this::config,
            estimator,
            admissions,
            clock,
            Teams.of(keys::team, keys::anyTeam),
            quotas);
    // The limits set at run time apply from the start (a key database away: the configured ones,
    // until the next refresh)
    refreshQuietly();
    Duration every = config.operations().configRefresh();
    if (every.isZero()) {
      this.refresher = null;
    } else {
      this.refresher =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "fairshare-config-refresh");
                t.setDaemon(true);
                return t;
              });
      refresher.scheduleWithFixedDelay(
          this::refreshQuietly, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Reads the models' capacities and the priorities again (one refresh at a time, so a periodic one
   * cannot put back what a run-time change just replaced): from the configuration (when this
   * instance was built from a source it can read again; a source with a problem is logged and its
   * last good reading stands) and, over it, the run-time limits in the key database. Requests
   * decided from now on use them; reservations already made stay as they are.
   *
   * @throws dev.fairshare.keys.KeyStoreException when the key database does not answer
   */
  public synchronized void refresh() {
    if (source != null) {
      try {
        base = initial.withLimitsOf(source.get());
      } catch (ConfigurationException e) {
        LOG.warning(
            "FairShare: the configuration read again has problems; the last good one stands: "
                + String.join("; ", e.problems()));
      }
    }
    FairShareConfig next = new RuntimeLimits(keys.runtimeLimits()).applyTo(base);
    FairShareConfig now = config;
    double threshold = next.engine().saturationThreshold();
    boolean thresholdChanged = threshold != now.engine().saturationThreshold();
    if (thresholdChanged) {
      // The stores decide with it from their next admission
      usageStore.setSaturationThreshold(threshold);
    }
    if (thresholdChanged
        || !next.models().equals(now.models())
        || !next.priorities().equals(now.priorities())) {
      config = next;
      metrics.modelsChanged();
      LOG.info(
          "FairShare: limits now "
              + new java.util.TreeMap<>(next.models().capacities())
              + ", priorities "
              + new java.util.TreeMap<>(next.priorities().weights())
              + ", saturation threshold "
              + threshold);
    }
  }

  private void refreshQuietly() {
    try {
      refresh();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "FairShare: the limits could not be read again: {0}", e.getMessage());
    }
  }

  /**
   * Sets run-time limits ({@link RuntimeLimits} key names and values, already checked) and removes
   * those named in {@code remove}, in the key database, then applies them here at once; the other
   * instances apply them at their next refresh.
   */
  public synchronized void setRuntimeLimits(
      Map<String, String> set, java.util.Collection<String> remove) {
    keys.putRuntimeLimits(set, remove);
    refresh();
  }

  /**
   * Builds an instance: the usage store named by {@code fairshare.store} and the key database named
   * by {@code fairshare.keys.datasource} (JNDI) or {@code fairshare.keys.jdbc-url}.
   *
   * @throws ConfigurationException when a configured resource cannot be used
   */
  public static FairShare create(FairShareConfig config, Clock clock) {
    return create(config, clock, null);
  }

  /**
   * As {@link #create(FairShareConfig, Clock)}, reading the models and priorities again from {@code
   * reread} every {@code fairshare.config-refresh}.
   */
  public static FairShare create(
      FairShareConfig config, Clock clock, Supplier<FairShareConfig> reread) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(clock, "clock");
    KeyStore keyStore = openKeyStore(config);
    return new FairShare(
        config,
        clock,
        openUsageStore(config),
        new KeyService(keyStore, clock, config.keys().cacheTtl()),
        reread);
  }

  /**
   * The instance shared by the filter and the admin resources of this class loader, built on first
   * use from MicroProfile Config with the system clock.
   */
  public static FairShare shared() {
    FairShare instance = shared;
    if (instance != null) {
      return instance;
    }
    synchronized (FairShare.class) {
      if (shared == null) {
        shared =
            create(MicroProfileConfigSource.read(), Clock.system(), MicroProfileConfigSource::read);
      }
      return shared;
    }
  }

  /** Closes and forgets the shared instance (on undeploy). */
  public static void closeShared() {
    synchronized (FairShare.class) {
      if (shared != null) {
        shared.close();
        shared = null;
      }
    }
  }

  private static UsageStore openUsageStore(FairShareConfig config) {
    if (config.store() == StoreKind.MEMORY) {
      return new MemoryUsageStore(config.engine());
    }
    return SharedStore.open(config);
  }

  /**
   * The ledger of budgets and quotas: in this JVM with the memory store, shared through Redis with
   * the Redis store; either reads a counter it does not hold from the key database.
   */
  private static QuotaLedger openLedger(FairShareConfig config, SpendSeed seed) {
    if (config.store() == StoreKind.MEMORY) {
      return new MemoryQuotaLedger(seed);
    }
    return SharedStore.openLedger(config, seed);
  }

  private static KeyStore openKeyStore(FairShareConfig config) {
    KeysDatabase database = config.keys();
    if (database.usesDataSource()) {
      try {
        DataSource ds = (DataSource) new InitialContext().lookup(database.dataSource());
        return JdbcKeyStore.on(ds);
      } catch (NamingException | ClassCastException e) {
        throw new ConfigurationException(
            List.of(
                "fairshare.keys.datasource: no DataSource named '"
                    + database.dataSource()
                    + "' ("
                    + e.getClass().getSimpleName()
                    + ")"));
      }
    }
    return JdbcKeyStore.open(database.jdbcUrl(), database.user(), database.password());
  }

  public FairShareConfig config() {
    return config;
  }

  public Clock clock() {
    return clock;
  }

  /** The store of model usage, as configured. */
  public UsageStore usageStore() {
    return usageStore;
  }

  /** The admission policy: from a key and a parsed request to a refusal or an admission. */
  public Admissions admissionPolicy() {
    return admissionPolicy;
  }

  /**
   * Where the filter admits and settles: {@link #usageStore()} with the keys' own limits held
   * across models.
   */
  public UsageStore admissions() {
    return admissions;
  }

  /**
   * Calls of {@code keyId} held in this instance's waiting rooms for {@code model} now (every
   * filter's).
   */
  public int waiting(String model, String keyId) {
    int n = 0;
    for (WaitingCount source : waitingSources) {
      n += source.waiting(model, keyId);
    }
    return n;
  }

  /** A waiting room, as {@link #waiting} counts it. */
  @FunctionalInterface
  public interface WaitingCount {
    /** Calls of {@code keyId} held for {@code model} now. */
    int waiting(String model, String keyId);
  }

  /** Counts {@code source}'s held calls in {@link #waiting} (each filter's waiting room). */
  public void addWaitingSource(WaitingCount source) {
    waitingSources.add(source);
  }

  private final List<WaitingCount> waitingSources =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  /** Budgets and calendar quotas of keys and teams. */
  public QuotaPolicy quotas() {
    return quotas;
  }

  /** What was charged to spend and quota counters, written to the key database in batches. */
  public SpendRecorder spend() {
    return spend;
  }

  /** The usage history's recorder (per key, model and hour, written in batches). */
  public UsageRecorder history() {
    return history;
  }

  /** The meters of this instance (scraped at {@code /metrics}; add a registry of your own). */
  public FairShareMetrics metrics() {
    return metrics;
  }

  public KeyService keys() {
    return keys;
  }

  public TokenEstimator estimator() {
    return estimator;
  }

  /**
   * Whether the parts that requests need answer now: a real query on the key database and a round
   * trip to the usage store, at most four times a second (a result is given again for 250 ms, and
   * while a check runs, for 5 s at most; a caller that finds a check running and no recent result
   * is told unhealthy). For health checks; never on a request's path.
   */
  public Health health() {
    Checked last = lastHealth;
    long now = System.nanoTime();
    if (last != null && now - last.atNanos() < HEALTH_REUSE_NANOS) {
      return last.health();
    }
    if (!healthCheckRunning.compareAndSet(false, true)) {
      // Another caller is checking: callers do not queue up behind a slow database, nor run
      // checks of their own (each takes a pool connection). The last result stands in while it
      // is recent; a check stuck for longer, or none yet, is not health.
      if (last != null && now - last.atNanos() < HEALTH_STALE_NANOS) {
        return last.health();
      }
      return new Health(false, false);
    }
    try {
      Health health = new Health(keys.isReachable(), usageStore.isReachable());
      lastHealth = new Checked(health, System.nanoTime());
      return health;
    } finally {
      healthCheckRunning.set(false);
    }
  }

  /**
   * How long a health check's result is given again: {@code /health} is unauthenticated, and each
   * check is a database query and a store round trip, so a flood of calls costs at most four checks
   * a second.
   */
  static final long HEALTH_REUSE_NANOS = 250_000_000L;

  /** The oldest result given while a check runs; past it, the check is taken to hang. */
  static final long HEALTH_STALE_NANOS = 5_000_000_000L;

  private final java.util.concurrent.atomic.AtomicBoolean healthCheckRunning =
      new java.util.concurrent.atomic.AtomicBoolean();

  private volatile Checked lastHealth;

  private record Checked(Health health, long atNanos) {}

  /**
   * What {@link #health()} found.
   *
   * @param keyStore the key database served a query
   * @param usageStore the usage store answered (always, for the memory store)
   */
  public record Health(boolean keyStore, boolean usageStore) {

    /** Both answered. */
    public boolean healthy() {
      return keyStore && usageStore;
    }
  }

  @Override
  public void close() {
    if (refresher != null) {
      // Its thread must be gone before the key database and the class loader close (Tomcat warns
      // of a thread an application left running)
      refresher.shutdownNow();
      try {
        refresher.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    history.close(); // needs the key database
    spend.close(); // needs the key database
    alerts.close();
    ledger.close();
    usageStore.close();
    keys.close();
  }
}
