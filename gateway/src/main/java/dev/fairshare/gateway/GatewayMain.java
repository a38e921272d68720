package dev.fairshare.gateway;

import dev.fairshare.config.ConfigurationException;
import dev.fairshare.core.Clock;
import dev.fairshare.keys.KeyHashing;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.UUID;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * {@code java -jar fairshare-gateway.jar}: configuration from MicroProfile Config (system
 * properties, environment variables such as {@code FAIRSHARE_MASTER_KEY}, {@code
 * META-INF/microprofile-config.properties}). Stops cleanly on SIGTERM.
 */
public final class GatewayMain {

  private GatewayMain() {}

  private static final Set<PosixFilePermission> OWNER_READ_WRITE =
      PosixFilePermissions.fromString("rw-------");

  /**
   * Writes a generated master key to {@code generated-master-key-<port>} in {@code dir} (the
   * gateway uses {@code ~/.fairshare}), replacing the last run's on that port, and returns the
   * file.
   *
   * <p>Private or not at all: the file is created {@code rw-------} (never readable by others, not
   * even for a moment) under a fresh name without following links, read back, and moved into place
   * atomically. It is refused (an {@link IOException} saying why) where the file system does not
   * keep those permissions, or where the directory is not this user's or others may write to it
   * (they could swap the file). A directory it creates is {@code rwx------}.
   */
  static Path writeGeneratedMasterKey(Path dir, int port, String key) throws IOException {
    if (!dir.isAbsolute()) {
      throw new IOException("no home directory to write it to (user.home is " + dir + ")");
    }
    if (!dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      throw new IOException("the file system of " + dir + " has no POSIX permissions");
    }
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(dir.getParent());
      Files.createDirectory(
          dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    Path file = dir.resolve("generated-master-key-" + port);
    Path fresh = dir.resolve(file.getFileName() + "." + UUID.randomUUID() + ".tmp");
    try {
      try (SeekableByteChannel out =
          Files.newByteChannel(
              fresh,
              Set.<OpenOption>of(
                  StandardOpenOption.CREATE_NEW,
                  StandardOpenOption.WRITE,
                  LinkOption.NOFOLLOW_LINKS),
              PosixFilePermissions.asFileAttribute(OWNER_READ_WRITE))) {
        out.write(ByteBuffer.wrap((key + "\n").getBytes(StandardCharsets.US_ASCII)));
      }
      PosixFileAttributes written =
          Files.readAttributes(fresh, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      PosixFileAttributes folder =
          Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (!written.permissions().equals(OWNER_READ_WRITE)) {
        throw new IOException(
            "the file system does not keep a file private there (it was created "
                + PosixFilePermissions.toString(written.permissions())
                + ")");
      }
      if (!folder.owner().equals(written.owner())
          || folder.permissions().contains(PosixFilePermission.GROUP_WRITE)
          || folder.permissions().contains(PosixFilePermission.OTHERS_WRITE)) {
        throw new IOException(
            dir
                + " must be this user's and not writable by others (it is "
                + folder.owner().getName()
                + "'s, "
                + PosixFilePermissions.toString(folder.permissions())
                + ")");
      }
      Files.move(fresh, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return file;
    } finally {
      Files.deleteIfExists(fresh);
    }
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
      Path dir = Path.of(System.getProperty("user.home"), ".fairshare");
      Path file;
      try {
        file = writeGeneratedMasterKey(dir, configuration.gateway().port(), generated);
      } catch (IOException | RuntimeException e) {
        System.err.println(
            "FairShare: no fairshare.master-key configured, and a generated one cannot be kept"
                + " private in "
                + dir
                + ": "
                + (e instanceof FileSystemException ? e.getClass().getSimpleName() + " " : "")
                + e.getMessage()
                + ". Set FAIRSHARE_MASTER_KEY (or fairshare.master-key).");
        System.exit(2);
        return;
      }
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
