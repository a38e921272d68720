package dev.fairshare.keys;

/**
 * The outcome of authenticating a raw key.
 *
 * @param status valid, or why not
 * @param key the stored key (null when unknown)
 */
public record KeyCheck(Status status, ApiKey key) {

  /** Why a key is or is not accepted. */
  public enum Status {
    VALID,
    UNKNOWN,
    EXPIRED,
    BLOCKED
  }

  public boolean valid() {
    return status == Status.VALID;
  }
}
