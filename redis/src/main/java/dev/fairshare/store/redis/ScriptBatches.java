package dev.fairshare.store.redis;

import io.lettuce.core.RedisCommandInterruptedException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * This instance's calls of one script, sent in batches per lane (a model: every key of a lane's
 * calls shares one hash tag, so a batch is one Redis Cluster slot). While a lane's batch is in
 * Redis, the calls that arrive wait and go together in the next one, in the order they came; an
 * idle lane sends a call at once. No timer: a call waits at most for the batch ahead of it. (Two
 * batches in Redis at once, the next queued while one runs, measured no faster through the gateway
 * under wrk, and one makes the largest batches.)
 *
 * <p>The script applies a batch's calls in order, each as its own call (batch.lua), so what Redis
 * decides is what the same calls sent one by one in that order would have: batching saves the round
 * trips and the script's setup, not a decision. Calls of one thread stay in the order it made them,
 * as on one connection: a lane sends its batches one after the other, and a lane is dropped only
 * when it has nothing waiting and nothing in Redis.
 *
 * <p>A batch that fails (Redis away, a timeout) fails each of its calls; the script writes its
 * hashes only after its last call, so a batch that fails in Redis changes none of them. A call
 * whose caller gave up waiting is not sent; one already sent may still be applied, as a timed-out
 * command may. A lane holds at most {@link #MAX_WAITING} calls.
 */
final class ScriptBatches {

  /** The most calls one batch carries, so that one script call holds Redis for a bounded time. */
  static final int MAX_CALLS = 32;

  /**
   * The most calls a lane holds waiting; more fail at once, as with a Redis that cannot keep up.
   */
  static final int MAX_WAITING = 4096;

  private final RedisLink link;
  private final RedisScript script;
  private final int keysPerCall;
  private final int[] sharedKeys;
  private final int[] sharedArgs;
  private final long waitMillis;
  private final ConcurrentHashMap<String, Lane> lanes = new ConcurrentHashMap<>();

  /**
   * @param script the batch script (batch.lua): ARGV the number of calls, the keys per call, the
   *     positions of the shared keys, the shared arguments as (position, value) pairs, then per
   *     call its kind, its number of other arguments and those; KEYS the shared keys, then each
   *     call's others. Returns each call's answer
   * @param sharedKeys positions (from 0) of the keys every call of a lane has alike (the model's):
   *     sent once per batch
   * @param sharedArgs positions (from 0) of the arguments sent once per batch (settings); a call
   *     whose differ from the batch's first (a setting changed) starts the next batch
   */
  ScriptBatches(
      RedisLink link, RedisScript script, int keysPerCall, int[] sharedKeys, int[] sharedArgs) {
    this.link = link;
    this.script = script;
    this.keysPerCall = keysPerCall;
    this.sharedKeys = sharedKeys.clone();
    this.sharedArgs = sharedArgs.clone();
    // A call may wait for the batch ahead of it, then for its own: each times out on its own.
    Duration timeout = link.commandTimeout();
    this.waitMillis = 2 * timeout.toMillis() + 100;
  }

  /** A call waiting for its batch, and its answer. */
  private record Call(int kind, String[] keys, String[] args, CompletableFuture<Object> answer) {}

  /** Queues a call of {@code kind} on {@code lane}; its answer once its batch is answered. */
  CompletableFuture<Object> submit(String lane, int kind, String[] keys, String[] args) {
    if (keys.length != keysPerCall) {
      throw new IllegalArgumentException(keys.length + " keys, not " + keysPerCall);
    }
    Call call = new Call(kind, keys, args, new CompletableFuture<>());
    while (!lanes.computeIfAbsent(lane, Lane::new).offer(call)) {
      // That lane was dropped between the lookup and the offer: the next lookup makes a new one.
    }
    return call.answer();
  }

  /** Waits for a submitted call's answer, failing as a synchronous Redis command would. */
  <T> T await(CompletableFuture<T> answer) {
    try {
      return answer.get(waitMillis, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw asRuntime(e.getCause());
    } catch (TimeoutException e) {
      // Given up: if it still waits, it is never sent (Lane.next)
      RedisCommandTimeoutException timeout =
          new RedisCommandTimeoutException(
              "no answer from Redis within " + waitMillis + " ms (a batch of script calls)");
      if (!answer.completeExceptionally(timeout)) {
        // The answer came as the wait ended: the caller gets it (an admission is not orphaned)
        try {
          return answer.join();
        } catch (java.util.concurrent.CompletionException failed) {
          throw asRuntime(failed.getCause());
        }
      }
      throw timeout;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RedisCommandInterruptedException(e);
    }
  }

  private static RuntimeException asRuntime(Throwable failure) {
    Throwable cause =
        failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    return cause instanceof RuntimeException r ? r : new RedisException(cause);
  }

  /** The calls of one lane: at most one batch in Redis at a time. */
  private final class Lane {
    private final String name;
    private final ArrayDeque<Call> waiting = new ArrayDeque<>();
    // Guarded by this: a batch is in Redis (or being sent); the lane is out of the map and takes
    // no more calls.
    private boolean sending;
    private boolean dropped;

    Lane(String name) {
      this.name = name;
    }

    /** False when the lane was dropped: the caller asks the map for the current one. */
    boolean offer(Call call) {
      synchronized (this) {
        if (dropped) {
          return false;
        }
        if (waiting.size() >= MAX_WAITING) {
          call.answer()
              .completeExceptionally(
                  new RedisCommandTimeoutException(
                      MAX_WAITING + " calls already wait for Redis on this model"));
          return true;
        }
        waiting.add(call);
        if (sending) {
          return true;
        }
        sending = true;
      }
      sendWhatWaits();
      return true;
    }

    /**
     * Sends the next batch; once it is in Redis, its answer sends the one after. A batch that fails
     * before it goes (no connection) fails every call waiting, the same way, and the lane goes: so
     * no thread loops on a Redis that is away, and nothing recurses.
     */
    private void sendWhatWaits() {
      while (true) {
        List<Call> batch;
        synchronized (this) {
          batch = next();
          if (batch.isEmpty()) {
            sending = false;
            dropped = true;
            lanes.remove(name, this);
            return;
          }
        }
        CompletableFuture<List<Object>> sent;
        try {
          sent = script.runAsync(link.async(), ScriptOutputType.MULTI, keys(batch), args(batch));
        } catch (Throwable e) { // not connected, or worse: never leave the lane sending
          sent = CompletableFuture.failedFuture(e);
        }
        if (sent.isCompletedExceptionally()) {
          Throwable failure = sent.handle((ok, f) -> f).join();
          deliver(batch, null, failure);
          List<Call> rest;
          synchronized (this) {
            rest = new ArrayList<>(waiting);
            waiting.clear();
          }
          deliver(rest, null, failure);
          continue;
        }
        sent.whenComplete(
            (answers, failure) -> {
              try {
                deliver(batch, answers, failure);
              } catch (Throwable t) {
                // deliver completes futures only; whatever escaped, the lane goes on
              } finally {
                sendWhatWaits();
              }
            });
        return;
      }
    }

    /**
     * Under the lock: the next batch, in the order the calls came, without calls given up, up to a
     * call whose shared keys or arguments differ from the first's.
     */
    private List<Call> next() {
      List<Call> batch = new ArrayList<>(Math.min(waiting.size(), MAX_CALLS));
      while (!waiting.isEmpty() && batch.size() < MAX_CALLS) {
        Call call = waiting.peek();
        if (call.answer().isDone()) {
          waiting.poll();
          continue;
        }
        if (!batch.isEmpty() && !sharesWith(batch.get(0), call)) {
          break;
        }
        batch.add(waiting.poll());
      }
      return batch;
    }
  }

  private static void deliver(List<Call> batch, List<Object> answers, Throwable failure) {
    if (failure == null && (answers == null || answers.size() != batch.size())) {
      failure =
          new RedisException(
              "the batch script answered "
                  + (answers == null ? "nothing" : answers.size() + " calls")
                  + " for "
                  + batch.size());
    }
    if (failure != null) {
      RuntimeException error = asRuntime(failure);
      batch.forEach(call -> call.answer().completeExceptionally(error));
      return;
    }
    for (int i = 0; i < batch.size(); i++) {
      batch.get(i).answer().complete(answers.get(i));
    }
  }

  private boolean sharesWith(Call first, Call call) {
    for (int k : sharedKeys) {
      if (!first.keys()[k].equals(call.keys()[k])) {
        return false;
      }
    }
    for (int a : sharedArgs) {
      if (!first.args()[a].equals(call.args()[a])) {
        return false;
      }
    }
    return true;
  }

  /** The shared keys (the first call's), then each call's others in order. */
  private String[] keys(List<Call> batch) {
    String[] keys =
        new String[sharedKeys.length + batch.size() * (keysPerCall - sharedKeys.length)];
    int at = 0;
    for (int k : sharedKeys) {
      keys[at++] = batch.get(0).keys()[k];
    }
    for (Call call : batch) {
      for (int k = 0; k < keysPerCall; k++) {
        if (!isShared(sharedKeys, k)) {
          keys[at++] = call.keys()[k];
        }
      }
    }
    return keys;
  }

  private String[] args(List<Call> batch) {
    List<String> args = new ArrayList<>(4 + 2 * sharedArgs.length + batch.size() * 16);
    args.add(Integer.toString(batch.size()));
    args.add(Integer.toString(keysPerCall));
    args.add(Integer.toString(sharedKeys.length));
    for (int k : sharedKeys) {
      args.add(Integer.toString(k + 1));
    }
    args.add(Integer.toString(sharedArgs.length));
    for (int a : sharedArgs) {
      args.add(Integer.toString(a + 1));
      args.add(batch.get(0).args()[a]);
    }
    for (Call call : batch) {
      args.add(Integer.toString(call.kind()));
      args.add(Integer.toString(call.args().length - sharedArgs.length));
      for (int a = 0; a < call.args().length; a++) {
        if (!isShared(sharedArgs, a)) {
          args.add(call.args()[a]);
        }
      }
    }
    return args.toArray(String[]::new);
  }

  private static boolean isShared(int[] shared, int position) {
    for (int s : shared) {
      if (s == position) {
        return true;
      }
    }
    return false;
  }
}
