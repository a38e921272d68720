package dev.fairshare.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

/**
 * Reads survive a connection lost under them (the embedded database passing from one application's
 * engine to another's) and fail at once on any other error, and when no connection can be had.
 */
class LostConnectionTest {

  /** An H2 database whose next {@code failures} connections fail with {@code sqlState}. */
  static final class Flaky implements DataSource {
    final JdbcDataSource h2;
    final AtomicInteger failures = new AtomicInteger();
    final AtomicInteger asked = new AtomicInteger();
    volatile String sqlState = "08006";

    Flaky() {
      // Before H2 loads its settings in this JVM: H2AutoServerTest relies on them.
      KeyPool.bindH2ToLoopback();
      h2 = new JdbcDataSource();
      h2.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
    }

    /** When set, getting a connection fails (with {@link #sqlState}), not using one. */
    volatile boolean failToConnect;

    @Override
    public Connection getConnection() throws SQLException {
      asked.incrementAndGet();
      if (failToConnect) {
        throw new SQLException("cannot connect", sqlState);
      }
      Connection real = h2.getConnection();
      if (failures.getAndDecrement() <= 0) {
        return real;
      }
      // A connection that breaks at its first statement, as an AUTO_SERVER client's does while
      // the database passes to another engine.
      return (Connection)
          java.lang.reflect.Proxy.newProxyInstance(
              Connection.class.getClassLoader(),
              new Class<?>[] {Connection.class},
              (proxy, method, args) -> {
                if (method.getName().equals("prepareStatement")
                    || method.getName().equals("createStatement")) {
                  throw new SQLException("connection lost", sqlState);
                }
                try {
                  return method.invoke(real, args);
                } catch (java.lang.reflect.InvocationTargetException e) {
                  throw e.getCause();
                }
              });
    }

    @Override
    public Connection getConnection(String user, String password) throws SQLException {
      return getConnection();
    }

    @Override
    public PrintWriter getLogWriter() {
      return null;
    }

    @Override
    public void setLogWriter(PrintWriter out) {}

    @Override
    public void setLoginTimeout(int seconds) {}

    @Override
    public int getLoginTimeout() {
      return 0;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
      throw new SQLFeatureNotSupportedException();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
      throw new SQLException("not a wrapper");
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) {
      return false;
    }
  }

  @Test
  void aReadIsTriedAgainWhenItsConnectionWasLost_atMostThreeTimes() {
    Flaky db = new Flaky();
    JdbcKeyStore store = JdbcKeyStore.on(db);
    db.asked.set(0);
    db.failures.set(2);
    assertThat(store.findByToken("nope")).isEmpty();
    assertThat(db.asked).hasValue(3);
    assertThat(store.isReachable()).isTrue();

    db.asked.set(0);
    db.failures.set(3);
    assertThatThrownBy(() -> store.findByToken("nope")).isInstanceOf(KeyStoreException.class);
    assertThat(db.asked).hasValue(JdbcKeyStore.READ_ATTEMPTS);
  }

  @Test
  void notGettingAConnectionIsNotTriedAgain() {
    Flaky db = new Flaky();
    JdbcKeyStore store = JdbcKeyStore.on(db);
    db.failToConnect = true; // 08006 too, but from getConnection: the pool has waited already
    db.asked.set(0);
    assertThatThrownBy(() -> store.findByToken("nope")).isInstanceOf(KeyStoreException.class);
    assertThat(db.asked).hasValue(1);
    assertThat(store.isReachable()).isFalse();
    assertThat(db.asked).hasValue(2);
  }

  @Test
  void anyOtherErrorFailsTheReadAtOnce() {
    Flaky db = new Flaky();
    JdbcKeyStore store = JdbcKeyStore.on(db);
    db.sqlState = "42P01"; // undefined table
    db.asked.set(0);
    db.failures.set(1);
    assertThatThrownBy(() -> store.count(null)).isInstanceOf(KeyStoreException.class);
    assertThat(db.asked).hasValue(1);
  }

  @Test
  void h2sBrokenConnectionCodesCountAsLost() {
    assertThat(JdbcKeyStore.connectionLost(new SQLException("broken", "90067", 90067))).isTrue();
    assertThat(JdbcKeyStore.connectionLost(new SQLException("closed", "90098", 90098))).isTrue();
    assertThat(JdbcKeyStore.connectionLost(new SQLException("syntax", "42000", 42000))).isFalse();
  }
}
