package dev.fairshare.config;

import dev.fairshare.core.ModelCapacity;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Limits set at run time ({@code POST /config/models}), over the configuration's: a model's tokens
 * or requests per window ({@code fairshare.models.<m>.tpm} / {@code .rpm}), a priority's weight
 * ({@code fairshare.priority.<p>}) and the saturation threshold ({@code
 * fairshare.saturation-threshold}). Stored in the key database under those names, so every instance
 * and a restart see them; a model set here that the configuration does not name becomes a
 * configured model.
 *
 * @param settings values by configuration key name: a whole number, {@code unlimited}, or a weight
 */
public record RuntimeLimits(Map<String, String> settings) {

  private static final Logger LOG = Logger.getLogger(RuntimeLimits.class.getName());

  private static final Pattern MODEL = Pattern.compile("fairshare\\.models\\.(.+)\\.(tpm|rpm)");
  private static final Pattern PRICE =
      Pattern.compile("fairshare\\.models\\.(.+)\\.(input|output)-cost-per-token");
  private static final Pattern PRIORITY = Pattern.compile("fairshare\\.priority\\.(.+)");

  /** The key name of the saturation threshold. */
  public static final String THRESHOLD = "fairshare.saturation-threshold";

  /** A saturation threshold: above 0 and at most 1; null otherwise. */
  public static Double threshold(String text) {
    try {
      double value = Double.parseDouble(text);
      return value > 0 && value <= 1 ? value : null;
    } catch (NumberFormatException | NullPointerException e) {
      return null;
    }
  }

  /** The largest capacity accepted: far above any model's, far below overflow. */
  public static final long MAX_CAPACITY = 1_000_000_000_000_000L;

  /** The largest priority weight accepted ({@code fairshare.priority.<p>}'s bound). */
  public static final double MAX_WEIGHT = 1_000_000.0;

  /** The longest model or priority name accepted. */
  public static final int MAX_NAME = 255;

  public static final RuntimeLimits NONE = new RuntimeLimits(Map.of());

  public RuntimeLimits {
    settings = Map.copyOf(new TreeMap<>(settings));
  }

  /** The key name of a model's tokens ({@code tpm}) or requests ({@code rpm}) per window. */
  public static String modelKey(String model, String dimension) {
    return "fairshare.models." + model + "." + dimension;
  }

  /** The key name of a model's price per {@code input} or {@code output} token. */
  public static String priceKey(String model, String kind) {
    return "fairshare.models." + model + "." + kind + "-cost-per-token";
  }

  /** The key name of a priority's weight. */
  public static String priorityKey(String priority) {
    return "fairshare.priority." + priority;
  }

  /**
   * A capacity value: a whole number from 0 to {@link #MAX_CAPACITY} or {@code unlimited}; null
   * when it is neither.
   */
  public static Long capacity(String text) {
    if ("unlimited".equals(text)) {
      return ModelCapacity.UNLIMITED;
    }
    if (text == null || !text.matches("\\d{1,19}")) {
      return null;
    }
    try {
      long value = Long.parseLong(text);
      return value <= MAX_CAPACITY ? value : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /**
   * The smallest priority weight accepted (smaller ones make shares of nothing, and infinities).
   */
  public static final double MIN_WEIGHT = 1e-6;

  /** A weight: a number from {@link #MIN_WEIGHT} to {@link #MAX_WEIGHT}; null otherwise. */
  public static Double weight(String text) {
    try {
      double value = Double.parseDouble(text);
      return value >= MIN_WEIGHT && value <= MAX_WEIGHT ? value : null;
    } catch (NumberFormatException | NullPointerException e) {
      return null;
    }
  }

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._:/@+-]{1,255}");

  /**
   * A model or priority name that may be stored: 1–255 of letters, digits and {@code . _ : / @ + -}
   * (every model name in use: {@code gpt-4o}, {@code openai/gpt-4o}, {@code
   * claude-3-5-sonnet@20240620}), not FairShare's own {@code fairshare:} names.
   */
  public static boolean validName(String name) {
    return name != null && NAME.matcher(name).matches() && !name.startsWith("fairshare:");
  }

  /**
   * {@code base} with these limits over it. A stored value that does not parse (written by hand) is
   * skipped and logged: the configured value stands.
   */
  public FairShareConfig applyTo(FairShareConfig base) {
    Map<String, ModelCapacity> capacities = new HashMap<>(base.models().capacities());
    Map<String, Double> weights = new HashMap<>(base.priorities().weights());
    Map<String, ModelPrice> prices = new HashMap<>(base.models().prices());
    FairShareConfig config = base;
    for (Map.Entry<String, String> e : settings.entrySet()) {
      Matcher model = MODEL.matcher(e.getKey());
      Matcher priority = PRIORITY.matcher(e.getKey());
      Matcher price = PRICE.matcher(e.getKey());
      Double perToken = ModelPrice.perToken(e.getValue());
      Double threshold = threshold(e.getValue());
      Long capacity = capacity(e.getValue());
      Double weight = weight(e.getValue());
      if (e.getKey().equals(THRESHOLD) && threshold != null) {
        config = config.withSaturationThreshold(threshold);
      } else if (model.matches() && validName(model.group(1)) && capacity != null) {
        long value = capacity;
        ModelCapacity was = capacities.getOrDefault(model.group(1), ModelCapacity.UNLIMITED_MODEL);
        capacities.put(
            model.group(1),
            model.group(2).equals("tpm")
                ? new ModelCapacity(value, was.requests())
                : new ModelCapacity(was.tokens(), value));
      } else if (price.matches() && validName(price.group(1)) && perToken != null) {
        prices.put(
            price.group(1),
            prices
                .getOrDefault(price.group(1), ModelPrice.FREE)
                .with(price.group(2).equals("input"), perToken));
      } else if (priority.matches() && validName(priority.group(1)) && weight != null) {
        weights.put(priority.group(1), weight);
      } else {
        LOG.warning(
            "FairShare: the run-time limit "
                + e.getKey()
                + "="
                + e.getValue()
                + " is not valid;"
                + " the configured value stands");
      }
    }
    return config
        .withModels(capacities)
        .withPrices(prices)
        .withPriorities(new Priorities(weights, base.priorities().defaultWeight()));
  }
}
