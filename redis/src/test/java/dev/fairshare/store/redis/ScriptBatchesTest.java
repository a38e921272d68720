package dev.fairshare.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.ModelWindow;
import dev.fairshare.core.Reservation;
import io.lettuce.core.RedisException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Calls queued while a batch is in Redis go together, and a batch decides exactly as the same calls
 * one by one: against the real Redis on 127.0.0.1:6379 (fails, does not skip, without it).
 */
class ScriptBatchesTest {

  private static final long T0 = 1_800_000_000_000L;
  private final List<RedisUsageStore> stores = new ArrayList<>();

  @AfterEach
  void close() {
    stores.forEach(RedisUsageStore::close);
  }

  private RedisUsageStore store() {
    return store("fs-test-" + UUID.randomUUID());
  }

  private RedisUsageStore store(String prefix) {
    RedisUsageStore store =
        new RedisUsageStore(
            RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5)),
            EngineSettings.DEFAULTS,
            prefix,
            Long.MAX_VALUE / 4);
    stores.add(store);
    return store;
  }

  @Test
  void callsQueuedTogether_goInFewScriptCalls_andDecideAsTheReferenceRuleOneByOne() {
    RedisUsageStore store = store();
    ModelWindow reference = new ModelWindow(EngineSettings.DEFAULTS);
    ModelCapacity capacity = new ModelCapacity(3_000, 60);
    ModelCapacity lowered = new ModelCapacity(2_500, 50);
    double[] weights = {1.0, 2.0, 0.5, 1.0};
    KeyLimits[] limits = {
      KeyLimits.NONE,
      KeyLimits.NONE,
      new KeyLimits(400, ModelCapacity.UNLIMITED, ModelCapacity.UNLIMITED),
      KeyLimits.NONE
    };
    Random random = new Random(17);
    List<Decision> expected = new ArrayList<>();
    List<CompletableFuture<Decision>> answers = new ArrayList<>();
    List<Reservation> inFlight = new ArrayList<>();
    long scriptCallsBefore = scriptCalls(store);
    long now = T0;
    int calls = 0;
    for (int step = 0; step < 600; step++) {
      now += random.nextInt(300);
      if (!inFlight.isEmpty() && random.nextInt(3) == 0) {
        // Queued behind the admission it settles, neither waited for: the reservation is the
        // reference's (no key here has a parallel limit, the only reader of a reservation's id),
        // which the store's equals when it decided alike, as asserted below
        Reservation reservation = inFlight.remove(random.nextInt(inFlight.size()));
        long actual = random.nextInt(4) == 0 ? 0 : random.nextInt(200);
        reference.settle(reservation, actual, now);
        store.settleWithoutWaiting(reservation, actual, now);
        calls++;
        continue;
      }
      int k = random.nextInt(weights.length);
      // Now and then the model's capacity changes (a live config change): a call whose shared
      // arguments differ from its batch's starts the next batch
      ModelCapacity current = random.nextInt(10) == 0 ? lowered : capacity;
      AdmissionRequest r =
          new AdmissionRequest(
              "key-" + k, "m", current, weights[k], 10 + random.nextInt(150), limits[k]);
      Decision decided = reference.decide(r, now);
      CompletableFuture<Decision> answer = store.acquireAsync(r, now);
      expected.add(decided);
      answers.add(answer);
      calls++;
      if (decided.admitted()) {
        inFlight.add(decided.reservation());
      }
    }
    for (int i = 0; i < answers.size(); i++) {
      Decision actual = answers.get(i).join();
      assertThat(actual.verdict()).as("verdict of call %d", i).isEqualTo(expected.get(i).verdict());
      assertThat(actual.usage()).as("standing of call %d", i).isEqualTo(expected.get(i).usage());
      assertThat(actual.retryAfterMillis())
          .as("retry-after of call %d", i)
          .isEqualTo(expected.get(i).retryAfterMillis());
      if (actual.admitted()) {
        assertThat(actual.reservation().tokens()).isEqualTo(expected.get(i).reservation().tokens());
        assertThat(actual.reservation().bucket()).isEqualTo(expected.get(i).reservation().bucket());
      }
    }
    assertThat(expected).extracting(Decision::admitted).contains(true, false);
    // Every settlement was sent as its admission was answered; at most MAX_CALLS per batch
    long scriptCalls = scriptCalls(store) - scriptCallsBefore;
    assertThat(scriptCalls).isGreaterThanOrEqualTo(calls / ScriptBatches.MAX_CALLS);
    assertThat(scriptCalls).as("script calls for %d calls", calls).isLessThan(calls / 3);
  }

  @Test
  void aBatchThatFails_failsEachOfItsCalls_andTheModelsNextCallsGoOn() {
    String prefix = "fs-test-" + UUID.randomUUID();
    RedisUsageStore store = store(prefix);
    AdmissionRequest call =
        new AdmissionRequest("k", "m", new ModelCapacity(1_000, 10), 1.0, 10, KeyLimits.NONE);
    try (RedisLink link = RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5))) {
      // The model's hash is a string: every call's script fails (WRONGTYPE)
      String modelHash = prefix + ":{m}:m";
      link.commands().set(modelHash, "not a hash");
      List<CompletableFuture<Decision>> failing = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        failing.add(store.acquireAsync(call, T0));
      }
      for (CompletableFuture<Decision> f : failing) {
        assertThatThrownBy(f::join).hasCauseInstanceOf(RedisException.class);
      }
      assertThatThrownBy(() -> store.acquire(call, T0))
          .isInstanceOf(RedisException.class)
          .hasMessageContaining("WRONGTYPE");
      link.commands().del(modelHash);
    }
    Decision after = store.acquire(call, T0 + 1);
    assertThat(after.admitted()).isTrue();
    assertThat(after.usage().tokens().modelUsed()).isEqualTo(10);
  }

  @Test
  void threadsCallingAtOnce_eachGetTheirAnswer_admittedOrRefused() throws Exception {
    RedisUsageStore store = store();
    // 40 tokens a window: after the first calls, every call is refused
    AdmissionRequest[] calls = new AdmissionRequest[32];
    for (int i = 0; i < calls.length; i++) {
      calls[i] =
          new AdmissionRequest(
              "key-" + (i % 4), "m", new ModelCapacity(40, 1_000), 1.0, 10, KeyLimits.NONE);
    }
    java.util.concurrent.atomic.AtomicLong admitted = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicLong refused = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.ExecutorService threads =
        java.util.concurrent.Executors.newFixedThreadPool(calls.length);
    List<java.util.concurrent.Future<?>> done = new ArrayList<>();
    for (AdmissionRequest call : calls) {
      done.add(
          threads.submit(
              () -> {
                for (int i = 0; i < 200; i++) {
                  Decision d = store.acquire(call, T0 + i);
                  if (d.admitted()) {
                    store.settleWithoutWaiting(d.reservation(), 10, T0 + i);
                    admitted.incrementAndGet();
                  } else {
                    refused.incrementAndGet();
                  }
                }
                return null;
              }));
    }
    for (java.util.concurrent.Future<?> f : done) {
      f.get(60, java.util.concurrent.TimeUnit.SECONDS);
    }
    threads.shutdown();
    // 40 tokens in the window, 10 each, each settled at 10: exactly 4 admitted
    assertThat(admitted.get()).isEqualTo(4);
    assertThat(refused.get()).isEqualTo(32 * 200 - 4);
  }

  @Test
  void aCallGivenUpBeforeItsBatchGoes_isNeverSent() throws Exception {
    RedisUsageStore store = store();
    AdmissionRequest call =
        new AdmissionRequest(
            "k", "m", new ModelCapacity(1_000_000, 1_000), 1.0, 10, KeyLimits.NONE);
    store.acquire(call, T0); // the script cached, the model's hashes made
    try (RedisLink admin = RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5))) {
      // Redis holds every client's commands for 400 ms: the first call stays in Redis meanwhile,
      // and the next ten wait behind it on the lane
      admin.commands().clientPause(400);
      CompletableFuture<Decision> first = store.acquireAsync(call, T0 + 1);
      List<CompletableFuture<Decision>> later = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        later.add(store.acquireAsync(call, T0 + 2));
      }
      // Five callers give up (as ScriptBatches.await does on its timeout)
      for (int i = 0; i < 5; i++) {
        later.get(i).completeExceptionally(new IllegalStateException("given up"));
      }
      first.join();
      for (int i = 5; i < 10; i++) {
        later.get(i).join();
      }
    }
    // 1 + 1 + the 5 still wanted: 7 admissions of 10 tokens and 7 requests
    Decision after = store.acquire(call, T0 + 3);
    assertThat(after.usage().requests().modelUsed()).isEqualTo(8);
    assertThat(after.usage().tokens().modelUsed()).isEqualTo(80);
  }

  @Test
  void anAdmissionWhoseCallerGaveUpAfterItWasSent_isReleased_itsParallelSlotFreesAtOnce()
      throws Exception {
    // Commands time out after 250 ms here, the caller gives up after 600 ms
    RedisUsageStore store =
        new RedisUsageStore(
            RedisLink.create("redis://127.0.0.1:6379", Duration.ofMillis(250)),
            EngineSettings.DEFAULTS,
            "fs-test-" + UUID.randomUUID(),
            Long.MAX_VALUE / 4);
    stores.add(store);
    AdmissionRequest call =
        new AdmissionRequest(
            "k",
            "m",
            new ModelCapacity(1_000_000, 1_000),
            1.0,
            10,
            new KeyLimits(ModelCapacity.UNLIMITED, ModelCapacity.UNLIMITED, 1));
    Decision first = store.acquire(call, T0); // the script cached, the hashes made
    store.settle(first.reservation(), 10, T0);
    try (RedisLink admin = RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5))) {
      // Redis holds every client's commands for 1.5 s: the admission reaches Redis, its caller
      // gives up first, and Redis makes it when the pause ends
      admin.commands().clientPause(1_500);
      assertThatThrownBy(() -> store.acquire(call, T0 + 1)).isInstanceOf(RuntimeException.class);
    }
    // Without the release, the orphan would hold the key's one parallel slot for 10 minutes
    Decision after =
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> store.acquire(call, T0 + 2), Decision::admitted);
    // The first call and this one: the orphan left the window's requests and tokens
    assertThat(after.usage().requests().modelUsed()).isEqualTo(2);
    assertThat(after.usage().tokens().modelUsed()).isEqualTo(20);
  }

  @Test
  void redisAway_everyWaitingCallFailsAtOnce_noThreadHangs() throws Exception {
    // Nothing listens on port 1: each connect fails at once
    RedisUsageStore store =
        new RedisUsageStore(
            RedisLink.create("redis://127.0.0.1:1", Duration.ofMillis(250)),
            EngineSettings.DEFAULTS,
            "fs-test-" + UUID.randomUUID());
    stores.add(store);
    AdmissionRequest call =
        new AdmissionRequest("k", "m", new ModelCapacity(1_000, 10), 1.0, 10, KeyLimits.NONE);
    java.util.concurrent.ExecutorService threads =
        java.util.concurrent.Executors.newFixedThreadPool(16);
    List<java.util.concurrent.Future<Throwable>> outcomes = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      outcomes.add(
          threads.submit(
              () -> {
                try {
                  store.acquire(call, T0);
                  return null;
                } catch (RuntimeException e) {
                  return e;
                }
              }));
    }
    for (java.util.concurrent.Future<Throwable> outcome : outcomes) {
      assertThat(outcome.get(10, java.util.concurrent.TimeUnit.SECONDS))
          .isInstanceOf(RedisException.class);
    }
    threads.shutdown();
  }

  /** EVALSHA and EVAL calls the server has answered so far. */
  private static long scriptCalls(RedisUsageStore store) {
    try (RedisLink link = RedisLink.create("redis://127.0.0.1:6379", Duration.ofSeconds(5))) {
      String stats = link.commands().info("commandstats");
      long calls = 0;
      Matcher m = Pattern.compile("cmdstat_eval(?:sha)?:calls=(\\d+)").matcher(stats);
      while (m.find()) {
        calls += Long.parseLong(m.group(1));
      }
      return calls;
    }
  }
}
