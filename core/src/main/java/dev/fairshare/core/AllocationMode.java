package dev.fairshare.core;

/** How a model's capacity is divided between the keys that use it. */
public enum AllocationMode {
  /**
   * Sliding window; each active key gets {@code C × w / Σw}; a key may borrow idle capacity while
   * the model is below the saturation threshold.
   */
  FAIR("fair"),
  /**
   * LiteLLM v1's dynamic rate limiter: calendar-minute window, allowance {@code floor((C − U) × w /
   * n)} with {@code n} the keys already admitted this minute, reject when it is 0.
   */
  LITELLM_V1("litellm-v1");

  private final String configName;

  AllocationMode(String configName) {
    this.configName = configName;
  }

  /** The name used in configuration ({@code fair}, {@code litellm-v1}). */
  public String configName() {
    return configName;
  }
}
