package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.ManualClock;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Path forms that a container normalises (and an upstream behind a proxy may normalise again): a
 * caller without a key never reaches the model through any of them, and a caller with a key is
 * never admitted through one without being counted. The same list runs on the real servers ({@link
 * PathTricks}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostilePathsIT {

  static final String HELLO =
      "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  @TempDir static Path dir;
  TestGateway gateway;
  String key;

  @BeforeAll
  void start() throws Exception {
    gateway =
        TestGateway.start(
            dir,
            new ManualClock(1_800_000_000_000L),
            Map.of("fairshare.models.my-fake-model.tpm", "100000"));
    key = gateway.mintKey("{}");
  }

  @AfterAll
  void stop() {
    gateway.close();
  }

  @Test
  void noPathTrickReachesTheModel() throws Exception {
    List<String> seen = PathTricks.assertNoneReachesTheModel(gateway.base(), "", key);
    System.out.println("Path tricks on the gateway:\n  " + String.join("\n  ", seen));
    // The plain paths work, and without a key are 401
    assertThat(PathTricks.send(gateway.base(), "/v1/chat/completions", null, HELLO).status())
        .isEqualTo(401);
    assertThat(PathTricks.send(gateway.base(), "/v1/chat/completions", key, HELLO).status())
        .isEqualTo(200);
    assertThat(PathTricks.send(gateway.base(), "/chat/completions", key, HELLO).status())
        .isEqualTo(200);
  }

  @Test
  void tricksThatJettyRoutesToTheModelAreRefusedByTheFilterAs400InvalidPath() throws Exception {
    for (String trick :
        List.of(
            "/v1/chat/completions;x=1",
            "/v1/chat/%63ompletions",
            "/v1/a/../chat/completions",
            "/v1/./chat/completions",
            "/v1;x/chat/completions",
            "/v1/embeddings;x",
            "/v1/%72esponses")) {
      PathTricks.RawAnswer answer = PathTricks.send(gateway.base(), trick, null, HELLO);
      assertThat(answer.status()).as(trick).isEqualTo(400);
      assertThat(answer.body()).as(trick).contains("invalid_path");
    }
  }

  @Test
  void theAbsoluteFormIsJudgedByItsPath() throws Exception {
    String absolute = "http://127.0.0.1:" + gateway.base().getPort() + "/v1/chat/completions";
    PathTricks.RawAnswer anonymous = PathTricks.send(gateway.base(), absolute, null, HELLO);
    assertThat(anonymous.status()).isIn(400, 401);
    assertThat(anonymous.fromTheModel()).isFalse();
  }

  @Test
  void otherMethodsOnALimitedPathNeedAKey() throws Exception {
    for (String method : new String[] {"GET", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
      try (Socket socket = new Socket(gateway.base().getHost(), gateway.base().getPort())) {
        socket
            .getOutputStream()
            .write(
                (method + " /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
        String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(answer).as(method).startsWith("HTTP/1.1 401");
      }
    }
    // With a key: GET and HEAD pass (without a body), anything else is 405, lower-case "post" too
    for (String method : new String[] {"PUT", "DELETE", "PATCH", "OPTIONS", "post"}) {
      assertThat(
              raw(
                  method
                      + " /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
                      + key
                      + "\r\nContent-Length: "
                      + HELLO.length()
                      + "\r\n\r\n"
                      + HELLO))
          .as(method)
          .startsWith("HTTP/1.1 405");
    }
    assertThat(
            raw(
                "GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
                    + key
                    + "\r\nContent-Length: "
                    + HELLO.length()
                    + "\r\n\r\n"
                    + HELLO))
        .startsWith("HTTP/1.1 400");
  }

  @Test
  void theModelIsMappedOnTheLimitedPathsOnly() throws Exception {
    try (TestGateway narrow =
        TestGateway.start(
            dir.resolve("narrow"),
            new ManualClock(1_800_000_000_000L),
            Map.of("fairshare.paths", "/chat/completions"))) {
      PathTricks.RawAnswer embeddings =
          PathTricks.send(
              narrow.base(),
              "/v1/embeddings",
              null,
              "{\"model\":\"my-fake-model\",\"input\":\"x\"}");
      assertThat(embeddings.status()).isEqualTo(404);
      assertThat(embeddings.fromTheModel()).isFalse();
      assertThat(PathTricks.send(narrow.base(), "/v1/chat/completions", null, HELLO).status())
          .isEqualTo(401);
    }
  }

  private String raw(String request) throws IOException {
    try (Socket socket = new Socket(gateway.base().getHost(), gateway.base().getPort())) {
      socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
