package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.ManualClock;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * never admitted through one without being counted. The list is shared with the real-server
 * contract ({@link #TRICKS}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostilePathsIT {

  /** Raw request targets for a limited endpoint, each in a form that is not normal. */
  static final List<String> TRICKS =
      List.of(
          "/v1/chat/completions;x=1",
          "/v1/chat/%63ompletions",
          "/v1/a/../chat/completions",
          "/v1/./chat/completions",
          "/v1;x/chat/completions",
          "/v1/embeddings;x",
          "/v1/%72esponses",
          "/v1//chat/completions",
          "/v1/chat/completions;",
          "/chat/completions;jsessionid=1",
          "/chat/%2e/completions",
          "/v1/chat/completions/.",
          "/%76%31/chat/completions",
          "/v1/chat%2Fcompletions",
          "/v1/chat/completions%3B",
          "//v1/chat/completions",
          "/v1/chat/completions/..;/completions",
          "/v1/./completions",
          "/v1\\chat\\completions");

  static final String HELLO = "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  @TempDir static Path dir;
  TestGateway gateway;
  String key;

  @BeforeAll
  void start() throws Exception {
    gateway = TestGateway.start(dir, new ManualClock(1_800_000_000_000L), Map.of("fairshare.models.my-fake-model.tpm", "100000"));
    key = gateway.mintKey("{}");
  }

  @AfterAll
  void stop() {
    gateway.close();
  }

  /** One request on a fresh connection: the status line and the body, as the server sent them. */
  static RawAnswer send(URI base, String target, String bearer, String body) throws IOException {
    try (Socket socket = new Socket(base.getHost(), base.getPort())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      StringBuilder head = new StringBuilder("POST ").append(target).append(" HTTP/1.1\r\n")
          .append("Host: ").append(base.getHost()).append(':').append(base.getPort()).append("\r\n")
          .append("Content-Type: application/json\r\nConnection: close\r\n")
          .append("Content-Length: ").append(body.getBytes(StandardCharsets.UTF_8).length).append("\r\n");
      if (bearer != null) {
        head.append("Authorization: Bearer ").append(bearer).append("\r\n");
      }
      out.write((head + "\r\n" + body).getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = socket.getInputStream();
      String all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      int status = Integer.parseInt(all.substring(9, 12));
      int split = all.indexOf("\r\n\r\n");
      return new RawAnswer(status, split < 0 ? "" : all.substring(split + 4));
    }
  }

  /** Status and body of one raw answer. */
  record RawAnswer(int status, String body) {
    boolean fromTheModel() {
      return body.contains("\"usage\"") || body.contains("chat.completion");
    }
  }

  /**
   * Every trick, without a key and with one: never answered by the model, never a 5xx. Returns the
   * answers, for callers that check more.
   */
  static List<String> assertNoTrickReachesTheModel(URI base, String prefix, String validKey) throws IOException {
    List<String> seen = new ArrayList<>();
    for (String trick : TRICKS) {
      for (String bearer : new String[] {null, validKey}) {
        RawAnswer answer = send(base, prefix + trick, bearer, HELLO);
        seen.add(trick + (bearer == null ? " (no key)" : " (key)") + " -> " + answer.status());
        assertThat(answer.fromTheModel()).as("%s answered by the model: %s", trick, answer.body()).isFalse();
        assertThat(answer.status()).as("%s with%s key", trick, bearer == null ? "out a" : " a").isIn(400, 401, 404);
      }
    }
    return seen;
  }

  @Test
  void noPathTrickReachesTheModel() throws Exception {
    List<String> seen = assertNoTrickReachesTheModel(gateway.base(), "", key);
    System.out.println("Path tricks on the gateway:\n  " + String.join("\n  ", seen));
    // The plain paths work, and without a key are 401
    assertThat(send(gateway.base(), "/v1/chat/completions", null, HELLO).status()).isEqualTo(401);
    assertThat(send(gateway.base(), "/v1/chat/completions", key, HELLO).status()).isEqualTo(200);
    assertThat(send(gateway.base(), "/chat/completions", key, HELLO).status()).isEqualTo(200);
  }

  @Test
  void tricksThatJettyRoutesToTheModelAreRefusedByTheFilterAs400InvalidPath() throws Exception {
    for (String trick : List.of("/v1/chat/completions;x=1", "/v1/chat/%63ompletions", "/v1/a/../chat/completions",
        "/v1/./chat/completions", "/v1;x/chat/completions", "/v1/embeddings;x", "/v1/%72esponses")) {
      RawAnswer answer = send(gateway.base(), trick, null, HELLO);
      assertThat(answer.status()).as(trick).isEqualTo(400);
      assertThat(answer.body()).as(trick).contains("invalid_path");
    }
  }

  @Test
  void theAbsoluteFormIsJudgedByItsPath() throws Exception {
    String absolute = "http://127.0.0.1:" + gateway.base().getPort() + "/v1/chat/completions";
    RawAnswer anonymous = send(gateway.base(), absolute, null, HELLO);
    assertThat(anonymous.status()).isIn(400, 401);
    assertThat(anonymous.fromTheModel()).isFalse();
  }

  @Test
  void otherMethodsOnALimitedPathNeedAKey() throws Exception {
    for (String method : new String[] {"GET", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
      try (Socket socket = new Socket(gateway.base().getHost(), gateway.base().getPort())) {
        socket.getOutputStream().write((method + " /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(answer).as(method).startsWith("HTTP/1.1 401");
      }
    }
  }
}
