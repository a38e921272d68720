package dev.fairshare.keys;

/**
 * A freshly generated key: the raw key, shown to the caller exactly once, and what was stored.
 *
 * @param rawKey the raw {@code sk-...} key; never stored, never logged
 * @param stored the stored record (holding only the hash)
 */
public record GeneratedKey(String rawKey, ApiKey stored) {

  @Override
  public String toString() {
    return "GeneratedKey[" + stored.keyName() + "]";
  }
}
