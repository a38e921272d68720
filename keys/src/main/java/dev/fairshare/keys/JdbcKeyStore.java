package dev.fairshare.keys;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Keys in a relational database through JDBC: the embedded H2 file database by default, any JDBC
 * URL (pooled with HikariCP) or a container {@link DataSource} in production. The schema is created
 * and migrated on start, idempotently; {@code fairshare_schema} records its version.
 */
public final class JdbcKeyStore implements KeyStore {

  private final DataSource dataSource;
  private final AutoCloseable owned;

  /** An H2 file database opened in this JVM (possibly as another's AUTO_SERVER client). */
  private final H2File h2File;

  /** An H2 file database's URL and credentials, to close it on {@link #close}. */
  private record H2File(String url, String user, String password) {}

  private JdbcKeyStore(DataSource dataSource, AutoCloseable owned, H2File h2File) {
    this.dataSource = dataSource;
    this.owned = owned;
    this.h2File = h2File;
    KeySchema.migrate(dataSource);
  }

  /** A store on a JDBC URL, pooled with HikariCP; closing the store closes the pool. */
  public static JdbcKeyStore open(String jdbcUrl, String user, String password) {
    HikariDataSource pool = KeyPool.open(jdbcUrl, user, password);
    try {
      boolean embeddedH2 =
          jdbcUrl.startsWith("jdbc:h2:")
              && !jdbcUrl.startsWith("jdbc:h2:tcp:")
              && !jdbcUrl.startsWith("jdbc:h2:ssl:")
              && !jdbcUrl.startsWith("jdbc:h2:mem:");
      return new JdbcKeyStore(pool, pool, embeddedH2 ? new H2File(jdbcUrl, user, password) : null);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
  }

  /** A store on a container-managed data source (not closed by {@link #close()}). */
  public static JdbcKeyStore on(DataSource dataSource) {
    return new JdbcKeyStore(dataSource, null, null);
  }

  @Override
  public void insert(ApiKey key) {
    String sql =
        "INSERT INTO fairshare_keys ("
            + KeyRows.COLUMNS
            + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      if (key.keyAlias() != null && findByAlias(c, key.keyAlias()).isPresent()) {
        throw new DuplicateKeyException(
            "key_alias", "key_alias '" + key.keyAlias() + "' is already in use");
      }
      if (findByToken(c, key.token()).isPresent()) {
        throw new DuplicateKeyException("key", "this key already exists");
      }
      KeyRows.bind(ps, key);
      ps.executeUpdate();
    } catch (SQLException e) {
      if (isUniqueViolation(e)) {
        throw new DuplicateKeyException("key_alias", "key or key_alias is already in use");
      }
      throw new KeyStoreException("cannot store the key: " + e.getMessage(), e);
    }
  }

  @Override
  public Optional<ApiKey> findByToken(String token) {
    try {
      return read(c -> findByToken(c, token));
    } catch (SQLException e) {
      throw new KeyStoreException("cannot read the key database: " + e.getMessage(), e);
    }
  }

  @Override
  public Optional<ApiKey> findByAlias(String alias) {
    try {
      return read(c -> findByAlias(c, alias));
    } catch (SQLException e) {
      throw new KeyStoreException("cannot read the key database: " + e.getMessage(), e);
    }
  }

  @Override
  public Optional<GraceToken> findGrace(String oldToken, long nowMillis) {
    String sql =
        "SELECT k."
            + KeyRows.COLUMNS.replace(", ", ", k.")
            + ", g.valid_until FROM fairshare_key_grace g"
            + " JOIN fairshare_keys k ON k.token = g.token WHERE g.old_token = ? AND g.valid_until > ?";
    try {
      return read(
          c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
              ps.setString(1, oldToken);
              ps.setLong(2, nowMillis);
              try (ResultSet rs = ps.executeQuery()) {
                return rs.next()
                    ? Optional.of(new GraceToken(KeyRows.read(rs), rs.getLong(16)))
                    : Optional.<GraceToken>empty();
              }
            }
          });
    } catch (SQLException e) {
      throw new KeyStoreException("cannot read the key database: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean update(ApiKey key) {
    String sql = KeyRows.UPDATE;
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      if (key.keyAlias() != null) {
        Optional<ApiKey> holder = findByAlias(c, key.keyAlias());
        if (holder.isPresent() && !holder.get().token().equals(key.token())) {
          throw new DuplicateKeyException(
              "key_alias", "key_alias '" + key.keyAlias() + "' is already in use");
        }
      }
      KeyRows.bindUpdate(ps, key);
      return ps.executeUpdate() == 1;
    } catch (SQLException e) {
      if (isUniqueViolation(e)) {
        throw new DuplicateKeyException(
            "key_alias", "key_alias '" + key.keyAlias() + "' is already in use");
      }
      throw new KeyStoreException("cannot update the key: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean replaceToken(String oldToken, ApiKey replacement, Long graceUntilMillis) {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        if (findByToken(c, replacement.token()).isPresent()) {
          throw new DuplicateKeyException("new_key", "this key already exists");
        }
        int changed;
        try (PreparedStatement ps =
            c.prepareStatement(
                "UPDATE fairshare_keys SET token = ?, key_name = ?, updated_at = ? WHERE token = ?")) {
          ps.setString(1, replacement.token());
          ps.setString(2, replacement.keyName());
          ps.setLong(3, replacement.updatedAt().toEpochMilli());
          ps.setString(4, oldToken);
          changed = ps.executeUpdate();
        }
        if (changed == 0) {
          c.rollback();
          return false;
        }
        // What the key spent follows it: a regenerated key must not start a new budget.
        try (PreparedStatement ps =
            c.prepareStatement(
                "UPDATE fairshare_spend SET counter = CONCAT(?, SUBSTRING(counter, ?))"
                    + " WHERE LEFT(counter, ?) = ?")) {
          String oldPrefix = SpendRow.keyCounters(oldToken);
          ps.setString(1, SpendRow.keyCounters(replacement.token()));
          ps.setInt(2, oldPrefix.length() + 1);
          ps.setInt(3, oldPrefix.length());
          ps.setString(4, oldPrefix);
          ps.executeUpdate();
        }
        // Earlier tokens still in their grace period follow the key to its new token.
        try (PreparedStatement ps =
            c.prepareStatement("UPDATE fairshare_key_grace SET token = ? WHERE token = ?")) {
          ps.setString(1, replacement.token());
          ps.setString(2, oldToken);
          ps.executeUpdate();
        }
        if (graceUntilMillis != null) {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO fairshare_key_grace (old_token, token, valid_until) VALUES (?,?,?)")) {
            ps.setString(1, oldToken);
            ps.setString(2, replacement.token());
            ps.setLong(3, graceUntilMillis);
            ps.executeUpdate();
          }
        }
        c.commit();
        return true;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new KeyStoreException("cannot regenerate the key: " + e.getMessage(), e);
    }
  }

  @Override
  public List<String> delete(List<String> tokens) {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement keys =
              c.prepareStatement("DELETE FROM fairshare_keys WHERE token = ?");
          PreparedStatement grace =
              c.prepareStatement("DELETE FROM fairshare_key_grace WHERE token = ?")) {
        List<String> deleted = new java.util.ArrayList<>();
        for (String token : tokens) {
          keys.setString(1, token);
          if (keys.executeUpdate() == 1) {
            deleted.add(token);
          }
          grace.setString(1, token);
          grace.executeUpdate();
        }
        c.commit();
        return deleted;
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new KeyStoreException("cannot delete keys: " + e.getMessage(), e);
    }
  }

  @Override
  public List<ApiKey> list(int offset, int limit, String aliasFilter) {
    String sql =
        "SELECT "
            + KeyRows.COLUMNS
            + " FROM fairshare_keys"
            + (aliasFilter == null ? "" : " WHERE key_alias = ?")
            + " ORDER BY created_at, token LIMIT ? OFFSET ?";
    return rows(
        "cannot list keys",
        sql,
        ps -> {
          int i = 1;
          if (aliasFilter != null) {
            ps.setString(i++, aliasFilter);
          }
          ps.setInt(i++, limit);
          ps.setInt(i, offset);
        },
        KeyRows::read);
  }

  /** Binds a query's parameters. */
  @FunctionalInterface
  private interface Binding {
    void bind(PreparedStatement ps) throws SQLException;
  }

  /** Reads one row. */
  @FunctionalInterface
  private interface Row<T> {
    T read(ResultSet rs) throws SQLException;
  }

  /**
   * The rows {@code sql} answers with {@code binding}, each read by {@code row} (a read: tried
   * again on a lost connection).
   *
   * @throws KeyStoreException saying {@code what} failed
   */
  private <T> List<T> rows(String what, String sql, Binding binding, Row<T> row) {
    try {
      return read(
          c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
              binding.bind(ps);
              List<T> found = new java.util.ArrayList<>();
              try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                  found.add(row.read(rs));
                }
              }
              return found;
            }
          });
    } catch (SQLException e) {
      throw new KeyStoreException(what + ": " + e.getMessage(), e);
    }
  }

  @Override
  public long count(String aliasFilter) {
    String sql =
        "SELECT COUNT(*) FROM fairshare_keys" + (aliasFilter == null ? "" : " WHERE key_alias = ?");
    try {
      return read(
          c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
              if (aliasFilter != null) {
                ps.setString(1, aliasFilter);
              }
              try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
              }
            }
          });
    } catch (SQLException e) {
      throw new KeyStoreException("cannot count keys: " + e.getMessage(), e);
    }
  }

  @Override
  public void insertTeam(Team team) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(TeamRows.INSERT)) {
      if (findTeam(c, team.teamId()).isPresent()) {
        throw new DuplicateKeyException(
            "team_id", "team_id '" + team.teamId() + "' is already in use");
      }
      TeamRows.bindInsert(ps, team);
      ps.executeUpdate();
    } catch (SQLException e) {
      if (isUniqueViolation(e)) {
        throw new DuplicateKeyException(
            "team_id", "team_id '" + team.teamId() + "' is already in use");
      }
      throw new KeyStoreException("cannot store the team: " + e.getMessage(), e);
    }
  }

  @Override
  public Optional<Team> findTeam(String teamId) {
    try {
      return read(c -> findTeam(c, teamId));
    } catch (SQLException e) {
      throw new KeyStoreException("cannot read the key database: " + e.getMessage(), e);
    }
  }

  private static Optional<Team> findTeam(Connection c, String teamId) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT " + TeamRows.COLUMNS + " FROM fairshare_teams WHERE team_id = ?")) {
      ps.setString(1, teamId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(TeamRows.read(rs)) : Optional.empty();
      }
    }
  }

  @Override
  public boolean updateTeam(Team team) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(TeamRows.UPDATE)) {
      TeamRows.bindUpdate(ps, team);
      return ps.executeUpdate() == 1;
    } catch (SQLException e) {
      throw new KeyStoreException("cannot update the team: " + e.getMessage(), e);
    }
  }

  /**
   * In one transaction: a team with keys stops the whole deletion. (A key that joins a team while
   * it is deleted is not locked out here: it keeps a team id that no longer resolves, and is
   * refused until it is moved; see the key API.)
   */
  @Override
  public List<String> deleteTeams(List<String> teamIds) {
    try (Connection c = dataSource.getConnection()) {
      boolean autoCommit = c.getAutoCommit();
      c.setAutoCommit(false);
      try (PreparedStatement count =
              c.prepareStatement("SELECT COUNT(*) FROM fairshare_keys WHERE team_id = ?");
          PreparedStatement delete =
              c.prepareStatement("DELETE FROM fairshare_teams WHERE team_id = ?");
          PreparedStatement spend =
              c.prepareStatement("DELETE FROM fairshare_spend WHERE LEFT(counter, ?) = ?")) {
        List<String> deleted = new java.util.ArrayList<>();
        for (String id : teamIds) {
          count.setString(1, id);
          try (ResultSet rs = count.executeQuery()) {
            rs.next();
            if (rs.getLong(1) > 0) {
              throw new TeamInUseException(id, rs.getLong(1));
            }
          }
          delete.setString(1, id);
          if (delete.executeUpdate() == 1) {
            deleted.add(id);
          }
          // A team created again under this id starts with nothing spent.
          // An exact prefix, not LIKE: a team id may hold '_', which LIKE reads as any character.
          String prefix = SpendRow.teamCounters(id);
          spend.setInt(1, prefix.length());
          spend.setString(2, prefix);
          spend.executeUpdate();
        }
        c.commit();
        return deleted;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(autoCommit);
      }
    } catch (SQLException e) {
      throw new KeyStoreException("cannot delete teams: " + e.getMessage(), e);
    }
  }

  @Override
  public List<Team> listTeams(int offset, int limit) {
    return rows(
        "cannot list teams",
        "SELECT "
            + TeamRows.COLUMNS
            + " FROM fairshare_teams ORDER BY created_at, team_id LIMIT ? OFFSET ?",
        ps -> {
          ps.setInt(1, limit);
          ps.setInt(2, offset);
        },
        TeamRows::read);
  }

  @Override
  public long countTeams() {
    try {
      return read(
          c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM fairshare_teams");
                ResultSet rs = ps.executeQuery()) {
              rs.next();
              return rs.getLong(1);
            }
          });
    } catch (SQLException e) {
      throw new KeyStoreException("cannot count teams: " + e.getMessage(), e);
    }
  }

  @Override
  public List<ApiKey> keysOfTeam(String teamId, int limit) {
    return rows(
        "cannot list the team's keys",
        "SELECT "
            + KeyRows.COLUMNS
            + " FROM fairshare_keys WHERE team_id = ? ORDER BY created_at, token LIMIT ?",
        ps -> {
          ps.setString(1, teamId);
          ps.setInt(2, limit);
        },
        KeyRows::read);
  }

  /**
   * In one transaction, sorted (so two instances flushing at once take row locks in one order): an
   * update of each row, or its insert; an insert that loses a race with another instance's is tried
   * again once, as a whole.
   */
  @Override
  public void addSpend(List<SpendRow> rows) {
    if (rows.isEmpty()) {
      return;
    }
    List<SpendRow> sorted = new java.util.ArrayList<>(rows);
    sorted.sort(
        java.util.Comparator.comparing(SpendRow::counter)
            .thenComparingLong(SpendRow::periodStartMillis));
    writeRetryingOnce(
        "cannot write the spend",
        c -> {
          try (PreparedStatement update =
                  c.prepareStatement(
                      "UPDATE fairshare_spend SET amount = amount + ?"
                          + " WHERE counter = ? AND period_start = ?");
              PreparedStatement insert =
                  c.prepareStatement(
                      "INSERT INTO fairshare_spend (counter, period_start, amount)"
                          + " VALUES (?,?,?)")) {
            for (SpendRow row : sorted) {
              update.setLong(1, row.amount());
              update.setString(2, row.counter());
              update.setLong(3, row.periodStartMillis());
              if (update.executeUpdate() == 0) {
                insert.setString(1, row.counter());
                insert.setLong(2, row.periodStartMillis());
                insert.setLong(3, row.amount());
                insert.executeUpdate();
              }
            }
          }
        });
  }

  @Override
  public long spend(String counter, long periodStartMillis) {
    try {
      return read(
          c -> {
            try (PreparedStatement ps =
                c.prepareStatement(
                    "SELECT amount FROM fairshare_spend WHERE counter = ? AND period_start = ?")) {
              ps.setString(1, counter);
              ps.setLong(2, periodStartMillis);
              try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0L;
              }
            }
          });
    } catch (SQLException e) {
      throw new KeyStoreException("cannot read the spend: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean isReachable() {
    // A query on FairShare's own table, not just a valid connection: a database that accepts
    // connections but cannot serve the keys (a dropped schema, a closed embedded engine) is not
    // reachable for what matters.
    try {
      return read(
          c -> {
            try (Statement s = c.createStatement()) {
              s.setQueryTimeout(2);
              try (ResultSet rs =
                  s.executeQuery("SELECT COUNT(*) FROM fairshare_keys WHERE token = ''")) {
                return rs.next();
              }
            }
          });
    } catch (SQLException | RuntimeException e) {
      return false;
    }
  }

  /**
   * Adds each row to its (key, model, hour) in one transaction: an update of the row, or its insert
   * when there is none; an insert that loses a race with another instance's (a unique violation)
   * rolls back and the whole batch is tried again once.
   */
  @Override
  public void addUsage(List<UsageRow> rows) {
    if (rows.isEmpty()) {
      return;
    }
    writeRetryingOnce("cannot write the usage history", c -> addUsage(c, rows));
  }

  /** A write of several statements on one connection. */
  @FunctionalInterface
  private interface Write {
    void on(Connection c) throws SQLException;
  }

  /**
   * Runs {@code write} in one transaction; one that fails on a unique violation (an insert that
   * lost a race with another instance's) is rolled back and run once more, as a whole.
   *
   * @throws KeyStoreException saying {@code what} failed
   */
  private void writeRetryingOnce(String what, Write write) {
    for (int attempt = 1; ; attempt++) {
      try (Connection c = dataSource.getConnection()) {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
          write.on(c);
          c.commit();
          return;
        } catch (SQLException e) {
          c.rollback();
          if (attempt >= 2 || !isUniqueViolation(e)) {
            throw e;
          }
        } finally {
          c.setAutoCommit(autoCommit);
        }
      } catch (SQLException e) {
        throw new KeyStoreException(what + ": " + e.getMessage(), e);
      }
    }
  }

  private static void addUsage(Connection c, List<UsageRow> rows) throws SQLException {
    try (PreparedStatement update =
            c.prepareStatement(
                "UPDATE fairshare_usage_hourly SET input_tokens = input_tokens + ?,"
                    + " output_tokens = output_tokens + ?, calls = calls + ?,"
                    + " refusals = refusals + ? WHERE token = ? AND model = ? AND hour_start = ?");
        PreparedStatement insert =
            c.prepareStatement(
                "INSERT INTO fairshare_usage_hourly (token, model, hour_start, input_tokens,"
                    + " output_tokens, calls, refusals) VALUES (?,?,?,?,?,?,?)")) {
      for (UsageRow row : rows) {
        update.setLong(1, row.inputTokens());
        update.setLong(2, row.outputTokens());
        update.setLong(3, row.calls());
        update.setLong(4, row.refusals());
        update.setString(5, row.token());
        update.setString(6, row.model());
        update.setLong(7, row.hourStartMillis());
        if (update.executeUpdate() == 0) {
          insert.setString(1, row.token());
          insert.setString(2, row.model());
          insert.setLong(3, row.hourStartMillis());
          insert.setLong(4, row.inputTokens());
          insert.setLong(5, row.outputTokens());
          insert.setLong(6, row.calls());
          insert.setLong(7, row.refusals());
          insert.executeUpdate();
        }
      }
    }
  }

  @Override
  public List<UsageRow> usageHistory(String token, String model, long fromMillis, long toMillis) {
    String sql =
        "SELECT token, model, hour_start, input_tokens, output_tokens, calls, refusals"
            + " FROM fairshare_usage_hourly WHERE hour_start >= ? AND hour_start < ?"
            + (token == null ? "" : " AND token = ?")
            + (model == null ? "" : " AND model = ?")
            + " ORDER BY hour_start, model, token";
    try {
      return read(
          c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
              ps.setMaxRows(MAX_HISTORY_ROWS);
              int i = 1;
              ps.setLong(i++, fromMillis);
              ps.setLong(i++, toMillis);
              if (token != null) {
                ps.setString(i++, token);
              }
              if (model != null) {
                ps.setString(i, model);
              }
              return usageRows(ps);
            }
          });
    } catch (SQLException e) {
      throw new KeyStoreException("cannot read the usage history: " + e.getMessage(), e);
    }
  }

  @Override
  public java.util.Map<String, String> runtimeLimits() {
    try {
      return read(
          c -> {
            java.util.Map<String, String> limits = new java.util.TreeMap<>();
            try (PreparedStatement ps =
                    c.prepareStatement("SELECT name, setting FROM fairshare_runtime_limits");
                ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                limits.put(rs.getString(1), rs.getString(2));
              }
            }
            return limits;
          });
    } catch (SQLException e) {
      throw new KeyStoreException("cannot read the run-time limits: " + e.getMessage(), e);
    }
  }

  /**
   * In one transaction; one that loses a race with another instance setting the same name (a unique
   * violation on its insert) is tried again once, after the other's commit.
   */
  @Override
  public void putRuntimeLimits(
      java.util.Map<String, String> set, java.util.Collection<String> remove, long nowMillis) {
    try {
      putRuntimeLimitsOnce(set, remove, nowMillis);
    } catch (KeyStoreException e) {
      if (!(e.getCause() instanceof SQLException sql) || !isUniqueViolation(sql)) {
        throw e;
      }
      putRuntimeLimitsOnce(set, remove, nowMillis);
    }
  }

  private void putRuntimeLimitsOnce(
      java.util.Map<String, String> set, java.util.Collection<String> remove, long nowMillis) {
    try (Connection c = dataSource.getConnection()) {
      boolean autoCommit = c.getAutoCommit();
      c.setAutoCommit(false);
      try (PreparedStatement delete =
              c.prepareStatement("DELETE FROM fairshare_runtime_limits WHERE name = ?");
          PreparedStatement insert =
              c.prepareStatement(
                  "INSERT INTO fairshare_runtime_limits (name, setting, updated_at)"
                      + " VALUES (?,?,?)")) {
        // Each name set is deleted and inserted again: one statement pair for H2 and PostgreSQL
        for (String name : remove) {
          delete.setString(1, name);
          delete.executeUpdate();
        }
        for (java.util.Map.Entry<String, String> e : set.entrySet()) {
          delete.setString(1, e.getKey());
          delete.executeUpdate();
          insert.setString(1, e.getKey());
          insert.setString(2, e.getValue());
          insert.setLong(3, nowMillis);
          insert.executeUpdate();
        }
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(autoCommit);
      }
    } catch (SQLException e) {
      throw new KeyStoreException("cannot store the run-time limits: " + e.getMessage(), e);
    }
  }

  @Override
  public int pruneUsage(long beforeMillis) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement("DELETE FROM fairshare_usage_hourly WHERE hour_start < ?")) {
      ps.setLong(1, beforeMillis);
      return ps.executeUpdate();
    } catch (SQLException e) {
      throw new KeyStoreException("cannot prune the usage history: " + e.getMessage(), e);
    }
  }

  /** The most rows one history read returns. */
  static final int MAX_HISTORY_ROWS = 100_000;

  @Override
  public List<UsageRow> usageTotals(String token) {
    String sql =
        "SELECT token, model, 0, SUM(input_tokens), SUM(output_tokens), SUM(calls), SUM(refusals)"
            + " FROM fairshare_usage_hourly WHERE token = ? GROUP BY token, model ORDER BY model";
    try {
      return read(
          c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
              ps.setString(1, token);
              return usageRows(ps);
            }
          });
    } catch (SQLException e) {
      throw new KeyStoreException("cannot read the usage history: " + e.getMessage(), e);
    }
  }

  private static List<UsageRow> usageRows(PreparedStatement ps) throws SQLException {
    List<UsageRow> rows = new java.util.ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        rows.add(
            new UsageRow(
                rs.getString(1),
                rs.getString(2),
                rs.getLong(3),
                rs.getLong(4),
                rs.getLong(5),
                rs.getLong(6),
                rs.getLong(7)));
      }
    }
    return rows;
  }

  @FunctionalInterface
  private interface Read<T> {
    T on(Connection c) throws SQLException;
  }

  /** Reads tried at most this often when the connection is lost under them. */
  static final int READ_ATTEMPTS = 3;

  /**
   * Runs {@code read}, again (after 100 ms, then 300 ms) when a connection it got broke under it:
   * while the embedded H2 database passes from an undeployed application's engine to another's, its
   * clients' connections break once and reconnect (AUTO_RECONNECT); a key lookup or a health check
   * in that moment must not fail. Writes are not retried: one may have been applied.
   */
  private <T> T read(Read<T> read) throws SQLException {
    for (int attempt = 1; ; attempt++) {
      // Not getting a connection is not retried: the pool (or the container's) has waited its
      // time already, and a down database would only make every lookup wait that much longer.
      Connection connection = dataSource.getConnection();
      try (Connection c = connection) {
        return read.on(c);
      } catch (SQLException e) {
        if (attempt >= READ_ATTEMPTS || !connectionLost(e)) {
          throw e;
        }
        try {
          Thread.sleep(attempt == 1 ? 100 : 300);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /**
   * A lost connection: SQL state class 08, or H2's "connection broken", "database closed" and
   * "database called at shutdown".
   */
  static boolean connectionLost(SQLException e) {
    String state = e.getSQLState();
    if (state != null && state.startsWith("08")) {
      return true;
    }
    int code = e.getErrorCode();
    return code == 90067 || code == 90098 || code == 90121;
  }

  @Override
  public void close() {
    if (owned == null) {
      return;
    }
    // The pool first: closed after SHUTDOWN, it would refill itself (its minimum idle
    // connection) and so open the database again in this engine, with new H2 threads.
    String threads =
        owned instanceof HikariDataSource pool ? pool.getPoolName() + ":" : "no pool of ours";
    try {
      owned.close();
    } catch (Exception e) {
      // closing a pool on shutdown: nothing useful to do
    }
    LoaderThreads.awaitEnd(name -> name.startsWith(threads));
    if (h2File != null) {
      H2Shutdown.ifServedHere(h2File.url(), h2File.user(), h2File.password());
    }
  }

  private static Optional<ApiKey> findByToken(Connection c, String token) throws SQLException {
    return queryOne(c, "SELECT " + KeyRows.COLUMNS + " FROM fairshare_keys WHERE token = ?", token);
  }

  private static Optional<ApiKey> findByAlias(Connection c, String alias) throws SQLException {
    return queryOne(
        c, "SELECT " + KeyRows.COLUMNS + " FROM fairshare_keys WHERE key_alias = ?", alias);
  }

  private static Optional<ApiKey> queryOne(Connection c, String sql, String arg)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(KeyRows.read(rs)) : Optional.empty();
      }
    }
  }

  private static boolean isUniqueViolation(SQLException e) {
    // SQLSTATE 23505: unique violation (PostgreSQL and H2 both use it)
    return "23505".equals(e.getSQLState());
  }
}
