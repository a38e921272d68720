package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fairshare.core.ManualClock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official npm client {@code openai@6.30.1} on the machine's Node: one non-streaming and one
 * streaming call, then a 429 it raises at once. Fails (does not skip) without node or npm.
 */
class NodeClientIT {

  static final Path CLIENT_DIR = Path.of("target", "node-client").toAbsolutePath();

  @TempDir Path dir;

  @BeforeAll
  static void installClient() throws Exception {
    Files.createDirectories(CLIENT_DIR);
    Path installed = CLIENT_DIR.resolve("node_modules/openai/package.json");
    if (!Files.exists(installed)
        || !Files.readString(installed).contains("\"version\": \"6.30.1\"")) {
      run(
          List.of(
              "npm",
              "install",
              "--no-audit",
              "--no-fund",
              "--no-save",
              "--prefix",
              CLIENT_DIR.toString(),
              "openai@6.30.1"),
          300);
    }
    Files.copy(
        Path.of("src/test/node/client.mjs"),
        CLIENT_DIR.resolve("client.mjs"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  @Test
  void npmClient_nonStreamingStreamingAndAFast429() throws Exception {
    try (TestGateway gateway =
        TestGateway.start(
            dir,
            new ManualClock(1_800_000_000_000L),
            Map.of(
                "fairshare.models.node-model.tpm",
                "60",
                "fairshare.gateway.mock.node-model.content",
                "Hi from the mock"))) {
      String key = gateway.mintKey("{}");
      long started = System.nanoTime();
      String out =
          run(
              List.of(
                  "node",
                  CLIENT_DIR.resolve("client.mjs").toString(),
                  gateway.base().toString(),
                  key,
                  "node-model"),
              60);
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      JsonNode result = TestGateway.JSON.readTree(out.lines().reduce((a, b) -> b).orElseThrow());
      assertThat(result.get("totalTokens").asInt()).isEqualTo(30);
      assertThat(result.get("content").asText()).isEqualTo("Hi from the mock");
      assertThat(result.get("remainingTokens").asText()).isEqualTo("30");
      assertThat(result.get("streamed").asText()).isEqualTo("Hi from the mock");
      assertThat(result.get("usageChunks").asInt()).isZero();
      assertThat(result.get("rateLimited").get("status").asInt()).isEqualTo(429);
      assertThat(result.get("rateLimited").get("name").asText()).isEqualTo("RateLimitError");
      assertThat(result.get("rateLimited").get("code").asText()).isEqualTo("rate_limit_exceeded");
      assertThat(result.get("rateLimited").get("type").asText()).isEqualTo("tokens");
      // No retry loop: the whole script (three calls and Node's start) is far under a retry-after
      // of 60 s.
      assertThat(millis).isLessThan(20_000);
    }
  }

  private static String run(List<String> command, int timeoutSeconds)
      throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] output = process.getInputStream().readAllBytes();
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(command + " did not finish in " + timeoutSeconds + " s");
    }
    String text = new String(output, StandardCharsets.UTF_8);
    assertThat(process.exitValue()).as("%s:%n%s", command, text).isZero();
    return text;
  }
}
