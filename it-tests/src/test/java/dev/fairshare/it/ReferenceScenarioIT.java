package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.HttpResponseFor;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.fairshare.core.ManualClock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LiteLLM's documented scenario, unchanged, with the official OpenAI Java client (default settings,
 * retries on): two keys minted over HTTP, a 60-TPM mock model answering 30 tokens, the third call a
 * prompt RateLimitException.
 */
class ReferenceScenarioIT {

  /** Frozen, minute-aligned time: the header values are exact. */
  static final long T0 = 1_800_000_000_000L;

  @TempDir Path dir;
  TestGateway gateway;

  @BeforeEach
  void start() throws Exception {
    gateway = TestGateway.start(dir, new ManualClock(T0), Map.of());
  }

  @AfterEach
  void stop() throws Exception {
    gateway.close();
  }

  static ChatCompletionCreateParams hello(String text) {
    return ChatCompletionCreateParams.builder().model("my-fake-model").addUserMessage(text).build();
  }

  static String header(HttpResponseFor<?> response, String name) {
    return response.headers().values(name).get(0);
  }

  @Test
  void twoKeysShareA60TpmModel_andTheSecondKeysSecondCallFailsFast() throws Exception {
    String key1 = gateway.mintKey("{}");
    String key2 = gateway.mintKey("{}");
    OpenAIClient client1 = gateway.client(key1);
    OpenAIClient client2 = gateway.client(key2);

    // call 1, key 1: 200, 30 tokens; key 1 alone holds the whole 60
    HttpResponseFor<ChatCompletion> first =
        client1.chat().completions().withRawResponse().create(hello("Hello world!"));
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.parse().usage().orElseThrow().totalTokens()).isEqualTo(30);
    assertThat(header(first, "x-ratelimit-limit-tokens")).isEqualTo("60");
    assertThat(header(first, "x-ratelimit-remaining-tokens")).isEqualTo("30");
    assertThat(header(first, "x-ratelimit-reset-tokens")).isEqualTo("1m0s");
    assertThat(header(first, "x-ratelimit-remaining-model-tokens")).isEqualTo("30");
    assertThat(header(first, "x-ratelimit-current-active-projects")).isEqualTo("1");

    // call 2, key 2: 200; two active keys, a share of 30 each, all of it used
    HttpResponseFor<ChatCompletion> second =
        client2.chat().completions().withRawResponse().create(hello("Hello world!"));
    assertThat(second.statusCode()).isEqualTo(200);
    assertThat(second.parse().usage().orElseThrow().totalTokens()).isEqualTo(30);
    assertThat(header(second, "x-ratelimit-limit-tokens")).isEqualTo("30");
    assertThat(header(second, "x-ratelimit-remaining-tokens")).isEqualTo("0");
    assertThat(header(second, "x-ratelimit-remaining-litellm-project-tokens")).isEqualTo("0");
    assertThat(header(second, "x-ratelimit-remaining-model-tokens")).isEqualTo("0");
    assertThat(header(second, "x-ratelimit-current-active-projects")).isEqualTo("2");

    // call 3, key 2 again: RateLimitException, promptly (the SDK must not sit in its retry loop)
    long started = System.nanoTime();
    RateLimitException limited =
        catchThrowableOfType(
            RateLimitException.class,
            () -> client2.chat().completions().create(hello("Hey, how's it going?")));
    Duration elapsed = Duration.ofNanos(System.nanoTime() - started);

    assertThat(limited).isNotNull();
    assertThat(elapsed).isLessThan(Duration.ofSeconds(2));
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.code()).contains("rate_limit_exceeded");
    assertThat(limited.type()).contains("tokens");
    assertThat(limited.headers().values("x-ratelimit-limit-tokens")).containsExactly("30");
    assertThat(limited.headers().values("x-ratelimit-remaining-tokens")).containsExactly("0");
    assertThat(limited.headers().values("retry-after")).containsExactly("60");
    assertThat(limited.headers().values("retry-after-ms")).containsExactly("60000");
    assertThat(limited.headers().values("x-should-retry")).containsExactly("false");
    assertThat(limited.getMessage())
        .contains("my-fake-model")
        .contains("Active keys 2")
        .doesNotContain(key2);
  }

  @Test
  void theV1PathServesTheSameBudget() throws Exception {
    String key = gateway.mintKey("{}");
    OpenAIClient v1 =
        OpenAIOkHttpClient.builder().apiKey(key).baseUrl(gateway.base() + "/v1").build();
    ChatCompletion completion = v1.chat().completions().create(hello("Hello world!"));
    assertThat(completion.usage().orElseThrow().totalTokens()).isEqualTo(30);
    assertThat(gateway.gateway.fairShare().usageStore()).isNotNull();
    // 30 of 60 used on the shared budget: the same key's next two calls get 200 then 429
    assertThat(
            gateway
                .client(key)
                .chat()
                .completions()
                .create(hello("again"))
                .usage()
                .orElseThrow()
                .totalTokens())
        .isEqualTo(30);
    assertThat(
            catchThrowableOfType(
                RateLimitException.class, () -> v1.chat().completions().create(hello("more"))))
        .isNotNull();
  }
}
