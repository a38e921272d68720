package dev.fairshare.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A generated master key goes to a file only its user can read, never to the console. */
class GatewayMainTest {

  @TempDir Path dir;

  @Test
  void aGeneratedMasterKeyIsWrittenForItsUserOnly_replacingTheLastRunsKeyOnThatPort()
      throws Exception {
    Path home = dir.resolve("fairshare");
    Path first = GatewayMain.writeGeneratedMasterKey(home, 4000, "sk-first");
    Path second = GatewayMain.writeGeneratedMasterKey(home, 4000, "sk-second");
    Path other = GatewayMain.writeGeneratedMasterKey(home, 4001, "sk-other");
    assertThat(second).isEqualTo(first).hasFileName("generated-master-key-4000");
    assertThat(Files.readString(second, StandardCharsets.US_ASCII)).isEqualTo("sk-second\n");
    assertThat(Files.readString(other, StandardCharsets.US_ASCII)).isEqualTo("sk-other\n");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(second)))
        .isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(home)))
        .isEqualTo("rwx------");
    try (Stream<Path> files = Files.list(home)) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .containsExactlyInAnyOrder("generated-master-key-4000", "generated-master-key-4001");
    }
  }

  @Test
  void aDirectoryOthersMayWriteToIsRefused_andNothingIsLeftInIt() throws Exception {
    Path shared = Files.createDirectory(dir.resolve("shared"));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
    IOException refused =
        catchThrowableOfType(
            () -> GatewayMain.writeGeneratedMasterKey(shared, 4000, "sk-secret"),
            IOException.class);
    assertThat(refused).hasMessageContaining("not writable by others");
    try (Stream<Path> files = Files.list(shared)) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void noHomeDirectoryIsRefused() {
    IOException refused =
        catchThrowableOfType(
            () -> GatewayMain.writeGeneratedMasterKey(Path.of("?", ".fairshare"), 4000, "sk-x"),
            IOException.class);
    assertThat(refused).hasMessageContaining("no home directory");
  }
}
