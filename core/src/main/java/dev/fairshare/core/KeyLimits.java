package dev.fairshare.core;

import java.util.List;

/**
 * Static limits configured on one key, enforced on top of its fair share.
 *
 * @param tokensPerWindow the key's own TPM limit, or {@link ModelCapacity#UNLIMITED}
 * @param requestsPerWindow the key's own RPM limit, or {@link ModelCapacity#UNLIMITED}
 * @param maxParallelRequests how many requests the key may have in flight at once, or {@link
 *     ModelCapacity#UNLIMITED}
 * @param windows limits in windows of their own, checked after the key's own in this order: its
 *     team's, its per-model limits, its team's per-model limits
 * @param group the group the key shares the model in (its team), or null to share it as a key
 */
public record KeyLimits(
    long tokensPerWindow,
    long requestsPerWindow,
    long maxParallelRequests,
    List<LimitWindow> windows,
    ShareGroup group) {

  /** A key without static limits. */
  public static final KeyLimits NONE =
      new KeyLimits(ModelCapacity.UNLIMITED, ModelCapacity.UNLIMITED, ModelCapacity.UNLIMITED);

  public KeyLimits {
    if (tokensPerWindow < ModelCapacity.UNLIMITED
        || requestsPerWindow < ModelCapacity.UNLIMITED
        || maxParallelRequests < ModelCapacity.UNLIMITED) {
      throw new IllegalArgumentException("key limits must be >= 0 or UNLIMITED");
    }
    windows = List.copyOf(windows);
  }

  /** The key's own limits, without shared windows or group. */
  public KeyLimits(long tokensPerWindow, long requestsPerWindow, long maxParallelRequests) {
    this(tokensPerWindow, requestsPerWindow, maxParallelRequests, List.of(), null);
  }

  /** These limits, the model shared in {@code newGroup}. */
  public KeyLimits withGroup(ShareGroup newGroup) {
    return new KeyLimits(
        tokensPerWindow, requestsPerWindow, maxParallelRequests, windows, newGroup);
  }

  /** True when the key has limits of its own (tpm, rpm or parallel), windows aside. */
  public boolean hasOwnLimits() {
    return tokensPerWindow != ModelCapacity.UNLIMITED
        || requestsPerWindow != ModelCapacity.UNLIMITED
        || maxParallelRequests != ModelCapacity.UNLIMITED;
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
        ModelCapacity.part(maxParallelRequests, instances),
        windows.stream().map(w -> w.sharedBy(instances)).toList(),
        group);
  }
}
