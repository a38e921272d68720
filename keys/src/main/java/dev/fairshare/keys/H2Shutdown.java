package dev.fairshare.keys;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** Closing the embedded H2 key database when a store on it closes (on undeploy). */
final class H2Shutdown {

  private H2Shutdown() {}

  /**
   * Closes the H2 database when this class loader's H2 engine holds it: otherwise its threads (the
   * AUTO_SERVER listener, the file lock watchdog, the writer) outlive an undeployed application,
   * pin its class loader, and the server's other applications, connected to that listener, lose the
   * key database. After {@code SHUTDOWN} their pools reconnect and one of them opens the file
   * itself. A store that is only another engine's AUTO_SERVER client leaves the database alone.
   */
  static void ifServedHere(String url, String user, String password) {
    // Whether this engine holds the file is asked of H2 itself: a new connection through this
    // class loader's driver is embedded when this engine has the file open (or nobody has), and
    // remote when another engine serves it, which is then left alone.
    java.util.Properties credentials = new java.util.Properties();
    if (user != null && !user.isEmpty()) {
      credentials.setProperty("user", user);
    }
    if (password != null && !password.isEmpty()) {
      credentials.setProperty("password", password);
    }
    try (Connection c = new org.h2.Driver().connect(url, credentials)) {
      if (c.unwrap(org.h2.jdbc.JdbcConnection.class).getSession()
          instanceof org.h2.engine.SessionLocal) {
        try (Statement s = c.createStatement()) {
          s.execute("SHUTDOWN");
        }
        // H2's threads (the TCP server's, the file lock watchdog, the store's writer) end shortly
        // after SHUTDOWN.
        LoaderThreads.awaitEnd(name -> name.startsWith("H2 ") || name.startsWith("MVStore"));
      }
    } catch (SQLException | RuntimeException e) {
      // Closing on undeploy: the pool is closed next either way.
    }
  }
}
