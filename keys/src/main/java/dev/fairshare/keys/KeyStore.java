package dev.fairshare.keys;

import java.util.List;
import java.util.Optional;

/**
 * Persistent storage of {@link ApiKey}s, by their sha256 token. Implementations are thread-safe.
 */
public interface KeyStore extends AutoCloseable {

  /**
   * Stores a new key.
   *
   * @throws DuplicateKeyException when the token or the alias is taken
   */
  void insert(ApiKey key);

  /** The key with this sha256 token. */
  Optional<ApiKey> findByToken(String token);

  /**
   * The key that a regenerated token was replaced by, while that token's grace period lasts, with
   * the end of that period.
   *
   * @param oldToken the sha256 of the key before regeneration
   * @param nowMillis the current time
   */
  Optional<GraceToken> findGrace(String oldToken, long nowMillis);

  /**
   * Replaces the stored record with the same token.
   *
   * @return false when no such key exists
   * @throws DuplicateKeyException when the new alias is taken by another key
   */
  boolean update(ApiKey key);

  /**
   * Gives key {@code oldToken} a new token (regeneration), keeping everything else. With {@code
   * graceUntilMillis} the old token keeps working until then.
   *
   * @return false when no such key exists
   */
  boolean replaceToken(String oldToken, ApiKey replacement, Long graceUntilMillis);

  /** Deletes the keys with these tokens, all or none; returns the tokens deleted. */
  List<String> delete(List<String> tokens);

  /** Keys ordered by creation, optionally only the one whose alias is {@code aliasFilter}. */
  List<ApiKey> list(int offset, int limit, String aliasFilter);

  /** How many keys {@link #list} would page through. */
  long count(String aliasFilter);

  /** The key with this alias. */
  Optional<ApiKey> findByAlias(String alias);

  /**
   * Adds {@code rows} to the usage history (each to its key, model and hour), all or none.
   *
   * @throws KeyStoreException when the database does not take them
   */
  void addUsage(List<UsageRow> rows);

  /**
   * The hourly rows of key {@code token} (of every key when it is null) from {@code fromMillis}
   * (included) to {@code toMillis} (excluded), of {@code model} only when it is not null; by hour,
   * then model, then key; at most 100,000 rows.
   */
  List<UsageRow> usageHistory(String token, String model, long fromMillis, long toMillis);

  /** Deletes the usage history's rows of hours starting before {@code beforeMillis}; how many. */
  int pruneUsage(long beforeMillis);

  /** Key {@code token}'s totals per model over its whole history ({@code hourStartMillis} 0). */
  List<UsageRow> usageTotals(String token);

  /**
   * The limits set at run time: configuration key names ({@code fairshare.models.<m>.tpm}, {@code
   * fairshare.priority.<p>}) and their values, as {@link #putRuntimeLimits} stored them.
   */
  java.util.Map<String, String> runtimeLimits();

  /**
   * Sets the run-time limits {@code set} and removes those named in {@code remove}, all or none.
   */
  void putRuntimeLimits(
      java.util.Map<String, String> set, java.util.Collection<String> remove, long nowMillis);

  /**
   * Stores a new team.
   *
   * @throws DuplicateKeyException when its id is taken
   */
  void insertTeam(Team team);

  /** The team with this id. */
  Optional<Team> findTeam(String teamId);

  /**
   * Replaces the stored team with the same id.
   *
   * @return false when no such team exists
   */
  boolean updateTeam(Team team);

  /**
   * Deletes the teams with these ids, all or none; returns the ids deleted.
   *
   * @throws TeamInUseException when one still has keys
   */
  List<String> deleteTeams(List<String> teamIds);

  /** Teams ordered by creation. */
  List<Team> listTeams(int offset, int limit);

  /** How many teams there are. */
  long countTeams();

  /** The keys of team {@code teamId}, ordered by creation, at most {@code limit}. */
  List<ApiKey> keysOfTeam(String teamId, int limit);

  /**
   * Adds each row's amount to its (counter, period), all or none.
   *
   * @throws KeyStoreException when the database does not take them
   */
  void addSpend(List<SpendRow> rows);

  /** What the database holds for {@code counter} in the period that began at {@code start}. */
  long spend(String counter, long periodStartMillis);

  /** True when the store answers (for health checks). */
  boolean isReachable();

  @Override
  void close();
}
