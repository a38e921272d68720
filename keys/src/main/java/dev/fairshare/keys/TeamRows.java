package dev.fairshare.keys;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** A {@link Team} as a row of {@code fairshare_teams}, by position in {@link #COLUMNS}. */
final class TeamRows {

  private static final ObjectMapper JSON = new ObjectMapper();

  static final String COLUMNS =
      "team_id, team_alias, models, tpm_limit, rpm_limit, quotas, metadata, blocked, created_at,"
          + " updated_at";

  static final String INSERT =
      "INSERT INTO fairshare_teams (" + COLUMNS + ") VALUES (?,?,?,?,?,?,?,?,?,?)";

  /** Every column but the id and the creation time, then the id. */
  static final String UPDATE =
      "UPDATE fairshare_teams SET team_alias = ?, models = ?, tpm_limit = ?, rpm_limit = ?,"
          + " quotas = ?, metadata = ?, blocked = ?, updated_at = ? WHERE team_id = ?";

  private TeamRows() {}

  static void bindInsert(PreparedStatement ps, Team team) throws SQLException {
    ps.setString(1, team.teamId());
    int i = bindFields(ps, 2, team);
    ps.setLong(i, team.createdAt().toEpochMilli());
    ps.setLong(i + 1, team.updatedAt().toEpochMilli());
  }

  static void bindUpdate(PreparedStatement ps, Team team) throws SQLException {
    int i = bindFields(ps, 1, team);
    ps.setLong(i, team.updatedAt().toEpochMilli());
    ps.setString(i + 1, team.teamId());
  }

  private static int bindFields(PreparedStatement ps, int first, Team team) throws SQLException {
    int i = first;
    ps.setString(i++, team.teamAlias());
    ps.setString(i++, KeyRows.toJson(team.models()));
    KeyRows.setLong(ps, i++, team.tpmLimit());
    KeyRows.setLong(ps, i++, team.rpmLimit());
    ps.setString(i++, QuotaColumn.write(team.quotas()));
    ps.setString(i++, KeyRows.toJson(team.metadata()));
    ps.setBoolean(i++, team.blocked());
    return i;
  }

  static Team read(ResultSet rs) throws SQLException {
    try {
      return new Team(
          rs.getString(1),
          rs.getString(2),
          JSON.readValue(rs.getString(3), new TypeReference<List<String>>() {}),
          KeyRows.getLong(rs, 4),
          KeyRows.getLong(rs, 5),
          QuotaColumn.read(rs.getString(6)),
          JSON.readValue(rs.getString(7), new TypeReference<Map<String, Object>>() {}),
          rs.getBoolean(8),
          Instant.ofEpochMilli(rs.getLong(9)),
          Instant.ofEpochMilli(rs.getLong(10)));
    } catch (JsonProcessingException e) {
      throw new KeyStoreException("corrupt JSON column in fairshare_teams", e);
    }
  }
}
