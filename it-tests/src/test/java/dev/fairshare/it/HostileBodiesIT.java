package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.ManualClock;
import dev.fairshare.store.MemoryUsageStore;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bodies and model names that tried to walk around the limit, through the real gateway. */
class HostileBodiesIT {

  @TempDir Path dir;
  TestGateway gateway;

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  void start(Map<String, String> props) throws Exception {
    gateway = TestGateway.start(dir, new ManualClock(1_800_000_000_000L), props);
  }

  static String chat(String model, String extra) {
    return "{\"model\":\""
        + model
        + "\""
        + extra
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  }

  /** Sends {@code n} requests at once and counts the 200s. */
  int bunched(int n, String body, String key) {
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      calls.add(
          gateway.http.sendAsync(
              HttpRequest.newBuilder(gateway.base().resolve("/v1/chat/completions"))
                  .header("Authorization", "Bearer " + key)
                  .timeout(Duration.ofSeconds(30))
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    int ok = 0;
    for (CompletableFuture<HttpResponse<String>> call : calls) {
      int status = call.join().statusCode();
      assertThat(status).isIn(200, 429);
      ok += status == 200 ? 1 : 0;
    }
    return ok;
  }

  @Test
  void streamMustBeABoolean_aStringOrNumberIsRefusedNotStreamedUncounted() throws Exception {
    start(Map.of());
    String key = gateway.mintKey("{}");
    for (String stream : new String[] {"\"true\"", "1"}) {
      HttpResponse<String> r =
          gateway.post("/v1/chat/completions", chat("my-fake-model", ",\"stream\":" + stream), key);
      assertThat(r.statusCode()).isEqualTo(400);
      assertThat(TestGateway.error(r).get("code").asText()).isEqualTo("invalid_type");
      assertThat(TestGateway.error(r).get("param").asText()).isEqualTo("stream");
    }
  }

  @Test
  void zeroCostRequestsBunchedTogetherAdmitOnlyWhatTheCapacityHolds() throws Exception {
    start(
        Map.of(
            "fairshare.models.burst.tpm", "60",
            "fairshare.gateway.mock.burst.latency", "2s",
            "fairshare.models.roomy.tpm", "1000000",
            "fairshare.gateway.mock.roomy.latency", "2s"));
    String key = gateway.mintKey("{}");
    // No messages at all: refused like OpenAI does, not estimated at 0
    HttpResponse<String> empty =
        gateway.post(
            "/v1/chat/completions", "{\"model\":\"burst\",\"messages\":[],\"max_tokens\":0}", key);
    assertThat(empty.statusCode()).isEqualTo(400);
    assertThat(TestGateway.error(empty).get("param").asText()).isEqualTo("messages");
    // The cheapest request there is costs min-request-tokens (7): 30 at once, 60 TPM, 8 fit
    String cheapest =
        "{\"model\":\"burst\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}";
    assertThat(bunched(30, cheapest, key)).isEqualTo(8);
    // A key's own tpm_limit counts this request's cost too: 8 of 30 on a roomy model
    String limited = gateway.mintKey("{\"tpm_limit\":60}");
    assertThat(bunched(30, cheapest.replace("burst", "roomy"), limited)).isEqualTo(8);
  }

  @Test
  void aKeysRpmLimitHoldsAcrossEveryModelName() throws Exception {
    start(
        Map.of(
            "fairshare.models.m1.tpm", "100000",
            "fairshare.models.m1.aliases", "openai/m1, m1-latest",
            "fairshare.models.m2.tpm", "100000"));
    String key = gateway.mintKey("{\"rpm_limit\":2}");
    List<Integer> statuses = new ArrayList<>();
    for (String model :
        new String[] {
          "m1", "m2", "m1", "m2", "m1 ", "openai/m1", "m1-latest", "M1", "m1\\u200b", "openai/m2"
        }) {
      statuses.add(gateway.post("/v1/chat/completions", chat(model, ""), key).statusCode());
    }
    assertThat(statuses).containsExactly(200, 200, 429, 429, 429, 429, 429, 404, 404, 404);
  }

  @Test
  void unknownModelsAreRejectedByDefault_andTrimmedNamesAreTheConfiguredModel() throws Exception {
    start(Map.of("fairshare.models.my-fake-model.rpm", "3"));
    String key = gateway.mintKey("{}");
    for (String model :
        new String[] {"MY-FAKE-MODEL", "my-fake-model\\u200b", "openai/my-fake-model", "other"}) {
      HttpResponse<String> r = gateway.post("/v1/chat/completions", chat(model, ""), key);
      assertThat(r.statusCode()).as(model).isEqualTo(404);
      assertThat(TestGateway.error(r).get("code").asText()).isEqualTo("model_not_found");
    }
    List<Integer> statuses = new ArrayList<>();
    for (String model :
        new String[] {"my-fake-model", " my-fake-model", "my-fake-model ", "my-fake-model\\t"}) {
      statuses.add(gateway.post("/v1/chat/completions", chat(model, ""), key).statusCode());
    }
    assertThat(statuses).containsExactly(200, 200, 200, 429);
  }

  @Test
  void allowedUnknownModelsShareOneWindow_soNamesCostNoMemory() throws Exception {
    start(Map.of("fairshare.unknown-models", "allow"));
    String key = gateway.mintKey("{\"rpm_limit\":1000}");
    for (int i = 0; i < 300; i++) {
      assertThat(gateway.post("/v1/chat/completions", chat("made-up-" + i, ""), key).statusCode())
          .isEqualTo(200);
    }
    MemoryUsageStore store = (MemoryUsageStore) gateway.gateway.fairShare().usageStore();
    // The shared window of unconfigured models and the key's own window, whatever the names
    assertThat(store.trackedModels()).isEqualTo(2);
  }

  @Test
  void aKeyOverItsLimitIsRefusedBeforeAHugeBodyIsTokenised() throws Exception {
    start(Map.of("fairshare.models.my-fake-model.tpm", "100000000"));
    String key = gateway.mintKey("{\"rpm_limit\":1}");
    assertThat(gateway.post("/v1/chat/completions", chat("my-fake-model", ""), key).statusCode())
        .isEqualTo(200);
    // 4.9 million 'é' (9.8 MB): 6 s of tokenising if done whole
    String huge =
        "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\""
            + "é".repeat(4_900_000)
            + "\"}]}";
    long started = System.nanoTime();
    HttpResponse<String> r = gateway.post("/v1/chat/completions", huge, key);
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    assertThat(r.statusCode()).isEqualTo(429);
    assertThat(took).isLessThan(Duration.ofSeconds(2));
    // A key within its limits gets the same body estimated from samples, not tokenised whole
    String other = gateway.mintKey("{}");
    long again = System.nanoTime();
    assertThat(gateway.post("/v1/chat/completions", huge, other).statusCode()).isEqualTo(200);
    assertThat(Duration.ofNanos(System.nanoTime() - again)).isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void aRequestLargerThanTheKeysWholeTpmLimitIsRefusedForGood() throws Exception {
    start(Map.of("fairshare.models.my-fake-model.tpm", "100000"));
    String key = gateway.mintKey("{\"tpm_limit\":100}");
    String big =
        "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\""
            + "word ".repeat(500)
            + "\"}]}";
    HttpResponse<String> r = gateway.post("/v1/chat/completions", big, key);
    assertThat(r.statusCode()).isEqualTo(429);
    assertThat(TestGateway.error(r).get("message").asText())
        .contains("Request too large")
        .contains("Limit 100, Requested");
    assertThat(r.headers().firstValue("x-should-retry")).contains("false");
    // Nothing was charged: a small request still fits
    assertThat(
            gateway
                .post("/v1/chat/completions", chat("my-fake-model", ",\"max_tokens\":20"), key)
                .statusCode())
        .isEqualTo(200);
  }

  @Test
  void anEmptyBearerDoesNotHideAValidKeyHeader() throws Exception {
    start(Map.of());
    String key = gateway.mintKey("{}");
    HttpResponse<String> r =
        gateway.http.send(
            HttpRequest.newBuilder(gateway.base().resolve("/v1/chat/completions"))
                .header("Authorization", "Bearer ")
                .header("x-api-key", key)
                .POST(HttpRequest.BodyPublishers.ofString(chat("my-fake-model", "")))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }
}
