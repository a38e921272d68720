package dev.fairshare.keys;

import java.util.Optional;

/** Persistent storage of {@link ApiKey}s, by their sha256 token. Implementations are thread-safe. */
public interface KeyStore extends AutoCloseable {

  /**
   * Stores a new key.
   *
   * @throws DuplicateKeyException when the token or the alias is taken
   */
  void insert(ApiKey key);

  /** The key with this sha256 token. */
  Optional<ApiKey> findByToken(String token);

  /** The key with this alias. */
  Optional<ApiKey> findByAlias(String alias);

  /** True when the store answers (for health checks). */
  boolean isReachable();

  @Override
  void close();
}
