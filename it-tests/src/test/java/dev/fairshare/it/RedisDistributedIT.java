package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.fairshare.core.ManualClock;
import dev.fairshare.store.redis.LocalRedisCluster;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two gateway instances sharing one budget through the real Redis on 127.0.0.1:6379. */
class RedisDistributedIT {

  static final long T0 = 1_800_000_000_000L;
  static final String HELLO =
      "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello world!\"}]}";

  @TempDir Path dir;
  final ManualClock clock = new ManualClock(T0);
  final List<TestGateway> gateways = new ArrayList<>();

  @AfterEach
  void stop() {
    gateways.forEach(TestGateway::close);
  }

  /** Starts {@code n} instances on one key database and one Redis, with a fresh key prefix. */
  List<TestGateway> instances(int n, Map<String, String> extra) throws Exception {
    Map<String, String> props = new HashMap<>(extra);
    props.put("fairshare.store", "redis");
    props.putIfAbsent("fairshare.redis.uri", "redis://127.0.0.1:6379");
    props.put("fairshare.redis.key-prefix", "fs-it-" + UUID.randomUUID());
    props.put("fairshare.redis.timeout", "2s");
    List<TestGateway> started = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      started.add(TestGateway.start(dir, clock, props));
    }
    gateways.addAll(started);
    return started;
  }

  @Test
  void referenceScenarioAcrossTwoInstances() throws Exception {
    referenceScenarioAcross(instances(2, Map.of()));
  }

  /** The same through a local Redis Cluster of three masters (issue 17). */
  @Test
  void referenceScenarioAcrossTwoInstances_onARedisCluster() throws Exception {
    try (LocalRedisCluster cluster = LocalRedisCluster.start(dir.resolve("cluster"))) {
      List<TestGateway> g = instances(2, Map.of("fairshare.redis.uri", cluster.uri()));
      referenceScenarioAcross(g);
      // and the usage table, which reads every active key of the model, on the cluster
      assertThat(UsageIT.table(g.get(1), "my-fake-model").get("keys")).hasSize(2);
      gateways.forEach(TestGateway::close);
      gateways.clear();
    }
  }

  private void referenceScenarioAcross(List<TestGateway> g) throws Exception {
    TestGateway a = g.get(0);
    TestGateway b = g.get(1);
    String key1 = a.mintKey("{}");
    String key2 = b.mintKey("{}");
    OpenAIClient onA1 =
        OpenAIOkHttpClient.builder().apiKey(key1).baseUrl(a.base().toString()).build();
    OpenAIClient onB2 =
        OpenAIOkHttpClient.builder().apiKey(key2).baseUrl(b.base().toString()).build();
    OpenAIClient onA2 =
        OpenAIOkHttpClient.builder().apiKey(key2).baseUrl(a.base().toString()).build();
    ChatCompletionCreateParams hello =
        ChatCompletionCreateParams.builder()
            .model("my-fake-model")
            .addUserMessage("Hello world!")
            .build();

    assertThat(onA1.chat().completions().create(hello).usage().orElseThrow().totalTokens())
        .isEqualTo(30);
    assertThat(
            onB2.chat()
                .completions()
                .withRawResponse()
                .create(hello)
                .headers()
                .values("x-ratelimit-remaining-tokens"))
        .containsExactly("0");
    long started = System.nanoTime();
    try {
      onA2.chat().completions().create(hello);
      throw new AssertionError(
          "key 2's second call, on the other instance, should have been limited");
    } catch (RateLimitException e) {
      assertThat(e.headers().values("retry-after")).containsExactly("60");
      assertThat(e.headers().values("x-should-retry")).containsExactly("false");
    }
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
  }

  @Test
  void alternatingCallsFrom4Keys_admitExactlyWhatOneInstanceWould() throws Exception {
    List<Integer> single =
        alternate(List.of(TestGateway.start(dir.resolve("single"), new ManualClock(T0), Map.of())));
    List<Integer> shared = alternate(instances(2, Map.of()));
    assertThat(shared).isEqualTo(single);
    assertThat(shared).contains(200).contains(429);
  }

  /** 4 keys, 40 calls, 3 s apart, round-robin over the instances; the statuses in order. */
  private List<Integer> alternate(List<TestGateway> instances) throws Exception {
    if (instances.size() == 1) {
      gateways.add(instances.get(0));
    }
    ManualClock time = instances.size() == 1 ? null : clock;
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      keys.add(instances.get(0).mintKey("{}"));
    }
    List<Integer> statuses = new ArrayList<>();
    for (int call = 0; call < 40; call++) {
      TestGateway instance = instances.get(call % instances.size());
      statuses.add(instance.post("/chat/completions", HELLO, keys.get(call % 4)).statusCode());
      if (time != null) {
        time.advance(Duration.ofSeconds(3));
      } else {
        ((ManualClock) instance.gateway.fairShare().clock()).advance(Duration.ofSeconds(3));
      }
    }
    return statuses;
  }

  @Test
  void sixtyFourThreadsOverTwoInstances_admitExactly100AgainstRpm100() throws Exception {
    List<TestGateway> g = instances(2, Map.of("fairshare.models.busy.rpm", "100"));
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      keys.add(g.get(0).mintKey("{}"));
    }
    String body = "{\"model\":\"busy\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    ExecutorService pool = Executors.newFixedThreadPool(64);
    CountDownLatch go = new CountDownLatch(1);
    AtomicInteger ok = new AtomicInteger();
    AtomicInteger limited = new AtomicInteger();
    AtomicInteger other = new AtomicInteger();
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < 64; t++) {
      TestGateway instance = g.get(t % 2);
      String key = keys.get(t % keys.size());
      futures.add(
          pool.submit(
              () -> {
                go.await();
                for (int i = 0; i < 4; i++) {
                  HttpResponse<String> r = instance.post("/chat/completions", body, key);
                  (r.statusCode() == 200 ? ok : r.statusCode() == 429 ? limited : other)
                      .incrementAndGet();
                }
                return null;
              }));
    }
    go.countDown();
    for (Future<?> f : futures) {
      f.get(60, TimeUnit.SECONDS);
    }
    pool.shutdown();
    assertThat(other.get()).isZero();
    assertThat(ok.get()).isEqualTo(100);
    assertThat(limited.get()).isEqualTo(156);
  }

  @Test
  void oneRedisCallPerAdmissionAndOnePerSettlement(@TempDir Path redisDir) throws Exception {
    try (PrivateRedis redis = PrivateRedis.start(redisDir)) {
      List<TestGateway> g =
          instances(
              1,
              Map.of("fairshare.redis.uri", redis.uri(), "fairshare.models.counted.tpm", "100000"));
      // A parallel limit, so that the key's calls in flight are tracked (in a sorted set)
      String key = g.get(0).mintKey("{\"max_parallel_requests\":4}");
      String body = "{\"model\":\"counted\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
      assertThat(g.get(0).post("/chat/completions", body, key).statusCode())
          .isEqualTo(200); // loads the scripts
      RedisClient client = RedisClient.create(redis.uri());
      try (StatefulRedisConnection<String, String> c = client.connect()) {
        c.sync().configResetstat();
        for (int i = 0; i < 10; i++) {
          assertThat(g.get(0).post("/chat/completions", body, key).statusCode()).isEqualTo(200);
        }
        // Commands the gateway sent: 10 admissions + 10 settlements, each one EVALSHA on the key's
        // own window (it has a limit, held across models) and one on the model's: 40. Redis also
        // counts the commands the scripts run inside; none of those is a round trip. A settlement
        // is sent before the response but not waited for, so the last may arrive just after it.
        List<String> scriptInternal =
            List.of(
                "hgetall",
                "hget",
                "hdel",
                "hmget",
                "hincrby",
                "hincrbyfloat",
                "hset",
                "hexists",
                "zadd",
                "zrem",
                "zremrangebyscore",
                "zcard",
                "pexpire");
        Supplier<List<String>> sent =
            () ->
                c.sync()
                    .info("commandstats")
                    .lines()
                    .filter(l -> l.startsWith("cmdstat_"))
                    .map(l -> l.substring("cmdstat_".length()))
                    .filter(
                        l ->
                            !l.startsWith("config|")
                                && !l.startsWith("config:")
                                && !l.startsWith("info"))
                    .filter(l -> !scriptInternal.contains(l.substring(0, l.indexOf(':'))))
                    .toList();
        await()
            .atMost(Duration.ofSeconds(5))
            .untilAsserted(
                () ->
                    assertThat(sent.get())
                        .singleElement()
                        .asString()
                        .startsWith("evalsha:calls=40,"));
        String stats = c.sync().info("commandstats");
        System.out.println("Redis commandstats for 10 calls through the gateway:\n" + stats);

        // Every key FairShare wrote expires (two windows and a margin), so idle state leaves
        // nothing.
        // Per window (the model's and the key's own): the model's hash, its active keys and the
        // key's hash (the in-flight set empties, and goes, at the last settlement); and the
        // instances' announcements.
        List<String> written = c.sync().keys("*");
        assertThat(written).hasSize(7);
        for (String k : written) {
          if (k.endsWith(":instances")) {
            // The instances' announcements (RedisPresence) live for ten of their periods.
            assertThat(c.sync().pttl(k)).as("TTL of %s", k).isBetween(1L, 20_000L);
          } else {
            assertThat(c.sync().pttl(k)).as("TTL of %s", k).isBetween(60_000L, 130_000L);
          }
        }

        // Redis lost its scripts (restart, SCRIPT FLUSH): the next call reloads them and succeeds.
        c.sync().scriptFlush();
        assertThat(g.get(0).post("/chat/completions", body, key).statusCode()).isEqualTo(200);
        // ... and its settlement too (sent whole once, since nobody waits to reload it): the
        // call's in-flight entry is gone (Redis drops a sorted set when its last entry goes).
        await()
            .atMost(Duration.ofSeconds(5))
            .untilAsserted(() -> assertThat(c.sync().keys("*:flight")).isEmpty());
      } finally {
        client.shutdown();
      }
    }
  }
}
