package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.Clock;
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
 * An upstream 5xx that comes late (a proxy or load balancer gave up after its timeout while the
 * model may have been generating) is charged its reservation; one that comes at once is released.
 * Real time: the mock fails after its latency, against {@code
 * fairshare.upstream-error-charge-after} of 1 s.
 */
class UpstreamTimeoutIT {

  @TempDir Path dir;
  TestGateway gateway;

  @BeforeEach
  void start() throws Exception {
    gateway =
        TestGateway.start(
            dir,
            Clock.system(),
            Map.ofEntries(
                Map.entry("fairshare.upstream-error-charge-after", "1s"),
                Map.entry("fairshare.models.timed-out.tpm", "10000"),
                Map.entry("fairshare.models.timed-out.rpm", "100"),
                Map.entry("fairshare.gateway.mock.timed-out.status", "504"),
                Map.entry("fairshare.gateway.mock.timed-out.latency", "1500ms"),
                Map.entry("fairshare.models.killed-worker.tpm", "10000"),
                Map.entry("fairshare.models.killed-worker.rpm", "100"),
                Map.entry("fairshare.gateway.mock.killed-worker.status", "502"),
                Map.entry("fairshare.gateway.mock.killed-worker.latency", "1500ms"),
                Map.entry("fairshare.models.litellm-timeout.tpm", "10000"),
                Map.entry("fairshare.models.litellm-timeout.rpm", "100"),
                Map.entry("fairshare.gateway.mock.litellm-timeout.status", "408"),
                Map.entry("fairshare.gateway.mock.litellm-timeout.latency", "1500ms"),
                Map.entry("fairshare.models.down.tpm", "10000"),
                Map.entry("fairshare.models.down.rpm", "100"),
                Map.entry("fairshare.gateway.mock.down.status", "504")));
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  @Test
  void aLateGatewayTimeout_isChargedItsReservation_theModelMayHaveGenerated() throws Exception {
    String key = gateway.mintKey("{}");
    HttpResponse<String> r = gateway.post("/chat/completions", body("timed-out", false), key);
    assertThat(r.statusCode()).isEqualTo(504);
    long first = reservation(body("timed-out", false));
    assertThat(standing(key, "timed-out").tokens().used()).isEqualTo(first);
    HttpResponse<String> streamed = gateway.post("/chat/completions", body("timed-out", true), key);
    assertThat(streamed.statusCode()).isEqualTo(504);
    assertThat(standing(key, "timed-out").tokens().used())
        .isEqualTo(first + reservation(body("timed-out", true)));
    assertThat(standing(key, "timed-out").requests().used()).isEqualTo(2);
  }

  @Test
  void anyLate5xx_isCharged_aFastOneIsReleased() throws Exception {
    String key = gateway.mintKey("{}");
    HttpResponse<String> late =
        gateway.post("/chat/completions", body("killed-worker", false), key);
    assertThat(late.statusCode()).isEqualTo(502);
    assertThat(standing(key, "killed-worker").tokens().used())
        .isEqualTo(reservation(body("killed-worker", false)));
    // A late 408 is a timeout too (LiteLLM's, Bedrock's)
    HttpResponse<String> timedOut =
        gateway.post("/chat/completions", body("litellm-timeout", false), key);
    assertThat(timedOut.statusCode()).isEqualTo(408);
    assertThat(standing(key, "litellm-timeout").tokens().used())
        .isEqualTo(reservation(body("litellm-timeout", false)));
    // The upstream is down and says so at once: it generated nothing, nothing is charged
    HttpResponse<String> fast = gateway.post("/chat/completions", body("down", false), key);
    assertThat(fast.statusCode()).isEqualTo(504);
    assertThat(standing(key, "down").tokens().used()).isZero();
    assertThat(standing(key, "down").requests().used()).isEqualTo(1);
  }

  static String body(String model, boolean stream) {
    return UpstreamErrorsIT.body(model, stream);
  }

  long reservation(String body) throws Exception {
    return TestGateway.reservation(gateway.gateway.fairShare(), body);
  }

  UsageSnapshot standing(String key, String model) {
    return gateway.standing(key, model, new ModelCapacity(10000, 100));
  }
}
