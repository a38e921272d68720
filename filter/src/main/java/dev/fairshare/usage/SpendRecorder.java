package dev.fairshare.usage;

import dev.fairshare.keys.KeyStoreException;
import dev.fairshare.keys.SpendRow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Persists what this instance charged to spend and quota counters: added up in memory per (counter,
 * period) and added to the key database's {@code fairshare_spend} every {@code
 * fairshare.usage.flush-interval}, off the request path, and on {@link #close}. Each instance adds
 * only its own charges, so the database holds the sum of all; a ledger that lost a counter (a
 * restart, a Redis {@code FLUSHALL}) reads it back from there, short of at most one interval.
 */
public final class SpendRecorder implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(SpendRecorder.class.getName());

  /** Rows held while the database is away; past this, the new charges are not persisted. */
  static final int MAX_PENDING_ROWS = 100_000;

  private record Cell(String counter, long periodStart) {}

  private final Consumer<List<SpendRow>> store;

  /** What was charged since the last flush, by cell; a flush takes each cell out whole. */
  private final Map<Cell, Long> pending = new ConcurrentHashMap<>();

  private final BackgroundThread flusher = new BackgroundThread("fairshare-spend-flush");
  private final Object flushing = new Object();
  private volatile boolean warnedFull;

  /**
   * Flushes every {@code interval} to {@code store} ({@link dev.fairshare.keys.KeyStore#addSpend},
   * which adds all rows or none and throws when it cannot).
   */
  public SpendRecorder(Consumer<List<SpendRow>> store, Duration interval) {
    this.store = store;
    long every = interval.toMillis();
    flusher
        .executor()
        .scheduleWithFixedDelay(this::flushQuietly, every, every, TimeUnit.MILLISECONDS);
  }

  /** Adds {@code amount} charged to {@code counter} in the period that began at {@code start}. */
  public void charged(String counter, long periodStartMillis, long amount) {
    if (amount == 0) {
      return;
    }
    Cell cell = new Cell(counter, periodStartMillis);
    if (!pending.containsKey(cell) && pending.size() >= MAX_PENDING_ROWS) {
      if (!warnedFull) {
        warnedFull = true;
        LOG.warning(
            "FairShare: the key database has not taken the spend for a while; charges beyond "
                + MAX_PENDING_ROWS
                + " counters are not persisted until it does");
      }
      return;
    }
    pending.merge(cell, amount, Long::sum);
  }

  /**
   * Writes what was charged since the last flush in one transaction; kept for the next one when the
   * database does not take it.
   *
   * @throws KeyStoreException when the database does not take it
   */
  public void flush() {
    synchronized (flushing) {
      List<SpendRow> rows = new ArrayList<>();
      Map<Cell, Long> taken = new java.util.HashMap<>();
      for (Cell cell : List.copyOf(pending.keySet())) {
        // Taken out whole: a charge made meanwhile starts the cell again (merge), never lost.
        Long amount = pending.remove(cell);
        if (amount != null && amount != 0) {
          rows.add(new SpendRow(cell.counter(), cell.periodStart(), amount));
          taken.put(cell, amount);
        }
      }
      try {
        store.accept(rows);
        warnedFull = false;
      } catch (RuntimeException e) {
        taken.forEach((cell, amount) -> pending.merge(cell, amount, Long::sum));
        throw e;
      }
    }
  }

  private void flushQuietly() {
    try {
      flush();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "FairShare: cannot persist the spend yet: {0}", e.getMessage());
    }
  }

  /** Stops the flush thread (waiting for a flush under way) and writes what is left. */
  @Override
  public void close() {
    flusher.stop(10, false);
    flushQuietly();
  }
}
