package dev.fairshare.gateway;

import dev.fairshare.config.ConfigValues;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gateway's own settings ({@code fairshare.gateway.*}).
 *
 * @param port HTTP port; 0 picks a free one (tests)
 * @param host interface to bind; {@code 0.0.0.0} by default
 * @param upstream base URL of a real OpenAI-compatible server, or empty for the mock model
 * @param mocks mock behaviour per model; models not listed answer as {@link MockModel#DEFAULT}
 * @param upstreamApiKey the key sent to the upstream, or empty
 * @param connections how the connector treats slow and idle clients
 */
public record GatewaySettings(
    int port,
    String host,
    Optional<String> upstream,
    Map<String, MockModel> mocks,
    Optional<String> upstreamApiKey,
    ConnectionLimits connections) {

  /**
   * What the connector allows a client before it drops the connection.
   *
   * @param idleTimeout longest silence on a connection ({@code fairshare.gateway.idle-timeout},
   *     default 120 s: a model may think a long time before its first byte)
   * @param minRequestDataRate bytes per second a request body must at least be read at ({@code
   *     fairshare.gateway.min-request-data-rate}, default 0: off). Jetty measures the bytes the
   *     application has read since the request began, not those that arrived: on a busy server a
   *     well-behaved client's small body, read a few milliseconds late, fails with 408 (a 2-byte
   *     {@code /key/generate} did, under a 32-client burst). Callers without a key never have their
   *     body read; a key holder's slow body holds a thread until the idle timeout
   */
  public record ConnectionLimits(Duration idleTimeout, long minRequestDataRate) {

    /** The defaults. */
    public static final ConnectionLimits DEFAULTS =
        new ConnectionLimits(Duration.ofSeconds(120), 0);
  }

  /** The model the gateway limits to 60 TPM when nothing is configured. */
  public static final String DEFAULT_MODEL = "my-fake-model";

  private static final List<String> MOCK_SETTINGS =
      List.of(
          "prompt-tokens",
          "completion-tokens",
          "content",
          "chunk-delay",
          "latency",
          "stream-usage",
          "status",
          "async");
  private static final Pattern MOCK_KEY =
      Pattern.compile(
          "fairshare\\.gateway\\.mock\\.\"?(.+?)\"?\\.(" + String.join("|", MOCK_SETTINGS) + ")");

  public GatewaySettings {
    mocks = Map.copyOf(mocks);
  }

  /** Settings for a mock-only gateway. */
  public GatewaySettings(
      int port, String host, Optional<String> upstream, Map<String, MockModel> mocks) {
    this(port, host, upstream, mocks, Optional.empty(), ConnectionLimits.DEFAULTS);
  }

  @Override
  public String toString() {
    // Never print the upstream key.
    return "GatewaySettings[port=" + port + ", host=" + host + ", upstream=" + upstream + "]";
  }

  /** The mock for {@code model}. */
  public MockModel mockFor(String model) {
    return mocks.getOrDefault(model, MockModel.DEFAULT);
  }

  /** Reads the settings, recording problems in {@code values}. */
  static GatewaySettings read(ConfigValues values, List<String> propertyNames) {
    int port = (int) values.longValue("fairshare.gateway.port", 4000, 0);
    if (port > 65535) {
      values.problem("fairshare.gateway.port", "must be at most 65535, was " + port);
    }
    // Loopback unless told otherwise: the admin API answers on the same port
    String host = values.string("fairshare.gateway.host", "127.0.0.1");
    Optional<String> upstream = values.string("fairshare.gateway.upstream");
    if (upstream.isPresent()) {
      try {
        java.net.URI uri = java.net.URI.create(upstream.get());
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())
            || uri.getHost() == null) {
          values.problem(
              "fairshare.gateway.upstream", "'" + upstream.get() + "' is not an http(s) URL");
        }
      } catch (IllegalArgumentException e) {
        values.problem("fairshare.gateway.upstream", "'" + upstream.get() + "' is not a URL");
      }
    }
    Optional<String> upstreamApiKey = values.string("fairshare.gateway.upstream-api-key");
    Map<String, Map<String, String>> raw = new HashMap<>();
    // Models named in fairshare.model-names are looked up by name (environment variables).
    List<String> listed = new java.util.ArrayList<>();
    for (String model : values.names("fairshare.model-names")) {
      for (String setting : MOCK_SETTINGS) {
        listed.add("fairshare.gateway.mock." + model + "." + setting);
      }
    }
    java.util.Set<String> names =
        values.keysToRead(
            listed,
            propertyNames,
            name ->
                name.startsWith("FAIRSHARE_GATEWAY_MOCK_")
                    ? Optional.of(
                        "a mock setting in an environment variable needs the model's name in"
                            + " fairshare.model-names (FAIRSHARE_MODEL_NAMES=my-model,...)")
                    : Optional.empty());
    for (String name : names) {
      Matcher m = MOCK_KEY.matcher(name);
      if (m.matches()) {
        values
            .string(name)
            .ifPresent(
                v -> raw.computeIfAbsent(m.group(1), k -> new HashMap<>()).put(m.group(2), v));
      }
    }
    Map<String, MockModel> mocks = new HashMap<>();
    for (Map.Entry<String, Map<String, String>> e : raw.entrySet()) {
      String prefix = "fairshare.gateway.mock." + e.getKey() + ".";
      Function<String, Optional<String>> local =
          k -> Optional.ofNullable(e.getValue().get(k.substring(prefix.length())));
      ConfigValues mock = new ConfigValues(local);
      MockModel d = MockModel.DEFAULT;
      MockModel model =
          new MockModel(
              mock.longValue(prefix + "prompt-tokens", d.promptTokens(), 0),
              mock.longValue(prefix + "completion-tokens", d.completionTokens(), 0),
              mock.string(prefix + "content", d.content()),
              mock.duration(prefix + "chunk-delay", Duration.ZERO),
              mock.duration(prefix + "latency", Duration.ZERO),
              !"false".equalsIgnoreCase(mock.string(prefix + "stream-usage", "true")),
              (int) mock.longValue(prefix + "status", 200, 100),
              "true".equalsIgnoreCase(mock.string(prefix + "async", "false")));
      mock.problems().forEach(p -> values.problems().add(p));
      mocks.put(e.getKey(), model);
    }
    Duration idle =
        values.duration("fairshare.gateway.idle-timeout", ConnectionLimits.DEFAULTS.idleTimeout());
    if (idle.isZero()) {
      values.problem("fairshare.gateway.idle-timeout", "must be positive");
    }
    long minRate =
        values.size(
            "fairshare.gateway.min-request-data-rate",
            ConnectionLimits.DEFAULTS.minRequestDataRate());
    return new GatewaySettings(
        port, host, upstream, mocks, upstreamApiKey, new ConnectionLimits(idle, minRate));
  }
}
