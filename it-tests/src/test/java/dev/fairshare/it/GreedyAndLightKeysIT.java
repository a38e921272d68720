package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.fairshare.core.Clock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14's promise from the clients' side, on the real gateway, the real clock and the official
 * Java client (default retries): a greedy key keeping four calls going and four light keys each
 * calling every 4 s, well within their guaranteed share, on a token-bucket pool of 6,000 tokens per
 * 20 s window. No light call fails, none waits longer than the waiting room's 5 s, and the model is
 * kept full: on one gateway, and on two sharing the pool through Redis.
 */
class GreedyAndLightKeysIT {

  static final String MODEL = "shared-model";

  /** Tokens per window, window, and what each call really uses (10 prompt + 90 completion). */
  static final long CAPACITY = 6_000;

  static final Duration WINDOW = Duration.ofSeconds(20);
  static final long CALL_TOKENS = 100;

  /** How long the traffic runs. */
  static final Duration RUN = Duration.ofSeconds(20);

  @TempDir Path dir;
  final List<TestGateway> gateways = new ArrayList<>();

  @AfterEach
  void stop() {
    gateways.forEach(TestGateway::close);
  }

  static ChatCompletionCreateParams call() {
    return ChatCompletionCreateParams.builder()
        .model(MODEL)
        .addUserMessage("Hi")
        .maxCompletionTokens(90)
        .build();
  }

  static Map<String, String> settings() {
    return Map.of(
        "fairshare.models." + MODEL + ".tpm",
        Long.toString(CAPACITY),
        "fairshare.window",
        WINDOW.toSeconds() + "s",
        "fairshare.pool",
        "token-bucket",
        "fairshare.gateway.mock." + MODEL + ".prompt-tokens",
        "10",
        "fairshare.gateway.mock." + MODEL + ".completion-tokens",
        "90");
  }

  @Test
  void lightKeysBesideAGreedyOne_neverFail_waitAtMostTheBound_andTheModelStaysFull()
      throws Exception {
    gateways.add(TestGateway.start(dir, Clock.system(), settings()));
    greedyAndLightKeys("one gateway");
  }

  /**
   * The same traffic through two gateways sharing one bucket, its tickets and the keys' demand in
   * the real Redis on 127.0.0.1:6379: the greedy key's calls and the light keys alternate between
   * the instances, so a light key waiting on one is served before the greedy key on the other.
   */
  @Test
  void acrossTwoGatewaysOnOneRedis_theSame() throws Exception {
    Map<String, String> props = new HashMap<>(settings());
    props.put("fairshare.store", "redis");
    props.put("fairshare.redis.uri", "redis://127.0.0.1:6379");
    props.put("fairshare.redis.key-prefix", "fs-it-" + UUID.randomUUID());
    for (int i = 0; i < 2; i++) {
      gateways.add(TestGateway.start(dir, Clock.system(), props));
    }
    greedyAndLightKeys("two gateways on Redis");
  }

  private void greedyAndLightKeys(String setup) throws Exception {
    TestGateway first = gateways.get(0);
    String greedyKey = first.mintKey("{}");
    List<OpenAIClient> greedyClients = new ArrayList<>();
    for (TestGateway g : gateways) {
      greedyClients.add(g.client(greedyKey));
    }
    List<OpenAIClient> light = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      light.add(gateways.get(i % gateways.size()).client(first.mintKey("{}")));
    }

    AtomicLong admittedTokens = new AtomicLong();
    AtomicInteger greedyRefused = new AtomicInteger();
    List<Long> lightMillis = Collections.synchronizedList(new ArrayList<>());
    List<Throwable> lightFailures = Collections.synchronizedList(new ArrayList<>());
    long start = System.nanoTime();
    long end = start + RUN.toNanos();
    ScheduledExecutorService pool = Executors.newScheduledThreadPool(12);
    List<Future<?>> running = new ArrayList<>();
    try {
      for (int worker = 0; worker < 4; worker++) {
        OpenAIClient greedy = greedyClients.get(worker % greedyClients.size());
        running.add(
            pool.submit(
                () -> {
                  for (int n = 0; n < 10_000 && System.nanoTime() < end; n++) {
                    try {
                      ChatCompletion done = greedy.chat().completions().create(call());
                      admittedTokens.addAndGet(done.usage().orElseThrow().totalTokens());
                    } catch (RateLimitException e) {
                      greedyRefused.incrementAndGet();
                    }
                  }
                }));
      }
      // Each light key calls every 4 s, the keys a second apart, on the scheduler's clock.
      for (int k = 0; k < light.size(); k++) {
        OpenAIClient client = light.get(k);
        for (long at = k * 1_000L; at < RUN.toMillis(); at += 4_000) {
          running.add(
              pool.schedule(
                  () -> {
                    long began = System.nanoTime();
                    try {
                      ChatCompletion done = client.chat().completions().create(call());
                      admittedTokens.addAndGet(done.usage().orElseThrow().totalTokens());
                      lightMillis.add((System.nanoTime() - began) / 1_000_000);
                    } catch (RuntimeException e) {
                      lightFailures.add(e);
                    }
                  },
                  at,
                  TimeUnit.MILLISECONDS));
        }
      }
      for (Future<?> f : running) {
        f.get(RUN.toSeconds() + 30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    double seconds = (System.nanoTime() - start) / 1e9;

    assertThat(lightFailures).as("light calls that failed").isEmpty();
    assertThat(lightMillis).as("light calls").hasSizeGreaterThanOrEqualTo(4 * 4);
    // Each light call's wait (the call itself takes milliseconds): within the 5 s bound.
    assertThat(Collections.max(lightMillis)).as("longest light call, ms").isLessThan(5_500);
    // The model stays full: at least 95 % of the refill over the run (the bucket starts with
    // a sixth of the window more), and never more than the refill plus that burst.
    double refill = CAPACITY * seconds / WINDOW.toSeconds();
    long burst = CAPACITY / 6;
    assertThat((double) admittedTokens.get())
        .as("tokens admitted in %.1f s (refill %.0f)", seconds, refill)
        .isGreaterThanOrEqualTo(0.95 * refill)
        .isLessThanOrEqualTo(refill + burst + 4 * CALL_TOKENS);
    System.out.printf(
        "%s, greedy + 4 light keys: %d tokens admitted in %.1f s (refill %.0f), light calls %d,"
            + " longest %d ms, greedy 429s %d%n",
        setup,
        admittedTokens.get(),
        seconds,
        refill,
        lightMillis.size(),
        Collections.max(lightMillis),
        greedyRefused.get());
  }
}
