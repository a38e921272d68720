package dev.fairshare.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Applications that start at the same moment on a new PostgreSQL schema (the admin WAR and the
 * application on one server, which WildFly deploys in parallel) all get a working key store,
 * whether the schema exists already or they create it.
 */
class ConcurrentMigrationTest {

  static final String SERVER = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
  static final int STARTING = 6;

  @Test
  void storesOpenedTogetherOnANewSchemaAllStart() throws Exception {
    for (int round = 0; round < 5; round++) {
      String schema =
          "fairshare_mig_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
      if (round % 2 == 0) { // on odd rounds the stores create the schema, all at once
        try (Connection c = DriverManager.getConnection(SERVER);
            Statement s = c.createStatement()) {
          s.executeUpdate("CREATE SCHEMA " + schema);
        }
      }
      String url = "jdbc:postgresql://127.0.0.1:5432/test?currentSchema=" + schema;
      ExecutorService pool = Executors.newFixedThreadPool(STARTING);
      CountDownLatch go = new CountDownLatch(1);
      List<Future<JdbcKeyStore>> opened = new ArrayList<>();
      for (int i = 0; i < STARTING; i++) {
        opened.add(
            pool.submit(
                () -> {
                  go.await();
                  return JdbcKeyStore.open(url, "postgres", "");
                }));
      }
      go.countDown();
      for (Future<JdbcKeyStore> f : opened) {
        try (JdbcKeyStore store = f.get(60, TimeUnit.SECONDS)) {
          assertThat(store.isReachable()).isTrue();
        }
      }
      pool.shutdown();
      try (Connection c = DriverManager.getConnection(SERVER);
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery("SELECT MAX(version) FROM " + schema + ".fairshare_schema")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getInt(1)).isEqualTo(KeySchema.MIGRATIONS.size());
      }
    }
  }
}
