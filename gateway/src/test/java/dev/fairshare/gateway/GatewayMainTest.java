package dev.fairshare.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A generated master key goes to a file only its user can read, never to the console. */
class GatewayMainTest {

  @TempDir Path dir;

  @Test
  void aGeneratedMasterKeyIsWrittenForItsUserOnly_replacingTheLastRunsKey() throws Exception {
    Path first = GatewayMain.writeGeneratedMasterKey(dir.resolve("fairshare"), "sk-first");
    Path second = GatewayMain.writeGeneratedMasterKey(dir.resolve("fairshare"), "sk-second");
    assertThat(second).isEqualTo(first);
    assertThat(Files.readString(second, StandardCharsets.US_ASCII).strip()).isEqualTo("sk-second");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(second)))
        .isEqualTo("rw-------");
  }
}
