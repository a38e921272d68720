package dev.fairshare.keys;

/** The key database failed (unreachable, schema problem). The message never holds a raw key. */
public final class KeyStoreException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public KeyStoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
