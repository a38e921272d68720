package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import dev.fairshare.core.ManualClock;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.UsageSnapshot;
import dev.fairshare.openai.CompletionRequest;
import dev.fairshare.openai.RequestReader;
import dev.fairshare.store.MemoryUsageStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Streaming through the filter with the official Java client's streaming API, and the other
 * endpoints.
 */
class StreamingIT {

  static final long T0 = 1_800_000_000_000L;
  static final String CONTENT = "one two three four five six";

  @TempDir Path dir;
  final ManualClock clock = new ManualClock(T0);
  TestGateway gateway;

  @BeforeEach
  void start() throws Exception {
    gateway =
        TestGateway.start(
            dir,
            clock,
            Map.of(
                "fairshare.models.stream-model.tpm", "100000",
                "fairshare.gateway.mock.stream-model.content", CONTENT,
                "fairshare.models.slow-stream.tpm", "100000",
                "fairshare.gateway.mock.slow-stream.content", CONTENT,
                "fairshare.gateway.mock.slow-stream.chunk-delay", "200ms",
                "fairshare.models.no-usage.tpm", "100000",
                "fairshare.gateway.mock.no-usage.content", CONTENT,
                "fairshare.gateway.mock.no-usage.stream-usage", "false"));
  }

  @AfterEach
  void stop() throws Exception {
    gateway.close();
  }

  UsageSnapshot standing(String key, String model) {
    return gateway.standing(key, model, new ModelCapacity(100_000, 1_000));
  }

  static ChatCompletionCreateParams.Builder chat(String model) {
    return ChatCompletionCreateParams.builder().model(model).addUserMessage("Say six words.");
  }

  @Test
  void streamWithoutUsageRequested_clientNeverSeesTheInjectedChunk_andIsChargedTheMocksUsage()
      throws Exception {
    String key = gateway.mintKey("{}");
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream =
        gateway.client(key).chat().completions().createStreaming(chat("stream-model").build())) {
      stream.stream().forEach(chunks::add);
    }
    StringBuilder text = new StringBuilder();
    chunks.forEach(c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(text::append)));
    assertThat(text.toString()).isEqualTo(CONTENT);
    assertThat(chunks).allSatisfy(c -> assertThat(c.usage()).isEmpty());
    assertThat(chunks).allSatisfy(c -> assertThat(c.choices()).isNotEmpty());
    assertThat(standing(key, "stream-model").tokens().used()).isEqualTo(30);
  }

  @Test
  void streamWithUsageRequested_clientSeesTheUsageChunk() throws Exception {
    String key = gateway.mintKey("{}");
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    ChatCompletionCreateParams params =
        chat("stream-model")
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
            .build();
    try (StreamResponse<ChatCompletionChunk> stream =
        gateway.client(key).chat().completions().createStreaming(params)) {
      stream.stream().forEach(chunks::add);
    }
    List<ChatCompletionChunk> withUsage =
        chunks.stream().filter(c -> c.usage().isPresent()).toList();
    assertThat(withUsage).hasSize(1);
    assertThat(withUsage.get(0).usage().orElseThrow().totalTokens()).isEqualTo(30);
    assertThat(standing(key, "stream-model").tokens().used()).isEqualTo(30);
  }

  @Test
  void streamIsNotBuffered_theFirstChunkArrivesLongBeforeTheLast() throws Exception {
    String key = gateway.mintKey("{}");
    long firstAt = 0;
    long lastAt = 0;
    int count = 0;
    try (StreamResponse<ChatCompletionChunk> stream =
        gateway.client(key).chat().completions().createStreaming(chat("slow-stream").build())) {
      Iterator<ChatCompletionChunk> it = stream.stream().iterator();
      while (it.hasNext()) {
        it.next();
        long now = System.nanoTime();
        if (count++ == 0) {
          firstAt = now;
        }
        lastAt = now;
      }
    }
    // 8 chunks 200 ms apart: unbuffered, the first is in the client's hands over a second before
    // the last.
    assertThat(count).isEqualTo(8);
    assertThat(Duration.ofNanos(lastAt - firstAt)).isGreaterThan(Duration.ofMillis(1000));
  }

  @Test
  void streamWithoutAnyUsage_isChargedThePromptEstimatePlusTheCountedText() throws Exception {
    String key = gateway.mintKey("{}");
    try (StreamResponse<ChatCompletionChunk> stream =
        gateway.client(key).chat().completions().createStreaming(chat("no-usage").build())) {
      stream.stream().forEach(c -> {});
    }
    long prompt = promptEstimate("no-usage");
    long completion = gateway.gateway.fairShare().estimator().countText("no-usage", CONTENT);
    assertThat(completion).isEqualTo(6);
    assertThat(standing(key, "no-usage").tokens().used()).isEqualTo(prompt + completion);
  }

  @Test
  void clientClosingAfterTwoChunks_isChargedWhatWasStreamed_andItsSlotIsReleased()
      throws Exception {
    String key = gateway.mintKey("{\"max_parallel_requests\":1}");
    OpenAIClient client = gateway.client(key);
    try (StreamResponse<ChatCompletionChunk> stream =
        client.chat().completions().createStreaming(chat("slow-stream").build())) {
      Iterator<ChatCompletionChunk> it = stream.stream().iterator();
      it.next();
      it.next();
    }
    // The slot frees once the server notices the client is gone (its next write fails).
    MemoryUsageStore store = (MemoryUsageStore) gateway.gateway.fairShare().usageStore();
    await().atMost(Duration.ofSeconds(10)).until(() -> store.inFlight("slow-stream") == 0);
    // An abandoned stream may have generated more than it relayed: it is charged its reservation
    // (the prompt and the completion allowance, nothing learned from this call), not the 1-5
    // tokens that reached the client.
    String body =
        "{\"model\":\"slow-stream\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Say six words.\"}]}";
    long reserved = TestGateway.reservation(gateway.gateway.fairShare(), body);
    assertThat(reserved).isGreaterThan(promptEstimate("slow-stream") + 5);
    assertThat(standing(key, "slow-stream").tokens().used()).isEqualTo(reserved);
    ChatCompletionCreateParams again = chat("slow-stream").build();
    try (StreamResponse<ChatCompletionChunk> next =
        client.chat().completions().createStreaming(again)) {
      assertThat(next.stream().count()).isEqualTo(8);
    }
  }

  @Test
  void textCompletionsStreamToo() throws Exception {
    String key = gateway.mintKey("{}");
    StringBuilder text = new StringBuilder();
    try (StreamResponse<Completion> stream =
        gateway
            .client(key)
            .completions()
            .createStreaming(
                CompletionCreateParams.builder()
                    .model("stream-model")
                    .prompt("Say six words.")
                    .build())) {
      stream.stream().forEach(c -> c.choices().forEach(ch -> text.append(ch.text())));
    }
    assertThat(text.toString()).isEqualTo(CONTENT);
    assertThat(standing(key, "stream-model").tokens().used()).isEqualTo(30);
  }

  @Test
  void embeddingsAreCountedByTheirInputTokens() throws Exception {
    String key = gateway.mintKey("{}");
    CreateEmbeddingResponse embedding =
        gateway
            .client(key)
            .embeddings()
            .create(EmbeddingCreateParams.builder().model("stream-model").input("hello").build());
    assertThat(embedding.usage().totalTokens()).isEqualTo(10);
    assertThat(standing(key, "stream-model").tokens().used()).isEqualTo(10);
  }

  @Test
  void responsesApiIsCountedByItsInputAndOutputTokens() throws Exception {
    String key = gateway.mintKey("{}");
    Response response =
        gateway
            .client(key)
            .responses()
            .create(ResponseCreateParams.builder().model("stream-model").input("hello").build());
    assertThat(response.usage().orElseThrow().totalTokens()).isEqualTo(30);
    assertThat(standing(key, "stream-model").tokens().used()).isEqualTo(30);
  }

  long promptEstimate(String model) throws Exception {
    // What the Java client sends: one user message.
    String body =
        "{\"model\":\""
            + model
            + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Say six words.\"}]}";
    CompletionRequest request = RequestReader.read(body.getBytes(StandardCharsets.UTF_8));
    return gateway.gateway.fairShare().estimator().promptTokens(request);
  }
}
