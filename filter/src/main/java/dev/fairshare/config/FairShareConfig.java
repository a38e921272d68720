package dev.fairshare.config;

import dev.fairshare.core.AllocationMode;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.openai.TokenCount;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * FairShare's configuration: an immutable, validated value read once at start-up from
 * MicroProfile Config (or any flat key/value source). Every problem is reported together, each
 * naming its key.
 *
 * @param masterKey the admin master key; empty when none was configured
 * @param models capacity per model name
 * @param engine window, bucket, mode and saturation threshold
 * @param priorities weight per priority name ({@code fairshare.priority.<name>})
 * @param defaultPriorityWeight weight of keys without (or with an unknown) priority
 * @param tokenCount which tokens of a response count
 * @param completionReserve tokens reserved for the completion when the request sets no
 *     {@code max_tokens}
 * @param store {@code memory} or {@code redis}
 * @param redisUri the Redis URI (store = redis)
 * @param redisFailureMode {@code open} or {@code closed}
 * @param redisTimeout longest wait for Redis on a request
 * @param redisKeyPrefix prefix of FairShare's Redis keys (separates deployments sharing a Redis)
 * @param keysJdbcUrl JDBC URL of the key database (used when no data source is named)
 * @param keysJdbcUser user for {@code keysJdbcUrl}, may be empty
 * @param keysJdbcPassword password for {@code keysJdbcUrl}, may be empty
 * @param keysDataSource JNDI name of a {@code DataSource} for the key database, may be empty
 * @param keyCacheTtl how long the filter caches key lookups
 * @param maxBodySize largest request body accepted, in bytes
 * @param clientRetryMaxWait waits longer than this get {@code x-should-retry: false}
 * @param paths request paths the filter limits (suffix match, with or without {@code /v1})
 * @param rejectUnknownModels whether models without configured capacity are refused
 * @param encodings tokenizer encoding per model, where the model name does not tell
 *     ({@code fairshare.models.<model>.encoding}: o200k_base, cl100k_base, p50k_base, r50k_base)
 * @param bounds the bounds that protect the limiter from what clients and upstreams send
 */
public record FairShareConfig(
    Optional<String> masterKey,
    Map<String, ModelCapacity> models,
    EngineSettings engine,
    Map<String, Double> priorities,
    double defaultPriorityWeight,
    TokenCount tokenCount,
    long completionReserve,
    String store,
    String redisUri,
    String redisFailureMode,
    Duration redisTimeout,
    String redisKeyPrefix,
    String keysJdbcUrl,
    String keysJdbcUser,
    String keysJdbcPassword,
    String keysDataSource,
    Duration keyCacheTtl,
    long maxBodySize,
    Duration clientRetryMaxWait,
    List<String> paths,
    boolean rejectUnknownModels,
    Map<String, String> encodings,
    RequestBounds bounds) {

  public static final String PREFIX = "fairshare.";
  public static final List<String> DEFAULT_PATHS =
      List.of("/chat/completions", "/completions", "/embeddings", "/responses");
  public static final String DEFAULT_JDBC_URL =
      "jdbc:h2:file:~/.fairshare/keys;AUTO_SERVER=TRUE";

  private static final Pattern MODEL_KEY =
      Pattern.compile("fairshare\\.models\\.\"?(.+?)\"?\\.(tpm|rpm)");
  private static final Pattern ALIASES_KEY =
      Pattern.compile("fairshare\\.models\\.\"?(.+?)\"?\\.aliases");
  private static final Pattern ENCODING_KEY =
      Pattern.compile("fairshare\\.models\\.\"?(.+?)\"?\\.encoding");
  private static final List<String> ENCODINGS = List.of("o200k_base", "cl100k_base", "p50k_base", "r50k_base");
  private static final Pattern PRIORITY_KEY = Pattern.compile("fairshare\\.priority\\.\"?(.+?)\"?");
  /** Environment variables that look like model or priority keys (their names lose '-' and '.'). */
  private static final Pattern ENV_MODEL_KEY = Pattern.compile("FAIRSHARE_MODELS_[A-Z0-9_]+_(TPM|RPM|ENCODING)");
  private static final Pattern ENV_PRIORITY_KEY = Pattern.compile("FAIRSHARE_PRIORITY_[A-Z0-9_]+");

  public FairShareConfig {
    masterKey = masterKey.filter(k -> !k.isBlank());
    models = Map.copyOf(models);
    priorities = Map.copyOf(priorities);
    paths = List.copyOf(paths);
    encodings = Map.copyOf(encodings);
  }

  /** The capacity of {@code model}, or null when it is not configured. */
  public ModelCapacity capacityOf(String model) {
    return models.get(model);
  }

  /**
   * The configured model a client's {@code model} names: trimmed, then matched exactly, or
   * through {@code fairshare.models.<m>.aliases}; the trimmed name itself when nothing matches.
   */
  public String resolveModel(String requested) {
    String name = requested.strip();
    return bounds.aliases().getOrDefault(name, name);
  }

  /** The weight for a key's {@code metadata.priority} (null or unknown: the default weight). */
  public double weightOf(String priority) {
    if (priority == null) {
      return defaultPriorityWeight;
    }
    return priorities.getOrDefault(priority, defaultPriorityWeight);
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

    Map<String, Long> tpm = new TreeMap<>();
    Map<String, Long> rpm = new TreeMap<>();
    Map<String, Double> priorities = new LinkedHashMap<>();
    Map<String, String> encodings = new TreeMap<>();
    // Model and priority names cannot be read back from environment variable names
    // (FAIRSHARE_MODELS_GPT_4O_TPM could be gpt-4o or gpt.4o): fairshare.model-names and
    // fairshare.priority-names list them, and their keys are then looked up by name, which
    // MicroProfile Config maps to the environment variables.
    List<String> modelNames = v.names("fairshare.model-names");
    List<String> priorityNames = v.names("fairshare.priority-names");
    // Iterated once: SmallRye's property-name iterable does not start over.
    List<String> known = new ArrayList<>();
    propertyNames.forEach(known::add);

    java.util.Set<String> listedKeys = new java.util.LinkedHashSet<>();
    for (String model : modelNames) {
      for (String suffix : List.of("tpm", "rpm", "encoding", "aliases")) {
        listedKeys.add("fairshare.models." + model + "." + suffix);
      }
    }
    for (String priority : priorityNames) {
      listedKeys.add("fairshare.priority." + priority);
    }
    java.util.Set<String> keys = v.keysToRead(listedKeys, known, FairShareConfig::unlistedEnvironmentProblem);
    Map<String, String> aliases = new TreeMap<>();
    for (String name : keys) {
      Matcher alias = ALIASES_KEY.matcher(name);
      if (alias.matches()) {
        for (String a : v.string(name, "").split(",")) {
          String trimmed = a.strip();
          if (trimmed.isEmpty()) {
            continue;
          }
          String earlier = aliases.put(trimmed, alias.group(1));
          if (earlier != null && !earlier.equals(alias.group(1))) {
            v.problem(name, "alias '" + trimmed + "' also names model '" + earlier + "'");
          }
        }
        continue;
      }
      Matcher encoding = ENCODING_KEY.matcher(name);
      if (encoding.matches()) {
        String value = v.string(name, "").toLowerCase(Locale.ROOT);
        if (value.isEmpty() && listedKeys.contains(name)) {
          continue; // a listed model without an encoding of its own
        }
        if (ENCODINGS.contains(value)) {
          encodings.put(encoding.group(1), value);
        } else {
          v.problem(name, "'" + value + "' is not one of: " + String.join(", ", ENCODINGS));
        }
        continue;
      }
      Matcher model = MODEL_KEY.matcher(name);
      if (model.matches()) {
        long value = v.longValue(name, -1, 0);
        if (value >= 0) {
          (model.group(2).equals("tpm") ? tpm : rpm).put(model.group(1), value);
        }
        continue;
      }
      Matcher priority = PRIORITY_KEY.matcher(name);
      if (priority.matches()) {
        double weight = v.doubleValue(name, Double.NaN, 0.0, 1_000_000.0);
        if (!Double.isNaN(weight)) {
          priorities.put(priority.group(1), weight);
        }
      }
    }
    Map<String, ModelCapacity> models = new TreeMap<>();
    java.util.Set<String> configured = new java.util.TreeSet<>(tpm.keySet());
    configured.addAll(rpm.keySet());
    for (String model : modelNames) {
      if (!configured.contains(model)) {
        v.problem("fairshare.model-names", "'" + model + "' has neither fairshare.models." + model
            + ".tpm nor .rpm (environment: " + ConfigValues.envName("fairshare.models." + model + ".tpm") + ")");
      }
    }
    for (String model : configured) {
      models.put(
          model,
          new ModelCapacity(
              tpm.getOrDefault(model, ModelCapacity.UNLIMITED),
              rpm.getOrDefault(model, ModelCapacity.UNLIMITED)));
    }

    AllocationMode mode = AllocationMode.FAIR;
    Optional<String> modeText = v.string("fairshare.mode");
    if (modeText.isPresent()) {
      try {
        mode = AllocationMode.fromConfigName(modeText.get());
      } catch (IllegalArgumentException e) {
        v.problem("fairshare.mode", e.getMessage());
      }
    }
    Duration window = v.duration("fairshare.window", Duration.ofMillis(EngineSettings.DEFAULT_WINDOW_MILLIS));
    Duration bucket =
        v.duration("fairshare.window-bucket", Duration.ofMillis(EngineSettings.DEFAULT_BUCKET_MILLIS));
    double threshold =
        v.doubleValue(
            "fairshare.saturation-threshold", EngineSettings.DEFAULT_SATURATION_THRESHOLD, 0.0, 1.0);
    EngineSettings engine = EngineSettings.DEFAULTS;
    try {
      engine = new EngineSettings(mode, window.toMillis(), bucket.toMillis(), threshold);
    } catch (IllegalArgumentException e) {
      v.problem("fairshare.window", e.getMessage());
    }

    double defaultWeight = v.doubleValue("fairshare.default-priority-weight", 1.0, 0.0, 1_000_000.0);

    TokenCount tokenCount = TokenCount.TOTAL;
    Optional<String> tokenCountText = v.string("fairshare.token-count");
    if (tokenCountText.isPresent()) {
      try {
        tokenCount = TokenCount.valueOf(tokenCountText.get().trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        v.problem("fairshare.token-count", "'" + tokenCountText.get() + "' is not one of: total, input, output");
      }
    }
    long completionReserve = v.longValue("fairshare.completion-reserve", 256, 0);

    String store = v.string("fairshare.store", "memory").toLowerCase(Locale.ROOT);
    if (!store.equals("memory") && !store.equals("redis")) {
      v.problem("fairshare.store", "'" + store + "' is not one of: memory, redis");
    }
    String redisUri = v.string("fairshare.redis.uri", "redis://127.0.0.1:6379");
    String failureMode = v.string("fairshare.redis.failure-mode", "open").toLowerCase(Locale.ROOT);
    if (!failureMode.equals("open") && !failureMode.equals("closed")) {
      v.problem("fairshare.redis.failure-mode", "'" + failureMode + "' is not one of: open, closed");
    }
    Duration redisTimeout = v.duration("fairshare.redis.timeout", Duration.ofMillis(50));
    if (redisTimeout.isZero()) {
      v.problem("fairshare.redis.timeout", "must be positive");
    }
    String redisKeyPrefix = v.string("fairshare.redis.key-prefix", "fs");
    if (redisKeyPrefix.contains("{") || redisKeyPrefix.contains("}")) {
      v.problem("fairshare.redis.key-prefix", "must not contain { or }");
    }

    String jdbcUrl = v.string("fairshare.keys.jdbc-url", DEFAULT_JDBC_URL);
    if (!jdbcUrl.startsWith("jdbc:")) {
      v.problem("fairshare.keys.jdbc-url", "'" + jdbcUrl + "' is not a JDBC URL (it must start with jdbc:)");
    }
    String jdbcUser = v.string("fairshare.keys.jdbc-user", "");
    String jdbcPassword = v.string("fairshare.keys.jdbc-password", "");
    String dataSource = v.string("fairshare.keys.datasource", "");
    Duration keyCacheTtl = v.duration("fairshare.keys.cache-ttl", Duration.ofSeconds(5));

    long maxBodySize = v.size("fairshare.max-body-size", 10L * 1024 * 1024);
    if (maxBodySize <= 0 || maxBodySize > 1L << 30) {
      v.problem("fairshare.max-body-size", "must be positive and at most 1GB");
    }
    Duration retryMaxWait = v.duration("fairshare.client-retry-max-wait", Duration.ofSeconds(5));

    List<String> paths = DEFAULT_PATHS;
    Optional<String> pathsText = v.string("fairshare.paths");
    if (pathsText.isPresent()) {
      paths = new ArrayList<>();
      for (String p : pathsText.get().split(",")) {
        String path = p.trim();
        if (path.isEmpty()) {
          continue;
        }
        if (!path.startsWith("/")) {
          v.problem("fairshare.paths", "'" + path + "' must start with /");
        } else if (!path.matches("(/[A-Za-z0-9._~-]+)+")) {
          v.problem("fairshare.paths", "'" + path + "' must be a plain path (letters, digits, '.', '_', '~', '-' between"
              + " slashes; no wildcards)");
        }
        paths.add(path);
      }
    }

    String unknownModels = v.string("fairshare.unknown-models", "reject").toLowerCase(Locale.ROOT);
    if (!unknownModels.equals("allow") && !unknownModels.equals("reject")) {
      v.problem("fairshare.unknown-models", "'" + unknownModels + "' is not one of: allow, reject");
    }

    for (Map.Entry<String, String> alias : aliases.entrySet()) {
      if (models.containsKey(alias.getKey())) {
        v.problem("fairshare.models." + alias.getValue() + ".aliases",
            "'" + alias.getKey() + "' is a configured model of its own, not an alias");
      } else if (!models.containsKey(alias.getValue())) {
        v.problem("fairshare.models." + alias.getValue() + ".aliases",
            "model '" + alias.getValue() + "' has aliases but neither .tpm nor .rpm");
      }
    }
    RequestBounds requestBounds = RequestBounds.read(v, aliases);

    v.throwIfProblems();
    return new FairShareConfig(
        masterKey,
        models,
        engine,
        priorities,
        defaultWeight,
        tokenCount,
        completionReserve,
        store,
        redisUri,
        failureMode,
        redisTimeout,
        redisKeyPrefix,
        jdbcUrl,
        jdbcUser,
        jdbcPassword,
        dataSource,
        keyCacheTtl,
        maxBodySize,
        retryMaxWait,
        paths,
        unknownModels.equals("reject"),
        encodings,
        requestBounds);
  }

  /** Same configuration with another master key (the gateway generates one when none is set). */
  public FairShareConfig withMasterKey(String key) {
    return new FairShareConfig(
        Optional.of(key), models, engine, priorities, defaultPriorityWeight, tokenCount,
        completionReserve, store, redisUri, redisFailureMode, redisTimeout, redisKeyPrefix, keysJdbcUrl, keysJdbcUser,
        keysJdbcPassword, keysDataSource, keyCacheTtl, maxBodySize, clientRetryMaxWait, paths,
        rejectUnknownModels, encodings, bounds);
  }

  /** Same configuration with another model table. */
  public FairShareConfig withModels(Map<String, ModelCapacity> newModels) {
    return new FairShareConfig(
        masterKey, newModels, engine, priorities, defaultPriorityWeight, tokenCount,
        completionReserve, store, redisUri, redisFailureMode, redisTimeout, redisKeyPrefix, keysJdbcUrl, keysJdbcUser,
        keysJdbcPassword, keysDataSource, keyCacheTtl, maxBodySize, clientRetryMaxWait, paths,
        rejectUnknownModels, encodings, bounds);
  }

  /** Why an environment variable of a model or priority that fairshare.*-names does not list is refused. */
  private static Optional<String> unlistedEnvironmentProblem(String name) {
    if (ENV_MODEL_KEY.matcher(name).matches()) {
      return Optional.of("a model's limit in an environment variable needs the model's name in fairshare.model-names"
          + " (FAIRSHARE_MODEL_NAMES=gpt-4o,...): '-' and '.' cannot be read back from the variable's name");
    }
    if (ENV_PRIORITY_KEY.matcher(name).matches() && !name.equals("FAIRSHARE_PRIORITY_NAMES")) {
      return Optional.of("a priority in an environment variable needs its name in fairshare.priority-names"
          + " (FAIRSHARE_PRIORITY_NAMES=prod,...)");
    }
    return Optional.empty();
  }

  private static Optional<String> readMasterKeyFile(String file, ConfigValues v) {
    try {
      String key = java.nio.file.Files.readString(java.nio.file.Path.of(file)).trim();
      if (key.isEmpty()) {
        v.problem("fairshare.master-key-file", "file " + file + " is empty");
        return Optional.empty();
      }
      return Optional.of(key);
    } catch (java.io.IOException | RuntimeException e) {
      v.problem("fairshare.master-key-file", "cannot read " + file + " (" + e.getClass().getSimpleName() + ")");
      return Optional.empty();
    }
  }

  @Override
  public String toString() {
    // Never print the master key.
    return "FairShareConfig[models=" + models + ", engine=" + engine + ", store=" + store
        + ", tokenCount=" + tokenCount + ", paths=" + paths + ", masterKey="
        + (masterKey.isPresent() ? "<set>" : "<none>") + "]";
  }
}
