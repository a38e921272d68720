package dev.fairshare.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads typed values from a flat string source, collecting every problem instead of stopping at the
 * first, each message naming its key.
 */
public final class ConfigValues {

  private static final Pattern DURATION =
      Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?", Pattern.CASE_INSENSITIVE);
  private static final Pattern SIZE =
      Pattern.compile("(\\d+)\\s*(b|kb|k|mb|m|gb|g|kib|mib|gib)?", Pattern.CASE_INSENSITIVE);

  private final Function<String, Optional<String>> source;
  private final List<String> problems = new ArrayList<>();

  public ConfigValues(Function<String, Optional<String>> source) {
    this.source = source;
  }

  /** Problems found so far. */
  public List<String> problems() {
    return problems;
  }

  /** Records a problem for {@code key}. */
  public void problem(String key, String message) {
    problems.add(key + ": " + message);
  }

  /** Throws a {@link ConfigurationException} if any problem was recorded. */
  public void throwIfProblems() {
    if (!problems.isEmpty()) {
      throw new ConfigurationException(problems);
    }
  }

  /**
   * One of {@code type}'s constants, named in configuration in lower case with '-' for '_' ({@code
   * litellm-v1} for {@code LITELLM_V1}); a problem naming the accepted values otherwise.
   */
  public <E extends Enum<E>> E choice(String key, Class<E> type, E defaultValue) {
    Optional<String> text = string(key);
    if (text.isEmpty()) {
      return defaultValue;
    }
    String wanted = text.get().trim();
    List<String> accepted = new ArrayList<>();
    for (E constant : type.getEnumConstants()) {
      String name = configName(constant);
      if (name.equalsIgnoreCase(wanted)) {
        return constant;
      }
      accepted.add(name);
    }
    problem(key, "'" + wanted + "' is not one of: " + String.join(", ", accepted));
    return defaultValue;
  }

  /** How {@link #choice} names {@code constant} in configuration. */
  public static String configName(Enum<?> constant) {
    return constant.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** A comma-separated list of names under {@code key}, trimmed, blanks dropped. */
  public List<String> names(String key) {
    List<String> names = new java.util.ArrayList<>();
    for (String name : string(key, "").split(",")) {
      if (!name.isBlank()) {
        names.add(name.trim());
      }
    }
    return names;
  }

  /** The environment variable MicroProfile Config reads for {@code key}. */
  public static String envName(String key) {
    return key.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(java.util.Locale.ROOT);
  }

  /**
   * The keys to read for a family of named settings (models, priorities): {@code listedKeys}, built
   * from names the configuration lists and looked up by name (which MicroProfile Config maps to
   * environment variables), then {@code propertyNames} without SmallRye's dotted guesses at
   * environment variables' property names (it lists FAIRSHARE_MODELS_GPT_4O_TPM also as
   * fairshare.models.gpt.4o.tpm: a name that cannot be trusted to carry the model's real name). An
   * environment variable for which {@code unlistedProblem} has a message and that no listed key
   * maps to is recorded as a problem: its name cannot be read back.
   */
  public java.util.Set<String> keysToRead(
      java.util.Collection<String> listedKeys,
      List<String> propertyNames,
      java.util.function.Function<String, Optional<String>> unlistedProblem) {
    java.util.Set<String> listedEnvNames = new java.util.HashSet<>();
    listedKeys.forEach(k -> listedEnvNames.add(envName(k)));
    java.util.Set<String> all = new java.util.HashSet<>(propertyNames);
    java.util.Set<String> keys = new java.util.LinkedHashSet<>(listedKeys);
    for (String name : propertyNames) {
      String env = envName(name);
      if (env.equals(name) || !all.contains(env)) {
        keys.add(name);
      }
      if (!listedEnvNames.contains(name)) {
        unlistedProblem.apply(name).ifPresent(message -> problem(name, message));
      }
    }
    return keys;
  }

  public Optional<String> string(String key) {
    return source.apply(key).map(String::trim).filter(s -> !s.isEmpty());
  }

  public String string(String key, String defaultValue) {
    return string(key).orElse(defaultValue);
  }

  /** {@code true} or {@code false} (any case); anything else is a problem. */
  public boolean bool(String key, boolean defaultValue) {
    Optional<String> raw = string(key);
    if (raw.isEmpty()) {
      return defaultValue;
    }
    if (raw.get().equalsIgnoreCase("true")) {
      return true;
    }
    if (raw.get().equalsIgnoreCase("false")) {
      return false;
    }
    problem(key, "'" + raw.get() + "' is not true or false");
    return defaultValue;
  }

  public long longValue(String key, long defaultValue, long min) {
    Optional<String> raw = string(key);
    if (raw.isEmpty()) {
      return defaultValue;
    }
    try {
      long value = Long.parseLong(raw.get().replace("_", ""));
      if (value < min) {
        problem(key, "must be at least " + min + ", was " + value);
        return defaultValue;
      }
      return value;
    } catch (NumberFormatException e) {
      problem(key, "'" + raw.get() + "' is not a whole number");
      return defaultValue;
    }
  }

  public double doubleValue(String key, double defaultValue, double minExclusive, double max) {
    Optional<String> raw = string(key);
    if (raw.isEmpty()) {
      return defaultValue;
    }
    try {
      double value = Double.parseDouble(raw.get());
      if (!(value > minExclusive && value <= max)) {
        problem(
            key, "must be greater than " + minExclusive + " and at most " + max + ", was " + value);
        return defaultValue;
      }
      return value;
    } catch (NumberFormatException e) {
      problem(key, "'" + raw.get() + "' is not a number");
      return defaultValue;
    }
  }

  /** A duration such as {@code 60s}, {@code 500ms}, {@code 1m}, or ISO-8601 {@code PT60S}. */
  public Duration duration(String key, Duration defaultValue) {
    Optional<String> raw = string(key);
    if (raw.isEmpty()) {
      return defaultValue;
    }
    Optional<Duration> parsed = parseDuration(raw.get());
    if (parsed.isEmpty() || parsed.get().isNegative()) {
      problem(key, "'" + raw.get() + "' is not a duration (examples: 60s, 500ms, 1m, PT60S)");
      return defaultValue;
    }
    return parsed.get();
  }

  /** A byte size such as {@code 10MB}, {@code 512KB} or a plain number of bytes. */
  public long size(String key, long defaultValue) {
    Optional<String> raw = string(key);
    if (raw.isEmpty()) {
      return defaultValue;
    }
    Matcher m = SIZE.matcher(raw.get());
    if (!m.matches()) {
      problem(key, "'" + raw.get() + "' is not a size (examples: 10MB, 512KB, 1048576)");
      return defaultValue;
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
    long factor =
        switch (unit) {
          case "kb", "k", "kib" -> 1024L;
          case "mb", "m", "mib" -> 1024L * 1024;
          case "gb", "g", "gib" -> 1024L * 1024 * 1024;
          default -> 1L;
        };
    return n * factor;
  }

  /** Parses the duration syntaxes accepted by {@link #duration}. */
  public static Optional<Duration> parseDuration(String text) {
    String t = text.trim();
    if (t.regionMatches(true, 0, "P", 0, 1)) {
      try {
        return Optional.of(Duration.parse(t.toUpperCase(Locale.ROOT)));
      } catch (RuntimeException e) {
        return Optional.empty();
      }
    }
    Matcher m = DURATION.matcher(t);
    if (!m.matches()) {
      return Optional.empty();
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2).toLowerCase(Locale.ROOT);
    return Optional.of(
        switch (unit) {
          case "ms" -> Duration.ofMillis(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          case "d" -> Duration.ofDays(n);
          default -> Duration.ofSeconds(n);
        });
  }
}
