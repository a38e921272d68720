package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.fairshare.core.ManualClock;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /usage}: the live share table, with the numbers the engine decided on, on one gateway
 * and across two on one Redis.
 */
class UsageIT {

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

  static HttpResponse<String> usage(TestGateway g, String query, String bearer) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(g.base().resolve("/usage" + query)).GET();
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    return g.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode table(TestGateway g, String model) throws Exception {
    HttpResponse<String> response = usage(g, "?model=" + model, TestGateway.MASTER_KEY);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode models = TestGateway.JSON.readTree(response.body()).get("models");
    assertThat(models).hasSize(1);
    return models.get(0);
  }

  static JsonNode row(JsonNode table, String alias) {
    for (JsonNode key : table.get("keys")) {
      if (alias.equals(key.get("key_alias").asText())) {
        return key;
      }
    }
    throw new AssertionError("no row for " + alias + " in " + table);
  }

  static ChatCompletionCreateParams hello(String model) {
    return ChatCompletionCreateParams.builder().model(model).addUserMessage("Hello world!").build();
  }

  @Test
  void afterTheReferenceScenario_theTableIsTheEngines() throws Exception {
    TestGateway g = start(Map.of());
    String aliceKey = g.mintKey("{\"key_alias\":\"alice\"}");
    String bobKey = g.mintKey("{\"key_alias\":\"bob\"}");
    OpenAIClient alice = g.client(aliceKey);
    OpenAIClient bob = g.client(bobKey);
    alice.chat().completions().create(hello(MODEL));
    bob.chat().completions().create(hello(MODEL));
    try {
      bob.chat().completions().create(hello(MODEL));
    } catch (RateLimitException expected) {
      // the third call
    }

    JsonNode table = table(g, MODEL);
    assertThat(table.get("tpm").asLong()).isEqualTo(60);
    assertThat(table.get("rpm").isNull()).isTrue();
    assertThat(table.get("used_tokens").asLong()).isEqualTo(60);
    assertThat(table.get("used_requests").asLong()).isEqualTo(2);
    assertThat(table.get("active_keys").asInt()).isEqualTo(2);
    JsonNode a = row(table, "alice");
    assertThat(a.get("weight").asDouble()).isEqualTo(1.0);
    assertThat(a.get("share_tokens").asLong()).isEqualTo(30);
    assertThat(a.get("used_tokens").asLong()).isEqualTo(30);
    assertThat(a.get("remaining_tokens").asLong()).isZero();
    assertThat(a.get("reserved_tokens").asLong()).isZero();
    assertThat(a.get("in_flight").asInt()).isZero();
    assertThat(a.get("refusals").asLong()).isZero();
    assertThat(a.get("token").asText()).hasSize(64);
    JsonNode b = row(table, "bob");
    assertThat(b.get("used_tokens").asLong()).isEqualTo(30);
    assertThat(b.get("refusals").asLong()).isEqualTo(1);
    assertThat(b.get("waiting").asInt()).isZero();

    // Every configured model without ?model=; an unknown one is a 404; the master key only; no raw
    // key anywhere (hashes and masked names only)
    HttpResponse<String> all = usage(g, "", TestGateway.MASTER_KEY);
    assertThat(all.body())
        .doesNotContain(aliceKey)
        .doesNotContain(bobKey)
        .doesNotContain(aliceKey.substring(3, 20));
    assertThat(TestGateway.JSON.readTree(all.body()).get("models").size()).isPositive();
    HttpResponse<String> unknown = usage(g, "?model=nope", TestGateway.MASTER_KEY);
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(TestGateway.error(unknown).get("code").asText()).isEqualTo("model_not_found");
    assertThat(usage(g, "", null).statusCode()).isEqualTo(401);
    String ordinary = g.mintKey("{}");
    assertThat(usage(g, "", ordinary).statusCode()).isEqualTo(403);
  }

  @Test
  void aCallInFlightShowsItsReservation() throws Exception {
    TestGateway g =
        start(
            Map.of(
                "fairshare.models.slow.tpm",
                "100000",
                "fairshare.gateway.mock.slow.latency",
                "3s"));
    OpenAIClient carol = g.client(g.mintKey("{\"key_alias\":\"carol\"}"));
    CompletableFuture<?> call =
        CompletableFuture.runAsync(() -> carol.chat().completions().create(hello("slow")));
    JsonNode during =
        await()
            .atMost(Duration.ofSeconds(3))
            .until(() -> table(g, "slow"), t -> t.get("active_keys").asInt() == 1);
    JsonNode row = row(during, "carol");
    assertThat(row.get("in_flight").asInt()).isEqualTo(1);
    assertThat(row.get("reserved_tokens").asLong())
        .isPositive()
        .isEqualTo(row.get("used_tokens").asLong());
    call.get();
    JsonNode after = row(table(g, "slow"), "carol");
    assertThat(after.get("in_flight").asInt()).isZero();
    assertThat(after.get("reserved_tokens").asLong()).isZero();
    assertThat(after.get("used_tokens").asLong()).isEqualTo(30);
  }

  @Test
  void acrossTwoGatewaysOnOneRedis_eachShowsEveryInstancesKeys() throws Exception {
    Map<String, String> props = new HashMap<>();
    props.put("fairshare.store", "redis");
    props.put("fairshare.redis.uri", "redis://127.0.0.1:6379");
    props.put("fairshare.redis.key-prefix", "fs-it-" + UUID.randomUUID());
    TestGateway a = start(props);
    TestGateway b = start(props);
    a.client(a.mintKey("{\"key_alias\":\"on-a\"}")).chat().completions().create(hello(MODEL));
    b.client(a.mintKey("{\"key_alias\":\"on-b\"}")).chat().completions().create(hello(MODEL));
    for (TestGateway g : List.of(a, b)) {
      JsonNode table = table(g, MODEL);
      assertThat(table.get("used_tokens").asLong()).isEqualTo(60);
      assertThat(row(table, "on-a").get("used_tokens").asLong()).isEqualTo(30);
      assertThat(row(table, "on-b").get("used_tokens").asLong()).isEqualTo(30);
      assertThat(row(table, "on-b").get("share_tokens").asLong()).isEqualTo(30);
    }
  }
}
