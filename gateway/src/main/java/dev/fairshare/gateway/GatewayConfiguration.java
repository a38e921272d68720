package dev.fairshare.gateway;

import dev.fairshare.config.ConfigValues;
import dev.fairshare.config.ConfigurationException;
import dev.fairshare.config.FairShareConfig;
import dev.fairshare.core.ModelCapacity;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.eclipse.microprofile.config.Config;

/**
 * The gateway's whole configuration: FairShare's and the gateway's own, read together so that every
 * problem of both is reported at once.
 *
 * @param fairShare the filter's configuration (with the mock model's default capacity added)
 * @param gateway port, upstream and mock settings
 */
public record GatewayConfiguration(FairShareConfig fairShare, GatewaySettings gateway) {

  /** Reads from MicroProfile Config. */
  /** The shortest master key the gateway accepts on an address other than loopback. */
  static final int MIN_NETWORK_MASTER_KEY_LENGTH = 20;

  /** Whether {@code host} is a loopback address or name (nothing else can reach it). */
  static boolean isLoopback(String host) {
    String h = host.strip().toLowerCase(java.util.Locale.ROOT);
    return h.equals("localhost")
        || h.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}")
        || h.equals("::1")
        || h.equals("[::1]")
        || h.equals("0:0:0:0:0:0:0:1");
  }

  public static GatewayConfiguration read(Config config) {
    return read(key -> config.getOptionalValue(key, String.class), config.getPropertyNames());
  }

  /**
   * Reads from a flat source.
   *
   * @throws ConfigurationException listing every problem
   */
  public static GatewayConfiguration read(
      Function<String, Optional<String>> lookup, Iterable<String> propertyNamesSource) {
    // Some sources' name iterables can be walked once only: copy.
    List<String> propertyNames = new ArrayList<>();
    propertyNamesSource.forEach(propertyNames::add);
    List<String> problems = new ArrayList<>();
    FairShareConfig fairShare = null;
    try {
      fairShare = FairShareConfig.read(lookup, propertyNames);
    } catch (ConfigurationException e) {
      problems.addAll(e.problems());
    }
    ConfigValues values = new ConfigValues(lookup);
    GatewaySettings gateway = GatewaySettings.read(values, propertyNames);
    problems.addAll(values.problems());
    if (!problems.isEmpty()) {
      throw new ConfigurationException(problems);
    }
    if (!isLoopback(gateway.host())
        && fairShare.masterKey().isPresent()
        && fairShare.masterKey().get().length() < MIN_NETWORK_MASTER_KEY_LENGTH) {
      // The admin API (mint, list, delete keys) answers anyone who can guess it
      throw new ConfigurationException(
          List.of(
              "fairshare.master-key: a master key of "
                  + fairShare.masterKey().get().length()
                  + " characters is guessable, and fairshare.gateway.host="
                  + gateway.host()
                  + " answers on the network: use at least "
                  + MIN_NETWORK_MASTER_KEY_LENGTH
                  + " random characters (or leave it unset to have one generated), or bind to"
                  + " 127.0.0.1"));
    }
    if (gateway.upstream().isEmpty()
        && fairShare.capacityOf(GatewaySettings.DEFAULT_MODEL) == null) {
      // The reference scenario works with no configuration at all: the mock model has 60 TPM.
      Map<String, ModelCapacity> models = new HashMap<>(fairShare.models().capacities());
      models.put(GatewaySettings.DEFAULT_MODEL, new ModelCapacity(60, ModelCapacity.UNLIMITED));
      fairShare = fairShare.withModels(models);
    }
    return new GatewayConfiguration(fairShare, gateway);
  }
}
