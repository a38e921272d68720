package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fairshare.core.ManualClock;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Bad input through the real filter: OpenAI-style 4xx errors, never a 500. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputIT {

  static final String HELLO =
      "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  @TempDir static Path dir;
  TestGateway gateway;
  String key;

  @BeforeAll
  void start() throws Exception {
    gateway =
        TestGateway.start(
            dir, new ManualClock(1_800_000_000_000L), Map.of("fairshare.max-body-size", "1KB"));
    key = gateway.mintKey("{\"key_alias\":\"bad-input\"}");
  }

  @AfterAll
  void stop() throws Exception {
    gateway.close();
  }

  @Test
  void noKey_is401InvalidApiKey() throws Exception {
    HttpResponse<String> r = gateway.post("/chat/completions", HELLO, null);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(TestGateway.error(r).get("code").asText()).isEqualTo("invalid_api_key");
  }

  @Test
  void pathsBeneathALimitedEndpoint_needAValidKey() throws Exception {
    // OpenAI's stored completions and responses: an application forwarding them upstream does so
    // with its own key, so they never pass without one.
    for (String path :
        new String[] {
          "/v1/chat/completions/chatcmpl-1",
          "/chat/completions/chatcmpl-1/messages",
          "/v1/responses/resp_1/cancel"
        }) {
      assertThat(gateway.post(path, "{}", null).statusCode()).as("POST %s", path).isEqualTo(401);
      assertThat(TeamsAndBudgetsIT.get(gateway, path, "sk-not-a-real-key-0000000").statusCode())
          .as("GET %s", path)
          .isEqualTo(401);
      // With a key they pass the filter (the gateway serves nothing there)
      assertThat(TeamsAndBudgetsIT.get(gateway, path, key).statusCode())
          .as("GET %s with a key", path)
          .isEqualTo(404);
    }
  }

  @Test
  void beneathALimitedEndpoint_onlyCallsThatGenerateNothingPass() throws Exception {
    // Metadata updates, cancels, reads and deletes pass the filter (the gateway serves nothing
    // there); a call that may generate (OpenAI's POST /responses/compact) cannot be limited, so it
    // is refused, as is a method with no known meaning there
    for (String path :
        new String[] {"/v1/chat/completions/chatcmpl-1", "/v1/responses/resp_1/cancel"}) {
      assertThat(gateway.post(path, "{}", key).statusCode()).as("POST %s", path).isEqualTo(404);
    }
    for (String path :
        new String[] {"/v1/responses/compact", "/v1/chat/completions/chatcmpl-1/messages"}) {
      HttpResponse<String> refused = gateway.post(path, "{\"model\":\"my-fake-model\"}", key);
      assertThat(refused.statusCode()).as("POST %s", path).isEqualTo(400);
      assertThat(TestGateway.error(refused).get("code").asText()).isEqualTo("unsupported_endpoint");
    }
    HttpResponse<String> put =
        gateway.http.send(
            java.net.http.HttpRequest.newBuilder(
                    gateway.base().resolve("/v1/chat/completions/chatcmpl-1"))
                .header("Authorization", "Bearer " + key)
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(put.statusCode()).isEqualTo(400);
  }

  @Test
  void unknownKey_is401_andTheMessageMasksTheKey() throws Exception {
    HttpResponse<String> r =
        gateway.post("/v1/chat/completions", HELLO, "sk-not-a-real-key-0000000");
    assertThat(r.statusCode()).isEqualTo(401);
    JsonNode error = TestGateway.error(r);
    assertThat(error.get("code").asText()).isEqualTo("invalid_api_key");
    assertThat(error.get("message").asText())
        .contains("sk-...0000")
        .doesNotContain("sk-not-a-real-key");
  }

  @Test
  void bodyThatIsNotJson_is400() throws Exception {
    HttpResponse<String> r = gateway.post("/chat/completions", "this is not json", key);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(TestGateway.error(r).get("type").asText()).isEqualTo("invalid_request_error");
  }

  @Test
  void truncatedJson_is400() throws Exception {
    HttpResponse<String> r =
        gateway.post("/chat/completions", "{\"model\":\"my-fake-model\",", key);
    assertThat(r.statusCode()).isEqualTo(400);
    TestGateway.error(r);
  }

  @Test
  void jsonArrayInsteadOfObject_is400() throws Exception {
    HttpResponse<String> r = gateway.post("/chat/completions", "[1,2,3]", key);
    assertThat(r.statusCode()).isEqualTo(400);
    TestGateway.error(r);
  }

  @Test
  void bodyWithoutModel_is400NamingTheModelParam() throws Exception {
    HttpResponse<String> r =
        gateway.post(
            "/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", key);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(TestGateway.error(r).get("param").asText()).isEqualTo("model");
  }

  @Test
  void modelThatIsNotAString_is400() throws Exception {
    HttpResponse<String> r = gateway.post("/chat/completions", "{\"model\":42}", key);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(TestGateway.error(r).get("param").asText()).isEqualTo("model");
  }

  @Test
  void bodyOverTheLimit_is413() throws Exception {
    String big =
        "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\""
            + "x".repeat(2048)
            + "\"}]}";
    HttpResponse<String> r = gateway.post("/chat/completions", big, key);
    assertThat(r.statusCode()).isEqualTo(413);
    TestGateway.error(r);
  }

  @Test
  void bodyOverTheLimitWithoutContentLength_is413() throws Exception {
    byte[] big =
        ("{\"model\":\"my-fake-model\",\"prompt\":\"" + "y".repeat(4096) + "\"}").getBytes();
    HttpRequest request =
        HttpRequest.newBuilder(gateway.base().resolve("/completions"))
            .header("Authorization", "Bearer " + key)
            .POST(
                HttpRequest.BodyPublishers.ofInputStream(
                    () -> new java.io.ByteArrayInputStream(big)))
            .build();
    HttpResponse<String> r = gateway.http.send(request, HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(413);
    TestGateway.error(r);
  }

  @Test
  void refusedRequests_leaveTheConnectionOpenForTheNextOne() throws Exception {
    // A refusal made before the body is read must read what has arrived of it, or say
    // Connection: close, or the container closes the connection under a client that has already
    // pooled it (its next POST fails with no response: RawHttp throws EOFException). It must not
    // wait for a body still on its way (a slow body would hold a thread). The same goes for
    // answers from behind the filter (the key API, an unknown path): the gateway's
    // RequestBodyDrainFilter reads what they left or says Connection: close. Ten rounds, since
    // Jetty closes only when the body arrives after the answer (without the fixes it did within a
    // hundred).
    try (RawHttp connection = new RawHttp(gateway.base())) {
      for (int round = 0; round < 10; round++) {
        assertThat(
                connection.post("/chat/completions", "sk-not-a-real-key-0000000", HELLO).status())
            .isEqualTo(401);
        assertThat(connection.post("/chat/completions", null, HELLO).status()).isEqualTo(401);
        assertThat(
                connection
                    .post("/key/generate", "sk-wrong-master", "{\"key_alias\":\"x\"}")
                    .status())
            .isEqualTo(401);
        assertThat(connection.post("/no/such/path", key, HELLO).status()).isEqualTo(404);
        assertThat(connection.post("/key/generate", key, "{\"key_alias\":\"x\"}").status())
            .isEqualTo(403);
        assertThat(connection.post("/chat/completions", key, "not json").status()).isEqualTo(400);
      }
      RawHttp.Response admitted = connection.post("/chat/completions", key, HELLO);
      assertThat(admitted.status()).isEqualTo(200);
      assertThat(admitted.headers()).doesNotContainKey("connection");
      // Reopened only after an answer that said Connection: close (the four refused before their
      // body was read, when it had not arrived yet); requests read whole never close.
      assertThat(connection.connections()).as("connections opened").isLessThanOrEqualTo(1 + 10 * 4);
    }
  }

  @Test
  void bodyDeclaredOverTheLimit_is413WithConnectionClose() throws Exception {
    try (RawHttp connection = new RawHttp(gateway.base())) {
      RawHttp.Response r = connection.postDeclaring("/chat/completions", key, 1_000_000, HELLO);
      assertThat(r.status()).isEqualTo(413);
      assertThat(r.headers()).containsEntry("connection", "close");
    }
  }

  @Test
  void wrongMasterKeyOnKeyGenerate_is401() throws Exception {
    HttpResponse<String> r = gateway.post("/key/generate", "{}", "sk-wrong-master");
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(TestGateway.error(r).get("code").asText()).isEqualTo("invalid_api_key");
    assertThat(r.body()).doesNotContain(TestGateway.MASTER_KEY);
  }

  @Test
  void noKeyOnKeyGenerate_is401() throws Exception {
    HttpResponse<String> r = gateway.post("/key/generate", "{}", null);
    assertThat(r.statusCode()).isEqualTo(401);
    TestGateway.error(r);
  }

  @Test
  void ordinaryKeyOnKeyGenerate_is403() throws Exception {
    HttpResponse<String> r = gateway.post("/key/generate", "{}", key);
    assertThat(r.statusCode()).isEqualTo(403);
    TestGateway.error(r);
  }

  @Test
  void invalidFieldsOnKeyGenerate_are400NamingTheField() throws Exception {
    assertThat(
            TestGateway.error(
                    gateway.post(
                        "/key/generate", "{\"duration\":\"soon\"}", TestGateway.MASTER_KEY))
                .get("param")
                .asText())
        .isEqualTo("duration");
    assertThat(
            TestGateway.error(
                    gateway.post("/key/generate", "{\"tpm_limit\":-5}", TestGateway.MASTER_KEY))
                .get("param")
                .asText())
        .isEqualTo("tpm_limit");
    assertThat(
            TestGateway.error(
                    gateway.post(
                        "/key/generate", "{\"models\":\"gpt-4o\"}", TestGateway.MASTER_KEY))
                .get("param")
                .asText())
        .isEqualTo("models");
    HttpResponse<String> notJson = gateway.post("/key/generate", "{{", TestGateway.MASTER_KEY);
    assertThat(notJson.statusCode()).isEqualTo(400);
    TestGateway.error(notJson);
  }

  @Test
  void duplicateAlias_is400() throws Exception {
    HttpResponse<String> r =
        gateway.post("/key/generate", "{\"key_alias\":\"bad-input\"}", TestGateway.MASTER_KEY);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(TestGateway.error(r).get("param").asText()).isEqualTo("key_alias");
  }

  @Test
  void unknownPath_is404InOpenAiShape() throws Exception {
    HttpResponse<String> r =
        gateway.http.send(
            HttpRequest.newBuilder(gateway.base().resolve("/nope")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(404);
    TestGateway.error(r);
  }

  @Test
  void getOnAChatPath_needsAKey_andIs405InOpenAiShape() throws Exception {
    HttpResponse<String> anonymous =
        gateway.http.send(
            HttpRequest.newBuilder(URI.create(gateway.base() + "/chat/completions")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(anonymous.statusCode()).isEqualTo(401);
    HttpResponse<String> r =
        gateway.http.send(
            HttpRequest.newBuilder(URI.create(gateway.base() + "/chat/completions"))
                .header("Authorization", "Bearer " + key)
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(405);
    TestGateway.error(r);
  }

  @Test
  void streamingRequest_passesThroughAndIsSettled() throws Exception {
    String body =
        "{\"model\":\"my-fake-model\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    HttpResponse<String> r = gateway.post("/chat/completions", body, key);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
    assertThat(r.body()).contains("chat.completion.chunk").endsWith("data: [DONE]\n\n");
    assertThat(r.headers().firstValue("x-ratelimit-limit-tokens")).contains("60");
  }
}
