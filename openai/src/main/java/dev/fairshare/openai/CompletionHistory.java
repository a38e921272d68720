package dev.fairshare.openai;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * What each model's completions really came to, so that a request without {@code max_tokens}
 * reserves what the model tends to answer rather than a fixed guess.
 *
 * <p>Per model: an exponentially weighted mean of the completion tokens of answered calls and of
 * their absolute deviation; the reserve is {@code ceil(mean + 2 × deviation)}. Until a model has
 * answered once, the configured reserve applies. A low reserve is safe for the budget: usage above
 * a reservation is charged anyway (debt), and a request only has to fit in the model's room with
 * its estimate, so a pessimistic fixed reserve would refuse calls that the budget can hold.
 *
 * <p>Thread-safe. At most {@value #MAX_MODELS} models are remembered (model names come from
 * clients).
 */
public final class CompletionHistory {

  static final int MAX_MODELS = 1_000;

  /** Weight of the newest observation. */
  static final double ALPHA = 0.1;

  private final long initialReserve;
  private final Cache<String, Stats> models = Caffeine.newBuilder().maximumSize(MAX_MODELS).build();

  /**
   * @param initialReserve the reserve for a model that has not answered yet
   */
  public CompletionHistory(long initialReserve) {
    this.initialReserve = initialReserve;
  }

  /** The completion tokens to reserve for a request to {@code model} that sets no cap. */
  public long reserve(String model) {
    Stats stats = models.getIfPresent(model);
    // A floor of a sixteenth of the configured reserve: a run of one-word answers cannot make
    // uncapped requests reserve next to nothing.
    return stats == null
        ? initialReserve
        : Math.max(initialReserve / 16, stats.reserve(initialReserve));
  }

  /** Records that a call to {@code model} produced {@code completionTokens}. */
  public void observe(String model, long completionTokens) {
    if (completionTokens < 0) {
      return;
    }
    models.get(model, m -> new Stats()).add(completionTokens);
  }

  private static final class Stats {
    private boolean empty = true;
    private double mean;
    private double deviation;

    synchronized void add(long tokens) {
      if (empty) {
        empty = false;
        mean = tokens;
        return;
      }
      double error = tokens - mean;
      mean += ALPHA * error;
      deviation += ALPHA * (Math.abs(error) - deviation);
    }

    /** {@code fallback} while nothing was added (a racing first observation). */
    synchronized long reserve(long fallback) {
      return empty ? fallback : (long) Math.ceil(mean + 2 * deviation);
    }
  }
}
