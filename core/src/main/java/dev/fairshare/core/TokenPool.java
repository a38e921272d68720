package dev.fairshare.core;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The token-bucket pool of one model (issue 14, {@link EngineSettings.Pool#TOKEN_BUCKET}): the
 * model's tokens refill continuously at {@code C} per window up to a burst {@code B}, as OpenAI's
 * and Azure's own limits do, so room frees at a steady rate instead of when a full window's usage
 * leaves it, and a wait for room is short and can be told exactly.
 *
 * <p>Who may take from it:
 *
 * <ul>
 *   <li>A key <em>within its guaranteed share</em> ({@code C × w / Σw} over the trailing window)
 *       takes as soon as the bucket holds its request on top of the tickets ahead of it. When it
 *       does not, the key takes a <em>ticket</em> for the room it needs, first come first served:
 *       the room then refilled goes to tickets in order, so the retry-after it is told (the time
 *       the bucket needs to hold the tickets ahead and its own) is honest: nobody can overtake it.
 *   <li>A key <em>past</em> its guaranteed share borrows only what is left above every ticket and a
 *       <em>reserve</em> kept for keys within their share (never more than the bucket can hold
 *       beside the request, so a full bucket is always lent out and no refill is thrown away while
 *       a borrower waits).
 * </ul>
 *
 * <p>Over-admission: reservations taken from the bucket in any window are at most {@code C + B},
 * and real usage exceeds that only by estimate errors (a refund returns to the bucket, capped at
 * {@code B}; debt is taken from it, so it can go below zero).
 *
 * <p>Not thread-safe: guarded by the owning {@link ModelWindow}'s caller.
 */
final class TokenPool {

  /** Tokens in the bucket; below zero after debt. */
  private double level;

  /** When {@link #level} was last refilled; {@link Long#MIN_VALUE} before the first use. */
  private long refilledAt = Long.MIN_VALUE;

  /** Tickets in the order they were taken; a key keeps its place when it is turned away again. */
  private final LinkedHashMap<String, Ticket> tickets = new LinkedHashMap<>();

  /**
   * Room owed to a key, until {@code expiresAt}. Guaranteed tickets are served first, in the order
   * they were taken; the others after them, least used first ({@code rank}: the key's usage in the
   * window per unit of weight when it was last turned away).
   */
  private record Ticket(long tokens, boolean guaranteed, double rank, long expiresAt) {}

  /** Where a request stands against the key's shares, which decides what it may take. */
  enum Standing {
    /**
     * Within the key's guaranteed share {@code C × w / Σw}: served first, from the whole bucket.
     */
    GUARANTEED,
    /**
     * Past the guaranteed share but within the key's share of the measured demand (what the other
     * keys leave): served after every guaranteed ticket, never from the reserve.
     */
    WITHIN_SHARE,
    /** Past both: takes only what no ticket and no reserve needs, and holds no ticket. */
    BORROWING
  }

  /**
   * What the pool says to a request.
   *
   * @param admitted whether the bucket holds it now
   * @param room when admitted, the tokens the request may reserve: the bucket less the tickets
   *     ahead of it and any reserve kept from it, never less than what it was judged on
   * @param retryAfterMillis when refused, how long until the bucket holds it, with every ticket
   *     ahead of it (and, for a borrower, all tickets and the reserve) still there
   */
  record Outcome(boolean admitted, long room, long retryAfterMillis) {}

  /** The model's capacity per window and the shape of its bucket, as of one request. */
  record Shape(long capacity, long burst, long reserve, long windowMillis) {

    /** The bucket of {@code capacity} tokens per window under {@code settings}. */
    static Shape of(long capacity, EngineSettings settings) {
      long burst = Math.max(1, (long) Math.ceil(capacity * settings.poolBurst()));
      long reserve = (long) Math.floor(burst * settings.poolReserve());
      return new Shape(capacity, burst, reserve, settings.effectiveWindowMillis());
    }

    /** Milliseconds the bucket needs to gain {@code tokens}; a window when it never refills. */
    long millisFor(double tokens) {
      if (tokens <= 0) {
        return 0;
      }
      if (capacity == 0) {
        return windowMillis;
      }
      return (long) Math.ceil(tokens * windowMillis / capacity);
    }
  }

  /**
   * Whether the bucket holds {@code cost} tokens for {@code keyId} now; takes nothing. A key within
   * a share that is refused takes (or keeps) a ticket, unless the wait is longer than {@code
   * maxWaitMillis} (its client will not come back for it).
   *
   * @param cost the tokens the decision is made on (the request's estimate, at most its share)
   * @param rank the key's usage in the window per unit of weight: within their shares, the least
   *     used key goes first
   */
  Outcome judge(
      String keyId,
      long cost,
      Standing standing,
      double rank,
      Shape shape,
      long maxWaitMillis,
      long nowMillis) {
    refill(shape, nowMillis);
    // Tickets live on the pool's own time, which never goes back: instances sharing a pool whose
    // clocks differ neither drop a ticket early nor keep a used one.
    long poolNow = refilledAt;
    expireTickets(poolNow);
    // A request larger than the bucket waits for a full bucket and leaves it in debt.
    long need = Math.min(cost, shape.burst());
    // The reserve is kept from all but guaranteed requests, but never so much that a full bucket
    // could not lend: refill past the burst would be thrown away.
    long kept =
        standing == Standing.GUARANTEED
            ? 0
            : Math.min(shape.reserve(), Math.max(0, shape.burst() - need));
    double wanted = ticketsAhead(keyId, standing, rank) + kept + need;
    if (standing != Standing.GUARANTEED) {
      // A full bucket lends to anyone: what it would refill past the burst is lost for everybody.
      wanted = Math.min(shape.burst(), wanted);
    }
    double missing = wanted - level;
    if (missing <= 0) {
      // What is left above the others' tickets and the reserve; a full bucket lends at least
      // what the request was judged on.
      long room = (long) Math.floor(level - (wanted - need));
      return new Outcome(true, Math.max(need, room), 0);
    }
    long retryAfter = shape.millisFor(missing);
    if (standing != Standing.BORROWING) {
      if (retryAfter <= maxWaitMillis) {
        // A key turned away again keeps its place in the order (LinkedHashMap.put).
        tickets.put(
            keyId,
            new Ticket(
                need,
                standing == Standing.GUARANTEED,
                rank,
                poolNow + retryAfter + TICKET_GRACE_MILLIS));
      } else {
        tickets.remove(keyId);
      }
    }
    return new Outcome(false, 0, retryAfter);
  }

  /**
   * How long a ticket outlives the retry time it was told: a client retrying at the advised time
   * arrives a little late (network, its own timers); room kept longer is kept for nobody.
   */
  static final long TICKET_GRACE_MILLIS = 1_000;

  /**
   * Takes {@code tokens} admitted for {@code keyId}. Its ticket, if any, is used up, unless the
   * ticket was last renewed for a call of the key told to come back later than now: that call still
   * waits, and keeps the key's place (a ticket is per key, since a retried call carries no identity
   * of the call it retries; without this a key's new calls would take the room kept for its earlier
   * one, sending it to the back of the queue).
   */
  void take(String keyId, long tokens) {
    Ticket ticket = tickets.get(keyId);
    if (ticket != null && refilledAt >= ticket.expiresAt() - TICKET_GRACE_MILLIS) {
      tickets.remove(keyId);
    }
    level -= tokens;
  }

  /** Gives back {@code tokens} (a refund or a release), never past the burst. */
  void giveBack(Shape shape, long tokens, long nowMillis) {
    refill(shape, nowMillis);
    level = Math.min(shape.burst(), level + tokens);
  }

  /**
   * Takes {@code tokens} used above a reservation (debt), but never below {@code -C}: a call that
   * used far more than it reserved (a runaway completion) is paid for by a window's refill, not by
   * hours of waits for every key.
   */
  void charge(Shape shape, long tokens, long nowMillis) {
    refill(shape, nowMillis);
    level = Math.max(-shape.capacity(), level - tokens);
  }

  /**
   * Tokens owed to the tickets served before {@code keyId}'s: guaranteed tickets taken before it
   * (all of them when it holds none); for a request within its share, also every guaranteed ticket
   * and the within-share tickets taken before it; for a borrower, every ticket.
   */
  private long ticketsAhead(String keyId, Standing standing, double rank) {
    long ahead = 0;
    boolean before = true;
    for (Map.Entry<String, Ticket> e : tickets.entrySet()) {
      Ticket t = e.getValue();
      if (e.getKey().equals(keyId)) {
        before = false;
        continue;
      }
      boolean counts =
          switch (standing) {
            case GUARANTEED -> before && t.guaranteed();
            case WITHIN_SHARE -> t.guaranteed() || t.rank() < rank || (t.rank() == rank && before);
            case BORROWING -> true;
          };
      if (counts) {
        ahead += t.tokens();
      }
    }
    return ahead;
  }

  private void expireTickets(long nowMillis) {
    Iterator<Ticket> it = tickets.values().iterator();
    while (it.hasNext()) {
      if (it.next().expiresAt() <= nowMillis) {
        it.remove();
      }
    }
  }

  private void refill(Shape shape, long nowMillis) {
    if (refilledAt == Long.MIN_VALUE) {
      level = shape.burst(); // a new pool starts full
      refilledAt = nowMillis;
      return;
    }
    if (nowMillis > refilledAt) {
      double gained = (double) shape.capacity() * (nowMillis - refilledAt) / shape.windowMillis();
      // Never refilled past the burst; a level above it (the capacity was lowered) only falls.
      if (level < shape.burst()) {
        level = Math.min(shape.burst(), level + gained);
      }
      refilledAt = nowMillis;
    }
  }
}
