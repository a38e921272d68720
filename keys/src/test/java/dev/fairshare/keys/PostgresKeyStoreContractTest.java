package dev.fairshare.keys;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.UUID;

/**
 * The key store contract on the real PostgreSQL on 127.0.0.1:5432 (database {@code test}), each
 * test in a schema of its own; fails, does not skip, without it.
 */
class PostgresKeyStoreContractTest extends KeyStoreContract {

  private String schema;

  @Override
  KeyStore sameDatabase() {
    return JdbcKeyStore.open(
        "jdbc:postgresql://127.0.0.1:5432/test?currentSchema=" + schema, "postgres", "");
  }

  @Override
  KeyStore newStore() throws Exception {
    schema = "fairshare_ks_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c =
            DriverManager.getConnection("jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
        Statement s = c.createStatement()) {
      s.executeUpdate("CREATE SCHEMA " + schema);
    }
    return JdbcKeyStore.open(
        "jdbc:postgresql://127.0.0.1:5432/test?currentSchema=" + schema, "postgres", "");
  }
}
