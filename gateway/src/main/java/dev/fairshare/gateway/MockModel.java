package dev.fairshare.gateway;

import java.time.Duration;

/**
 * What the gateway's mock answers for one model ({@code fairshare.gateway.mock.<model>.*}).
 *
 * @param promptTokens {@code usage.prompt_tokens} of every answer
 * @param completionTokens {@code usage.completion_tokens} of every answer
 * @param content the assistant's text
 * @param chunkDelay pause between streamed chunks
 * @param latency pause before a non-streamed answer (to hold a request in flight)
 * @param streamUsage whether a stream ends with a usage chunk when asked ({@code false}: an
 *     endpoint that never reports usage in streams)
 * @param status the HTTP status to answer with; anything but 200 answers an OpenAI-style error (a
 *     429 with the upstream's own {@code retry-after} and rate-limit headers)
 * @param async whether to answer asynchronously (servlet async API, another thread), as proxies and
 *     reactive endpoints do
 */
public record MockModel(
    long promptTokens,
    long completionTokens,
    String content,
    Duration chunkDelay,
    Duration latency,
    boolean streamUsage,
    int status,
    boolean async) {

  /** LiteLLM's documented mock: 10 prompt + 20 completion tokens. */
  public static final MockModel DEFAULT =
      new MockModel(
          10,
          20,
          "This is a mock response from FairShare.",
          Duration.ZERO,
          Duration.ZERO,
          true,
          200,
          false);

  public long totalTokens() {
    return promptTokens + completionTokens;
  }
}
