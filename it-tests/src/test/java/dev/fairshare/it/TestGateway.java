package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Clock;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.UsageSnapshot;
import dev.fairshare.gateway.FairShareGateway;
import dev.fairshare.gateway.GatewayConfiguration;
import dev.fairshare.keys.KeyHashing;
import dev.fairshare.store.MemoryUsageStore;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** A real gateway on a free port, with its key database in a temporary folder. */
final class TestGateway implements AutoCloseable {

  static final String MASTER_KEY = "sk-1234";
  static final ObjectMapper JSON = new ObjectMapper();

  final FairShareGateway gateway;
  final HttpClient http = HttpClient.newHttpClient();

  private TestGateway(FairShareGateway gateway) {
    this.gateway = gateway;
  }

  /**
   * Starts a gateway with the master key, an H2 file under {@code dir}, and {@code extra}
   * properties.
   */
  static TestGateway start(Path dir, Clock clock, Map<String, String> extra) throws Exception {
    Map<String, String> props = new HashMap<>();
    props.put("fairshare.master-key", MASTER_KEY);
    props.put("fairshare.keys.jdbc-url", "jdbc:h2:file:" + dir.resolve("keys").toAbsolutePath());
    props.put("fairshare.gateway.port", "0");
    props.put("fairshare.gateway.host", "127.0.0.1");
    props.putAll(extra);
    GatewayConfiguration configuration =
        GatewayConfiguration.read(k -> Optional.ofNullable(props.get(k)), props.keySet());
    return new TestGateway(FairShareGateway.start(configuration, clock));
  }

  /**
   * As {@link #start}, reading the configuration again from {@code live} (which the test may
   * change) every {@code fairshare.config-refresh}.
   */
  static TestGateway startRereading(Path dir, Clock clock, Map<String, String> live)
      throws Exception {
    live.put("fairshare.master-key", MASTER_KEY);
    live.put("fairshare.keys.jdbc-url", "jdbc:h2:file:" + dir.resolve("keys").toAbsolutePath());
    live.put("fairshare.gateway.port", "0");
    live.put("fairshare.gateway.host", "127.0.0.1");
    java.util.function.Supplier<GatewayConfiguration> read =
        () -> {
          Map<String, String> now = new HashMap<>(live);
          return GatewayConfiguration.read(k -> Optional.ofNullable(now.get(k)), now.keySet());
        };
    return new TestGateway(FairShareGateway.start(read.get(), clock, read));
  }

  URI base() {
    return gateway.baseUri();
  }

  /** The official OpenAI Java client (default settings, retries on) for {@code key}, here. */
  OpenAIClient client(String key) {
    return OpenAIOkHttpClient.builder().apiKey(key).baseUrl(base().toString()).build();
  }

  /** Mints a key through {@code POST /key/generate} with the master key; returns the raw key. */
  String mintKey(String body) throws IOException, InterruptedException {
    HttpResponse<String> response = post("/key/generate", body, MASTER_KEY);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    String key = JSON.readTree(response.body()).get("key").asText();
    assertThat(key).startsWith("sk-").hasSize(25);
    return key;
  }

  HttpResponse<String> post(String path, String body, String bearer)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(base().resolve(path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * The key's standing on {@code model} in this gateway's memory store, without admitting anything.
   */
  UsageSnapshot standing(String rawKey, String model, ModelCapacity capacity) {
    MemoryUsageStore store = (MemoryUsageStore) gateway.fairShare().usageStore();
    AdmissionRequest probe =
        new AdmissionRequest(KeyHashing.sha256(rawKey), model, capacity, 1.0, 0, KeyLimits.NONE);
    return store.peek(probe, gateway.fairShare().clock().millis());
  }

  /** What {@code fairShare} reserves for the chat completion {@code body} (its estimate). */
  static long reservation(dev.fairshare.FairShare fairShare, String body)
      throws dev.fairshare.openai.InvalidRequestException {
    dev.fairshare.openai.TokenEstimator estimator = fairShare.estimator();
    return estimator.reservation(
        estimator.estimate(
            dev.fairshare.openai.RequestReader.read(
                body.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
            dev.fairshare.openai.Endpoint.CHAT_COMPLETIONS));
  }

  static JsonNode error(HttpResponse<String> response) throws IOException {
    JsonNode root = JSON.readTree(response.body());
    assertThat(root.has("error")).as("OpenAI-style error body: %s", response.body()).isTrue();
    JsonNode error = root.get("error");
    assertThat(error.get("message").asText()).isNotBlank();
    assertThat(error.has("type")).isTrue();
    assertThat(error.has("param")).isTrue();
    assertThat(error.has("code")).isTrue();
    return error;
  }

  @Override
  public void close() {
    try {
      gateway.close();
    } catch (Exception e) {
      throw new IllegalStateException("gateway did not stop cleanly", e);
    }
  }
}
