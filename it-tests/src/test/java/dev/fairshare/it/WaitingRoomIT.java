package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.openai.client.OpenAIClient;
import com.openai.core.http.HttpResponseFor;
import com.openai.models.chat.completions.ChatCompletion;
import dev.fairshare.core.Clock;
import dev.fairshare.store.MemoryUsageStore;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14's wait instead of 429, on the real gateway and the real clock: a call refused for want
 * of model room whose room frees within {@code fairshare.max-queue-wait} is held (no container
 * thread: Servlet async) and admitted then; a longer wait is still a prompt 429; the number held
 * per model is bounded.
 */
class WaitingRoomIT {

  /**
   * An answer "at once": well under any wait the test could have held it for (2 s and more), with
   * room for a loaded machine.
   */
  static final long PROMPT_MILLIS = 1_500;

  @TempDir Path dir;
  TestGateway gateway;

  /** The reference model (60 TPM, 30-token answers) on a 4-second window. */
  void start(Map<String, String> extra) throws Exception {
    Map<String, String> props = new HashMap<>(Map.of("fairshare.window", "4s"));
    props.putAll(extra);
    gateway = TestGateway.start(dir, Clock.system(), props);
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  /** Fills the model: key 1 then key 2 use 30 each of the 60. */
  String[] fillTheModel() throws Exception {
    String key1 = gateway.mintKey("{}");
    String key2 = gateway.mintKey("{}");
    assertThat(call(gateway.client(key1)).statusCode()).isEqualTo(200);
    assertThat(call(gateway.client(key2)).statusCode()).isEqualTo(200);
    return new String[] {key1, key2};
  }

  static HttpResponseFor<ChatCompletion> call(OpenAIClient client) {
    return client
        .chat()
        .completions()
        .withRawResponse()
        .create(ReferenceScenarioIT.hello("Hey, how is it going?"));
  }

  CompletableFuture<HttpResponse<String>> rawCall(String key) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(gateway.base() + "/v1/chat/completions"))
            .header("Authorization", "Bearer " + key)
            .header("Content-Type", "application/json")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
            .build();
    return gateway.http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
  }

  Double metric(String name, String... labels) {
    return PrometheusText.value(gateway.gateway.fairShare().metrics().scrape(), name, labels);
  }

  int waiting() {
    return gateway.gateway.rateLimitFilter().waiting("my-fake-model");
  }

  int inFlight() {
    return ((MemoryUsageStore) gateway.gateway.fairShare().usageStore()).inFlight("my-fake-model");
  }

  @Test
  void aCallWhoseRoomFreesWithinTheWait_isHeldAndAdmitted_notAnswered429() throws Exception {
    start(Map.of());
    String[] keys = fillTheModel();

    // Key 2 again: the model is full until the first call leaves the 4 s window, within the 5 s
    // wait. The SDK sees one 200, later.
    long before = System.nanoTime();
    CompletableFuture<HttpResponseFor<ChatCompletion>> third =
        CompletableFuture.supplyAsync(() -> call(gateway.client(keys[1])));
    await().atMost(Duration.ofSeconds(3)).until(() -> waiting() == 1);
    assertThat(metric("fairshare_queue_waiting", "model", "my-fake-model")).isEqualTo(1.0);
    HttpResponseFor<ChatCompletion> response = third.get();
    long waitedMillis = (System.nanoTime() - before) / 1_000_000;

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.parse().usage().orElseThrow().totalTokens()).isEqualTo(30);
    assertThat(waitedMillis).isBetween(1_000L, 5_500L);
    assertThat(waiting()).isZero();
    // The metrics: one wait, ended by an admission, of the time the client saw (at most); the
    // held call is counted once, as admitted, never as refused
    assertThat(
            metric(
                "fairshare_queue_wait_seconds_count",
                "model",
                "my-fake-model",
                "outcome",
                "admitted"))
        .isEqualTo(1.0);
    assertThat(
            metric(
                "fairshare_queue_wait_seconds_sum",
                "model",
                "my-fake-model",
                "outcome",
                "admitted"))
        .isBetween(0.9, waitedMillis / 1000.0);
    assertThat(
            metric(
                "fairshare_calls_total",
                "model",
                "my-fake-model",
                "outcome",
                "admitted",
                "reason",
                ""))
        .isEqualTo(3.0);
    assertThat(gateway.gateway.fairShare().metrics().scrape())
        .doesNotContain("outcome=\"refused\"");
    await().atMost(Duration.ofSeconds(2)).until(() -> inFlight() == 0);
  }

  @Test
  void aLongerWaitIsStillAPrompt429_andZeroTurnsWaitingOff() throws Exception {
    // A wait of at most 2 s: a 10 s window's room is further away.
    start(Map.of("fairshare.max-queue-wait", "2s", "fairshare.window", "10s"));
    String[] keys = fillTheModel();
    long before = System.nanoTime();
    HttpResponse<String> refused = rawCall(keys[1]).get();
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat((System.nanoTime() - before) / 1_000_000).isLessThan(PROMPT_MILLIS);
    // About 9.5 s away: past the 5 s the SDKs are told to wait for, too.
    assertThat(refused.headers().firstValue("x-should-retry")).hasValue("false");
    assertThat(waiting()).isZero();
    gateway.close();
    gateway = null;

    start(Map.of("fairshare.max-queue-wait", "0s", "fairshare.window", "10s"));
    String[] again = fillTheModel();
    before = System.nanoTime();
    assertThat(rawCall(again[1]).get().statusCode()).isEqualTo(429);
    assertThat((System.nanoTime() - before) / 1_000_000).isLessThan(PROMPT_MILLIS);
  }

  @Test
  void atMostMaxQueuedWait_theNextIsAnswered429AtOnce() throws Exception {
    start(Map.of("fairshare.max-queued", "1"));
    String[] keys = fillTheModel();

    CompletableFuture<HttpResponse<String>> held = rawCall(keys[1]);
    await().atMost(Duration.ofSeconds(3)).until(() -> waiting() == 1);
    long before = System.nanoTime();
    HttpResponse<String> turnedAway = rawCall(keys[0]).get();
    assertThat(turnedAway.statusCode()).isEqualTo(429);
    assertThat((System.nanoTime() - before) / 1_000_000).isLessThan(PROMPT_MILLIS);
    assertThat(TestGateway.error(turnedAway).get("code").asText()).isEqualTo("rate_limit_exceeded");

    assertThat(held.get().statusCode()).isEqualTo(200);
    assertThat(waiting()).isZero();
    await().atMost(Duration.ofSeconds(2)).until(() -> inFlight() == 0);
  }

  @Test
  void aKeyHoldsAtMostAnEighthOfThePlaces_soOneKeyCannotFillTheRoom() throws Exception {
    // 8 places: 1 per key.
    start(Map.of("fairshare.max-queued", "8"));
    String[] keys = fillTheModel();

    CompletableFuture<HttpResponse<String>> held = rawCall(keys[1]);
    await().atMost(Duration.ofSeconds(3)).until(() -> waiting() == 1);
    // The same key's next call finds its place taken: 429 at once.
    long before = System.nanoTime();
    assertThat(rawCall(keys[1]).get().statusCode()).isEqualTo(429);
    assertThat((System.nanoTime() - before) / 1_000_000).isLessThan(PROMPT_MILLIS);
    // Another key still gets a place.
    CompletableFuture<HttpResponse<String>> other = rawCall(keys[0]);
    await().atMost(Duration.ofSeconds(3)).until(() -> waiting() == 2);

    assertThat(held.get().statusCode()).isEqualTo(200);
    assertThat(other.get().statusCode()).isEqualTo(200);
    assertThat(waiting()).isZero();
    await().atMost(Duration.ofSeconds(2)).until(() -> inFlight() == 0);
  }
}
