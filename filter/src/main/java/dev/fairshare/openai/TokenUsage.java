package dev.fairshare.openai;

import dev.fairshare.config.TokenCount;

/**
 * Token usage reported by an endpoint ({@code usage} of a response).
 *
 * @param input prompt / input tokens
 * @param output completion / output tokens
 * @param total total tokens (input + output when the endpoint does not say)
 */
public record TokenUsage(long input, long output, long total) {

  /** The tokens that count under {@code mode}. */
  public long counted(TokenCount mode) {
    return switch (mode) {
      case TOTAL -> total;
      case INPUT -> input;
      case OUTPUT -> output;
    };
  }
}
