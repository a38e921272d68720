package dev.fairshare.usage;

import dev.fairshare.keys.KeyStore;
import dev.fairshare.keys.KeyStoreException;
import dev.fairshare.keys.UsageRow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Keeps the usage history (per key, model and hour: tokens in and out, calls, refusals) in memory
 * and writes it to the key database in one batch every {@code fairshare.usage.flush-interval}, off
 * the request path. A batch the database does not take is kept and written with the next one (up to
 * {@link #MAX_PENDING_ROWS} rows, then the oldest hours' counts are dropped, logged). A crash loses
 * at most what was counted since the last flush; {@link #close} flushes.
 *
 * <p>Thread-safe: recording is a map lookup and atomic adds.
 */
public final class UsageRecorder implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(UsageRecorder.class.getName());

  /** Rows held while the database is away; past this, new counts are dropped (and logged). */
  public static final int MAX_PENDING_ROWS = 100_000;

  private record Cell(String token, String model, long hour) {}

  /** A cell's counts, and what of them was handed to the database (under {@code flushing}). */
  private static final class Counts {
    final LongAdder input = new LongAdder();
    final LongAdder output = new LongAdder();
    final LongAdder calls = new LongAdder();
    final LongAdder refusals = new LongAdder();
    long flushedInput;
    long flushedOutput;
    long flushedCalls;
    long flushedRefusals;
  }

  private final boolean on;
  private final long retentionMillis;

  /** The hour whose rows were last pruned (under {@code flushing}). */
  private long prunedHour = Long.MIN_VALUE;

  private final KeyStore store;
  private final LongSupplier clock;
  private final BackgroundThread flusher;

  /**
   * Every cell counted in the last two hours. Counts only grow; a flush writes what they gained
   * since the last one, so a recording racing a flush lands in this batch or the next, never
   * nowhere. Cells of hours past are removed once nothing can still add to them.
   */
  private final ConcurrentHashMap<Cell, Counts> cells = new ConcurrentHashMap<>();

  /**
   * What was counted and not yet written (the database did not take it), by cell: a later flush
   * adds to a cell's row rather than adding rows. Guarded by {@code flushing}.
   */
  private final Map<Cell, long[]> pending = new java.util.HashMap<>();

  private final AtomicLong dropped = new AtomicLong();
  private final Object flushing = new Object();

  /**
   * @param store where the rows go
   * @param clock the time, in epoch milliseconds (the hours the counts fall in)
   * @param interval how often they are written; zero: only when {@link #flush} is called
   */
  public UsageRecorder(KeyStore store, LongSupplier clock, Duration interval) {
    this(store, clock, interval, true, Duration.ZERO);
  }

  /** As above, deleting rows older than {@code retention} once an hour (zero: never). */
  public UsageRecorder(KeyStore store, LongSupplier clock, Duration interval, Duration retention) {
    this(store, clock, interval, true, retention);
  }

  private UsageRecorder(
      KeyStore store, LongSupplier clock, Duration interval, boolean on, Duration retention) {
    this.on = on;
    this.retentionMillis = retention.toMillis();
    this.store = store;
    this.clock = clock;
    if (interval.isZero()) {
      this.flusher = null;
    } else {
      this.flusher = new BackgroundThread("fairshare-usage-flush");
      long millis = interval.toMillis();
      flusher
          .executor()
          .scheduleWithFixedDelay(this::flushQuietly, millis, millis, TimeUnit.MILLISECONDS);
    }
  }

  /** A recorder that keeps nothing ({@code fairshare.usage.history=false}). */
  public static UsageRecorder off(KeyStore store) {
    return new UsageRecorder(store, () -> 0, Duration.ZERO, false, Duration.ZERO);
  }

  /** A call of key {@code token} on {@code model} settled at {@code nowMillis}. */
  public void settled(String token, String model, long nowMillis, long input, long output) {
    if (!on) {
      return;
    }
    Counts c = counts(token, model, nowMillis);
    if (c != null) {
      c.input.add(input);
      c.output.add(output);
      c.calls.increment();
    }
  }

  /** A call of key {@code token} on {@code model} refused for rate at {@code nowMillis}. */
  public void refused(String token, String model, long nowMillis) {
    if (!on) {
      return;
    }
    Counts c = counts(token, model, nowMillis);
    if (c != null) {
      c.refusals.increment();
    }
  }

  private Counts counts(String token, String model, long nowMillis) {
    Cell cell = new Cell(token, model, UsageRow.hourOf(nowMillis));
    Counts c = cells.get(cell);
    if (c != null) {
      return c;
    }
    if (cells.size() >= MAX_PENDING_ROWS) {
      dropped.incrementAndGet();
      return null;
    }
    return cells.computeIfAbsent(cell, k -> new Counts());
  }

  /**
   * Writes what was counted since the last flush (and any batch the database did not take).
   *
   * @throws KeyStoreException when the database does not take it (it is kept for the next flush)
   */
  public void flush() {
    synchronized (flushing) {
      long thisHour = UsageRow.hourOf(clock.getAsLong());
      for (Map.Entry<Cell, Counts> e : cells.entrySet()) {
        Counts c = e.getValue();
        long input = c.input.sum() - c.flushedInput;
        long output = c.output.sum() - c.flushedOutput;
        long calls = c.calls.sum() - c.flushedCalls;
        long refusals = c.refusals.sum() - c.flushedRefusals;
        if (input != 0 || output != 0 || calls != 0 || refusals != 0) {
          long[] row = pending.computeIfAbsent(e.getKey(), k -> new long[4]);
          row[0] += input;
          row[1] += output;
          row[2] += calls;
          row[3] += refusals;
          c.flushedInput += input;
          c.flushedOutput += output;
          c.flushedCalls += calls;
          c.flushedRefusals += refusals;
        } else if (e.getKey().hour() < thisHour - UsageRow.HOUR_MILLIS) {
          // Two hours old and nothing new: no call can still be counted there.
          cells.remove(e.getKey(), c);
        }
      }
      long lost = dropped.getAndSet(0);
      if (lost > 0) {
        LOG.warning(
            "FairShare: "
                + lost
                + " usage counts were not kept for the history: "
                + MAX_PENDING_ROWS
                + " rows were waiting for the key database");
      }
      if (pending.isEmpty()) {
        return;
      }
      // In one order on every instance: two batches touching the same rows cannot deadlock
      List<UsageRow> rows = new ArrayList<>();
      pending.forEach(
          (cell, n) ->
              rows.add(
                  new UsageRow(cell.token(), cell.model(), cell.hour(), n[0], n[1], n[2], n[3])));
      rows.sort(
          java.util.Comparator.comparing(UsageRow::token)
              .thenComparing(UsageRow::model)
              .thenComparingLong(UsageRow::hourStartMillis));
      store.addUsage(rows);
      pending.clear();
    }
  }

  /**
   * Deletes the rows older than the retention, at most once an hour.
   *
   * @return how many rows went
   */
  public int pruneIfDue() {
    synchronized (flushing) {
      long hour = UsageRow.hourOf(clock.getAsLong());
      if (retentionMillis <= 0 || hour == prunedHour) {
        return 0;
      }
      int pruned = store.pruneUsage(hour - retentionMillis);
      prunedHour = hour;
      return pruned;
    }
  }

  private void flushQuietly() {
    try {
      flush();
      pruneIfDue();
    } catch (KeyStoreException e) {
      LOG.log(
          Level.WARNING,
          "FairShare: the usage history could not be written ({0}); kept for the next flush",
          e.getMessage());
      trimPending();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "FairShare: the usage history could not be written", e);
      trimPending();
    }
  }

  /** Keeps the rows waiting for the database bounded: the oldest go first. */
  private void trimPending() {
    synchronized (flushing) {
      int excess = pending.size() - MAX_PENDING_ROWS;
      if (excess > 0) {
        // The oldest hours go first
        List<Cell> oldest = new ArrayList<>(pending.keySet());
        oldest.sort(java.util.Comparator.comparingLong(Cell::hour));
        oldest.subList(0, excess).forEach(pending::remove);
        LOG.warning(
            "FairShare: "
                + excess
                + " usage history rows dropped: the key database has not taken them");
      }
    }
  }

  /**
   * Stops the periodic flush, waits for one under way to end (its thread must be gone before the
   * application's class loader and the key database close), and writes what is left.
   */
  @Override
  public void close() {
    if (flusher != null) {
      flusher.stop(10, false);
    }
    try {
      flush();
    } catch (RuntimeException e) {
      LOG.log(
          Level.WARNING,
          "FairShare: the usage history counted since the last flush could not be written at"
              + " stop: {0}",
          e.getMessage());
    }
  }
}
