package dev.fairshare.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A PostgreSQL URL naming a schema that does not exist ({@code currentSchema=fairshare}): the store
 * creates it, or says what to run when its user may not.
 */
class NamedSchemaTest {

  static final String SERVER = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

  @Test
  void aMissingSchemaIsCreated_andTheKeysLiveInIt() throws Exception {
    String schema = unique("fairshare_new_");
    opensOn(schema);
    assertThat(number("SELECT MAX(version) FROM " + schema + ".fairshare_schema"))
        .isEqualTo(KeySchema.MIGRATIONS.size());
  }

  /** A store opens on a URL naming {@code schema} and answers. */
  private static void opensOn(String schema) {
    String url = "jdbc:postgresql://127.0.0.1:5432/test?currentSchema=" + schema;
    try (JdbcKeyStore store = JdbcKeyStore.open(url, "postgres", "")) {
      assertThat(store.isReachable()).isTrue();
    }
  }

  /** The first column of the first row of {@code sql}, as the server's superuser sees it. */
  private static int number(String sql) throws Exception {
    try (Connection c = DriverManager.getConnection(SERVER);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      assertThat(rs.next()).isTrue();
      return rs.getInt(1);
    }
  }

  @Test
  void aUserWhoMayNotCreateIt_isToldWhatToRun() throws Exception {
    String schema = unique("fairshare_denied_");
    String role = unique("fairshare_role_");
    try (Connection c = DriverManager.getConnection(SERVER);
        Statement s = c.createStatement()) {
      s.executeUpdate("CREATE ROLE " + role + " LOGIN");
    }
    try {
      String url = "jdbc:postgresql://127.0.0.1:5432/test?currentSchema=" + schema;
      assertThatThrownBy(() -> JdbcKeyStore.open(url, role, "").close())
          .isInstanceOf(KeyStoreException.class)
          .hasMessage(
              "the key database's schema '"
                  + schema
                  + "' does not exist and this user may not create it; run: CREATE SCHEMA IF NOT"
                  + " EXISTS \""
                  + schema
                  + "\" AUTHORIZATION <the fairshare.keys.jdbc-user>");
    } finally {
      try (Connection c = DriverManager.getConnection(SERVER);
          Statement s = c.createStatement()) {
        s.executeUpdate("DROP ROLE " + role);
      }
    }
  }

  @Test
  void theFirstSchemaOfASearchPath_isReadAsPostgreSqlReadsIt() {
    assertThat(KeySchema.firstSchema("FairShare, public")).isEqualTo("fairshare");
    assertThat(KeySchema.firstSchema("\"FairShare\", public")).isEqualTo("FairShare");
    assertThat(KeySchema.firstSchema("\"a,\"\"b\"\"\", public")).isEqualTo("a,\"b\"");
    assertThat(KeySchema.firstSchema("\"$user\", public")).isNull();
    assertThat(KeySchema.firstSchema("$user, public")).isNull();
    assertThat(KeySchema.firstSchema("")).isNull();
  }

  @Test
  void anUnquotedMixedCaseNameIsCreatedInLowerCase() throws Exception {
    String schema = unique("Fairshare_Mixed_");
    opensOn(schema);
    assertThat(
            number(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name = '"
                    + schema.toLowerCase(java.util.Locale.ROOT)
                    + "'"))
        .isEqualTo(1);
  }

  private static String unique(String prefix) {
    return prefix + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }
}
