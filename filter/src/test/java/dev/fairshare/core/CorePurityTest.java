package dev.fairshare.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** dev.fairshare.core stays free of jakarta.*, MicroProfile, Redis and JSON imports. */
class CorePurityTest {

  private static final List<String> FORBIDDEN =
      List.of("jakarta.", "javax.servlet", "javax.ws", "org.eclipse.microprofile", "io.lettuce", "redis.",
          "com.fasterxml", "org.json", "com.google.gson", "jakarta.json");

  @Test
  void coreImportsNoContainerRedisOrJsonTypes() throws IOException {
    Path core = Path.of("src/main/java/dev/fairshare/core");
    assertThat(core).isDirectory();
    List<Path> sources;
    try (Stream<Path> files = Files.list(core)) {
      sources = files.filter(p -> p.toString().endsWith(".java")).toList();
    }
    assertThat(sources).hasSizeGreaterThan(5);
    for (Path source : sources) {
      for (String line : Files.readAllLines(source)) {
        String trimmed = line.trim();
        if (trimmed.startsWith("import ")) {
          for (String prefix : FORBIDDEN) {
            assertThat(trimmed).as("%s imports %s", source.getFileName(), prefix)
                .doesNotContain(" " + prefix).doesNotContain("static " + prefix);
          }
        }
      }
    }
  }
}
