package dev.fairshare.gateway;

import dev.fairshare.config.ConfigurationException;
import dev.fairshare.core.Clock;
import dev.fairshare.keys.KeyHashing;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * {@code java -jar fairshare-gateway.jar}: configuration from MicroProfile Config (system
 * properties, environment variables such as {@code FAIRSHARE_MASTER_KEY}, {@code
 * META-INF/microprofile-config.properties}). Stops cleanly on SIGTERM.
 */
public final class GatewayMain {

  private GatewayMain() {}

  /**
   * Writes a generated master key to {@code generated-master-key} in {@code dir} (the gateway uses
   * {@code ~/.fairshare}), replacing the last run's, readable and writable by this user only where
   * the file system has POSIX permissions.
   */
  static Path writeGeneratedMasterKey(Path dir, String key) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve("generated-master-key");
    Files.deleteIfExists(file);
    if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      // Created with its permissions: never readable by others, not even for a moment
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } else {
      Files.createFile(file);
    }
    Files.writeString(file, key + System.lineSeparator(), StandardCharsets.US_ASCII);
    return file;
  }

  public static void main(String[] args) throws Exception {
    GatewayConfiguration configuration;
    try {
      configuration = GatewayConfiguration.read(ConfigProvider.getConfig());
    } catch (ConfigurationException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    if (configuration.fairShare().masterKey().isEmpty()) {
      String generated = KeyHashing.newKey();
      configuration =
          new GatewayConfiguration(
              configuration.fairShare().withMasterKey(generated), configuration.gateway());
      // Never printed: a console is often a log (systemd's journal, a container's log). It goes to
      // a file only this user can read; set FAIRSHARE_MASTER_KEY to choose one.
      Path file =
          writeGeneratedMasterKey(
              Path.of(System.getProperty("user.home"), ".fairshare"), generated);
      System.out.println(
          "FairShare: no fairshare.master-key configured; a master key for this run is in "
              + file
              + " (readable by this user only). Set FAIRSHARE_MASTER_KEY to choose one.");
    }
    FairShareGateway gateway;
    try {
      // The models' limits and the priorities are read again every fairshare.config-refresh
      gateway =
          FairShareGateway.start(
              configuration,
              Clock.system(),
              () -> GatewayConfiguration.read(ConfigProvider.getConfig()));
    } catch (ConfigurationException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    gateway.close();
                  } catch (Exception e) {
                    System.err.println("FairShare: error while stopping: " + e);
                  }
                },
                "fairshare-shutdown"));
    System.out.println(
        "FairShare gateway listening on http://"
            + configuration.gateway().host()
            + ":"
            + gateway.port()
            + " (models: "
            + configuration.fairShare().models().capacities()
            + ")");
    gateway.join();
  }
}
