package dev.fairshare.core;

import java.util.Objects;

/**
 * One request asking to be admitted to a model.
 *
 * @param keyId stable identifier of the API key (its sha256, never the raw key)
 * @param model the model name as the client sent it
 * @param capacity the model's capacity
 * @param weight the key's priority weight (&gt; 0)
 * @param estimatedTokens tokens the request is expected to use; reserved on admission
 * @param keyLimits the key's static limits
 */
public record AdmissionRequest(
    String keyId,
    String model,
    ModelCapacity capacity,
    double weight,
    long estimatedTokens,
    KeyLimits keyLimits) {

  public AdmissionRequest {
    Objects.requireNonNull(keyId, "keyId");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(capacity, "capacity");
    Objects.requireNonNull(keyLimits, "keyLimits");
    if (!(weight > 0.0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException("weight must be positive and finite, was " + weight);
    }
    if (estimatedTokens < 0) {
      throw new IllegalArgumentException("estimatedTokens must be >= 0, was " + estimatedTokens);
    }
  }

  /**
   * This request against this instance's part of every limit, when {@code instances} share them.
   */
  public AdmissionRequest sharedBy(int instances) {
    if (instances <= 1) {
      return this;
    }
    return new AdmissionRequest(
        keyId,
        model,
        capacity.sharedBy(instances),
        weight,
        estimatedTokens,
        keyLimits.sharedBy(instances));
  }
}
