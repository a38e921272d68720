package dev.fairshare.openai;

import java.util.List;

/**
 * The parts of an OpenAI request body that the limiter needs: the model, whether it streams, the
 * completion cap, and the text that makes up the prompt (for the token estimate).
 *
 * @param model the {@code model} field
 * @param stream the {@code stream} field
 * @param maxTokens {@code max_tokens}, {@code max_completion_tokens} or {@code max_output_tokens};
 *     null when absent
 * @param streamIncludesUsage whether the client set {@code stream_options.include_usage}
 * @param promptTexts strings that make up the prompt, in order
 * @param messageCount chat messages (each costs a few tokens of format overhead)
 * @param nameCount messages with a {@code name}
 * @param imageCount image parts
 * @param choices completions asked for ({@code n} or {@code best_of}, at least 1): each is
 *     generated and charged
 * @param reasoning whether the request sets reasoning options (reasoning tokens are charged as
 *     output)
 * @param promptTokenIds tokens given as ids ({@code prompt} or {@code input} as integer lists)
 */
public record CompletionRequest(
    String model,
    boolean stream,
    Long maxTokens,
    boolean streamIncludesUsage,
    List<String> promptTexts,
    int messageCount,
    int nameCount,
    int imageCount,
    int choices,
    boolean reasoning,
    long promptTokenIds) {

  /** The same request for {@code model} (a client's name resolved to the configured one). */
  public CompletionRequest withModel(String model) {
    return new CompletionRequest(
        model,
        stream,
        maxTokens,
        streamIncludesUsage,
        promptTexts,
        messageCount,
        nameCount,
        imageCount,
        choices,
        reasoning,
        promptTokenIds);
  }
}
