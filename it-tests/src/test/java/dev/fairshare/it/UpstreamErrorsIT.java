package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairshare.core.ManualClock;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.UsageSnapshot;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An endpoint's own errors: passed through; the tokens released, the request still counted (a 5xx
 * after {@code fairshare.upstream-error-charge-after}: {@link UpstreamTimeoutIT}).
 */
class UpstreamErrorsIT {

  @TempDir Path dir;
  final ManualClock clock = new ManualClock(1_800_000_000_000L);
  TestGateway gateway;

  @BeforeEach
  void start() throws Exception {
    gateway =
        TestGateway.start(
            dir,
            clock,
            Map.ofEntries(
                Map.entry("fairshare.models.broken.tpm", "1000"),
                Map.entry("fairshare.models.broken.rpm", "100"),
                Map.entry("fairshare.gateway.mock.broken.status", "500"),
                Map.entry("fairshare.models.upstream-busy.tpm", "1000"),
                Map.entry("fairshare.gateway.mock.upstream-busy.status", "429"),
                Map.entry("fairshare.models.async-model.tpm", "1000"),
                Map.entry("fairshare.gateway.mock.async-model.async", "true"),
                Map.entry("fairshare.gateway.mock.async-model.latency", "200ms"),
                Map.entry("fairshare.models.async-broken.tpm", "1000"),
                Map.entry("fairshare.gateway.mock.async-broken.async", "true"),
                Map.entry("fairshare.gateway.mock.async-broken.status", "500")));
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  UsageSnapshot standing(String key, String model) {
    return gateway.standing(key, model, new ModelCapacity(1000, 100));
  }

  static String body(String model, boolean stream) {
    return "{\"model\":\""
        + model
        + "\",\"stream\":"
        + stream
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  }

  @Test
  void upstream500_isPassedThrough_tokensReleased_requestCounted() throws Exception {
    String key = gateway.mintKey("{}");
    HttpResponse<String> r = gateway.post("/chat/completions", body("broken", false), key);
    assertThat(r.statusCode()).isEqualTo(500);
    assertThat(TestGateway.error(r).get("message").asText()).contains("mock upstream");
    HttpResponse<String> streamed = gateway.post("/chat/completions", body("broken", true), key);
    assertThat(streamed.statusCode()).isEqualTo(500);
    assertThat(standing(key, "broken").tokens().used()).isZero();
    assertThat(standing(key, "broken").requests().used()).isEqualTo(2);
  }

  @Test
  void asynchronousEndpoint_isPassedThroughAndSettledWhenItCompletes() throws Exception {
    String key = gateway.mintKey("{}");
    HttpResponse<String> r = gateway.post("/chat/completions", body("async-model", false), key);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(TestGateway.JSON.readTree(r.body()).get("usage").get("total_tokens").asInt())
        .isEqualTo(30);
    assertThat(r.headers().firstValue("x-ratelimit-limit-tokens")).contains("1000");
    await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(() -> standing(key, "async-model").tokens().used() == 30);
    HttpResponse<String> streamed =
        gateway.post("/chat/completions", body("async-model", true), key);
    assertThat(streamed.statusCode()).isEqualTo(200);
    assertThat(streamed.body()).endsWith("data: [DONE]\n\n").doesNotContain("\"usage\"");
    await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(() -> standing(key, "async-model").tokens().used() == 60);
    HttpResponse<String> failed =
        gateway.post("/chat/completions", body("async-broken", false), key);
    assertThat(failed.statusCode()).isEqualTo(500);
    await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(
            () ->
                standing(key, "async-broken").requests().used() == 1
                    && standing(key, "async-broken").tokens().used() == 0);
  }

  @Test
  void upstream429_isPassedThroughWithItsOwnHeaders() throws Exception {
    String key = gateway.mintKey("{}");
    HttpResponse<String> r = gateway.post("/chat/completions", body("upstream-busy", false), key);
    assertThat(r.statusCode()).isEqualTo(429);
    assertThat(r.headers().firstValue("retry-after")).contains("7");
    assertThat(r.headers().firstValue("x-ratelimit-remaining-requests")).contains("0");
    assertThat(r.headers().firstValue("x-ratelimit-limit-tokens")).isEmpty();
    assertThat(standing(key, "upstream-busy").tokens().used()).isZero();
  }
}
