package dev.fairshare.keys;

/** A key or alias that must be unique already exists. */
public final class DuplicateKeyException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final String field;

  public DuplicateKeyException(String field, String message) {
    super(message);
    this.field = field;
  }

  /** The request field that collided ({@code key} or {@code key_alias}). */
  public String field() {
    return field;
  }
}
