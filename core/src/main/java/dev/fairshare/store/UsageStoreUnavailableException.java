package dev.fairshare.store;

/**
 * The usage store cannot answer in time and the failure mode is {@code closed}: the filter answers
 * 503 with an OpenAI-style error.
 */
public final class UsageStoreUnavailableException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public UsageStoreUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
