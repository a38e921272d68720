package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The key API on the default embedded H2 file database, and keys surviving a restart. */
class KeyApiH2IT extends KeyApiContract {

  @Override
  Map<String, String> keyStoreProperties() {
    return Map.of(
        "fairshare.keys.jdbc-url", "jdbc:h2:file:" + dir.resolve("keys").toAbsolutePath());
  }

  @Test
  void aChangeMadeOnOneInstanceReachesAnotherWithinTheKeyCacheTtl() throws Exception {
    String key = gateway.mintKey("{\"key_alias\":\"shared\"}");
    try (TestGateway other = TestGateway.start(dir, clock, keyStoreProperties())) {
      assertThat(status(other.post("/chat/completions", HELLO, key)))
          .isEqualTo(200); // cached there now
      admin("/key/block", "{\"key\":\"" + key + "\"}");
      assertThat(status(chat(key, "my-fake-model"))).as("same instance: at once").isEqualTo(401);
      clock.advance(java.time.Duration.ofSeconds(4));
      assertThat(status(other.post("/chat/completions", HELLO, key)))
          .as("other instance, inside the 5 s TTL")
          .isEqualTo(200);
      clock.advance(java.time.Duration.ofSeconds(2));
      assertThat(status(other.post("/chat/completions", HELLO, key)))
          .as("other instance, after the TTL")
          .isEqualTo(401);
    }
  }

  static final String HELLO =
      "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  @Test
  void keysSurviveARestart_andNoRawKeyIsInTheDatabaseFile() throws Exception {
    String k1 = gateway.mintKey("{\"key_alias\":\"persisted\"}");
    String k2 = gateway.mintKey("{}");
    gateway.close();

    gateway = TestGateway.start(dir, new ManualClock(T0 + 120_000), keyStoreProperties());
    assertThat(status(chat(k1, "my-fake-model"))).isEqualTo(200);
    assertThat(status(chat(k2, "my-fake-model"))).isEqualTo(200);
    gateway.close();

    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.getFileName().toString().startsWith("keys")).toList();
    }
    assertThat(files).isNotEmpty();
    for (Path file : files) {
      String bytes = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
      assertThat(bytes).doesNotContain(k1).doesNotContain(k2).doesNotContain(k1.substring(3));
    }
    gateway = TestGateway.start(dir, clock, keyStoreProperties()); // for @AfterEach
  }
}
