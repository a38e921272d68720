package dev.fairshare.config;

import dev.fairshare.core.ModelCapacity;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The models FairShare knows ({@code fairshare.models.<model>.*}) and what it does with the others.
 *
 * @param capacities capacity per model name
 * @param aliases configured model per alias ({@code fairshare.models.<m>.aliases})
 * @param encodings tokenizer encoding per model, where the model name does not tell ({@code
 *     fairshare.models.<model>.encoding}: o200k_base, cl100k_base, p50k_base, r50k_base)
 * @param unknownModels what a request for a model without capacity gets
 * @param prices what each model's tokens cost, where configured
 */
public record ModelTable(
    Map<String, ModelCapacity> capacities,
    Map<String, String> aliases,
    Map<String, String> encodings,
    UnknownModels unknownModels,
    Map<String, ModelPrice> prices) {

  private static final Pattern LIMIT_KEY =
      Pattern.compile("fairshare\\.models\\.\"?(.+?)\"?\\.(tpm|rpm)");
  private static final Pattern ALIASES_KEY =
      Pattern.compile("fairshare\\.models\\.\"?(.+?)\"?\\.aliases");
  private static final Pattern PRICE_KEY =
      Pattern.compile("fairshare\\.models\\.\"?(.+?)\"?\\.(input|output)-cost-per-token");
  private static final Pattern ENCODING_KEY =
      Pattern.compile("fairshare\\.models\\.\"?(.+?)\"?\\.encoding");
  private static final List<String> ENCODINGS =
      List.of("o200k_base", "cl100k_base", "p50k_base", "r50k_base");

  /** The keys a model listed in {@code fairshare.model-names} may have. */
  static final List<String> SUFFIXES =
      List.of("tpm", "rpm", "encoding", "aliases", "input-cost-per-token", "output-cost-per-token");

  public ModelTable {
    capacities = Map.copyOf(capacities);
    aliases = Map.copyOf(aliases);
    encodings = Map.copyOf(encodings);
    prices = Map.copyOf(prices);
  }

  /** What {@code model}'s tokens cost; {@link ModelPrice#FREE} when no price is configured. */
  public ModelPrice priceOf(String model) {
    return prices.getOrDefault(model, ModelPrice.FREE);
  }

  /** The capacity of {@code model}, or null when it is not configured. */
  public ModelCapacity capacityOf(String model) {
    return capacities.get(model);
  }

  /**
   * The configured model a client's {@code model} names: trimmed, then matched exactly, or through
   * an alias; the trimmed name itself when nothing matches.
   */
  public String resolve(String requested) {
    String name = requested.strip();
    return aliases.getOrDefault(name, name);
  }

  /** This table with other capacities. */
  public ModelTable withCapacities(Map<String, ModelCapacity> newCapacities) {
    return new ModelTable(newCapacities, aliases, encodings, unknownModels, prices);
  }

  /** This table with other prices. */
  public ModelTable withPrices(Map<String, ModelPrice> newPrices) {
    return new ModelTable(capacities, aliases, encodings, unknownModels, newPrices);
  }

  /**
   * Reads the models' keys among {@code keys}.
   *
   * @param listedKeys the keys of the models in {@code fairshare.model-names}, which may be empty
   * @param modelNames the models {@code fairshare.model-names} lists
   */
  static ModelTable read(
      ConfigValues v, Set<String> keys, Set<String> listedKeys, List<String> modelNames) {
    Map<String, Long> tpm = new TreeMap<>();
    Map<String, Long> rpm = new TreeMap<>();
    Map<String, String> encodings = new TreeMap<>();
    Map<String, String> aliases = new TreeMap<>();
    Map<String, ModelPrice> prices = new TreeMap<>();
    for (String name : keys) {
      Matcher price = PRICE_KEY.matcher(name);
      if (price.matches()) {
        String text = v.string(name, "").strip();
        Double value = ModelPrice.perToken(text);
        if (text.isEmpty() && listedKeys.contains(name)) {
          continue; // a listed model may have no price
        }
        if (value == null) {
          v.problem(name, "must be a price in USD per token from 0 to " + ModelPrice.MAX_PER_TOKEN);
        } else {
          prices.put(
              price.group(1),
              prices
                  .getOrDefault(price.group(1), ModelPrice.FREE)
                  .with(price.group(2).equals("input"), value));
        }
        continue;
      }
      Matcher alias = ALIASES_KEY.matcher(name);
      Matcher encoding = ENCODING_KEY.matcher(name);
      Matcher limit = LIMIT_KEY.matcher(name);
      if (alias.matches()) {
        readAliases(v, name, alias.group(1), aliases);
      } else if (encoding.matches()) {
        String value = v.string(name, "").toLowerCase(Locale.ROOT);
        if (ENCODINGS.contains(value)) {
          encodings.put(encoding.group(1), value);
        } else if (!value.isEmpty() || !listedKeys.contains(name)) { // a listed model may have none
          v.problem(name, "'" + value + "' is not one of: " + String.join(", ", ENCODINGS));
        }
      } else if (limit.matches()) {
        long value = v.longValue(name, -1, 0);
        if (value >= 0) {
          (limit.group(2).equals("tpm") ? tpm : rpm).put(limit.group(1), value);
        }
      }
    }
    Set<String> configured = new TreeSet<>(tpm.keySet());
    configured.addAll(rpm.keySet());
    for (String model : modelNames) {
      if (!configured.contains(model)) {
        v.problem(
            "fairshare.model-names",
            "'"
                + model
                + "' has neither fairshare.models."
                + model
                + ".tpm nor .rpm (environment: "
                + ConfigValues.envName("fairshare.models." + model + ".tpm")
                + ")");
      }
    }
    Map<String, ModelCapacity> capacities = new TreeMap<>();
    for (String model : configured) {
      capacities.put(
          model,
          new ModelCapacity(
              tpm.getOrDefault(model, ModelCapacity.UNLIMITED),
              rpm.getOrDefault(model, ModelCapacity.UNLIMITED)));
    }
    for (Map.Entry<String, String> alias : aliases.entrySet()) {
      String key = "fairshare.models." + alias.getValue() + ".aliases";
      if (capacities.containsKey(alias.getKey())) {
        v.problem(key, "'" + alias.getKey() + "' is a configured model of its own, not an alias");
      } else if (!capacities.containsKey(alias.getValue())) {
        v.problem(key, "model '" + alias.getValue() + "' has aliases but neither .tpm nor .rpm");
      }
    }
    UnknownModels unknown =
        v.choice("fairshare.unknown-models", UnknownModels.class, UnknownModels.REJECT);
    return new ModelTable(capacities, aliases, encodings, unknown, prices);
  }

  private static void readAliases(
      ConfigValues v, String key, String model, Map<String, String> aliases) {
    for (String a : v.string(key, "").split(",")) {
      String trimmed = a.strip();
      if (trimmed.isEmpty()) {
        continue;
      }
      String earlier = aliases.put(trimmed, model);
      if (earlier != null && !earlier.equals(model)) {
        v.problem(key, "alias '" + trimmed + "' also names model '" + earlier + "'");
      }
    }
  }
}
