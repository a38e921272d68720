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

  /**
   * This instance's part of the capacity when {@code instances} share it without a shared store:
   * each limited dimension divided by {@code instances}, rounded down but at least 1 (a zero stays
   * zero).
   */
  public ModelCapacity sharedBy(int instances) {
    return instances <= 1
        ? this
        : new ModelCapacity(part(tokens, instances), part(requests, instances));
  }

  /** {@code limit / instances}, at least 1 unless {@code limit} is 0 or unlimited. */
  static long part(long limit, int instances) {
    if (limit == UNLIMITED || limit == 0 || instances <= 1) {
      return limit;
    }
    return Math.max(1, limit / instances);
  }
}
