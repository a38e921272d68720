package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fairshare.core.ManualClock;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** The key API against hostile input: every bad field a named 400, nothing read before the key. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileAdminIT {

  static final String MASTER = TestGateway.MASTER_KEY;

  @TempDir static Path dir;
  TestGateway gateway;
  LogCapture log;

  @BeforeAll
  void start() throws Exception {
    gateway = TestGateway.start(dir, new ManualClock(1_800_000_000_000L), Map.of());
    log = LogCapture.start();
  }

  @AfterAll
  void stop() {
    log.close();
    gateway.close();
  }

  JsonNode badField(String path, String body) throws Exception {
    HttpResponse<String> r = gateway.post(path, body, MASTER);
    assertThat(r.statusCode()).as("%s %s -> %s", path, body, r.body()).isEqualTo(400);
    return TestGateway.error(r);
  }

  @Test
  void everyBadFieldIsANamed400() throws Exception {
    String key = gateway.mintKey("{}");
    Map<String, String> generate =
        Map.ofEntries(
            Map.entry("{\"duration\":\"99999999999999999999d\"}", "duration"),
            Map.entry("{\"duration\":\"999999999999d\"}", "duration"),
            Map.entry("{\"duration\":\"36526d\"}", "duration"),
            Map.entry("{\"key_alias\":\"" + "a".repeat(256) + "\"}", "key_alias"),
            Map.entry("{\"user_id\":\"" + "u".repeat(300) + "\"}", "user_id"),
            Map.entry("{\"team_id\":\"" + "t".repeat(300) + "\"}", "team_id"),
            Map.entry("{\"metadata\":{\"x\":\"" + "m".repeat(20_000) + "\"}}", "metadata"),
            Map.entry("{\"metadata\":{\"x\":\"a\\u0000b\"}}", "metadata"),
            Map.entry("{\"models\":[\"" + "n".repeat(300) + "\"]}", "models"),
            Map.entry("{\"key\":\"sk-short\"}", "key"),
            Map.entry("{\"key\":\"sk-abcdefgh\"}", "key"),
            Map.entry("{\"key\":\"sk-abcdefghijklmnop\\u0000\"}", "key"),
            Map.entry("{\"key\":\"sk-abcdefghij klmnop\"}", "key"),
            Map.entry("{\"key_alias\":\"bad\\u0000alias\"}", "key_alias"),
            Map.entry("{\"tpm_limit\":-1}", "tpm_limit"),
            Map.entry("{\"model_tpm_limit\":{\"a\\u0001b\":5}}", "model_tpm_limit"),
            Map.entry("{\"model_rpm_limit\":{\"a\\\"b\":5}}", "model_rpm_limit"),
            Map.entry("{\"model_rpm_limit\":{\"a\\\\b\":5}}", "model_rpm_limit"),
            Map.entry("{\"rpm_limit\":1e400}", "rpm_limit"));
    for (Map.Entry<String, String> e : generate.entrySet()) {
      assertThat(badField("/key/generate", e.getKey()).get("param").asText())
          .as(e.getKey())
          .isEqualTo(e.getValue());
    }
    StringBuilder many = new StringBuilder("{\"models\":[");
    for (int i = 0; i < 101; i++) {
      many.append(i == 0 ? "" : ",").append("\"m").append(i).append('"');
    }
    assertThat(badField("/key/generate", many + "]}").get("param").asText()).isEqualTo("models");
    assertThat(
            badField(
                    "/key/update",
                    "{\"key\":\"" + key + "\",\"duration\":\"99999999999999999999h\"}")
                .get("param")
                .asText())
        .isEqualTo("duration");
    assertThat(
            badField(
                    "/key/regenerate",
                    "{\"key\":\"" + key + "\",\"grace_period\":\"999999999999d\"}")
                .get("param")
                .asText())
        .isEqualTo("grace_period");
    assertThat(
            badField("/key/regenerate", "{\"key\":\"" + key + "\",\"new_key\":\"sk-tiny\"}")
                .get("param")
                .asText())
        .isEqualTo("new_key");
    // The largest limit maps there may be, set one after the other, are stored (they overflowed
    // the quotas column as escaped names, a 503)
    for (String field : new String[] {"model_tpm_limit", "model_rpm_limit"}) {
      StringBuilder limits = new StringBuilder("{\"key\":\"" + key + "\",\"" + field + "\":{");
      for (int i = 0; i < 100; i++) {
        String name = String.format("%03d", i) + "é".repeat(253);
        limits.append(i == 0 ? "" : ",").append('"').append(name).append("\":").append(1L << 40);
      }
      HttpResponse<String> r = gateway.post("/key/update", limits + "}}", MASTER);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    JsonNode info =
        TestGateway.JSON
            .readTree(TeamsAndBudgetsIT.get(gateway, "/key/info?key=" + key).body())
            .get("info");
    assertThat(info.get("model_tpm_limit").size()).isEqualTo(100);
    assertThat(info.get("model_rpm_limit").size()).isEqualTo(100);
    // A good custom key of 16 characters is fine
    assertThat(gateway.post("/key/generate", "{\"key\":\"sk-abcdefghijklm\"}", MASTER).statusCode())
        .isEqualTo(200);
  }

  @Test
  void answersThatCarryKeysOrUsageAreNeverStoredByACache() throws Exception {
    HttpResponse<String> minted = gateway.post("/key/generate", "{}", MASTER);
    assertThat(minted.statusCode()).isEqualTo(200);
    assertThat(minted.headers().firstValue("cache-control")).contains("no-store");
    assertThat(minted.headers().firstValue("x-content-type-options")).contains("nosniff");
    String key = TestGateway.JSON.readTree(minted.body()).get("key").asText();
    HttpResponse<String> info = TeamsAndBudgetsIT.get(gateway, "/key/info?key=" + key);
    assertThat(info.headers().firstValue("cache-control")).contains("no-store");
    // Errors too
    HttpResponse<String> refused = gateway.post("/key/generate", "{\"models\":7}", MASTER);
    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(refused.headers().firstValue("cache-control")).contains("no-store");
  }

  @Test
  void aRawKeyInTheUrlNeverReachesTheLog() throws Exception {
    String key = gateway.mintKey("{}");
    log.clear();
    HttpResponse<String> r =
        gateway.post(
            "/key/" + key + "/regenerate",
            "{\"grace_period\":\"99999999999999999999999d\"}",
            MASTER);
    assertThat(r.statusCode()).isEqualTo(400);
    HttpResponse<String> other =
        gateway.post("/key/" + key + "/regenerate", "{\"grace_period\":\"1x\"}", MASTER);
    assertThat(other.statusCode()).isEqualTo(400);
    for (LogRecord record : log.records()) {
      assertThat(
              String.valueOf(record.getMessage())
                  + java.util.Arrays.toString(record.getParameters()))
          .doesNotContain(key.substring(3));
      assertThat(record.getThrown()).isNull();
    }
  }

  @Test
  void bodiesAreNotReadBeforeTheKey_andAreCapped() throws Exception {
    // Declares 256 MiB, sends a little, without a key: 401 at once, connection closed
    assertThat(rawHead("/key/generate", null, 256L * 1024 * 1024, "{\"key_alias\":\"x\""))
        .startsWith("HTTP/1.1 401")
        .containsIgnoringCase("connection: close");
    // With the master key, over fairshare.admin.max-body-size (64 KiB): 413, declared or not
    assertThat(rawHead("/key/update", MASTER, 1024L * 1024 * 1024, "{")).startsWith("HTTP/1.1 413");
    String big = "{\"key_alias\":\"" + "b".repeat(70_000) + "\"}";
    HttpResponse<String> chunked =
        gateway.http.send(
            HttpRequest.newBuilder(gateway.base().resolve("/key/generate"))
                .header("Authorization", "Bearer " + MASTER)
                .POST(
                    HttpRequest.BodyPublishers.ofInputStream(
                        () ->
                            new java.io.ByteArrayInputStream(big.getBytes(StandardCharsets.UTF_8))))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(chunked.statusCode()).isEqualTo(413);
    assertThat(TestGateway.error(chunked).get("code").asText()).isEqualTo("request_too_large");
  }

  @Test
  void abortedUnauthenticatedRequestsLogNothing() throws Exception {
    log.clear();
    for (int i = 0; i < 50; i++) {
      try (Socket socket = new Socket(gateway.base().getHost(), gateway.base().getPort())) {
        socket
            .getOutputStream()
            .write(
                "POST /key/generate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"k"
                    .getBytes(StandardCharsets.US_ASCII));
      }
    }
    // And aborted mid-body with the master key: the guard drops it without a word
    for (int i = 0; i < 20; i++) {
      try (Socket socket = new Socket(gateway.base().getHost(), gateway.base().getPort())) {
        socket
            .getOutputStream()
            .write(
                ("POST /key/generate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                        + MASTER
                        + "\r\nContent-Length: 1000\r\n\r\n{\"k")
                    .getBytes(StandardCharsets.US_ASCII));
      }
    }
    // Let the server finish with them: a normal call on a new connection answers after they were
    // handled
    assertThat(gateway.post("/key/generate", "{}", MASTER).statusCode()).isEqualTo(200);
    assertThat(log.records()).as("log records").isEmpty();
  }

  @Test
  void emptyBearerDoesNotHideTheMasterKeyInAnotherHeader() throws Exception {
    HttpResponse<String> r =
        gateway.http.send(
            HttpRequest.newBuilder(gateway.base().resolve("/key/generate"))
                .header("Authorization", "Bearer ")
                .header("x-api-key", MASTER)
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  private String rawHead(String path, String bearer, long declared, String part)
      throws IOException {
    try (Socket socket = new Socket(gateway.base().getHost(), gateway.base().getPort())) {
      socket.setSoTimeout(5_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST "
                  + path
                  + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                  + declared
                  + "\r\n"
                  + (bearer == null ? "" : "Authorization: Bearer " + bearer + "\r\n")
                  + "\r\n"
                  + part)
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      StringBuilder head = new StringBuilder();
      int b;
      while ((b = in.read()) != -1) {
        head.append((char) b);
        if (head.toString().endsWith("\r\n\r\n")) {
          break;
        }
      }
      return head.toString();
    }
  }
}
