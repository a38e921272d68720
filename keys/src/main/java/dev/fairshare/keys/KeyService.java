package dev.fairshare.keys;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.fairshare.core.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Generates keys and authenticates them. Lookups are cached for a short TTL so the filter does not
 * query the database per request; a change made through this service invalidates the cached entry
 * at once (other instances see it when their TTL ends).
 */
public final class KeyService implements AutoCloseable {

  private final KeyStore store;
  private final Clock clock;
  private final Cache<String, Lookup> byToken;
  private final Cache<String, Optional<Team>> teams;
  private final Cache<Boolean, Boolean> anyTeam;

  public KeyService(KeyStore store, Clock clock, Duration cacheTtl) {
    this.store = Objects.requireNonNull(store, "store");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.byToken =
        Caffeine.newBuilder()
            .expireAfterWrite(cacheTtl)
            .maximumSize(100_000)
            .ticker(() -> clock.millis() * 1_000_000L)
            .build();
    this.anyTeam =
        Caffeine.newBuilder()
            .expireAfterWrite(cacheTtl)
            .ticker(() -> clock.millis() * 1_000_000L)
            .build();
    this.teams =
        Caffeine.newBuilder()
            .expireAfterWrite(cacheTtl)
            .maximumSize(10_000)
            .ticker(() -> clock.millis() * 1_000_000L)
            .build();
  }

  /** The underlying store. */
  public KeyStore store() {
    return store;
  }

  /** How many keys there are, those with {@code alias} only when it is not null. */
  public long count(String alias) {
    return store.count(alias);
  }

  /**
   * A page of keys ({@code offset}, at most {@code limit}), those with {@code alias} only when not
   * null.
   */
  public List<ApiKey> list(int offset, int limit, String alias) {
    return store.list(offset, limit, alias);
  }

  /** Whether the key database answers. */
  public boolean isReachable() {
    return store.isReachable();
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
            now,
            spec.quotas());
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
    Lookup lookup = byToken.get(token, this::lookup);
    if (lookup.validUntilMillis() <= clock.millis()) {
      // A regenerated key's grace period ended while cached.
      byToken.invalidate(token);
      lookup = byToken.get(token, this::lookup);
    }
    Optional<ApiKey> found = lookup.key();
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

  /** A cached resolution of a presented token, good until {@code validUntilMillis}. */
  private record Lookup(Optional<ApiKey> key, long validUntilMillis) {}

  /**
   * A presented token: the key itself, or the key it was regenerated into while the old token's
   * grace period lasts (cached only until the grace period ends).
   */
  private Lookup lookup(String token) {
    Optional<ApiKey> current = store.findByToken(token);
    if (current.isPresent()) {
      return new Lookup(current, Long.MAX_VALUE);
    }
    long now = clock.millis();
    Optional<GraceToken> grace = store.findGrace(token, now);
    if (grace.isPresent()) {
      return new Lookup(Optional.of(grace.get().key()), grace.get().validUntilMillis());
    }
    return new Lookup(Optional.empty(), Long.MAX_VALUE);
  }

  /** The key named raw or by its hash, uncached. */
  public Optional<ApiKey> find(String rawOrHashed) {
    return store.findByToken(KeyHashing.tokenOf(rawOrHashed));
  }

  /** Key {@code token}'s usage totals per model, as written to the history so far. */
  public List<UsageRow> usageTotals(String token) {
    return store.usageTotals(token);
  }

  /** Key {@code token}'s hourly usage rows ({@link KeyStore#usageHistory}). */
  public List<UsageRow> usageHistory(String token, String model, long fromMillis, long toMillis) {
    return store.usageHistory(token, model, fromMillis, toMillis);
  }

  /** The limits set at run time ({@link KeyStore#runtimeLimits}). */
  public java.util.Map<String, String> runtimeLimits() {
    return store.runtimeLimits();
  }

  /** Stores run-time limits ({@link KeyStore#putRuntimeLimits}). */
  public void putRuntimeLimits(
      java.util.Map<String, String> set, java.util.Collection<String> remove) {
    store.putRuntimeLimits(set, remove, clock.millis());
  }

  /**
   * The team {@code teamId}, cached like keys (a change made through this service is seen at once,
   * one made elsewhere when the entry expires).
   *
   * @throws KeyStoreException when the key database cannot be read
   */
  public Optional<Team> team(String teamId) {
    return teams.get(teamId, store::findTeam);
  }

  /**
   * Whether any team exists, cached like lookups (a team created or deleted through this service is
   * seen at once).
   *
   * @throws KeyStoreException when the key database cannot be read
   */
  public boolean anyTeam() {
    return anyTeam.get(Boolean.TRUE, k -> store.countTeams() > 0);
  }

  /** The team {@code teamId}, uncached. */
  public Optional<Team> findTeam(String teamId) {
    return store.findTeam(teamId);
  }

  /**
   * Stores a new team.
   *
   * @throws DuplicateKeyException when its id is taken
   */
  public void insertTeam(Team team) {
    store.insertTeam(team);
    teams.invalidate(team.teamId());
    anyTeam.invalidateAll();
  }

  /** Stores a changed team; false when it no longer exists. */
  public boolean updateTeam(Team team) {
    boolean updated = store.updateTeam(team);
    teams.invalidate(team.teamId());
    return updated;
  }

  /**
   * Deletes teams, all or none.
   *
   * @throws TeamInUseException when one still has keys
   */
  public List<String> deleteTeams(List<String> teamIds) {
    List<String> deleted = store.deleteTeams(teamIds);
    teams.invalidateAll(teamIds);
    anyTeam.invalidateAll();
    return deleted;
  }

  /** A page of teams. */
  public List<Team> listTeams(int offset, int limit) {
    return store.listTeams(offset, limit);
  }

  /** How many teams there are. */
  public long countTeams() {
    return store.countTeams();
  }

  /** The keys of a team, at most {@code limit}. */
  public List<ApiKey> keysOfTeam(String teamId, int limit) {
    return store.keysOfTeam(teamId, limit);
  }

  /** The key with this alias. */
  public Optional<ApiKey> findByAlias(String alias) {
    return store.findByAlias(alias);
  }

  /**
   * Stores a changed key (same token) and drops its cached lookup.
   *
   * @return false when the key no longer exists
   */
  public boolean update(ApiKey changed) {
    boolean updated = store.update(changed);
    byToken.invalidate(changed.token());
    return updated;
  }

  /**
   * Gives a key a new raw key (generated, or {@code newRawKey}), keeping its settings. With a
   * {@code gracePeriod} the old key keeps working that long.
   *
   * @return empty when no such key exists
   */
  public Optional<GeneratedKey> regenerate(
      ApiKey existing, String newRawKey, Duration gracePeriod) {
    String raw = newRawKey != null ? newRawKey : KeyHashing.newKey();
    Instant now = Instant.ofEpochMilli(clock.millis());
    ApiKey replacement =
        new ApiKey(
            KeyHashing.sha256(raw),
            KeyHashing.maskedName(raw),
            existing.keyAlias(),
            existing.models(),
            existing.tpmLimit(),
            existing.rpmLimit(),
            existing.maxParallelRequests(),
            existing.metadata(),
            existing.expires(),
            existing.blocked(),
            existing.userId(),
            existing.teamId(),
            existing.createdAt(),
            now,
            existing.quotas());
    Long graceUntil =
        gracePeriod == null || gracePeriod.isZero() ? null : now.plus(gracePeriod).toEpochMilli();
    if (!store.replaceToken(existing.token(), replacement, graceUntil)) {
      return Optional.empty();
    }
    byToken.invalidate(existing.token());
    byToken.invalidate(replacement.token());
    return Optional.of(new GeneratedKey(raw, replacement));
  }

  /** Deletes keys by token, all or none; returns the tokens deleted. */
  public List<String> delete(List<String> tokens) {
    List<String> deleted = store.delete(tokens);
    byToken.invalidateAll(tokens);
    return deleted;
  }

  /** The current time of this service's clock. */
  public Instant now() {
    return Instant.ofEpochMilli(clock.millis());
  }

  @Override
  public void close() {
    store.close();
  }
}
