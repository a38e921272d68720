package dev.fairshare.core;

/**
 * Static limits configured on one key, enforced on top of its fair share.
 *
 * @param tokensPerWindow the key's own TPM limit, or {@link ModelCapacity#UNLIMITED}
 * @param requestsPerWindow the key's own RPM limit, or {@link ModelCapacity#UNLIMITED}
 * @param maxParallelRequests how many requests the key may have in flight at once, or {@link
 *     ModelCapacity#UNLIMITED}
 */
public record KeyLimits(long tokensPerWindow, long requestsPerWindow, long maxParallelRequests) {

  /** A key without static limits. */
  public static final KeyLimits NONE =
      new KeyLimits(ModelCapacity.UNLIMITED, ModelCapacity.UNLIMITED, ModelCapacity.UNLIMITED);

  public KeyLimits {
    if (tokensPerWindow < ModelCapacity.UNLIMITED
        || requestsPerWindow < ModelCapacity.UNLIMITED
        || maxParallelRequests < ModelCapacity.UNLIMITED) {
      throw new IllegalArgumentException("key limits must be >= 0 or UNLIMITED");
    }
  }

  /**
   * This instance's part of the limits when {@code instances} share them ({@link
   * ModelCapacity#sharedBy}).
   */
  public KeyLimits sharedBy(int instances) {
    if (instances <= 1 || equals(NONE)) {
      return this;
    }
    return new KeyLimits(
        ModelCapacity.part(tokensPerWindow, instances),
        ModelCapacity.part(requestsPerWindow, instances),
        ModelCapacity.part(maxParallelRequests, instances));
  }
}
