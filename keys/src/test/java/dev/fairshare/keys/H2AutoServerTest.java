package dev.fairshare.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded key database's AUTO_SERVER, which lets a server's WARs share it, is loopback only.
 */
class H2AutoServerTest {

  @TempDir Path dir;

  private static InetAddress nonLoopbackAddress() throws IOException {
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      for (InetAddress address : Collections.list(nic.getInetAddresses())) {
        if (!address.isLoopbackAddress() && address instanceof Inet4Address) {
          return address;
        }
      }
    }
    return null;
  }

  @Test
  void theAutoServerListensOnLoopbackOnly() throws IOException {
    try (JdbcKeyStore store =
        JdbcKeyStore.open("jdbc:h2:file:" + dir.resolve("keys") + ";AUTO_SERVER=TRUE", "", "")) {
      assertThat(store.isReachable()).isTrue();
      // H2 writes where its server listens into the lock file, for other processes to connect.
      Properties lock = new Properties();
      try (InputStream in = Files.newInputStream(dir.resolve("keys.lock.db"))) {
        lock.load(in);
      }
      String server = lock.getProperty("server");
      int port = Integer.parseInt(server.substring(server.lastIndexOf(':') + 1));
      try (Socket loopback = new Socket(InetAddress.getLoopbackAddress(), port)) {
        assertThat(loopback.isConnected()).isTrue();
      }
      InetAddress outside = nonLoopbackAddress();
      assertThat(outside).as("this machine has a network interface besides loopback").isNotNull();
      assertThatThrownBy(() -> new Socket(outside, port).close())
          .as("connecting to the key database's port from %s", outside)
          .isInstanceOf(ConnectException.class);
    }
  }
}
