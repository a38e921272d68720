package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.openai.client.OpenAIClient;
import com.openai.errors.RateLimitException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.fairshare.core.ManualClock;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /metrics} on the gateway after the reference scenario (two calls admitted, the third a
 * 429, one call with a wrong key): the counts are exact, the model's standing is the engine's, and
 * only the master key reads them.
 */
class MetricsIT {

  static final long T0 = 1_800_000_000_000L;
  static final String MODEL = "my-fake-model";

  @TempDir Path dir;
  TestGateway gateway;
  final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() throws Exception {
    gateway = TestGateway.start(dir, new ManualClock(T0), Map.of());
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  HttpResponse<String> scrape(String bearer) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(gateway.base().resolve("/metrics")).GET();
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void afterTheReferenceScenario_theCountsAreExact() throws Exception {
    String key1 = gateway.mintKey("{\"key_alias\":\"alice\"}");
    String key2 = gateway.mintKey("{\"key_alias\":\"bob\"}");
    OpenAIClient client1 = gateway.client(key1);
    OpenAIClient client2 = gateway.client(key2);
    ChatCompletionCreateParams hello =
        ChatCompletionCreateParams.builder().model(MODEL).addUserMessage("Hello world!").build();
    client1.chat().completions().create(hello);
    client2.chat().completions().create(hello);
    try {
      client2.chat().completions().create(hello);
      fail("the third call must be refused");
    } catch (RateLimitException expected) {
      // the reference scenario's 429
    }
    try {
      gateway.client("sk-not-a-key").chat().completions().create(hello);
      fail("a wrong key must be refused");
    } catch (UnauthorizedException expected) {
      // 401
    }

    HttpResponse<String> response = scrape(TestGateway.MASTER_KEY);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type").orElseThrow())
        .startsWith("text/plain; version=0.0.4");
    String text = response.body();
    assertThat(PrometheusText.calls(text, MODEL, "admitted", "")).isEqualTo(2.0);
    assertThat(PrometheusText.calls(text, MODEL, "refused", "share"))
        .as("the third call: key 2 had used its share of the full model")
        .isEqualTo(1.0);
    assertThat(text).doesNotContain("reason=\"model_full\"");
    assertThat(PrometheusText.calls(text, "", "refused", "unauthorized")).isEqualTo(1.0);
    assertThat(
            PrometheusText.value(
                text, "fairshare_model_capacity", "dimension", "tokens", "model", MODEL))
        .isEqualTo(60.0);
    // As the engine decided the 429: 60 of 60 used, two active keys
    assertThat(
            PrometheusText.value(
                text, "fairshare_model_used", "dimension", "tokens", "model", MODEL))
        .isEqualTo(60.0);
    assertThat(PrometheusText.value(text, "fairshare_model_active_keys", "model", MODEL))
        .isEqualTo(2.0);
    assertThat(
            PrometheusText.value(
                text, "fairshare_settlements_total", "kind", "settled", "model", MODEL))
        .isEqualTo(2.0);
    // The first call reserved 60 and used 30; the second reserved what was left, 30, and used 30
    assertThat(
            PrometheusText.value(
                text, "fairshare_estimate_error_tokens_count", "direction", "over", "model", MODEL))
        .isEqualTo(1.0);
    assertThat(
            PrometheusText.value(
                text, "fairshare_estimate_error_tokens_sum", "direction", "over", "model", MODEL))
        .isEqualTo(30.0);
    // Per key (top 20 by default), by alias
    assertThat(
            PrometheusText.value(
                text, "fairshare_key_tokens_total", "key", "alice", "model", MODEL))
        .isEqualTo(30.0);
    assertThat(
            PrometheusText.value(text, "fairshare_key_tokens_total", "key", "bob", "model", MODEL))
        .isEqualTo(30.0);
    assertThat(
            PrometheusText.value(
                text, "fairshare_key_refusals_total", "key", "bob", "model", MODEL))
        .isEqualTo(1.0);
    // OpenTelemetry GenAI token usage: the mock answers 10 prompt and 20 completion tokens
    assertThat(
            PrometheusText.value(
                text,
                "gen_ai_client_token_usage_sum",
                "gen_ai_request_model",
                MODEL,
                "gen_ai_token_type",
                "input"))
        .isEqualTo(20.0);
    assertThat(
            PrometheusText.value(
                text,
                "gen_ai_client_token_usage_sum",
                "gen_ai_request_model",
                MODEL,
                "gen_ai_token_type",
                "output"))
        .isEqualTo(40.0);
    assertThat(text).contains("fairshare_store_admission_seconds_count");
    // No raw key anywhere
    assertThat(text).doesNotContain(key1).doesNotContain(key2);
  }

  @Test
  void withMetricsPublic_aScraperNeedsNoKey() throws Exception {
    gateway.close();
    gateway =
        TestGateway.start(dir, new ManualClock(T0), Map.of("fairshare.metrics.public", "true"));
    HttpResponse<String> response = scrape(null);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).contains("fairshare_model_capacity");
  }

  @Test
  void onlyTheMasterKeyReadsThem() throws Exception {
    String key = gateway.mintKey("{}");
    for (String bearer : new String[] {null, key, "sk-wrong"}) {
      HttpResponse<String> response = scrape(bearer);
      assertThat(response.statusCode()).as("bearer %s", bearer).isEqualTo(401);
      assertThat(TestGateway.error(response).get("type").asText())
          .isEqualTo("invalid_request_error");
    }
    assertThat(scrape(TestGateway.MASTER_KEY).statusCode()).isEqualTo(200);
  }
}
