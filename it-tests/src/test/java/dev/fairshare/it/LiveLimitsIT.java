package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.core.http.HttpResponseFor;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import dev.fairshare.core.ManualClock;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Limits changed without a restart: {@code POST /config/models} (checked first, stored in the key
 * database, applied at once here, at the next refresh on another instance, kept across a restart)
 * and the configuration read again every {@code fairshare.config-refresh}.
 */
class LiveLimitsIT {

  static final long T0 = 1_800_000_000_000L;
  static final String MODEL = "my-fake-model";

  @TempDir Path dir;
  final List<TestGateway> gateways = new ArrayList<>();

  @AfterEach
  void stop() {
    gateways.forEach(TestGateway::close);
  }

  TestGateway start(Map<String, String> props) throws Exception {
    TestGateway g = TestGateway.start(dir, new ManualClock(T0), props);
    gateways.add(g);
    return g;
  }

  static HttpResponse<String> post(TestGateway g, String body) throws Exception {
    return g.post("/config/models", body, TestGateway.MASTER_KEY);
  }

  static JsonNode limits(TestGateway g) throws Exception {
    HttpResponse<String> response =
        g.http.send(
            HttpRequest.newBuilder(g.base().resolve("/config/models"))
                .header("Authorization", "Bearer " + TestGateway.MASTER_KEY)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return TestGateway.JSON.readTree(response.body());
  }

  static JsonNode model(JsonNode limits, String name) {
    for (JsonNode m : limits.get("models")) {
      if (m.get("model").asText().equals(name)) {
        return m;
      }
    }
    return null;
  }

  @Test
  void aLargerCapacityAppliesToTheNextRequest_andBadValuesChangeNothing() throws Exception {
    TestGateway g = start(Map.of());
    OpenAIClient key1 = g.client(g.mintKey("{}"));
    OpenAIClient key2 = g.client(g.mintKey("{}"));
    key1.chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
    key2.chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
    try {
      key2.chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
      throw new AssertionError("the model is full at 60");
    } catch (RateLimitException expected) {
      // the reference scenario's 429
    }

    // Bad values: each named, and nothing changes
    for (String[] bad :
        new String[][] {
          {"{\"models\":[{\"model\":\"" + MODEL + "\",\"tpm\":-5}]}", "models[0].tpm"},
          {"{\"models\":[{\"model\":\"" + MODEL + "\",\"tpm\":1.5}]}", "models[0].tpm"},
          {"{\"models\":[{\"model\":\"" + MODEL + "\",\"rpm\":\"lots\"}]}", "models[0].rpm"},
          {"{\"models\":[{\"model\":\" \",\"tpm\":10}]}", "models[0].model"},
          {
            "{\"models\":[{\"model\":\"" + MODEL + "\",\"tpm\":120},{\"model\":\"x\"}]}",
            "models[1]"
          },
          {"{\"priorities\":{\"prod\":0}}", "priorities.prod"},
          {"{\"saturation_threshold\":1.5}", "saturation_threshold"},
          {"{\"saturation_threshold\":\"high\"}", "saturation_threshold"},
          {"{\"priorities\":{\"prod\":1e-9}}", "priorities.prod"},
          {"{\"priorities\":{\"a b\":1}}", "priorities.a b"},
          {
            "{\"models\":[{\"model\":\"fairshare:unconfigured-models\",\"tpm\":1}]}",
            "models[0].model"
          },
          {"{\"models\":[{\"model\":\"m\\n\",\"tpm\":1}]}", "models[0].model"},
          {"{\"models\":{}}", "models"},
          {"{\"burst\":1}", "burst"},
          {"{}", "models"},
          {"not json", null}
        }) {
      HttpResponse<String> refused = post(g, bad[0]);
      assertThat(refused.statusCode()).as(bad[0]).isEqualTo(400);
      JsonNode error = TestGateway.error(refused);
      if (bad[1] != null) {
        assertThat(error.get("param").asText()).as(bad[0]).isEqualTo(bad[1]);
      }
    }
    assertThat(model(limits(g), MODEL).get("tpm").asLong()).isEqualTo(60);
    assertThat(limits(g).get("saturation_threshold").asDouble()).isEqualTo(0.8);

    // The threshold too (the stores decide with it from their next admission)
    HttpResponse<String> threshold = post(g, "{\"saturation_threshold\":0.95}");
    assertThat(threshold.statusCode()).as(threshold.body()).isEqualTo(200);
    assertThat(TestGateway.JSON.readTree(threshold.body()).get("saturation_threshold").asDouble())
        .isEqualTo(0.95);
    assertThat(g.gateway.fairShare().config().engine().saturationThreshold()).isEqualTo(0.95);

    // 120: the next request gets the new share (60 each), the reservations made stay
    HttpResponse<String> set = post(g, "{\"models\":[{\"model\":\"" + MODEL + "\",\"tpm\":120}]}");
    assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
    JsonNode after = model(TestGateway.JSON.readTree(set.body()), MODEL);
    assertThat(after.get("tpm").asLong()).isEqualTo(120);
    assertThat(after.get("set_at_run_time").get(0).asText()).isEqualTo("tpm");
    HttpResponseFor<ChatCompletion> third =
        key2.chat().completions().withRawResponse().create(ReferenceScenarioIT.hello("Hi"));
    assertThat(third.statusCode()).isEqualTo(200);
    assertThat(third.headers().values("x-ratelimit-limit-tokens")).containsExactly("60");
    assertThat(
            PrometheusText.value(
                g.gateway.fairShare().metrics().scrape(),
                "fairshare_model_capacity",
                "dimension",
                "tokens",
                "model",
                MODEL))
        .isEqualTo(120.0);

    // A restart keeps it; null goes back to the configured value
    g.close();
    gateways.remove(g);
    TestGateway again = start(Map.of());
    assertThat(model(limits(again), MODEL).get("tpm").asLong()).isEqualTo(120);
    HttpResponse<String> reset =
        post(again, "{\"models\":[{\"model\":\"" + MODEL + "\",\"tpm\":null}]}");
    assertThat(model(TestGateway.JSON.readTree(reset.body()), MODEL).get("tpm").asLong())
        .isEqualTo(60);
  }

  @Test
  void anotherInstanceAppliesThemAtItsNextRefresh_andANewModelCanBeAdded() throws Exception {
    TestGateway a = start(Map.of("fairshare.config-refresh", "1s"));
    TestGateway b = start(Map.of("fairshare.config-refresh", "1s"));
    HttpResponse<String> set =
        post(
            a,
            "{\"models\":[{\"model\":\"new-model\",\"tpm\":5000,\"rpm\":\"unlimited\"}],"
                + "\"priorities\":{\"gold\":3}}");
    assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
    JsonNode onB =
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> limits(b), l -> model(l, "new-model") != null);
    assertThat(model(onB, "new-model").get("tpm").asLong()).isEqualTo(5000);
    assertThat(model(onB, "new-model").get("rpm").asText()).isEqualTo("unlimited");
    assertThat(onB.get("priorities").get("gold").asDouble()).isEqualTo(3.0);
    // The new model is limited on B now: a key with priority gold calls it
    String gold = b.mintKey("{\"metadata\":{\"priority\":\"gold\"}}");
    HttpResponseFor<ChatCompletion> call =
        b.client(gold)
            .chat()
            .completions()
            .withRawResponse()
            .create(
                com.openai.models.chat.completions.ChatCompletionCreateParams.builder()
                    .model("new-model")
                    .addUserMessage("Hi")
                    .build());
    assertThat(call.headers().values("x-ratelimit-limit-tokens")).containsExactly("5000");
  }

  @Test
  void acrossTwoGatewaysSharingRedisAndPostgres_key2sThirdCallGoesThrough() throws Exception {
    String schema =
        "fairshare_it_" + java.util.UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    String server = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(server);
        java.sql.Statement s = c.createStatement()) {
      s.executeUpdate("CREATE SCHEMA " + schema);
    }
    Map<String, String> props = new java.util.HashMap<>();
    props.put("fairshare.store", "redis");
    props.put("fairshare.redis.uri", "redis://127.0.0.1:6379");
    props.put("fairshare.redis.key-prefix", "fs-it-" + java.util.UUID.randomUUID());
    props.put("fairshare.keys.jdbc-url", server + "&currentSchema=" + schema);
    props.put("fairshare.config-refresh", "1s");
    TestGateway a = start(props);
    TestGateway b = start(props);
    OpenAIClient key1 = a.client(a.mintKey("{}"));
    OpenAIClient key2 = b.client(a.mintKey("{}"));
    key1.chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
    key2.chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
    try {
      key2.chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
      throw new AssertionError("the model is full at 60 across both gateways");
    } catch (RateLimitException expected) {
      // the reference scenario's 429, on B
    }
    // Raised on A; B applies it at its next refresh (1 s here), without a restart
    assertThat(post(a, "{\"models\":[{\"model\":\"" + MODEL + "\",\"tpm\":120}]}").statusCode())
        .isEqualTo(200);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> model(limits(b), MODEL).get("tpm").asLong() == 120);
    HttpResponseFor<ChatCompletion> third =
        key2.chat().completions().withRawResponse().create(ReferenceScenarioIT.hello("Hi"));
    assertThat(third.statusCode()).isEqualTo(200);
    assertThat(third.headers().values("x-ratelimit-limit-tokens")).containsExactly("60");
  }

  @Test
  void theConfigurationIsReadAgain_andAProblemInItKeepsTheLastGoodOne() throws Exception {
    Map<String, String> live = new ConcurrentHashMap<>();
    live.put("fairshare.config-refresh", "1s");
    live.put("fairshare.models.chat.tpm", "1000");
    TestGateway g = TestGateway.startRereading(dir, new ManualClock(T0), live);
    gateways.add(g);
    assertThat(model(limits(g), "chat").get("tpm").asLong()).isEqualTo(1000);
    live.put("fairshare.models.chat.tpm", "2000");
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> model(limits(g), "chat").get("tpm").asLong() == 2000);
    // A bad value in the configuration: logged, and 2000 stands
    live.put("fairshare.models.chat.tpm", "lots");
    live.put("fairshare.models.chat.rpm", "7");
    // (held for 2.5 s: two refreshes and more)
    await()
        .during(Duration.ofMillis(2_500))
        .atMost(Duration.ofSeconds(4))
        .until(() -> model(limits(g), "chat").get("tpm").asLong() == 2000);
    JsonNode stands = model(limits(g), "chat");
    assertThat(stands.get("rpm").asText()).isEqualTo("unlimited");
  }
}
