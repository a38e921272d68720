package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

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

/** An endpoint's own errors: passed through; the tokens released, the request still counted. */
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
            Map.of(
                "fairshare.models.broken.tpm", "1000",
                "fairshare.models.broken.rpm", "100",
                "fairshare.gateway.mock.broken.status", "500",
                "fairshare.models.upstream-busy.tpm", "1000",
                "fairshare.gateway.mock.upstream-busy.status", "429"));
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  UsageSnapshot standing(String key, String model) {
    return gateway.standing(key, model, new ModelCapacity(1000, 100));
  }

  static String body(String model, boolean stream) {
    return "{\"model\":\"" + model + "\",\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
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
