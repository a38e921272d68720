package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairshare.core.ManualClock;
import dev.fairshare.store.FailoverUsageStore;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two gateways on one Redis, driven past a model's RPM by 16 clients each: while Redis is up they
 * admit exactly the limit between them (the connection is made at start, with a timeout of its own,
 * so a burst does not push them into failing open); once Redis is gone, each fails open against its
 * half of the limit, not the whole of it.
 */
class RedisSaturationIT {

  static final int RPM = 200;
  static final int CLIENTS = 16;
  static final int CALLS_PER_CLIENT = 40;
  static final String BODY =
      "{\"model\":\"busy\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  @TempDir Path dir;

  @Test
  void twoInstancesAtSaturation_admitTheLimit_andTheirOwnPartsWhileRedisIsAway() throws Exception {
    String schema =
        "fairshare_sat_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = DriverManager.getConnection(KeyApiPostgresIT.SERVER);
        Statement s = c.createStatement()) {
      s.executeUpdate("CREATE SCHEMA " + schema);
    }
    ManualClock clock = new ManualClock(1_800_000_000_000L); // one window throughout
    try (PrivateRedis redis = PrivateRedis.start(dir);
        TestGateway a = start(dir.resolve("a"), clock, redis, schema);
        TestGateway b = start(dir.resolve("b"), clock, redis, schema)) {
      FailoverUsageStore storeA = (FailoverUsageStore) a.gateway.fairShare().usageStore();
      FailoverUsageStore storeB = (FailoverUsageStore) b.gateway.fairShare().usageStore();
      await("both instances see each other in Redis")
          .atMost(Duration.ofSeconds(15))
          .until(() -> storeA.sharingInstances() == 2 && storeB.sharingInstances() == 2);
      List<String> keys = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        keys.add(a.mintKey("{}"));
      }

      int[] up = burst(a, b, keys);
      long failures = storeA.failures() + storeB.failures();
      assertThat(up[0] + up[1])
          .as(
              "admitted by a and b (%d, %d) while Redis is up; store calls failed: %d",
              up[0], up[1], failures)
          .isEqualTo(RPM);
      assertThat(failures).as("store calls that failed over to local counting").isZero();

      redis.kill();
      int[] away = burst(a, b, keys);
      assertThat(away[0]).as("admitted by a alone while Redis is away").isEqualTo(RPM / 2);
      assertThat(away[1]).as("admitted by b alone while Redis is away").isEqualTo(RPM / 2);
    }
  }

  private static TestGateway start(Path dir, ManualClock clock, PrivateRedis redis, String schema)
      throws Exception {
    return TestGateway.start(
        dir,
        clock,
        Map.of(
            "fairshare.store",
            "redis",
            "fairshare.redis.uri",
            redis.uri(),
            "fairshare.redis.key-prefix",
            "fs-sat",
            "fairshare.keys.jdbc-url",
            KeyApiPostgresIT.SERVER + "&currentSchema=" + schema,
            "fairshare.models.busy.rpm",
            Integer.toString(RPM)));
  }

  /**
   * {@value #CLIENTS} clients on each gateway, {@value #CALLS_PER_CLIENT} calls each: the 200s of a
   * and b.
   */
  private static int[] burst(TestGateway a, TestGateway b, List<String> keys) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2 * CLIENTS);
    try {
      List<Future<Integer>> onA = new ArrayList<>();
      List<Future<Integer>> onB = new ArrayList<>();
      for (int client = 0; client < CLIENTS; client++) {
        String key = keys.get(client % keys.size());
        onA.add(pool.submit(() -> calls(a, key)));
        onB.add(pool.submit(() -> calls(b, key)));
      }
      int admittedA = 0;
      int admittedB = 0;
      for (int i = 0; i < CLIENTS; i++) {
        admittedA += onA.get(i).get();
        admittedB += onB.get(i).get();
      }
      return new int[] {admittedA, admittedB};
    } finally {
      pool.shutdownNow();
    }
  }

  private static int calls(TestGateway gateway, String key) throws Exception {
    int admitted = 0;
    for (int i = 0; i < CALLS_PER_CLIENT; i++) {
      HttpResponse<String> r = gateway.post("/chat/completions", BODY, key);
      assertThat(r.statusCode()).as(r.body()).isIn(200, 429);
      if (r.statusCode() == 200) {
        admitted++;
      }
    }
    return admitted;
  }
}
