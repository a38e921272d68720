package dev.fairshare.keys;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;

/**
 * The key database's schema: created and migrated on start, idempotently, one step at a time;
 * {@code fairshare_schema} records the version reached.
 */
final class KeySchema {

  /**
   * Schema versions, applied in order; never change what a released step creates, add a new one.
   * Each step is idempotent ({@code IF NOT EXISTS}): applications that start together on a new
   * database (the admin WAR and yours, the instances of a cluster) may all run it.
   */
  static final List<String> MIGRATIONS =
      List.of(
          "CREATE TABLE IF NOT EXISTS fairshare_keys ("
              + " token VARCHAR(64) NOT NULL PRIMARY KEY,"
              + " key_name VARCHAR(64) NOT NULL,"
              + " key_alias VARCHAR(255) UNIQUE,"
              + " models VARCHAR(65535) NOT NULL,"
              + " tpm_limit BIGINT,"
              + " rpm_limit BIGINT,"
              + " max_parallel_requests BIGINT,"
              + " metadata VARCHAR(65535) NOT NULL,"
              + " expires_at BIGINT,"
              + " blocked BOOLEAN NOT NULL,"
              + " user_id VARCHAR(255),"
              + " team_id VARCHAR(255),"
              + " created_at BIGINT NOT NULL,"
              + " updated_at BIGINT NOT NULL)",
          "CREATE TABLE IF NOT EXISTS fairshare_key_grace ("
              + " old_token VARCHAR(64) NOT NULL PRIMARY KEY,"
              + " token VARCHAR(64) NOT NULL,"
              + " valid_until BIGINT NOT NULL)",
          // Issue 15: usage history per key, model and hour (UsageRow)
          "CREATE TABLE IF NOT EXISTS fairshare_usage_hourly ("
              + " token VARCHAR(64) NOT NULL,"
              + " model VARCHAR(255) NOT NULL,"
              + " hour_start BIGINT NOT NULL,"
              + " input_tokens BIGINT NOT NULL,"
              + " output_tokens BIGINT NOT NULL,"
              + " calls BIGINT NOT NULL,"
              + " refusals BIGINT NOT NULL,"
              + " PRIMARY KEY (token, model, hour_start))",
          // Issue 15: limits set at run time (POST /config/models), by configuration key name
          "CREATE TABLE IF NOT EXISTS fairshare_runtime_limits ("
              + " name VARCHAR(600) NOT NULL PRIMARY KEY,"
              + " setting VARCHAR(64) NOT NULL,"
              + " updated_at BIGINT NOT NULL)",
          // The master key's history of every key reads by hour
          "CREATE INDEX IF NOT EXISTS fairshare_usage_hourly_hour"
              + " ON fairshare_usage_hourly (hour_start)",
          // Issue 16: a key's budgets, per-model limits and calendar quotas (QuotaColumn)
          "ALTER TABLE fairshare_keys ADD COLUMN IF NOT EXISTS quotas VARCHAR(65535)",
          // Issue 16: teams (TeamRows)
          "CREATE TABLE IF NOT EXISTS fairshare_teams ("
              + " team_id VARCHAR(255) NOT NULL PRIMARY KEY,"
              + " team_alias VARCHAR(255),"
              + " models VARCHAR(65535) NOT NULL,"
              + " tpm_limit BIGINT,"
              + " rpm_limit BIGINT,"
              + " quotas VARCHAR(65535),"
              + " metadata VARCHAR(65535) NOT NULL,"
              + " blocked BOOLEAN NOT NULL,"
              + " created_at BIGINT NOT NULL,"
              + " updated_at BIGINT NOT NULL)",
          // Issue 16: what was charged to each spend or quota counter per period (SpendRow)
          "CREATE TABLE IF NOT EXISTS fairshare_spend ("
              + " counter VARCHAR(400) NOT NULL,"
              + " period_start BIGINT NOT NULL,"
              + " amount BIGINT NOT NULL,"
              + " PRIMARY KEY (counter, period_start))",
          "CREATE INDEX IF NOT EXISTS fairshare_keys_team ON fairshare_keys (team_id)");

  private KeySchema() {}

  /**
   * How often a migration that lost a race with another starting application is tried: a loser can
   * lose once per step (PostgreSQL's {@code IF NOT EXISTS} is not safe against a concurrent
   * creation), so more than twice the steps.
   */
  static final int ATTEMPTS = 2 * MIGRATIONS.size() + 3;

  /**
   * Brings the schema to the latest version. Applications starting at the same moment race here; a
   * step that fails because another one ran it concurrently (PostgreSQL can report a duplicate even
   * for {@code IF NOT EXISTS}) is rolled back, and the version is read again.
   */
  static void migrate(DataSource dataSource) {
    SQLException last = null;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        migrateOnce(dataSource);
        return;
      } catch (SQLException e) {
        last = e;
      }
    }
    throw new KeyStoreException(
        "cannot prepare the key database schema: " + last.getMessage(), last);
  }

  private static void migrateOnce(DataSource dataSource) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      boolean autoCommit = c.getAutoCommit();
      c.setAutoCommit(false);
      try {
        migrateOn(c);
      } finally {
        // A container's pool gets its connection back as it lent it.
        c.setAutoCommit(autoCommit);
      }
    }
  }

  private static void migrateOn(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      createNamedSchema(c, s);
      s.executeUpdate("CREATE TABLE IF NOT EXISTS fairshare_schema (version INT NOT NULL)");
      c.commit();
      int version = 0;
      try (ResultSet rs = s.executeQuery("SELECT MAX(version) FROM fairshare_schema")) {
        if (rs.next()) {
          version = rs.getInt(1);
        }
      }
      for (int step = version; step < MIGRATIONS.size(); step++) {
        s.executeUpdate(MIGRATIONS.get(step));
        s.executeUpdate("INSERT INTO fairshare_schema (version) VALUES (" + (step + 1) + ")");
        c.commit();
      }
    } catch (SQLException e) {
      c.rollback();
      throw e;
    }
  }

  /**
   * On PostgreSQL, creates the schema the connection's search path names first (a JDBC URL's {@code
   * currentSchema=fairshare}) when it does not exist yet: PostgreSQL accepts such a URL but then
   * has no schema to create tables in. A user without the right to create it gets an error that
   * says what to run.
   */
  private static void createNamedSchema(Connection c, Statement s) throws SQLException {
    if (!"PostgreSQL".equals(c.getMetaData().getDatabaseProductName())) {
      return;
    }
    String searchPath;
    try (ResultSet rs = s.executeQuery("SELECT current_schema(), current_setting('search_path')")) {
      rs.next();
      if (rs.getString(1) != null) {
        return; // the first schema of the path that exists: tables go there
      }
      searchPath = rs.getString(2);
    }
    String schema = firstSchema(searchPath);
    if (schema == null) {
      return; // nothing named; PostgreSQL's own error says what is missing
    }
    String create = "CREATE SCHEMA IF NOT EXISTS \"" + schema.replace("\"", "\"\"") + "\"";
    try {
      s.executeUpdate(create);
      c.commit();
      try (ResultSet rs = s.executeQuery("SELECT current_schema()")) {
        rs.next();
        if (rs.getString(1) == null) {
          // It exists, but this user may not use it.
          throw new KeyStoreException(
              "the key database's schema '"
                  + schema
                  + "' exists but this user cannot use it; run: GRANT USAGE, CREATE ON SCHEMA \""
                  + schema.replace("\"", "\"\"")
                  + "\" TO <the fairshare.keys.jdbc-user>",
              null);
        }
      }
    } catch (SQLException e) {
      c.rollback();
      if ("42501".equals(e.getSQLState())) { // insufficient_privilege
        throw new KeyStoreException(
            "the key database's schema '"
                + schema
                + "' does not exist and this user may not create it; run: "
                + create
                + " AUTHORIZATION <the fairshare.keys.jdbc-user>",
            e);
      }
      throw e;
    }
  }

  /**
   * The first schema a PostgreSQL search path names, as PostgreSQL reads it: a quoted name as
   * written (doubled quotes undone), an unquoted one in lower case; null for none or {@code $user}.
   */
  static String firstSchema(String searchPath) {
    String path = searchPath.strip();
    String name;
    if (path.startsWith("\"")) {
      StringBuilder quoted = new StringBuilder();
      int i = 1;
      while (i < path.length()) {
        char ch = path.charAt(i);
        if (ch == '"') {
          if (i + 1 < path.length() && path.charAt(i + 1) == '"') {
            quoted.append('"');
            i += 2;
            continue;
          }
          break;
        }
        quoted.append(ch);
        i++;
      }
      name = quoted.toString();
      return name.isEmpty() || name.equals("$user") ? null : name;
    }
    int comma = path.indexOf(',');
    name = (comma < 0 ? path : path.substring(0, comma)).strip().toLowerCase(java.util.Locale.ROOT);
    return name.isEmpty() || name.equals("$user") ? null : name;
  }
}
