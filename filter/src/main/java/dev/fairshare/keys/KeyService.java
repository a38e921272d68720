package dev.fairshare.keys;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.fairshare.core.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Generates keys and authenticates them. Lookups are cached for a short TTL so the filter does
 * not query the database per request; a change made through this service invalidates the cached
 * entry at once (other instances see it when their TTL ends).
 */
public final class KeyService implements AutoCloseable {

  private final KeyStore store;
  private final Clock clock;
  private final Cache<String, Optional<ApiKey>> byToken;

  public KeyService(KeyStore store, Clock clock, Duration cacheTtl) {
    this.store = Objects.requireNonNull(store, "store");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.byToken =
        Caffeine.newBuilder()
            .expireAfterWrite(cacheTtl)
            .maximumSize(100_000)
            .ticker(() -> clock.millis() * 1_000_000L)
            .build();
  }

  /** The underlying store. */
  public KeyStore store() {
    return store;
  }

  /**
   * Creates and stores a key.
   *
   * @throws IllegalArgumentException naming the field when the spec is invalid
   * @throws DuplicateKeyException when the alias or custom key is taken
   */
  public GeneratedKey generate(KeySpec spec) {
    String raw = spec.customKey() != null ? spec.customKey() : KeyHashing.newKey();
    Instant now = Instant.ofEpochMilli(clock.millis());
    ApiKey key =
        new ApiKey(
            KeyHashing.sha256(raw),
            KeyHashing.maskedName(raw),
            spec.keyAlias(),
            spec.models(),
            spec.tpmLimit(),
            spec.rpmLimit(),
            spec.maxParallelRequests(),
            spec.metadata(),
            spec.duration() == null ? null : now.plus(spec.duration()),
            Boolean.TRUE.equals(spec.blocked()),
            spec.userId(),
            spec.teamId(),
            now,
            now);
    store.insert(key);
    byToken.invalidate(key.token());
    return new GeneratedKey(raw, key);
  }

  /**
   * Checks a raw key presented by a client.
   *
   * @throws KeyStoreException when the key database cannot be read
   */
  public KeyCheck authenticate(String rawKey) {
    String token = KeyHashing.sha256(rawKey);
    Optional<ApiKey> found = byToken.get(token, store::findByToken);
    if (found.isEmpty()) {
      return new KeyCheck(KeyCheck.Status.UNKNOWN, null);
    }
    ApiKey key = found.get();
    if (key.blocked()) {
      return new KeyCheck(KeyCheck.Status.BLOCKED, key);
    }
    if (key.expiredAt(Instant.ofEpochMilli(clock.millis()))) {
      return new KeyCheck(KeyCheck.Status.EXPIRED, key);
    }
    return new KeyCheck(KeyCheck.Status.VALID, key);
  }

  /** Drops a cached lookup (after a change made elsewhere). */
  public void invalidate(String token) {
    byToken.invalidate(token);
  }

  @Override
  public void close() {
    store.close();
  }
}
