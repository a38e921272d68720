package dev.fairshare.config;

import dev.fairshare.core.AllocationMode;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.keys.KeyHashing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * FairShare's configuration: an immutable, validated value read once at start-up from MicroProfile
 * Config (or any flat key/value source), in typed groups. Every problem is reported together, each
 * naming its key.
 *
 * @param masterKey the admin master key; empty when none was configured
 * @param models the models' capacities, aliases and encodings, and what unknown models get
 * @param engine window, bucket, allocation mode and saturation threshold
 * @param priorities weight per priority name
 * @param store where usage is counted
 * @param redis the shared store's settings (used when {@code store} is {@link StoreKind#REDIS})
 * @param keys where the keys live
 * @param filter what the filter limits and how it counts
 * @param bounds the bounds that protect the limiter from what clients and upstreams send
 */
public record FairShareConfig(
    Optional<String> masterKey,
    ModelTable models,
    EngineSettings engine,
    Priorities priorities,
    StoreKind store,
    RedisSettings redis,
    KeysDatabase keys,
    FilterSettings filter,
    RequestBounds bounds,
    OperationsSettings operations) {

  public static final String PREFIX = "fairshare.";

  private static final Pattern PRIORITY_KEY = Pattern.compile("fairshare\\.priority\\.\"?(.+?)\"?");

  /** Environment variables that look like model or priority keys (their names lose '-' and '.'). */
  private static final Pattern ENV_MODEL_KEY =
      Pattern.compile("FAIRSHARE_MODELS_[A-Z0-9_]+_(TPM|RPM|ENCODING)");

  private static final Pattern ENV_PRIORITY_KEY = Pattern.compile("FAIRSHARE_PRIORITY_[A-Z0-9_]+");

  public FairShareConfig {
    masterKey = masterKey.filter(k -> !k.isBlank());
  }

  /** The capacity of {@code model}, or null when it is not configured. */
  public ModelCapacity capacityOf(String model) {
    return models.capacityOf(model);
  }

  /**
   * The name under which calls to unconfigured models share one window, and one label in metrics
   * and history, when they are allowed: their names come from clients.
   */
  public static final String UNCONFIGURED_MODELS = "fairshare:unconfigured-models";

  /** {@code model} when it is configured, else {@link #UNCONFIGURED_MODELS}. */
  public String countedAs(String model) {
    return model != null && capacityOf(model) != null ? model : UNCONFIGURED_MODELS;
  }

  /** The configured model a client's {@code model} names ({@link ModelTable#resolve}). */
  public String resolveModel(String requested) {
    return models.resolve(requested);
  }

  /** The weight for a key's {@code metadata.priority} (null or unknown: the default weight). */
  public double weightOf(String priority) {
    return priorities.weightOf(priority);
  }

  /**
   * Reads and validates the configuration.
   *
   * @param lookup value of a key, empty when absent
   * @param propertyNames every key the source knows (used to find models and priorities)
   * @throws ConfigurationException listing every problem
   */
  public static FairShareConfig read(
      Function<String, Optional<String>> lookup, Iterable<String> propertyNames) {
    ConfigValues v = new ConfigValues(lookup);

    Optional<String> masterKey = v.string("fairshare.master-key");
    Optional<String> masterKeyFile = v.string("fairshare.master-key-file");
    if (masterKey.isEmpty() && masterKeyFile.isPresent()) {
      masterKey = readMasterKeyFile(masterKeyFile.get(), v);
    }

    // Model and priority names cannot be read back from environment variable names
    // (FAIRSHARE_MODELS_GPT_4O_TPM could be gpt-4o or gpt.4o): fairshare.model-names and
    // fairshare.priority-names list them, and their keys are then looked up by name, which
    // MicroProfile Config maps to the environment variables.
    List<String> modelNames = v.names("fairshare.model-names");
    List<String> priorityNames = v.names("fairshare.priority-names");
    Set<String> listedKeys = new LinkedHashSet<>();
    for (String model : modelNames) {
      for (String suffix : ModelTable.SUFFIXES) {
        listedKeys.add("fairshare.models." + model + "." + suffix);
      }
    }
    for (String priority : priorityNames) {
      listedKeys.add("fairshare.priority." + priority);
    }
    // Iterated once: SmallRye's property-name iterable does not start over.
    List<String> known = new ArrayList<>();
    propertyNames.forEach(known::add);
    Set<String> keys = v.keysToRead(listedKeys, known, FairShareConfig::unlistedEnvironmentProblem);

    ModelTable models = ModelTable.read(v, keys, listedKeys, modelNames);
    Priorities priorities =
        new Priorities(
            priorityWeights(v, keys),
            v.doubleValue("fairshare.default-priority-weight", 1.0, 0.0, 1_000_000.0));
    EngineSettings engine = engine(v);
    StoreKind store = v.choice("fairshare.store", StoreKind.class, StoreKind.MEMORY);
    RedisSettings redis = RedisSettings.read(v);
    KeysDatabase keysDatabase = KeysDatabase.read(v);
    FilterSettings filter = FilterSettings.read(v);
    RequestBounds bounds = RequestBounds.read(v);
    OperationsSettings operations = OperationsSettings.read(v);

    v.throwIfProblems();
    return new FairShareConfig(
        masterKey,
        models,
        engine,
        priorities,
        store,
        redis,
        keysDatabase,
        filter,
        bounds,
        operations);
  }

  /** Same configuration with another master key (the gateway generates one when none is set). */
  public FairShareConfig withMasterKey(String key) {
    return new FairShareConfig(
        Optional.of(key),
        models,
        engine,
        priorities,
        store,
        redis,
        keys,
        filter,
        bounds,
        operations);
  }

  /** Same configuration with another saturation threshold. */
  public FairShareConfig withSaturationThreshold(double threshold) {
    return withLimits(models, engine.withSaturationThreshold(threshold), priorities);
  }

  /** Same configuration with other priority weights. */
  public FairShareConfig withPriorities(Priorities newPriorities) {
    return withLimits(models, engine, newPriorities);
  }

  /**
   * This configuration with {@code reread}'s models, priorities and saturation threshold (what may
   * change without a restart); everything else stays.
   */
  public FairShareConfig withLimitsOf(FairShareConfig reread) {
    return withLimits(
        reread.models(),
        engine.withSaturationThreshold(reread.engine().saturationThreshold()),
        reread.priorities());
  }

  /** Same configuration with other model capacities. */
  public FairShareConfig withModels(Map<String, ModelCapacity> capacities) {
    return withLimits(models.withCapacities(capacities), engine, priorities);
  }

  /** Same configuration with other model prices. */
  public FairShareConfig withPrices(Map<String, ModelPrice> prices) {
    return withLimits(models.withPrices(prices), engine, priorities);
  }

  /** Same configuration with these limits: the parts that may change without a restart. */
  private FairShareConfig withLimits(
      ModelTable newModels, EngineSettings newEngine, Priorities newPriorities) {
    return new FairShareConfig(
        masterKey,
        newModels,
        newEngine,
        newPriorities,
        store,
        redis,
        keys,
        filter,
        bounds,
        operations);
  }

  /** Whether {@code presented} is the master key (compared in constant time); false without one. */
  public boolean isMasterKey(String presented) {
    return presented != null
        && masterKey.isPresent()
        && KeyHashing.constantTimeEquals(presented, masterKey.get());
  }

  private static EngineSettings engine(ConfigValues v) {
    AllocationMode mode = v.choice("fairshare.mode", AllocationMode.class, AllocationMode.FAIR);
    Duration window =
        v.duration("fairshare.window", Duration.ofMillis(EngineSettings.DEFAULT_WINDOW_MILLIS));
    Duration bucket =
        v.duration(
            "fairshare.window-bucket", Duration.ofMillis(EngineSettings.DEFAULT_BUCKET_MILLIS));
    double threshold =
        v.doubleValue(
            "fairshare.saturation-threshold",
            EngineSettings.DEFAULT_SATURATION_THRESHOLD,
            0.0,
            1.0);
    EngineSettings.Pool pool =
        v.choice("fairshare.pool", EngineSettings.Pool.class, EngineSettings.Pool.SLIDING_WINDOW);
    double burst =
        v.doubleValue("fairshare.pool-burst", EngineSettings.DEFAULT_POOL_BURST, 0.0, 1.0);
    try {
      return new EngineSettings(mode, window.toMillis(), bucket.toMillis(), threshold)
          .withPool(pool, burst, EngineSettings.DEFAULT_POOL_RESERVE);
    } catch (IllegalArgumentException e) {
      v.problem("fairshare.window", e.getMessage());
      return EngineSettings.DEFAULTS;
    }
  }

  private static Map<String, Double> priorityWeights(ConfigValues v, Set<String> keys) {
    Map<String, Double> weights = new LinkedHashMap<>();
    for (String name : keys) {
      Matcher priority = PRIORITY_KEY.matcher(name);
      if (priority.matches()) {
        double weight = v.doubleValue(name, Double.NaN, 0.0, 1_000_000.0);
        if (!Double.isNaN(weight)) {
          weights.put(priority.group(1), weight);
        }
      }
    }
    return weights;
  }

  /**
   * Why an environment variable of a model or priority that fairshare.*-names does not list is
   * refused.
   */
  private static Optional<String> unlistedEnvironmentProblem(String name) {
    if (ENV_MODEL_KEY.matcher(name).matches()) {
      return Optional.of(
          "a model's limit in an environment variable needs the model's name in fairshare.model-names"
              + " (FAIRSHARE_MODEL_NAMES=gpt-4o,...): '-' and '.' cannot be read back from the variable's name");
    }
    if (ENV_PRIORITY_KEY.matcher(name).matches() && !name.equals("FAIRSHARE_PRIORITY_NAMES")) {
      return Optional.of(
          "a priority in an environment variable needs its name in fairshare.priority-names"
              + " (FAIRSHARE_PRIORITY_NAMES=prod,...)");
    }
    return Optional.empty();
  }

  private static Optional<String> readMasterKeyFile(String file, ConfigValues v) {
    try {
      String key = Files.readString(Path.of(file)).trim();
      if (key.isEmpty()) {
        v.problem("fairshare.master-key-file", "file " + file + " is empty");
        return Optional.empty();
      }
      return Optional.of(key);
    } catch (IOException | RuntimeException e) {
      v.problem(
          "fairshare.master-key-file",
          "cannot read " + file + " (" + e.getClass().getSimpleName() + ")");
      return Optional.empty();
    }
  }

  @Override
  public String toString() {
    // Never print the master key.
    return "FairShareConfig[models="
        + models.capacities()
        + ", engine="
        + engine
        + ", store="
        + store
        + ", tokenCount="
        + filter.tokenCount()
        + ", paths="
        + filter.paths()
        + ", masterKey="
        + (masterKey.isPresent() ? "<set>" : "<none>")
        + "]";
  }
}
