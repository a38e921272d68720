package dev.fairshare.keys;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * An {@link ApiKey} as a row of {@code fairshare_keys}: the columns in one order ({@link
 * #COLUMNS}), bound and read by position; list and map fields as JSON text.
 */
final class KeyRows {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<List<String>> STRING_LIST = new TypeReference<>() {};
  private static final TypeReference<Map<String, Object>> OBJECT_MAP = new TypeReference<>() {};

  static final String COLUMNS =
      "token, key_name, key_alias, models, tpm_limit, rpm_limit, max_parallel_requests, metadata,"
          + " expires_at, blocked, user_id, team_id, created_at, updated_at, quotas";

  private KeyRows() {}

  /** Updates every column of a key but its token and creation time. */
  static final String UPDATE =
      "UPDATE fairshare_keys SET key_name = ?, key_alias = ?, models = ?, tpm_limit = ?, rpm_limit = ?,"
          + " max_parallel_requests = ?, metadata = ?, expires_at = ?, blocked = ?, user_id = ?, team_id = ?,"
          + " updated_at = ?, quotas = ? WHERE token = ?";

  /** Binds {@code key} to an {@code INSERT} of {@link #COLUMNS}. */
  static void bind(PreparedStatement ps, ApiKey key) throws SQLException {
    ps.setString(1, key.token());
    int next = bindFields(ps, 2, key);
    ps.setLong(next, key.createdAt().toEpochMilli());
    ps.setLong(next + 1, key.updatedAt().toEpochMilli());
    ps.setString(next + 2, QuotaColumn.write(key.quotas()));
  }

  /** Binds {@code key} to {@link #UPDATE}. */
  static void bindUpdate(PreparedStatement ps, ApiKey key) throws SQLException {
    int next = bindFields(ps, 1, key);
    ps.setLong(next, key.updatedAt().toEpochMilli());
    ps.setString(next + 1, QuotaColumn.write(key.quotas()));
    ps.setString(next + 2, key.token());
  }

  /**
   * Binds the fields from {@code key_name} to {@code team_id} from {@code first}; the next index.
   */
  private static int bindFields(PreparedStatement ps, int first, ApiKey key) throws SQLException {
    int i = first;
    ps.setString(i++, key.keyName());
    ps.setString(i++, key.keyAlias());
    ps.setString(i++, toJson(key.models()));
    setLong(ps, i++, key.tpmLimit());
    setLong(ps, i++, key.rpmLimit());
    setLong(ps, i++, key.maxParallelRequests());
    ps.setString(i++, toJson(key.metadata()));
    setLong(ps, i++, key.expires() == null ? null : key.expires().toEpochMilli());
    ps.setBoolean(i++, key.blocked());
    ps.setString(i++, key.userId());
    ps.setString(i++, key.teamId());
    return i;
  }

  static ApiKey read(ResultSet rs) throws SQLException {
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
        Instant.ofEpochMilli(rs.getLong(14)),
        QuotaColumn.read(rs.getString(15)));
  }

  static void setLong(PreparedStatement ps, int index, Long value) throws SQLException {
    if (value == null) {
      ps.setNull(index, Types.BIGINT);
    } else {
      ps.setLong(index, value);
    }
  }

  static Long getLong(ResultSet rs, int column) throws SQLException {
    long value = rs.getLong(column);
    return rs.wasNull() ? null : value;
  }

  static String toJson(Object value) {
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
}
