package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.sun.net.httpserver.HttpServer;
import dev.fairshare.core.ManualClock;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.InetSocketAddress;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Teams, budgets, quotas and alerts through the gateway with the official OpenAI Java client: issue
 * 16's acceptance, on the memory store and across two gateways on one Redis.
 */
class TeamsAndBudgetsIT {

  static final long T0 = 1_800_000_000_000L; // 2027-01-15T08:00:00Z
  static final String MODEL = "my-fake-model";

  /** Each call costs 10 × 0.00001 + 20 × 0.000015 = 0.0004 USD, estimated exactly. */
  static final Map<String, String> PRICED =
      Map.of(
          "fairshare.models.my-fake-model.tpm", "100000",
          "fairshare.models.my-fake-model.input-cost-per-token", "0.00001",
          "fairshare.models.my-fake-model.output-cost-per-token", "0.000015",
          "fairshare.gateway.mock.my-fake-model.completion-tokens", "20",
          "fairshare.gateway.mock.my-fake-model.latency", "300ms");

  @TempDir Path dir;
  final ManualClock clock = new ManualClock(T0);
  final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  TestGateway start(Path at, Map<String, String> props) throws Exception {
    TestGateway g = TestGateway.start(at, clock, props);
    resources.add(g);
    return g;
  }

  /** Two gateways on one key database and one Redis (a fresh prefix). */
  List<TestGateway> twoOnRedis(Map<String, String> extra) throws Exception {
    Map<String, String> props = new HashMap<>(extra);
    props.put("fairshare.store", "redis");
    props.putIfAbsent("fairshare.redis.uri", "redis://127.0.0.1:6379");
    props.put("fairshare.redis.key-prefix", "fs-it-" + UUID.randomUUID());
    return List.of(start(dir, props), start(dir, props));
  }

  static OpenAIClient client(TestGateway g, String key) {
    return OpenAIOkHttpClient.builder()
        .apiKey(key)
        .baseUrl(g.base().toString())
        .maxRetries(0)
        .build();
  }

  static ChatCompletionCreateParams hello(long maxTokens) {
    return ChatCompletionCreateParams.builder()
        .model(MODEL)
        .addUserMessage("Hello world!")
        .maxCompletionTokens(maxTokens)
        .build();
  }

  /** A call with max_tokens 20 on plain HTTP, to read a refusal's status, headers and body. */
  static HttpResponse<String> rawCall(TestGateway g, String key) throws Exception {
    return g.post(
        "/v1/chat/completions",
        "{\"model\":\"my-fake-model\",\"max_completion_tokens\":20,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello world!\"}]}",
        key);
  }

  static JsonNode ok(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return TestGateway.JSON.readTree(response.body());
  }

  static HttpResponse<String> get(TestGateway g, String path) throws Exception {
    return get(g, path, TestGateway.MASTER_KEY);
  }

  static HttpResponse<String> get(TestGateway g, String path, String bearer) throws Exception {
    return g.http.send(
        HttpRequest.newBuilder(g.base().resolve(path))
            .header("Authorization", "Bearer " + bearer)
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  // ------------------------------------------------------------------------------------ teams

  @Test
  void aTeamsTpmLimit_isSharedByItsKeys_30EachWhenBothAreActive() throws Exception {
    TestGateway g =
        start(
            dir,
            Map.of(
                "fairshare.models.my-fake-model.tpm", "600",
                "fairshare.gateway.mock.my-fake-model.completion-tokens", "5"));
    ok(g.post("/team/new", "{\"team_id\":\"research\",\"tpm_limit\":60}", TestGateway.MASTER_KEY));
    String alice = g.mintKey("{\"key_alias\":\"alice\",\"team_id\":\"research\"}");
    String bob = g.mintKey("{\"key_alias\":\"bob\",\"team_id\":\"research\"}");
    OpenAIClient a = client(g, alice);
    OpenAIClient b = client(g, bob);
    Map<String, Long> admitted = new HashMap<>(Map.of("alice", 0L, "bob", 0L));
    List<String> refusals = new ArrayList<>();
    // Both active, both asking for more than half: each call is 10 + 5 tokens, estimated exactly.
    for (int round = 0; round < 4; round++) {
      for (Map.Entry<String, OpenAIClient> caller : Map.of("alice", a, "bob", b).entrySet()) {
        try {
          long used =
              caller
                  .getValue()
                  .chat()
                  .completions()
                  .create(hello(5))
                  .usage()
                  .orElseThrow()
                  .totalTokens();
          admitted.merge(caller.getKey(), used, Long::sum);
        } catch (RateLimitException e) {
          refusals.add(caller.getKey() + ":" + e.headers().values("x-ratelimit-remaining-tokens"));
        }
      }
    }
    assertThat(admitted).containsEntry("alice", 30L).containsEntry("bob", 30L);
    assertThat(refusals).hasSize(4);
    // GET /usage shows the team as the model's user, and each of its keys
    JsonNode table = UsageIT.table(g, MODEL);
    JsonNode team = null;
    for (JsonNode row : table.get("keys")) {
      if (row.get("token").asText().equals("team:research")) {
        team = row;
      }
    }
    assertThat(team).as("the team's row in %s", table).isNotNull();
    assertThat(team.get("group").asBoolean()).isTrue();
    assertThat(team.get("used_tokens").asLong()).isEqualTo(60);
    for (String alias : List.of("alice", "bob")) {
      assertThat(UsageIT.row(table, alias).get("used_tokens").asLong()).isEqualTo(30);
    }
    // The model itself (600) has room left: the team's limit refused them.
    assertThat(
            client(g, g.mintKey("{}"))
                .chat()
                .completions()
                .create(hello(5))
                .usage()
                .orElseThrow()
                .totalTokens())
        .isEqualTo(15);
  }

  @Test
  void aTeamsModelsAndBlock_apply_toItsKeys_andATeamWithKeysIsNotDeleted() throws Exception {
    TestGateway g = start(dir, Map.of("fairshare.models.other-model.tpm", "1000"));
    ok(
        g.post(
            "/team/new",
            "{\"team_id\":\"t1\",\"models\":[\"other-model\"]}",
            TestGateway.MASTER_KEY));
    String key = g.mintKey("{\"team_id\":\"t1\"}");
    HttpResponse<String> forbidden =
        g.post(
            "/v1/chat/completions",
            "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
            key);
    assertThat(forbidden.statusCode()).isEqualTo(403);
    assertThat(TestGateway.error(forbidden).get("message").asText()).contains("Team 't1'");
    ok(g.post("/team/block", "{\"team_id\":\"t1\"}", TestGateway.MASTER_KEY));
    HttpResponse<String> blocked =
        g.post(
            "/v1/chat/completions",
            "{\"model\":\"other-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
            key);
    assertThat(blocked.statusCode()).isEqualTo(401);
    assertThat(TestGateway.error(blocked).get("message").asText()).contains("blocked");
    // Nor does a GET pass the filter (OpenAI lists stored completions there)
    HttpResponse<String> blockedGet = get(g, "/v1/chat/completions", key);
    assertThat(blockedGet.statusCode()).isEqualTo(401);
    assertThat(TestGateway.error(blockedGet).get("message").asText()).contains("blocked");
    // Nor the key API's reads of its own (key info, team info, usage), as at the filter
    for (String read : new String[] {"/key/info", "/team/info?team_id=t1", "/usage/history"}) {
      HttpResponse<String> own = get(g, read, key);
      assertThat(own.statusCode()).as(read).isEqualTo(401);
      assertThat(TestGateway.error(own).get("message").asText()).as(read).contains("blocked");
    }
    HttpResponse<String> delete =
        g.post("/team/delete", "{\"team_ids\":[\"t1\"]}", TestGateway.MASTER_KEY);
    assertThat(delete.statusCode()).isEqualTo(400);
    assertThat(TestGateway.error(delete).get("code").asText()).isEqualTo("team_in_use");
    HttpResponse<String> unknownTeam =
        g.post("/key/generate", "{\"team_id\":\"nope\"}", TestGateway.MASTER_KEY);
    assertThat(unknownTeam.statusCode()).isEqualTo(400);
    assertThat(TestGateway.error(unknownTeam).get("param").asText()).isEqualTo("team_id");
  }

  @Test
  void liteLlmsFields_roundTrip_onTeamNewAndKeyGenerate() throws Exception {
    TestGateway g = start(dir, Map.of());
    String team =
        "{\"team_alias\":\"Research\",\"team_id\":\"team-research-1\",\"models\":[\"gpt-4o\","
            + "\"my-fake-model\"],\"tpm_limit\":6000,\"rpm_limit\":60,\"max_budget\":12.5,"
            + "\"budget_duration\":\"30d\",\"metadata\":{\"priority\":\"prod\",\"owner\":\"ana\"},"
            + "\"blocked\":false,\"members_with_roles\":[{\"role\":\"admin\",\"user_id\":\"u1\"}],"
            + "\"tags\":[\"research\"]}";
    JsonNode created = ok(g.post("/team/new", team, TestGateway.MASTER_KEY));
    JsonNode info = ok(get(g, "/team/info?team_id=team-research-1")).get("team_info");
    for (JsonNode shown : List.of(created, info)) {
      assertThat(shown.get("team_alias").asText()).isEqualTo("Research");
      assertThat(shown.get("team_id").asText()).isEqualTo("team-research-1");
      assertThat(shown.get("models").toString()).isEqualTo("[\"gpt-4o\",\"my-fake-model\"]");
      assertThat(shown.get("tpm_limit").asLong()).isEqualTo(6000);
      assertThat(shown.get("rpm_limit").asLong()).isEqualTo(60);
      assertThat(shown.get("max_budget").asDouble()).isEqualTo(12.5);
      assertThat(shown.get("budget_duration").asText()).isEqualTo("30d");
      assertThat(shown.get("metadata").toString())
          .isEqualTo("{\"priority\":\"prod\",\"owner\":\"ana\"}");
      assertThat(shown.get("blocked").asBoolean()).isFalse();
      assertThat(shown.get("spend").asDouble()).isZero();
      assertThat(Instant.parse(shown.get("budget_reset_at").asText()))
          .isAfter(Instant.ofEpochMilli(T0));
    }
    String key =
        "{\"key_alias\":\"ana-key\",\"team_id\":\"team-research-1\",\"models\":[\"my-fake-model\"],"
            + "\"tpm_limit\":1000,\"rpm_limit\":10,\"max_parallel_requests\":2,\"max_budget\":1.5,"
            + "\"soft_budget\":1.0,\"budget_duration\":\"1mo\",\"model_tpm_limit\":{\"my-fake-model\":500},"
            + "\"model_rpm_limit\":{\"my-fake-model\":5},\"metadata\":{\"priority\":\"prod\"},"
            + "\"tags\":[\"x\"]}";
    JsonNode generated = ok(g.post("/key/generate", key, TestGateway.MASTER_KEY));
    JsonNode keyInfo = ok(get(g, "/key/info?key=" + generated.get("token").asText())).get("info");
    for (JsonNode shown : List.of(generated, keyInfo)) {
      assertThat(shown.get("team_id").asText()).isEqualTo("team-research-1");
      assertThat(shown.get("max_budget").asDouble()).isEqualTo(1.5);
      assertThat(shown.get("soft_budget").asDouble()).isEqualTo(1.0);
      assertThat(shown.get("budget_duration").asText()).isEqualTo("1mo");
      assertThat(shown.get("model_tpm_limit").toString()).isEqualTo("{\"my-fake-model\":500}");
      assertThat(shown.get("model_rpm_limit").toString()).isEqualTo("{\"my-fake-model\":5}");
      assertThat(shown.get("tpm_limit").asLong()).isEqualTo(1000);
      assertThat(shown.get("max_parallel_requests").asLong()).isEqualTo(2);
      assertThat(shown.get("spend").asDouble()).isZero();
      // 1mo: the first of next month, midnight UTC
      assertThat(shown.get("budget_reset_at").asText()).isEqualTo("2027-02-01T00:00:00Z");
    }
    JsonNode list = ok(get(g, "/team/list"));
    assertThat(list.isArray()).isTrue();
    assertThat(list.get(0).get("team_id").asText()).isEqualTo("team-research-1");
    JsonNode members = ok(get(g, "/team/info?team_id=team-research-1")).get("keys");
    assertThat(members).hasSize(1);
    assertThat(members.get(0).get("key_alias").asText()).isEqualTo("ana-key");
  }

  // ---------------------------------------------------------------------------------- budgets

  @Test
  void aBudget_admitsExactly2Of64ConcurrentCalls_andResetsAfterItsDuration() throws Exception {
    budgetHolds(List.of(start(dir, PRICED)));
  }

  @Test
  void aBudget_holdsTheSameAcrossTwoGatewaysOnOneRedis() throws Exception {
    budgetHolds(twoOnRedis(PRICED));
  }

  private void budgetHolds(List<TestGateway> gateways) throws Exception {
    TestGateway first = gateways.get(0);
    String key =
        first.mintKey("{\"key_alias\":\"tight\",\"max_budget\":0.001,\"budget_duration\":\"30d\"}");
    ExecutorService pool = Executors.newFixedThreadPool(64);
    List<Future<Integer>> calls = new ArrayList<>();
    CountDownLatch go = new CountDownLatch(1);
    for (int i = 0; i < 64; i++) {
      OpenAIClient client = client(gateways.get(i % gateways.size()), key);
      calls.add(
          pool.submit(
              () -> {
                go.await();
                try {
                  client.chat().completions().create(hello(20));
                  return 200;
                } catch (BadRequestException e) {
                  assertThat(e.body().toString()).contains("budget_exceeded");
                  return 400;
                }
              }));
    }
    go.countDown();
    int admitted = 0;
    for (Future<Integer> call : calls) {
      admitted += call.get(60, TimeUnit.SECONDS) == 200 ? 1 : 0;
    }
    pool.shutdown();
    assertThat(admitted).isEqualTo(2);

    HttpResponse<String> third = rawCall(first, key);
    assertThat(third.statusCode()).isEqualTo(400);
    JsonNode error = TestGateway.error(third);
    assertThat(error.get("type").asText()).isEqualTo("budget_exceeded");
    assertThat(error.get("message").asText())
        .contains("$0.000800")
        .contains("$0.001000")
        .contains("resets at 2027-02-01T00:00:00Z");
    assertThat(third.headers().firstValue("x-should-retry")).contains("false");
    JsonNode info = ok(get(gateways.get(gateways.size() - 1), "/key/info?key=" + key)).get("info");
    assertThat(info.get("spend").asDouble()).isEqualTo(0.0008);
    // 30-day periods count from the epoch: this one began on 2027-01-02
    assertThat(info.get("budget_reset_at").asText()).isEqualTo("2027-02-01T00:00:00Z");

    clock.advance(
        Duration.ofMillis(Instant.parse("2027-02-01T00:00:00Z").toEpochMilli() - clock.millis()));
    for (TestGateway g : gateways) {
      assertThat(
              client(g, key)
                  .chat()
                  .completions()
                  .create(hello(20))
                  .usage()
                  .orElseThrow()
                  .totalTokens())
          .isEqualTo(30);
    }
    assertThat(ok(get(first, "/key/info?key=" + key)).get("info").get("spend").asDouble())
        .isEqualTo(0.0004 * gateways.size());
  }

  @Test
  void aTeamsBudget_isSharedByItsKeys() throws Exception {
    TestGateway g = start(dir, PRICED);
    ok(g.post("/team/new", "{\"team_id\":\"t\",\"max_budget\":0.001}", TestGateway.MASTER_KEY));
    OpenAIClient a = client(g, g.mintKey("{\"team_id\":\"t\"}"));
    OpenAIClient b = client(g, g.mintKey("{\"team_id\":\"t\"}"));
    a.chat().completions().create(hello(20));
    b.chat().completions().create(hello(20));
    try {
      a.chat().completions().create(hello(20));
      throw new AssertionError("the team's budget is spent");
    } catch (BadRequestException e) {
      assertThat(e.body().toString()).contains("budget_exceeded").contains("Team 't'");
    }
    JsonNode team = ok(get(g, "/team/info?team_id=t")).get("team_info");
    assertThat(team.get("spend").asDouble()).isEqualTo(0.0008);
    assertThat(team.get("budget_reset_at").isNull()).isTrue();
  }

  // ----------------------------------------------------------------------------------- quotas

  @Test
  void aDailyRequestQuotaOf5_refusesTheSixth_untilMidnightInTheTimeZone() throws Exception {
    TestGateway g =
        start(
            dir,
            Map.of(
                "fairshare.models.my-fake-model.tpm", "100000",
                "fairshare.quota.time-zone", "America/New_York"));
    String key = g.mintKey("{\"requests_per_day\":5}");
    OpenAIClient client = client(g, key);
    for (int i = 0; i < 5; i++) {
      client.chat().completions().create(hello(20));
    }
    ZoneId zone = ZoneId.of("America/New_York");
    long midnight =
        LocalDate.ofInstant(Instant.ofEpochMilli(clock.millis()), zone)
            .plusDays(1)
            .atStartOfDay(zone)
            .toInstant()
            .toEpochMilli();
    try {
      client.chat().completions().create(hello(20));
      throw new AssertionError("the sixth call of the day must be refused");
    } catch (RateLimitException e) {
      long wait = (midnight - clock.millis()) / 1000;
      assertThat(e.headers().values("retry-after")).containsExactly(Long.toString(wait));
      assertThat(e.headers().values("x-should-retry")).containsExactly("false");
      assertThat(e.body().toString()).contains("daily requests quota").contains("5 of 5");
    }
    clock.advance(Duration.ofMillis(midnight - clock.millis()));
    client.chat().completions().create(hello(20));
  }

  // ----------------------------------------------------------------------------------- alerts

  @Test
  void aSoftBudgetWebhook_firesOncePerPeriod_acrossTwoInstances() throws Exception {
    List<String> received = new CopyOnWriteArrayList<>();
    HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext(
        "/alerts",
        exchange -> {
          received.add(
              new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          exchange.sendResponseHeaders(204, -1);
          exchange.close();
        });
    receiver.start();
    resources.add(() -> receiver.stop(0));
    Map<String, String> props = new HashMap<>(PRICED);
    props.put(
        "fairshare.alerts.webhook-url",
        "http://127.0.0.1:" + receiver.getAddress().getPort() + "/alerts");
    List<TestGateway> g = twoOnRedis(props);
    String key =
        g.get(0)
            .mintKey(
                "{\"key_alias\":\"watched\",\"soft_budget\":0.001,\"budget_duration\":\"1d\"}");
    for (int i = 0; i < 6; i++) { // 0.0004 a call: crossed at the third, 0.0012
      client(g.get(i % 2), key).chat().completions().create(hello(20));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);
    JsonNode alert = TestGateway.JSON.readTree(received.get(0));
    assertThat(alert.get("event").asText()).isEqualTo("soft_budget_crossed");
    assertThat(alert.get("event_group").asText()).isEqualTo("key");
    assertThat(alert.get("key_alias").asText()).isEqualTo("watched");
    assertThat(alert.get("soft_budget").asDouble()).isEqualTo(0.001);
    assertThat(received.get(0)).doesNotContain(key);
    clock.advance(Duration.ofDays(1));
    for (int i = 0; i < 3; i++) {
      client(g.get(i % 2), key).chat().completions().create(hello(20));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
    // Nothing more comes: the two instances told once each period between them.
    await()
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(3))
        .until(() -> received.size() == 2);
  }

  // ------------------------------------------------------------------------------ persistence

  @Test
  void spend_survivesARestart_onH2() throws Exception {
    spendSurvivesARestart(Map.of());
  }

  @Test
  void spend_survivesARestart_onPostgres() throws Exception {
    String schema = "fs_budget_" + UUID.randomUUID().toString().replace("-", "");
    spendSurvivesARestart(
        Map.of("fairshare.keys.jdbc-url", KeyApiPostgresIT.SERVER + "&currentSchema=" + schema));
  }

  private void spendSurvivesARestart(Map<String, String> database) throws Exception {
    Map<String, String> props = new HashMap<>(PRICED);
    props.putAll(database);
    TestGateway g = TestGateway.start(dir, clock, props);
    String key = g.mintKey("{\"max_budget\":0.001}");
    client(g, key).chat().completions().create(hello(20));
    client(g, key).chat().completions().create(hello(20));
    g.close();
    TestGateway again = start(dir, props);
    assertThat(ok(get(again, "/key/info?key=" + key)).get("info").get("spend").asDouble())
        .isEqualTo(0.0008);
    HttpResponse<String> refused = rawCall(again, key);
    assertThat(refused.statusCode()).isEqualTo(400);
  }

  @Test
  void aRedisFlushall_losesAtMostTheLastFlushInterval() throws Exception {
    PrivateRedis redis = PrivateRedis.start(dir);
    resources.add(redis);
    Map<String, String> props = new HashMap<>(PRICED);
    props.put("fairshare.redis.uri", redis.uri());
    props.put("fairshare.usage.flush-interval", "1h"); // flushed by hand below
    TestGateway g = twoOnRedis(props).get(0);
    String key = g.mintKey("{\"max_budget\":0.002}");
    client(g, key).chat().completions().create(hello(20));
    client(g, key).chat().completions().create(hello(20));
    g.gateway.fairShare().spend().flush(); // the end of a flush interval
    client(g, key).chat().completions().create(hello(20)); // not flushed yet
    RedisClient lettuce = RedisClient.create(redis.uri());
    try (StatefulRedisConnection<String, String> c = lettuce.connect()) {
      c.sync().flushall();
    } finally {
      lettuce.shutdown();
    }
    // Read back from the key database: what was flushed, not the last interval's 0.0004.
    assertThat(ok(get(g, "/key/info?key=" + key)).get("info").get("spend").asDouble())
        .isEqualTo(0.0008);
    client(g, key).chat().completions().create(hello(20)); // 0.0012
    client(g, key).chat().completions().create(hello(20)); // 0.0016
    client(g, key).chat().completions().create(hello(20)); // 0.0020: the budget, exactly
    HttpResponse<String> refused = rawCall(g, key);
    assertThat(refused.statusCode()).isEqualTo(400);
  }

  @Test
  void pricesSetAtRunTime_applyToTheNextCall_andALargeMaxTokensIsPricedAtItsCeiling()
      throws Exception {
    TestGateway g =
        start(
            dir,
            Map.of(
                "fairshare.models.my-fake-model.tpm", "100000",
                "fairshare.gateway.mock.my-fake-model.completion-tokens", "20"));
    String key = g.mintKey("{\"max_budget\":0.001}");
    client(g, key).chat().completions().create(hello(20)); // free: no price yet
    assertThat(ok(get(g, "/key/info?key=" + key)).get("info").get("spend").asDouble()).isZero();
    JsonNode limits =
        ok(
            g.post(
                "/config/models",
                "{\"models\":[{\"model\":\"my-fake-model\",\"input_cost_per_token\":0.00001,"
                    + "\"output_cost_per_token\":0.000015}]}",
                TestGateway.MASTER_KEY));
    assertThat(limits.get("models").get(0).get("output_cost_per_token").asDouble())
        .isEqualTo(0.000015);
    client(g, key).chat().completions().create(hello(20));
    assertThat(ok(get(g, "/key/info?key=" + key)).get("info").get("spend").asDouble())
        .isEqualTo(0.0004);
    // max_tokens 100 may cost 10 × 0.00001 + 100 × 0.000015 = 0.0016: more than is left (0.0006)
    try {
      client(g, key).chat().completions().create(hello(100));
      throw new AssertionError("a call whose max_tokens may cost more than is left is refused");
    } catch (BadRequestException e) {
      assertThat(e.body().toString()).contains("budget_exceeded").contains("$0.001600");
    }
    HttpResponse<String> bad =
        g.post(
            "/config/models",
            "{\"models\":[{\"model\":\"my-fake-model\",\"input_cost_per_token\":-1}]}",
            TestGateway.MASTER_KEY);
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(TestGateway.error(bad).get("param").asText())
        .isEqualTo("models[0].input_cost_per_token");
  }

  @Test
  void aKeyWhoseTeamIdWasFreeText_keepsWorking_andAMemberSeesItsTeamButNotItsTeammates()
      throws Exception {
    TestGateway g = start(dir, Map.of());
    // A key minted before teams existed, its team_id free text: no such team is created
    String legacy = g.mintKey("{}");
    dev.fairshare.keys.ApiKey stored = g.gateway.fairShare().keys().find(legacy).orElseThrow();
    g.gateway
        .fairShare()
        .keys()
        .update(
            new dev.fairshare.keys.ApiKey(
                stored.token(),
                stored.keyName(),
                stored.keyAlias(),
                stored.models(),
                stored.tpmLimit(),
                stored.rpmLimit(),
                stored.maxParallelRequests(),
                stored.metadata(),
                stored.expires(),
                stored.blocked(),
                stored.userId(),
                "Search Team (old)",
                stored.createdAt(),
                stored.updatedAt()));
    assertThat(client(g, legacy).chat().completions().create(hello(20)).usage()).isPresent();

    ok(g.post("/team/new", "{\"team_id\":\"t\"}", TestGateway.MASTER_KEY));
    String member = g.mintKey("{\"team_id\":\"t\"}");
    g.mintKey("{\"team_id\":\"t\",\"key_alias\":\"teammate\"}");
    HttpResponse<String> own =
        g.http.send(
            HttpRequest.newBuilder(g.base().resolve("/team/info?team_id=t"))
                .header("Authorization", "Bearer " + member)
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    JsonNode info = ok(own);
    assertThat(info.get("team_info").get("team_id").asText()).isEqualTo("t");
    assertThat(info.has("keys")).isFalse();
    assertThat(own.body()).doesNotContain("teammate");
    HttpResponse<String> other =
        g.http.send(
            HttpRequest.newBuilder(g.base().resolve("/team/info?team_id=other"))
                .header("Authorization", "Bearer " + member)
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(other.statusCode()).isEqualTo(404);
    HttpResponse<String> colon =
        g.post("/team/new", "{\"team_id\":\"a:gpt-4o\"}", TestGateway.MASTER_KEY);
    assertThat(colon.statusCode()).isEqualTo(400);
  }

  @Test
  void withRedisAwayAndFailureModeOpen_aPricedCallIsAdmitted_andItsSpendIsPersisted()
      throws Exception {
    PrivateRedis redis = PrivateRedis.start(dir);
    resources.add(redis);
    Map<String, String> props = new HashMap<>(PRICED);
    props.put("fairshare.redis.uri", redis.uri());
    props.put("fairshare.redis.failure-mode", "open");
    props.put("fairshare.redis.timeout", "300ms");
    TestGateway g = twoOnRedis(props).get(0);
    String key = g.mintKey("{\"max_budget\":1}");
    redis.close();
    assertThat(client(g, key).chat().completions().create(hello(20)).usage()).isPresent();
    g.gateway.fairShare().spend().flush();
    String token = dev.fairshare.keys.KeyHashing.sha256(key);
    assertThat(g.gateway.fairShare().keys().store().spend("key:" + token + ":spend", 0))
        .isEqualTo(400_000);
  }
}
