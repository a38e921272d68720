package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The key API on the PostgreSQL server on localhost (database {@code test}); each run gets its own
 * schema. Fails, not skips, when PostgreSQL is not there.
 */
class KeyApiPostgresIT extends KeyApiContract {

  static final String SERVER = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

  String schema;

  @Override
  Map<String, String> keyStoreProperties() throws Exception {
    schema = "fairshare_it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = DriverManager.getConnection(SERVER);
        Statement s = c.createStatement()) {
      s.executeUpdate("CREATE SCHEMA " + schema);
    }
    return Map.of("fairshare.keys.jdbc-url", SERVER + "&currentSchema=" + schema);
  }

  @Test
  void healthRunsARealQuery_andNamesTheKeyDatabaseWhenItCannotServe() throws Exception {
    HttpResponse<String> healthy = get("/health", null);
    assertThat(healthy.statusCode()).isEqualTo(200);
    assertThat(TestGateway.JSON.readTree(healthy.body()).get("key_store").asText())
        .isEqualTo("reachable");
    assertThat(TestGateway.JSON.readTree(healthy.body()).get("usage_store").asText())
        .isEqualTo("reachable");
    // The database still accepts connections, but FairShare's table is gone.
    try (Connection c = DriverManager.getConnection(SERVER);
        Statement s = c.createStatement()) {
      s.executeUpdate("DROP SCHEMA " + schema + " CASCADE");
    }
    // A health result is given again for 250 ms: the first check after the drop may be older.
    HttpResponse<String> broken =
        org.awaitility.Awaitility.await("health reports the dropped schema")
            .atMost(java.time.Duration.ofSeconds(3))
            .until(() -> get("/health", null), h -> h.statusCode() == 503);
    assertThat(TestGateway.JSON.readTree(broken.body()).get("status").asText())
        .isEqualTo("unhealthy");
    assertThat(TestGateway.JSON.readTree(broken.body()).get("key_store").asText())
        .isEqualTo("unreachable");
    assertThat(TestGateway.JSON.readTree(broken.body()).get("usage_store").asText())
        .isEqualTo("reachable");
  }
}
