package dev.fairshare.it;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;

/**
 * The key API on the PostgreSQL server on localhost (database {@code test}); each run gets its own
 * schema. Fails, not skips, when PostgreSQL is not there.
 */
class KeyApiPostgresIT extends KeyApiContract {

  static final String SERVER = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

  @Override
  Map<String, String> keyStoreProperties() throws Exception {
    String schema =
        "fairshare_it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = DriverManager.getConnection(SERVER);
        Statement s = c.createStatement()) {
      s.executeUpdate("CREATE SCHEMA " + schema);
    }
    return Map.of("fairshare.keys.jdbc-url", SERVER + "&currentSchema=" + schema);
  }
}
