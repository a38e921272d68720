package dev.fairshare.core;

/** Why a request was admitted or rejected. */
public enum Verdict {
  ADMITTED(null),
  /** The key already has {@code max_parallel_requests} requests in flight. */
  KEY_PARALLEL_LIMIT(Dimension.REQUESTS),
  /** The key reached its own {@code rpm_limit}. */
  KEY_REQUEST_LIMIT(Dimension.REQUESTS),
  /** The key reached its own {@code tpm_limit}. */
  KEY_TOKEN_LIMIT(Dimension.TOKENS),
  /** The model has no tokens left in the window. */
  MODEL_TOKENS(Dimension.TOKENS),
  /** The model is saturated and the key used its fair share of tokens. */
  SHARE_TOKENS(Dimension.TOKENS),
  /** The model has no requests left in the window. */
  MODEL_REQUESTS(Dimension.REQUESTS),
  /** The model is saturated and the key used its fair share of requests. */
  SHARE_REQUESTS(Dimension.REQUESTS),
  /**
   * The request alone is larger than the key's own {@code tpm_limit}: no wait admits it. (Last, so
   * that the ordinals the Redis scripts return keep their meaning; they never return this.)
   */
  REQUEST_TOO_LARGE(Dimension.TOKENS);

  private final Dimension dimension;

  Verdict(Dimension dimension) {
    this.dimension = dimension;
  }

  /** True for {@link #ADMITTED}. */
  public boolean admitted() {
    return this == ADMITTED;
  }

  /** The dimension that tripped, or null when admitted. */
  public Dimension dimension() {
    return dimension;
  }

  /** True when the key's own static limit (not the shared model) caused the rejection. */
  public boolean isKeyLimit() {
    return this == KEY_PARALLEL_LIMIT
        || this == KEY_REQUEST_LIMIT
        || this == KEY_TOKEN_LIMIT
        || this == REQUEST_TOO_LARGE;
  }
}
