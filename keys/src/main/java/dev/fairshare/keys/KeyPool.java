package dev.fairshare.keys;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/** The HikariCP pool for a key database named by a JDBC URL. */
final class KeyPool {

  /** Numbers the pools of this class loader, so that each one's threads can be told apart. */
  private static final java.util.concurrent.atomic.AtomicInteger POOLS =
      new java.util.concurrent.atomic.AtomicInteger();

  private KeyPool() {}

  /**
   * H2's AUTO_SERVER listens on all interfaces unless told otherwise. H2 reads the setting once,
   * when its settings are first loaded in a class loader: this must run before any use of H2 there.
   */
  static void bindH2ToLoopback() {
    if (System.getProperty("h2.bindAddress") == null) {
      System.setProperty("h2.bindAddress", "127.0.0.1");
    }
  }

  /** A pool on {@code jdbcUrl}; connections wait at most 5 s. */
  static HikariDataSource open(String jdbcUrl, String user, String password) {
    HikariConfig hikari = new HikariConfig();
    hikari.setJdbcUrl(jdbcUrl);
    // Name the driver class so Hikari loads it from our class loader instead of asking
    // DriverManager, which refuses drivers registered by another web application's loader.
    if (jdbcUrl.startsWith("jdbc:h2:")) {
      bindH2ToLoopback();
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
    // HikariCP's threads carry the name: fairshare-keys-1:housekeeper.
    hikari.setPoolName("fairshare-keys-" + POOLS.incrementAndGet());
    hikari.setMaximumPoolSize(8);
    hikari.setMinimumIdle(1);
    hikari.setInitializationFailTimeout(-1);
    hikari.setConnectionTimeout(5_000);
    return new HikariDataSource(hikari);
  }
}
