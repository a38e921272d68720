package dev.fairshare.config;

/**
 * What a model's tokens cost ({@code fairshare.models.<m>.input-cost-per-token} and {@code
 * .output-cost-per-token}, LiteLLM's names), in USD per token.
 *
 * @param inputPerToken USD per prompt token
 * @param outputPerToken USD per completion token
 */
public record ModelPrice(double inputPerToken, double outputPerToken) {

  /** Free. */
  public static final ModelPrice FREE = new ModelPrice(0, 0);

  /** The most a token may cost: far above any model's price. */
  public static final double MAX_PER_TOKEN = 1.0;

  /** Nano-USD per USD: spend is counted in whole nano-USD. */
  public static final double NANOS_PER_USD = 1e9;

  public ModelPrice {
    if (!(inputPerToken >= 0 && inputPerToken <= MAX_PER_TOKEN)
        || !(outputPerToken >= 0 && outputPerToken <= MAX_PER_TOKEN)) {
      throw new IllegalArgumentException("a price per token is from 0 to " + MAX_PER_TOKEN);
    }
  }

  /** True when neither kind of token costs anything. */
  public boolean isFree() {
    return inputPerToken == 0 && outputPerToken == 0;
  }

  /** What {@code input} prompt and {@code output} completion tokens cost, in nano-USD. */
  public long nanos(long input, long output) {
    return Math.round(
        input * inputPerToken * NANOS_PER_USD + output * outputPerToken * NANOS_PER_USD);
  }

  /** This price with the input or output price replaced. */
  ModelPrice with(boolean input, double perToken) {
    return input
        ? new ModelPrice(perToken, outputPerToken)
        : new ModelPrice(inputPerToken, perToken);
  }

  /** A price per token, from 0 to {@link #MAX_PER_TOKEN}; null when the text is not one. */
  public static Double perToken(String text) {
    try {
      double value = Double.parseDouble(text);
      return value >= 0 && value <= MAX_PER_TOKEN ? value : null;
    } catch (NumberFormatException | NullPointerException e) {
      return null;
    }
  }
}
