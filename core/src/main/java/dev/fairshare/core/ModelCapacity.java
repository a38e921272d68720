package dev.fairshare.core;

/**
 * What a model can serve per window: tokens (TPM) and requests (RPM).
 *
 * @param tokens tokens per window, or {@link #UNLIMITED}
 * @param requests requests per window, or {@link #UNLIMITED}
 */
public record ModelCapacity(long tokens, long requests) {

  /** Marks a dimension without a limit. */
  public static final long UNLIMITED = -1;

  /** A model nobody configured: nothing limited. */
  public static final ModelCapacity UNLIMITED_MODEL = new ModelCapacity(UNLIMITED, UNLIMITED);

  public ModelCapacity {
    if (tokens < UNLIMITED || requests < UNLIMITED) {
      throw new IllegalArgumentException(
          "capacity must be >= 0 or UNLIMITED, was tokens=" + tokens + " requests=" + requests);
    }
  }

  /** True when tokens are limited. */
  public boolean limitsTokens() {
    return tokens != UNLIMITED;
  }

  /** True when requests are limited. */
  public boolean limitsRequests() {
    return requests != UNLIMITED;
  }
}
