package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.ManualClock;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Callers without a key that send large bodies slowly (a byte every few seconds) cannot take the
 * server's threads: 300 such connections are open and trickling while a health check and an
 * authorised call must each answer within a second.
 */
class HostileSlowClientsIT {

  static final int SLOW_CONNECTIONS = 300;

  @TempDir Path dir;

  @Test
  void slowUnauthenticatedBodiesDoNotStarveTheServer() throws Exception {
    try (TestGateway gateway =
        TestGateway.start(dir, new ManualClock(1_800_000_000_000L), Map.of())) {
      String key = gateway.mintKey("{}");
      List<Socket> slow = new ArrayList<>();
      try {
        for (int i = 0; i < SLOW_CONNECTIONS; i++) {
          Socket socket = new Socket(gateway.base().getHost(), gateway.base().getPort());
          socket.setSoTimeout(5_000);
          String path = i % 2 == 0 ? "/v1/chat/completions" : "/key/generate";
          socket
              .getOutputStream()
              .write(
                  ("POST "
                          + path
                          + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{")
                      .getBytes(StandardCharsets.US_ASCII));
          socket.getOutputStream().flush();
          slow.add(socket);
        }
        // Three rounds of one more byte on every connection (a bounded loop), each followed by the
        // two calls that must still answer at once.
        for (int round = 0; round < 3; round++) {
          for (Socket socket : slow) {
            trickle(socket);
          }
          long started = System.nanoTime();
          HttpResponse<String> health =
              gateway.http.send(
                  HttpRequest.newBuilder(gateway.base().resolve("/health"))
                      .timeout(Duration.ofSeconds(5))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
          assertThat(health.statusCode()).isEqualTo(200);
          assertThat(Duration.ofNanos(System.nanoTime() - started))
              .as("health, round %d", round)
              .isLessThan(Duration.ofSeconds(1));
          started = System.nanoTime();
          HttpResponse<String> chat =
              gateway.post(
                  "/v1/chat/completions",
                  "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
                  key);
          assertThat(chat.statusCode()).isIn(200, 429);
          assertThat(Duration.ofNanos(System.nanoTime() - started))
              .as("chat, round %d", round)
              .isLessThan(Duration.ofSeconds(1));
        }
        // Each slow caller was answered 401 from its headers, and told the connection closes
        int answered = 0;
        for (Socket socket : slow) {
          String head = readHead(socket.getInputStream());
          assertThat(head).startsWith("HTTP/1.1 401").containsIgnoringCase("connection: close");
          answered++;
        }
        assertThat(answered).isEqualTo(SLOW_CONNECTIONS);
      } finally {
        for (Socket socket : slow) {
          socket.close();
        }
      }
    }
  }

  /** One more byte, if the server has not closed the connection yet. */
  private static void trickle(Socket socket) {
    try {
      OutputStream out = socket.getOutputStream();
      out.write(' ');
      out.flush();
    } catch (IOException closed) {
      // answered and closed by the server: what it should do
    }
  }

  private static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    int b;
    while ((b = in.read()) != -1) {
      head.append((char) b);
      if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
        break;
      }
    }
    return head.toString();
  }
}
