package dev.fairshare.openai;

/**
 * Tokens a request is expected to use, before it runs.
 *
 * @param promptTokens the prompt, format overhead included
 * @param completionTokens the completion allowance ({@code min(max_tokens, reserve)})
 */
public record TokenEstimate(long promptTokens, long completionTokens) {

  /** The estimate as a usage figure. */
  public TokenUsage asUsage() {
    return new TokenUsage(promptTokens, completionTokens, promptTokens + completionTokens);
  }
}
