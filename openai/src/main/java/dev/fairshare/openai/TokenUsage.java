package dev.fairshare.openai;

/**
 * Token usage reported by an endpoint ({@code usage} of a response).
 *
 * @param input prompt / input tokens
 * @param output completion / output tokens
 * @param total total tokens (input + output when the endpoint does not say)
 */
public record TokenUsage(long input, long output, long total) {

  /**
   * This usage with every figure within {@code [0, max]}, and the total at least the larger of
   * input and output: what an upstream reports is not trusted to be sane.
   */
  public TokenUsage clamped(long max) {
    long in = Math.min(Math.max(0, input), max);
    long out = Math.min(Math.max(0, output), max);
    long sum = Math.min(max, in + out); // both at most max <= Long.MAX_VALUE / 2 in practice
    if (in + out < 0) {
      sum = max; // overflowed
    }
    long all = total < 0 ? sum : Math.min(total, max);
    return new TokenUsage(
        in, out, Math.max(all, sum)); // a total below input + output is not believed
  }

  /** The tokens that count under {@code mode}. */
  public long counted(TokenCount mode) {
    return switch (mode) {
      case TOTAL -> total;
      case INPUT -> input;
      case OUTPUT -> output;
    };
  }
}
