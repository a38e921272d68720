package dev.fairshare.sim;

import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.Reservation;
import dev.fairshare.store.MemoryUsageStore;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;

/**
 * A {@link Scenario} seen from the clients' side: each key's arrivals are <em>logical</em>
 * requests, which a client model turns into one or more calls; a key whose arrivals are {@link
 * Traffic.Arrivals#batch} is a closed loop of workers instead, each calling when its last call ends
 * (or a second after it gave one up). An admitted call settles after a latency drawn per call; a
 * refused one is retried or given up as the client model says. Simulated time, one seed one result,
 * like {@link Simulator}.
 */
public final class ClientSimulator {

  /** How a client treats a 429. */
  public enum ClientKind {
    /**
     * The official OpenAI SDKs: two retries, each after the answer's {@code retry-after-ms}, unless
     * the answer says {@code x-should-retry: false} (FairShare does when the wait is longer than
     * {@code fairshare.client-retry-max-wait}).
     */
    SDK,
    /** Gives the call up at the first 429. */
    DROP
  }

  /**
   * The clients of a run.
   *
   * @param kind every key's client
   * @param minLatencyMillis shortest time from admission to settlement
   * @param maxLatencyMillis longest (drawn uniformly in between: streamed answers take seconds)
   * @param retryMaxWaitMillis FairShare's {@code client-retry-max-wait}: longer waits are answered
   *     {@code x-should-retry: false}
   * @param serverWaitMillis a model of issue 14's queue (0: none): a call that would be refused
   *     with a retry-after within what is left of this wait since the call came is held by the
   *     server and tried again at that time, and answered 429 only when the wait would run past it
   */
  public record Clients(
      ClientKind kind,
      long minLatencyMillis,
      long maxLatencyMillis,
      long retryMaxWaitMillis,
      long serverWaitMillis) {

    /** Clients of a server that answers every refusal at once. */
    public Clients(
        ClientKind kind, long minLatencyMillis, long maxLatencyMillis, long retryMaxWaitMillis) {
      this(kind, minLatencyMillis, maxLatencyMillis, retryMaxWaitMillis, 0);
    }

    /** The same clients, of a server that holds a call up to {@code millis} before a 429. */
    public Clients withServerWait(long millis) {
      return new Clients(kind, minLatencyMillis, maxLatencyMillis, retryMaxWaitMillis, millis);
    }

    /** SDK clients, streamed answers of 2 to 30 s, FairShare's default 5 s retry bound. */
    public static final Clients SDK_STREAMING = new Clients(ClientKind.SDK, 2_000, 30_000, 5_000);

    /** The SDKs' retries: two after the first call. */
    static final int SDK_RETRIES = 2;
  }

  /**
   * One logical request.
   *
   * @param key index of the key in the scenario
   * @param at when the client first called
   * @param estimate its reservation
   * @param actual the tokens it uses once admitted
   * @param calls how many calls it took (1 when admitted or given up at once)
   * @param admittedAt when a call was admitted, or -1 when it failed
   * @param endedAt when it was admitted or given up
   */
  public record Logical(
      int key, long at, long estimate, long actual, int calls, long admittedAt, long endedAt) {

    /** True when a call was admitted. */
    public boolean succeeded() {
      return admittedAt >= 0;
    }

    /** How much later than the first call it was admitted. */
    public long addedDelay() {
      return admittedAt - at;
    }
  }

  /** Everything that happened: the calls as the engine saw them, and the logical requests. */
  public record ClientRun(Simulator.Run calls, List<Logical> logical) {}

  private ClientSimulator() {}

  /** Runs {@code scenario} with {@code clients} on the engine with {@code settings}. */
  public static ClientRun run(
      Scenario scenario, EngineSettings settings, Clients clients, long seed) {
    MemoryUsageStore store = new MemoryUsageStore(settings);
    ModelCapacity capacity = scenario.modelCapacity();
    Random random = new Random(seed);
    long end = scenario.minutes() * 60_000L;
    List<Traffic> keys = scenario.keys();
    // Events by time; at one instant settlements first, then calls in the order they were made.
    PriorityQueue<Event> events = new PriorityQueue<>();
    long[] order = {0};
    for (int k = 0; k < keys.size(); k++) {
      int workers = keys.get(k).arrivals() instanceof Traffic.Batch b ? b.workers() : 1;
      for (int w = 0; w < workers; w++) {
        events.add(new Event(keys.get(k).joinMillis(), 1, order[0]++, k, null, null));
      }
    }
    List<Simulator.Request> calls = new ArrayList<>();
    List<Logical> logical = new ArrayList<>();
    while (!events.isEmpty()) {
      Event e = events.poll();
      long now = e.at;
      if (now >= end) {
        break;
      }
      if (e.kind == 0) {
        store.settle(e.reservation, e.pending.actual, Simulator.T0 + now);
        if (keys.get(e.key).arrivals() instanceof Traffic.Batch) { // the worker's next call
          events.add(new Event(now, 1, order[0]++, e.key, null, null));
        }
        continue;
      }
      int k = e.key;
      Traffic traffic = keys.get(k);
      boolean batch = traffic.arrivals() instanceof Traffic.Batch;
      Pending p = e.pending;
      if (p == null) { // a new logical request, and the next one's arrival
        if (now >= traffic.leaveMillis()) {
          continue;
        }
        long estimate = traffic.sizes().next(random);
        long actual;
        if (scenario.maxTokens() > 0) {
          actual = estimate + 10 + (long) (random.nextDouble() * (scenario.maxTokens() - 10));
          estimate += scenario.maxTokens();
        } else {
          double u = random.nextDouble() * 2 - 1;
          actual = Math.max(1, Math.round(estimate * (1 + scenario.estimateError() * u)));
        }
        p = new Pending(k, now, estimate, actual);
        if (!batch) {
          events.add(
              new Event(
                  now + traffic.arrivals().nextGap(now, random), 1, order[0]++, k, null, null));
        }
      }
      if (!e.held) {
        p.calls++;
        p.calledAt = now;
      }
      Decision d =
          store.acquire(
              new AdmissionRequest(
                  traffic.key(),
                  "sim-model",
                  capacity,
                  traffic.weight(),
                  p.estimate,
                  KeyLimits.NONE),
              Simulator.T0 + now);
      calls.add(
          new Simulator.Request(
              k,
              now,
              p.estimate,
              p.actual,
              d.admitted() ? d.reservation().tokens() : 0,
              d.admitted()));
      if (d.admitted()) {
        long latency =
            clients.minLatencyMillis()
                + (long)
                    (random.nextDouble()
                        * (clients.maxLatencyMillis() - clients.minLatencyMillis()));
        events.add(new Event(now + latency, 0, order[0]++, k, d.reservation(), p));
        logical.add(new Logical(k, p.at, p.estimate, p.actual, p.calls, now, now));
        continue;
      }
      long waitLeft = p.calledAt + clients.serverWaitMillis() - now;
      if (d.retryAfterMillis() <= waitLeft) { // held by the server, tried again then
        events.add(
            new Event(now + Math.max(1, d.retryAfterMillis()), 1, order[0]++, k, null, p, true));
        continue;
      }
      boolean retries =
          clients.kind() == ClientKind.SDK
              && p.calls <= Clients.SDK_RETRIES
              && d.retryAfterMillis() <= clients.retryMaxWaitMillis();
      if (retries) {
        events.add(new Event(now + Math.max(1, d.retryAfterMillis()), 1, order[0]++, k, null, p));
      } else {
        logical.add(new Logical(k, p.at, p.estimate, p.actual, p.calls, -1, now));
        if (batch) { // a batch job goes on with its next item, a second later
          events.add(new Event(now + 1_000, 1, order[0]++, k, null, null));
        }
      }
    }
    return new ClientRun(new Simulator.Run(scenario, settings, calls), logical);
  }

  /** A logical request between its calls. */
  private static final class Pending {
    final int key;
    final long at;
    final long estimate;
    final long actual;
    int calls;
    long calledAt;

    Pending(int key, long at, long estimate, long actual) {
      this.key = key;
      this.at = at;
      this.estimate = estimate;
      this.actual = actual;
    }
  }

  /** kind 0: a settlement; kind 1: a call (of {@code pending}, or of a new logical request). */
  private record Event(
      long at,
      int kind,
      long order,
      int key,
      Reservation reservation,
      Pending pending,
      boolean held)
      implements Comparable<Event> {

    Event(long at, int kind, long order, int key, Reservation reservation, Pending pending) {
      this(at, kind, order, key, reservation, pending, false);
    }

    @Override
    public int compareTo(Event o) {
      if (at != o.at) {
        return Long.compare(at, o.at);
      }
      if (kind != o.kind) {
        return Integer.compare(kind, o.kind);
      }
      return Long.compare(order, o.order);
    }
  }
}
