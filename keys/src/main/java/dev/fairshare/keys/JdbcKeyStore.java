package dev.fairshare.keys;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Keys in a relational database through JDBC: the embedded H2 file database by default, any JDBC
 * URL (pooled with HikariCP) or a container {@link DataSource} in production. The schema is created
 * and migrated on start, idempotently; {@code fairshare_schema} records its version.
 */
public final class JdbcKeyStore implements KeyStore {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<List<String>> STRING_LIST = new TypeReference<>() {};
  private static final TypeReference<Map<String, Object>> OBJECT_MAP = new TypeReference<>() {};

  /** Schema versions, applied in order; never edit a released step, add a new one. */
  private static final List<String> MIGRATIONS =
      List.of(
          "CREATE TABLE fairshare_keys ("
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
          "CREATE TABLE fairshare_key_grace ("
              + " old_token VARCHAR(64) NOT NULL PRIMARY KEY,"
              + " token VARCHAR(64) NOT NULL,"
              + " valid_until BIGINT NOT NULL)");

  private static final String COLUMNS =
      "token, key_name, key_alias, models, tpm_limit, rpm_limit, max_parallel_requests, metadata,"
          + " expires_at, blocked, user_id, team_id, created_at, updated_at";

  private final DataSource dataSource;
  private final AutoCloseable owned;

  private JdbcKeyStore(DataSource dataSource, AutoCloseable owned) {
    this.dataSource = dataSource;
    this.owned = owned;
    migrate();
  }

  /** A store on a JDBC URL, pooled with HikariCP; closing the store closes the pool. */
  public static JdbcKeyStore open(String jdbcUrl, String user, String password) {
    HikariConfig hikari = new HikariConfig();
    hikari.setJdbcUrl(jdbcUrl);
    // Name the driver class so Hikari loads it from our class loader instead of asking
    // DriverManager, which refuses drivers registered by another web application's loader.
    if (jdbcUrl.startsWith("jdbc:h2:")) {
      hikari.setDriverClassName("org.h2.Driver");
    } else if (jdbcUrl.startsWith("jdbc:postgresql:")) {
      hikari.setDriverClassName("org.postgresql.Driver");
    }
    if (user != null && !user.isEmpty()) {
      hikari.setUsername(user);
    }
    if (password != null && !password.isEmpty()) {
      hikari.setPassword(password);
    }
    hikari.setPoolName("fairshare-keys");
    hikari.setMaximumPoolSize(8);
    hikari.setMinimumIdle(1);
    hikari.setInitializationFailTimeout(-1);
    hikari.setConnectionTimeout(5_000);
    HikariDataSource pool = new HikariDataSource(hikari);
    try {
      return new JdbcKeyStore(pool, pool);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
  }

  /** A store on a container-managed data source (not closed by {@link #close()}). */
  public static JdbcKeyStore on(DataSource dataSource) {
    return new JdbcKeyStore(dataSource, null);
  }

  private void migrate() {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
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
    } catch (SQLException e) {
      throw new KeyStoreException("cannot prepare the key database schema: " + e.getMessage(), e);
    }
  }

  @Override
  public void insert(ApiKey key) {
    String sql =
        "INSERT INTO fairshare_keys (" + COLUMNS + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      if (key.keyAlias() != null && findByAlias(c, key.keyAlias()).isPresent()) {
        throw new DuplicateKeyException(
            "key_alias", "key_alias '" + key.keyAlias() + "' is already in use");
      }
      if (findByToken(c, key.token()).isPresent()) {
        throw new DuplicateKeyException("key", "this key already exists");
      }
      bind(ps, key);
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
    try (Connection c = dataSource.getConnection()) {
      return findByToken(c, token);
    } catch (SQLException e) {
      throw new KeyStoreException("cannot read the key database: " + e.getMessage(), e);
    }
  }

  @Override
  public Optional<ApiKey> findByAlias(String alias) {
    try (Connection c = dataSource.getConnection()) {
      return findByAlias(c, alias);
    } catch (SQLException e) {
      throw new KeyStoreException("cannot read the key database: " + e.getMessage(), e);
    }
  }

  @Override
  public Optional<GraceToken> findGrace(String oldToken, long nowMillis) {
    String sql =
        "SELECT k."
            + COLUMNS.replace(", ", ", k.")
            + ", g.valid_until FROM fairshare_key_grace g"
            + " JOIN fairshare_keys k ON k.token = g.token WHERE g.old_token = ? AND g.valid_until > ?";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, oldToken);
      ps.setLong(2, nowMillis);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(new GraceToken(read(rs), rs.getLong(15))) : Optional.empty();
      }
    } catch (SQLException e) {
      throw new KeyStoreException("cannot read the key database: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean update(ApiKey key) {
    String sql =
        "UPDATE fairshare_keys SET key_name = ?, key_alias = ?, models = ?, tpm_limit = ?, rpm_limit = ?,"
            + " max_parallel_requests = ?, metadata = ?, expires_at = ?, blocked = ?, user_id = ?, team_id = ?,"
            + " updated_at = ? WHERE token = ?";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      if (key.keyAlias() != null) {
        Optional<ApiKey> holder = findByAlias(c, key.keyAlias());
        if (holder.isPresent() && !holder.get().token().equals(key.token())) {
          throw new DuplicateKeyException(
              "key_alias", "key_alias '" + key.keyAlias() + "' is already in use");
        }
      }
      ps.setString(1, key.keyName());
      ps.setString(2, key.keyAlias());
      ps.setString(3, toJson(key.models()));
      setLong(ps, 4, key.tpmLimit());
      setLong(ps, 5, key.rpmLimit());
      setLong(ps, 6, key.maxParallelRequests());
      ps.setString(7, toJson(key.metadata()));
      setLong(ps, 8, key.expires() == null ? null : key.expires().toEpochMilli());
      ps.setBoolean(9, key.blocked());
      ps.setString(10, key.userId());
      ps.setString(11, key.teamId());
      ps.setLong(12, key.updatedAt().toEpochMilli());
      ps.setString(13, key.token());
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
            + COLUMNS
            + " FROM fairshare_keys"
            + (aliasFilter == null ? "" : " WHERE key_alias = ?")
            + " ORDER BY created_at, token LIMIT ? OFFSET ?";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      int i = 1;
      if (aliasFilter != null) {
        ps.setString(i++, aliasFilter);
      }
      ps.setInt(i++, limit);
      ps.setInt(i, offset);
      List<ApiKey> keys = new java.util.ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          keys.add(read(rs));
        }
      }
      return keys;
    } catch (SQLException e) {
      throw new KeyStoreException("cannot list keys: " + e.getMessage(), e);
    }
  }

  @Override
  public long count(String aliasFilter) {
    String sql =
        "SELECT COUNT(*) FROM fairshare_keys" + (aliasFilter == null ? "" : " WHERE key_alias = ?");
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      if (aliasFilter != null) {
        ps.setString(1, aliasFilter);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      throw new KeyStoreException("cannot count keys: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean isReachable() {
    try (Connection c = dataSource.getConnection()) {
      return c.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  @Override
  public void close() {
    if (owned != null) {
      try {
        owned.close();
      } catch (Exception e) {
        // closing a pool on shutdown: nothing useful to do
      }
    }
  }

  private static Optional<ApiKey> findByToken(Connection c, String token) throws SQLException {
    return queryOne(c, "SELECT " + COLUMNS + " FROM fairshare_keys WHERE token = ?", token);
  }

  private static Optional<ApiKey> findByAlias(Connection c, String alias) throws SQLException {
    return queryOne(c, "SELECT " + COLUMNS + " FROM fairshare_keys WHERE key_alias = ?", alias);
  }

  private static Optional<ApiKey> queryOne(Connection c, String sql, String arg)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  private static void bind(PreparedStatement ps, ApiKey key) throws SQLException {
    ps.setString(1, key.token());
    ps.setString(2, key.keyName());
    ps.setString(3, key.keyAlias());
    ps.setString(4, toJson(key.models()));
    setLong(ps, 5, key.tpmLimit());
    setLong(ps, 6, key.rpmLimit());
    setLong(ps, 7, key.maxParallelRequests());
    ps.setString(8, toJson(key.metadata()));
    setLong(ps, 9, key.expires() == null ? null : key.expires().toEpochMilli());
    ps.setBoolean(10, key.blocked());
    ps.setString(11, key.userId());
    ps.setString(12, key.teamId());
    ps.setLong(13, key.createdAt().toEpochMilli());
    ps.setLong(14, key.updatedAt().toEpochMilli());
  }

  private static ApiKey read(ResultSet rs) throws SQLException {
    // Columns by position (the order of COLUMNS), so joined queries read the same way.
    Long expires = getLong(rs, 9);
    return new ApiKey(
        rs.getString(1),
        rs.getString(2),
        rs.getString(3),
        fromJson(rs.getString(4), STRING_LIST),
        getLong(rs, 5),
        getLong(rs, 6),
        getLong(rs, 7),
        fromJson(rs.getString(8), OBJECT_MAP),
        expires == null ? null : Instant.ofEpochMilli(expires),
        rs.getBoolean(10),
        rs.getString(11),
        rs.getString(12),
        Instant.ofEpochMilli(rs.getLong(13)),
        Instant.ofEpochMilli(rs.getLong(14)));
  }

  private static void setLong(PreparedStatement ps, int index, Long value) throws SQLException {
    if (value == null) {
      ps.setNull(index, Types.BIGINT);
    } else {
      ps.setLong(index, value);
    }
  }

  private static Long getLong(ResultSet rs, int column) throws SQLException {
    long value = rs.getLong(column);
    return rs.wasNull() ? null : value;
  }

  private static String toJson(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot serialise " + value.getClass().getSimpleName(), e);
    }
  }

  private static <T> T fromJson(String text, TypeReference<T> type) {
    try {
      return JSON.readValue(text, type);
    } catch (JsonProcessingException e) {
      throw new KeyStoreException("corrupt JSON column in fairshare_keys", e);
    }
  }

  private static boolean isUniqueViolation(SQLException e) {
    // SQLSTATE 23505: unique violation (PostgreSQL and H2 both use it)
    return "23505".equals(e.getSQLState());
  }
}
