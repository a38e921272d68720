package dev.fairshare.sim;

import dev.fairshare.core.ModelCapacity;
import java.util.List;

/**
 * A traffic scenario described as data.
 *
 * @param name shown in the table
 * @param capacity the model's tokens per window
 * @param minutes simulated length
 * @param estimateError actual usage = estimate × (1 + e × u), u uniform in [-1, 1]
 * @param keys the keys and their traffic
 * @param requestCapacity the model's requests per window, or {@link ModelCapacity#UNLIMITED}
 * @param maxTokens when positive, each request reserves its size plus this {@code max_tokens}, and
 *     really uses its size plus a completion drawn uniformly from 10 to {@code maxTokens} (so the
 *     estimate runs high, as a client's {@code max_tokens} does); {@code estimateError} is then not
 *     used
 */
public record Scenario(
    String name,
    long capacity,
    int minutes,
    double estimateError,
    List<Traffic> keys,
    long requestCapacity,
    long maxTokens) {

  /** A scenario limited in tokens only, with estimates off by {@code estimateError}. */
  public Scenario(
      String name, long capacity, int minutes, double estimateError, List<Traffic> keys) {
    this(name, capacity, minutes, estimateError, keys, ModelCapacity.UNLIMITED, 0);
  }

  /** The model's capacity as the engine sees it. */
  ModelCapacity modelCapacity() {
    return new ModelCapacity(capacity, requestCapacity);
  }
}
