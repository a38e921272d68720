package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.errors.RateLimitException;
import dev.fairshare.core.ManualClock;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The usage history: calls and refusals per key, model and hour, written to the key database in
 * batches, read back by {@code /key/info} (totals) and {@code GET /usage/history}; and kept across
 * a restart.
 */
class UsageHistoryIT {

  static final long T0 = 1_800_000_000_000L;
  static final String MODEL = "my-fake-model";

  @TempDir Path dir;
  TestGateway gateway;

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  JsonNode get(String pathAndQuery, String bearer, int status) throws Exception {
    HttpResponse<String> response =
        gateway.http.send(
            HttpRequest.newBuilder(gateway.base().resolve(pathAndQuery))
                .header("Authorization", "Bearer " + bearer)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    return TestGateway.JSON.readTree(response.body());
  }

  @Test
  void callsAndRefusalsAreKeptPerHour_andSurviveARestart() throws Exception {
    ManualClock clock = new ManualClock(T0);
    gateway = TestGateway.start(dir, clock, Map.of());
    String alice = gateway.mintKey("{\"key_alias\":\"alice\"}");
    String bob = gateway.mintKey("{\"key_alias\":\"bob\"}");
    gateway.client(alice).chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
    OpenAIClient b = gateway.client(bob);
    b.chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
    try {
      b.chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
    } catch (RateLimitException expected) {
      // the third call: a refusal in bob's history
    }
    gateway.gateway.fairShare().history().flush();

    JsonNode history = get("/usage/history?key=bob", TestGateway.MASTER_KEY, 200);
    assertThat(history.get("key_alias").asText()).isEqualTo("bob");
    assertThat(history.get("rows")).hasSize(1);
    JsonNode row = history.get("rows").get(0);
    assertThat(row.get("hour").asText()).isEqualTo(Instant.ofEpochMilli(T0).toString());
    assertThat(row.get("model").asText()).isEqualTo(MODEL);
    assertThat(row.get("input_tokens").asLong()).isEqualTo(10);
    assertThat(row.get("output_tokens").asLong()).isEqualTo(20);
    assertThat(row.get("calls").asLong()).isEqualTo(1);
    assertThat(row.get("refusals").asLong()).isEqualTo(1);

    JsonNode totals = get("/key/info?key=" + alice, TestGateway.MASTER_KEY, 200);
    JsonNode aliceTotals = totals.get("info").get("usage_totals");
    assertThat(aliceTotals).hasSize(1);
    assertThat(aliceTotals.get(0).get("calls").asLong()).isEqualTo(1);
    assertThat(aliceTotals.get(0).get("input_tokens").asLong()).isEqualTo(10);

    // An ordinary key sees its own history, and nothing of another's
    assertThat(get("/usage/history", bob, 200).get("rows")).hasSize(1);
    assertThat(get("/usage/history?key=alice", bob, 404).get("error").get("code").asText())
        .isEqualTo("not_found");
    // Bad ranges are named
    assertThat(
            get("/usage/history?key=bob&from=yesterday", TestGateway.MASTER_KEY, 400)
                .get("error")
                .get("param")
                .asText())
        .isEqualTo("from");
    // Instants past what a long holds, and ranges whose difference would overflow: 400, not 500
    for (String query :
        List.of(
            "from=" + URLEncoder.encode("+300000000-01-01T00:00:00Z", StandardCharsets.UTF_8),
            "from=-1&to=" + Long.MAX_VALUE,
            "from=" + Long.MIN_VALUE)) {
      assertThat(get("/usage/history?key=bob&" + query, TestGateway.MASTER_KEY, 400).get("error"))
          .isNotNull();
    }
    String from = URLEncoder.encode("2020-01-01T00:00:00Z", StandardCharsets.UTF_8);
    assertThat(
            get("/usage/history?key=bob&from=" + from, TestGateway.MASTER_KEY, 400)
                .get("error")
                .get("message")
                .asText())
        .contains("92 days");

    // What was counted after the last flush is written when the gateway stops
    clock.advance(java.time.Duration.ofSeconds(61));
    gateway.client(alice).chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
    gateway.close();
    gateway = TestGateway.start(dir, new ManualClock(T0 + 62_000), Map.of());
    JsonNode after = get("/usage/history?key=alice", TestGateway.MASTER_KEY, 200);
    assertThat(after.get("rows").get(0).get("calls").asLong()).isEqualTo(2);
  }
}
