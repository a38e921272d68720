package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairshare.core.ManualClock;
import dev.fairshare.store.FailoverUsageStore;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A private redis-server frozen (SIGSTOP) and then killed under load: open mode keeps answering
 * within the timeout and counts locally; closed mode answers 503, never 500, and nothing hangs;
 * both go back to Redis when it returns, without a gateway restart.
 */
class RedisFailureIT {

  static final String BODY =
      "{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  static final Duration PROMPT = Duration.ofSeconds(1);

  @TempDir Path dir;

  @Test
  void openMode_answersFromLocalCountsWhileRedisIsAway_andReturnsToRedis() throws Exception {
    run("open", 200);
  }

  @Test
  void closedMode_answers503WhileRedisIsAway_andReturnsToRedis() throws Exception {
    run("closed", 503);
  }

  private void run(String mode, int statusWhileAway) throws Exception {
    try (PrivateRedis redis = PrivateRedis.start(dir);
        TestGateway gateway =
            TestGateway.start(
                dir,
                new ManualClock(1_800_000_000_000L),
                Map.of(
                    "fairshare.store",
                    "redis",
                    "fairshare.redis.uri",
                    redis.uri(),
                    "fairshare.redis.failure-mode",
                    mode,
                    "fairshare.models.fast.tpm",
                    "100000000"))) {
      FailoverUsageStore store = (FailoverUsageStore) gateway.gateway.fairShare().usageStore();
      String key = gateway.mintKey("{}");
      assertThat(call(gateway, key).statusCode()).isEqualTo(200);
      assertThat(store.failures()).isZero();

      assertThat(health(gateway).statusCode()).isEqualTo(200);
      assertThat(state(gateway, "healthy")).isEqualTo(1.0);
      redis.freeze();
      assertWhileAway(gateway, key, statusWhileAway);
      // The metrics say so: the state, and what the failure mode did with the 10 calls
      assertThat(state(gateway, "failing_" + mode)).isEqualTo(1.0);
      assertThat(state(gateway, "healthy")).isEqualTo(0.0);
      String text = gateway.gateway.fairShare().metrics().scrape();
      if (statusWhileAway == 200) {
        assertThat(PrometheusText.value(text, "fairshare_store_local_admissions_total"))
            .isEqualTo(10.0);
      } else {
        assertThat(PrometheusText.calls(text, "", "refused", "store_down")).isEqualTo(10.0);
      }
      // Whatever the failure mode, health says Redis is not answering.
      // A health result is given again for 250 ms: the first check after the freeze may be older.
      HttpResponse<String> health =
          org.awaitility.Awaitility.await("health reports the frozen Redis")
              .atMost(Duration.ofSeconds(3))
              .until(() -> health(gateway), h -> h.statusCode() == 503);
      assertThat(TestGateway.JSON.readTree(health.body()).get("usage_store").asText())
          .isEqualTo("unreachable");
      assertThat(TestGateway.JSON.readTree(health.body()).get("key_store").asText())
          .isEqualTo("reachable");
      long failuresWhileFrozen = store.failures();
      assertThat(failuresWhileFrozen).isGreaterThanOrEqualTo(10);
      redis.thaw();
      awaitBackOnRedis(gateway, key, store);
      assertThat(state(gateway, "healthy")).isEqualTo(1.0);

      redis.kill();
      assertWhileAway(gateway, key, statusWhileAway);
      assertThat(store.failures()).isGreaterThan(failuresWhileFrozen);
      redis.startProcess();
      awaitBackOnRedis(gateway, key, store);
    }
  }

  /**
   * 10 calls: each answered promptly with the expected status and an OpenAI-style body when not
   * 200.
   */
  private static void assertWhileAway(TestGateway gateway, String key, int expected)
      throws Exception {
    List<Duration> latencies = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      long started = System.nanoTime();
      HttpResponse<String> r = call(gateway, key);
      latencies.add(Duration.ofNanos(System.nanoTime() - started));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(expected);
      if (expected != 200) {
        assertThat(TestGateway.error(r).get("type").asText()).isEqualTo("server_error");
      }
    }
    assertThat(latencies).allSatisfy(l -> assertThat(l).isLessThan(PROMPT));
  }

  /** Until a call goes through Redis again: a 200 during which no store call failed. */
  private static void awaitBackOnRedis(TestGateway gateway, String key, FailoverUsageStore store) {
    await()
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              long before = store.failures();
              int status = call(gateway, key).statusCode();
              return status == 200 && store.failures() == before;
            });
  }

  /** {@code fairshare_store_state{state}}: 1 for the store's current state. */
  private static Double state(TestGateway gateway, String state) {
    return PrometheusText.value(
        gateway.gateway.fairShare().metrics().scrape(), "fairshare_store_state", "state", state);
  }

  private static HttpResponse<String> health(TestGateway gateway) throws Exception {
    return gateway.http.send(
        java.net.http.HttpRequest.newBuilder(gateway.base().resolve("/health")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> call(TestGateway gateway, String key) throws Exception {
    return gateway.post("/chat/completions", BODY, key);
  }
}
