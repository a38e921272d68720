package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fairshare.core.ManualClock;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.keys.KeyHashing;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole /key API and the per-key limits, through a real gateway; run once per key database (H2
 * file, PostgreSQL).
 */
abstract class KeyApiContract {

  static final long T0 = 1_800_000_000_000L;
  static final String MASTER = TestGateway.MASTER_KEY;

  @TempDir Path dir;
  final ManualClock clock = new ManualClock(T0);
  TestGateway gateway;

  /** The key-store properties of this run (the JDBC URL). */
  abstract Map<String, String> keyStoreProperties() throws Exception;

  @BeforeEach
  void start() throws Exception {
    Map<String, String> props = new HashMap<>(keyStoreProperties());
    props.put("fairshare.models.slow-model.tpm", "100000");
    props.put("fairshare.gateway.mock.slow-model.latency", "1500ms");
    props.put("fairshare.models.shared.tpm", "100");
    props.put("fairshare.models.model-a.tpm", "100000");
    props.put("fairshare.models.slow-model-free.tpm", "100000");
    props.put("fairshare.models.model-b.tpm", "100000");
    props.put("fairshare.priority.prod", "0.9");
    props.put("fairshare.priority.dev", "0.1");
    gateway = TestGateway.start(dir, clock, props);
  }

  @AfterEach
  void stop() throws Exception {
    gateway.close();
  }

  // ---------------------------------------------------------------- helpers

  JsonNode admin(String path, String body) throws Exception {
    HttpResponse<String> r = gateway.post(path, body, MASTER);
    assertThat(r.statusCode()).as("%s %s -> %s", path, body, r.body()).isEqualTo(200);
    return TestGateway.JSON.readTree(r.body());
  }

  HttpResponse<String> get(String pathAndQuery, String bearer) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.base().resolve(pathAndQuery)).GET();
    if (bearer != null) {
      b.header("Authorization", "Bearer " + bearer);
    }
    return gateway.http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> chat(String key, String model) throws Exception {
    return gateway.post(
        "/chat/completions",
        "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
        key);
  }

  static int status(HttpResponse<String> r) {
    return r.statusCode();
  }

  // ---------------------------------------------------------------- the API

  @Test
  void generateThenInfo_byRawKeyAndByHash() throws Exception {
    admin("/team/new", "{\"team_id\":\"t1\"}"); // a key joins a team that exists
    JsonNode generated =
        admin(
            "/key/generate",
            "{\"key_alias\":\"team-a\",\"duration\":\"30d\",\"models\":[\"gpt-4o\"],"
                + "\"tpm_limit\":1000,\"rpm_limit\":10,\"max_parallel_requests\":2,\"metadata\":{\"priority\":\"prod\"},"
                + "\"user_id\":\"u1\",\"team_id\":\"t1\"}");
    String key = generated.get("key").asText();
    assertThat(generated.get("token").asText()).isEqualTo(KeyHashing.sha256(key));
    assertThat(generated.get("key_name").asText())
        .isEqualTo("sk-..." + key.substring(key.length() - 4));
    assertThat(generated.get("expires").asText()).isEqualTo("2027-02-14T08:00:00Z");
    assertThat(generated.get("duration").asText()).isEqualTo("30d");

    for (String ref : new String[] {key, KeyHashing.sha256(key)}) {
      HttpResponse<String> r = get("/key/info?key=" + ref, MASTER);
      assertThat(status(r)).isEqualTo(200);
      JsonNode info = TestGateway.JSON.readTree(r.body()).get("info");
      assertThat(info.get("key_alias").asText()).isEqualTo("team-a");
      assertThat(info.get("models").get(0).asText()).isEqualTo("gpt-4o");
      assertThat(info.get("tpm_limit").asLong()).isEqualTo(1000);
      assertThat(info.get("rpm_limit").asLong()).isEqualTo(10);
      assertThat(info.get("max_parallel_requests").asLong()).isEqualTo(2);
      assertThat(info.get("metadata").get("priority").asText()).isEqualTo("prod");
      assertThat(info.get("user_id").asText()).isEqualTo("u1");
      assertThat(info.has("key")).isFalse();
    }
    assertThat(status(get("/key/info?key=sk-nope-nope-nope", MASTER))).isEqualTo(404);
    assertThat(
            TestGateway.error(get("/key/info?key=sk-nope-nope-nope", MASTER)).get("type").asText())
        .isEqualTo("not_found_error");
  }

  @Test
  void infoWithAnOrdinaryKey_showsOnlyItsOwnRecord() throws Exception {
    String mine = gateway.mintKey("{\"key_alias\":\"mine\"}");
    String other = gateway.mintKey("{\"key_alias\":\"other\"}");
    HttpResponse<String> own = get("/key/info", mine);
    assertThat(status(own)).isEqualTo(200);
    JsonNode info = TestGateway.JSON.readTree(own.body());
    assertThat(info.get("info").get("key_alias").asText()).isEqualTo("mine");
    assertThat(own.body()).doesNotContain("other").doesNotContain(KeyHashing.sha256(other));
    // Another's key answers as a key that does not exist: an ordinary key learns nothing of others
    HttpResponse<String> others = get("/key/info?key=" + other, mine);
    assertThat(status(others)).isEqualTo(404);
    HttpResponse<String> missing = get("/key/info?key=sk-no-such-key-00000000", mine);
    assertThat(status(missing)).isEqualTo(404);
    assertThat(TestGateway.error(others).get("code"))
        .isEqualTo(TestGateway.error(missing).get("code"));
    assertThat(others.body()).doesNotContain("other");
    assertThat(status(get("/key/info?key=" + mine, mine))).isEqualTo(200);
  }

  @Test
  void adminOperationsNeedTheMasterKey() throws Exception {
    String ordinary = gateway.mintKey("{}");
    for (String path :
        new String[] {
          "/key/generate",
          "/key/update",
          "/key/delete",
          "/key/regenerate",
          "/key/block",
          "/key/unblock"
        }) {
      String body = "{\"key\":\"" + ordinary + "\",\"keys\":[\"" + ordinary + "\"]}";
      assertThat(status(gateway.post(path, body, null))).as(path).isEqualTo(401);
      assertThat(status(gateway.post(path, body, "sk-wrong-wrong"))).as(path).isEqualTo(401);
      HttpResponse<String> asOrdinary = gateway.post(path, body, ordinary);
      assertThat(status(asOrdinary)).as(path).isEqualTo(403);
      assertThat(TestGateway.error(asOrdinary).get("type").asText()).isEqualTo("permission_error");
    }
    assertThat(status(get("/key/list", null))).isEqualTo(401);
    assertThat(status(get("/key/list", ordinary))).isEqualTo(403);
    assertThat(status(get("/key/info", null))).isEqualTo(401);
  }

  @Test
  void updateChangesFields_andRejectsATakenAlias() throws Exception {
    String key = gateway.mintKey("{\"key_alias\":\"before\",\"tpm_limit\":5}");
    gateway.mintKey("{\"key_alias\":\"taken\"}");
    JsonNode updated =
        admin(
            "/key/update",
            "{\"key\":\"" + key + "\",\"key_alias\":\"after\",\"tpm_limit\":null,\"rpm_limit\":7}");
    assertThat(updated.get("key_alias").asText()).isEqualTo("after");
    assertThat(updated.get("tpm_limit").isNull()).isTrue();
    assertThat(updated.get("rpm_limit").asLong()).isEqualTo(7);
    HttpResponse<String> clash =
        gateway.post("/key/update", "{\"key\":\"" + key + "\",\"key_alias\":\"taken\"}", MASTER);
    assertThat(status(clash)).isEqualTo(400);
    assertThat(TestGateway.error(clash).get("param").asText()).isEqualTo("key_alias");
    HttpResponse<String> bad =
        gateway.post("/key/update", "{\"key\":\"" + key + "\",\"rpm_limit\":\"many\"}", MASTER);
    assertThat(TestGateway.error(bad).get("param").asText()).isEqualTo("rpm_limit");
    assertThat(status(gateway.post("/key/update", "{\"key\":\"sk-unknown-key\"}", MASTER)))
        .isEqualTo(404);
    assertThat(TestGateway.error(gateway.post("/key/update", "{}", MASTER)).get("param").asText())
        .isEqualTo("key");
  }

  @Test
  void deleteByKeysAndByAliases_thenTheKeysGet401() throws Exception {
    String a = gateway.mintKey("{\"key_alias\":\"del-a\"}");
    String b = gateway.mintKey("{\"key_alias\":\"del-b\"}");
    assertThat(status(chat(a, "my-fake-model"))).isEqualTo(200);
    JsonNode deleted = admin("/key/delete", "{\"keys\":[\"" + a + "\"]}");
    assertThat(deleted.get("deleted_keys").get(0).asText()).isEqualTo(a);
    assertThat(status(chat(a, "my-fake-model"))).isEqualTo(401);
    assertThat(
            admin("/key/delete", "{\"key_aliases\":[\"del-b\"]}")
                .get("deleted_keys")
                .get(0)
                .asText())
        .isEqualTo("del-b");
    assertThat(status(chat(b, "my-fake-model"))).isEqualTo(401);
    assertThat(status(gateway.post("/key/delete", "{\"keys\":[\"" + a + "\"]}", MASTER)))
        .isEqualTo(404);
    assertThat(status(gateway.post("/key/delete", "{\"keys\":[]}", MASTER))).isEqualTo(400);
  }

  @Test
  void listPagesThroughKeys() throws Exception {
    String k1 = gateway.mintKey("{\"key_alias\":\"l1\"}");
    clock.advance(Duration.ofMillis(1));
    gateway.mintKey("{\"key_alias\":\"l2\"}");
    clock.advance(Duration.ofMillis(1));
    gateway.mintKey("{\"key_alias\":\"l3\"}");
    JsonNode first = TestGateway.JSON.readTree(get("/key/list?page=1&size=2", MASTER).body());
    assertThat(first.get("total_count").asLong()).isEqualTo(3);
    assertThat(first.get("total_pages").asLong()).isEqualTo(2);
    assertThat(first.get("current_page").asLong()).isEqualTo(1);
    assertThat(first.get("keys")).hasSize(2);
    assertThat(first.get("keys").get(0).asText()).isEqualTo(KeyHashing.sha256(k1));
    JsonNode second =
        TestGateway.JSON.readTree(
            get("/key/list?page=2&size=2&return_full_object=true", MASTER).body());
    assertThat(second.get("keys")).hasSize(1);
    assertThat(second.get("keys").get(0).get("key_alias").asText()).isEqualTo("l3");
    JsonNode filtered = TestGateway.JSON.readTree(get("/key/list?key_alias=l2", MASTER).body());
    assertThat(filtered.get("total_count").asLong()).isEqualTo(1);
    assertThat(TestGateway.error(get("/key/list?size=101", MASTER)).get("param").asText())
        .isEqualTo("size");
    assertThat(TestGateway.error(get("/key/list?page=0", MASTER)).get("param").asText())
        .isEqualTo("page");
  }

  @Test
  void regenerate_newKeyWorks_oldKeyWorksDuringTheGracePeriodOnly() throws Exception {
    String old = gateway.mintKey("{\"key_alias\":\"rotating\",\"rpm_limit\":50}");
    assertThat(status(chat(old, "my-fake-model"))).isEqualTo(200);
    JsonNode regenerated =
        admin("/key/regenerate", "{\"key\":\"" + old + "\",\"grace_period\":\"1h\"}");
    String fresh = regenerated.get("key").asText();
    assertThat(fresh).isNotEqualTo(old).startsWith("sk-");
    assertThat(regenerated.get("key_alias").asText()).isEqualTo("rotating");
    assertThat(regenerated.get("rpm_limit").asLong()).isEqualTo(50);

    clock.advance(Duration.ofMinutes(2)); // out of the usage window
    assertThat(status(chat(fresh, "my-fake-model"))).isEqualTo(200);
    clock.advance(Duration.ofMinutes(2));
    assertThat(status(chat(old, "my-fake-model")))
        .as("old key inside the grace period")
        .isEqualTo(200);
    clock.advance(Duration.ofMinutes(57)); // 61 minutes after regeneration
    assertThat(status(chat(old, "my-fake-model")))
        .as("old key after the grace period")
        .isEqualTo(401);
    clock.advance(Duration.ofMinutes(2));
    assertThat(status(chat(fresh, "my-fake-model"))).isEqualTo(200);

    // The path form, without a grace period: the old key stops at once
    JsonNode again = admin("/key/" + fresh + "/regenerate", "{}");
    assertThat(status(chat(fresh, "my-fake-model"))).isEqualTo(401);
    clock.advance(Duration.ofMinutes(2));
    assertThat(status(chat(again.get("key").asText(), "my-fake-model"))).isEqualTo(200);
  }

  @Test
  void blockedKeyGets401_andWorksAgainAfterUnblock() throws Exception {
    String key = gateway.mintKey("{\"key_alias\":\"blocky\"}");
    admin("/key/block", "{\"key\":\"" + key + "\"}");
    HttpResponse<String> blocked = chat(key, "my-fake-model");
    assertThat(status(blocked)).isEqualTo(401);
    assertThat(TestGateway.error(blocked).get("message").asText()).contains("blocked");
    assertThat(
            admin("/key/unblock", "{\"key\":\"" + KeyHashing.sha256(key) + "\"}")
                .get("blocked")
                .asBoolean())
        .isFalse();
    assertThat(status(chat(key, "my-fake-model"))).isEqualTo(200);
  }

  @Test
  void rpmLimit2_thirdCallIs429NamingTheKeysOwnLimit() throws Exception {
    String key = gateway.mintKey("{\"key_alias\":\"two-per-minute\",\"rpm_limit\":2}");
    assertThat(status(chat(key, "slow-model-free"))).isEqualTo(200);
    assertThat(status(chat(key, "slow-model-free"))).isEqualTo(200);
    HttpResponse<String> third = chat(key, "slow-model-free");
    assertThat(status(third)).isEqualTo(429);
    JsonNode error = TestGateway.error(third);
    assertThat(error.get("type").asText()).isEqualTo("requests");
    assertThat(error.get("code").asText()).isEqualTo("rate_limit_exceeded");
    assertThat(error.get("message").asText())
        .contains("two-per-minute")
        .contains("own requests per min (RPM) limit")
        .contains("Limit 2, Used 2");
    assertThat(third.headers().firstValue("x-ratelimit-limit-requests")).contains("2");
    // The key's own limit holds across models, as LiteLLM documents it
    assertThat(status(chat(key, "model-a"))).isEqualTo(429);
  }

  @Test
  void maxParallelRequests1_aSecondConcurrentCallIs429_andSucceedsAfterTheFirst() throws Exception {
    String key = gateway.mintKey("{\"max_parallel_requests\":1}");
    CompletableFuture<HttpResponse<String>> first =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return chat(key, "slow-model");
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    ModelCapacity capacity = new ModelCapacity(100_000, ModelCapacity.UNLIMITED);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> gateway.standing(key, "slow-model", capacity).requests().used() == 1);
    assertThat(first).isNotDone();

    HttpResponse<String> second = chat(key, "slow-model");
    assertThat(status(second)).isEqualTo(429);
    assertThat(TestGateway.error(second).get("message").asText()).contains("max_parallel_requests");

    assertThat(status(first.get())).isEqualTo(200);
    assertThat(status(chat(key, "slow-model"))).isEqualTo(200);
  }

  @Test
  void keyLimitedToModelA_gets403OnModelB() throws Exception {
    String key = gateway.mintKey("{\"models\":[\"model-a\"]}");
    assertThat(status(chat(key, "model-a"))).isEqualTo(200);
    HttpResponse<String> b = chat(key, "model-b");
    assertThat(status(b)).isEqualTo(403);
    assertThat(TestGateway.error(b).get("message").asText()).contains("model-b");
  }

  @Test
  void expiredKeyGets401() throws Exception {
    String key = gateway.mintKey("{\"duration\":\"30s\"}");
    assertThat(status(chat(key, "my-fake-model"))).isEqualTo(200);
    clock.advance(Duration.ofSeconds(31));
    HttpResponse<String> expired = chat(key, "my-fake-model");
    assertThat(status(expired)).isEqualTo(401);
    assertThat(TestGateway.error(expired).get("message").asText()).contains("expired");
  }

  @Test
  void metadataPrioritySelectsTheWeight() throws Exception {
    String prod = gateway.mintKey("{\"metadata\":{\"priority\":\"prod\"}}");
    String dev = gateway.mintKey("{\"metadata\":{\"priority\":\"dev\"}}");
    assertThat(status(chat(dev, "shared"))).isEqualTo(200);
    HttpResponse<String> p = chat(prod, "shared");
    assertThat(status(p)).isEqualTo(200);
    // 100 TPM, weights 0.9 + 0.1 active: prod's share is 90
    assertThat(p.headers().firstValue("x-ratelimit-limit-tokens")).contains("90");
    HttpResponse<String> d = chat(dev, "shared");
    assertThat(d.headers().firstValue("x-ratelimit-limit-tokens")).contains("10");
  }
}
