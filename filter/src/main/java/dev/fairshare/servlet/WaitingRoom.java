package dev.fairshare.servlet;

import dev.fairshare.FairShare;
import dev.fairshare.admission.Admissions;
import dev.fairshare.core.Decision;
import dev.fairshare.openai.Endpoint;
import dev.fairshare.openai.InvalidRequestException;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * Holds a request refused for want of model room until the room it was told of frees up, instead of
 * answering 429 at once (issue 14; {@code fairshare.max-queue-wait}, default 5 s, and {@code
 * fairshare.max-queued} per model). The request is decided again at its retry time, and again while
 * each new wait still ends within the bound; it ends in an admission or a 429 within the bound
 * (plus one decision), or a 503 when deciding fails or the filter stops.
 *
 * <p>With the Servlet async API ({@link jakarta.servlet.ServletRequest#isAsyncSupported()}), no
 * container thread is held while a request waits: a timer decides again, and an admitted request is
 * dispatched back through the filter ({@link jakarta.servlet.DispatcherType#ASYNC}), which then
 * runs the call and settles it. That needs the filter mapped for ASYNC dispatches; where it is not
 * (the endpoint ran without the filter), the admission is settled at its reservation when the
 * request completes; after {@value #MISSES_BEFORE_BLOCKING} such, with none the filter ran, a
 * warning is logged once and later waits block instead. Without async support the container thread
 * waits, and fewer may ({@link #MAX_BLOCKED}).
 *
 * <p>Bounded: places per model ({@code fairshare.max-queued}), per key on a model (an eighth of
 * those, at least one: one greedy key cannot fill the room), and bytes of held bodies ({@link
 * #MAX_HELD_BYTES} in all, an eighth of that per key). What is refused for good, or by the key's
 * own limits, never waits: only the model's room does. Fair order between waiting keys is the
 * engine's (tickets in the token-bucket pool).
 */
final class WaitingRoom implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(WaitingRoom.class.getName());

  /** The request attribute that carries an admission made while waiting to the ASYNC dispatch. */
  static final String ADMITTED = WaitingRoom.class.getName() + ".admitted";

  /** Bytes of request bodies all waiting requests of one filter may hold together. */
  static final long MAX_HELD_BYTES = 64L * 1024 * 1024;

  /** Threads that decide waiting requests again. */
  static final int TIMER_THREADS = 2;

  /** Requests per model that may wait in a container thread (no async support). */
  static final int MAX_BLOCKED = 16;

  /** An admission made while waiting, for the filter's ASYNC dispatch to run and settle. */
  record QueuedAdmission(Admissions.Admitted admitted, Endpoint endpoint, byte[] body) {}

  /** Decides a waiting request again. */
  @FunctionalInterface
  interface Again {
    Admissions.Outcome admit() throws InvalidRequestException;
  }

  /**
   * What becomes of an asynchronous wait. Each runs at most once per wait, and never after the
   * container completed the request (the wait's lock orders them).
   */
  interface Ending {
    /** Admitted: dispatch it back through the filter. */
    void admitted(Admissions.Admitted admitted);

    /** Still refused past the bound: answer 429 with this refusal, then complete. */
    void refused(Admissions.Refused refused);

    /** Deciding failed (a store down), or the filter stops: answer 503, then complete. */
    void failed(Exception e);
  }

  /**
   * What a waiting request holds of one bound: {@code amount} of {@code name}, at most {@code max}.
   */
  private record Share(String name, long amount, long max) {}

  /** One waiting request's shares of the bounds, given back once. */
  final class Place {
    private final List<Share> shares;
    private final AtomicBoolean left = new AtomicBoolean();

    private Place(List<Share> shares) {
      this.shares = shares;
    }

    /** Gives the shares back (again: nothing). */
    void leave() {
      if (left.compareAndSet(false, true)) {
        for (Share share : shares) {
          add(share.name(), -share.amount());
        }
      }
    }
  }

  private final FairShare fairShare;
  private final long maxWaitMillis;
  private final int maxQueued;
  private final int maxQueuedPerKey;

  /**
   * What waiting requests hold, by bound: places per model, per model and key, container threads
   * per model, body bytes in all and per key. A count back at zero is removed, so the map holds the
   * keys waiting now, not every key that ever waited.
   */
  private final ConcurrentHashMap<String, Long> held = new ConcurrentHashMap<>();

  private final Set<AsyncWait> open = ConcurrentHashMap.newKeySet();

  /** Whether the filter ever ran an admission made here (its ASYNC mapping works). */
  private final AtomicBoolean dispatchSeen = new AtomicBoolean();

  private final AtomicBoolean dispatchMissed = new AtomicBoolean();

  /**
   * Admissions whose dispatch the filter never ran. One can be a dispatch the container dropped
   * (the client left, the application stops): waits block only after several, none seen.
   */
  private final AtomicInteger misses = new AtomicInteger();

  static final int MISSES_BEFORE_BLOCKING = 3;
  private volatile boolean closed;
  private volatile ScheduledExecutorService timer;

  WaitingRoom(FairShare fairShare) {
    this.fairShare = fairShare;
    Duration wait = fairShare.config().filter().maxQueueWait();
    this.maxWaitMillis = wait.toMillis();
    this.maxQueued = fairShare.config().filter().maxQueued();
    this.maxQueuedPerKey = Math.max(1, (maxQueued + 7) / 8);
    fairShare.addWaitingSource(this::waiting);
  }

  /**
   * Whether {@code refused} may wait, {@code waitedMillis} after the request came: the model's room
   * refused it (not the key's own limits), and the room it was told of frees within the bound.
   */
  boolean mayWait(Admissions.Refused refused, long waitedMillis) {
    Decision d = refused.decision();
    return maxWaitMillis > 0
        && !d.verdict().isKeyLimit()
        && waitedMillis + d.retryAfterMillis() <= maxWaitMillis;
  }

  /**
   * Takes a place for a request of {@code keyId} on {@code model} holding {@code bytes} of body, in
   * a container thread when {@code blocking}; null when the room, the key's part of it, the bytes
   * (in all or the key's eighth) or the threads are full, or the room is closed.
   */
  Place enter(String model, String keyId, long bytes, boolean blocking) {
    if (closed) {
      return null;
    }
    List<Share> wanted = new ArrayList<>();
    wanted.add(new Share("places\n" + model, 1, maxQueued));
    wanted.add(new Share("key places\n" + model + '\n' + keyId, 1, maxQueuedPerKey));
    if (blocking) {
      wanted.add(new Share("threads\n" + model, 1, Math.min(maxQueued, MAX_BLOCKED)));
    }
    wanted.add(new Share("bytes", bytes, MAX_HELD_BYTES));
    wanted.add(new Share("key bytes\n" + keyId, bytes, MAX_HELD_BYTES / 8));
    List<Share> taken = new ArrayList<>();
    for (Share share : wanted) {
      taken.add(share);
      if (add(share.name(), share.amount()) > share.max()) {
        new Place(taken).leave();
        return null;
      }
    }
    return new Place(taken);
  }

  /** Adds {@code delta} to the count {@code name}; returns the new count. */
  private long add(String name, long delta) {
    if (delta == 0) {
      return held.getOrDefault(name, 0L);
    }
    Long count = held.merge(name, delta, (a, b) -> a + b == 0 ? null : a + b);
    return count == null ? 0 : count;
  }

  /** Requests waiting for {@code model} now; for tests and metrics. */
  int waiting(String model) {
    return held.getOrDefault("places\n" + model, 0L).intValue();
  }

  /** Requests of {@code keyId} waiting for {@code model} now. */
  int waiting(String model, String keyId) {
    return held.getOrDefault("key places\n" + model + '\n' + keyId, 0L).intValue();
  }

  /** Whether an ASYNC dispatch is known not to reach the filter (waits then block). */
  boolean dispatchMissed() {
    return dispatchMissed.get();
  }

  /** The filter ran an admission made here: its ASYNC mapping works. */
  void dispatchSeen() {
    dispatchSeen.set(true);
  }

  /**
   * Waits in the calling thread: sleeps until each retry time and decides again, until admitted or
   * the next wait would pass the bound. The caller holds a place and gives it back.
   */
  Admissions.Outcome waitHere(Admissions.Refused first, Again again)
      throws InvalidRequestException, InterruptedException {
    long start = System.nanoTime();
    Admissions.Refused refused = first;
    while (true) {
      Thread.sleep(Math.max(1, refused.decision().retryAfterMillis()));
      Admissions.Outcome outcome = again.admit();
      if (!(outcome instanceof Admissions.Refused next) || !mayWait(next, elapsedMillis(start))) {
        fairShare
            .metrics()
            .waited(
                first.model(), System.nanoTime() - start, !(outcome instanceof Admissions.Refused));
        return outcome;
      }
      refused = next;
    }
  }

  /**
   * Waits without a thread: {@code context} (started by the caller on {@code request}) is decided
   * again at each retry time on the timer, and ends once through {@code ending}; a client that goes
   * away leaves at once. {@code place} is given back when the wait ends.
   */
  void waitAsync(
      AsyncContext context,
      ServletRequest request,
      Place place,
      Admissions.Refused first,
      Again again,
      Ending ending) {
    AsyncWait wait = new AsyncWait(context, request, place, first, again, ending);
    open.add(wait);
    try {
      // A backstop only: every wait ends by a decision within the bound, unless the timer falls
      // far behind (then the timeout answers 503).
      context.setTimeout(maxWaitMillis + 30_000);
      context.addListener(new WaitListener(wait));
    } catch (RuntimeException e) {
      open.remove(wait);
      throw e;
    }
    wait.schedule(first.decision().retryAfterMillis());
  }

  /**
   * Real time waited since {@code startNanos}: the bound is the client's, whatever the decisions'
   * clock says (a frozen test clock would otherwise hold a request for ever).
   */
  private static long elapsedMillis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  private ScheduledExecutorService timer() {
    if (closed) {
      throw new RejectedExecutionException("the waiting room is closed");
    }
    ScheduledExecutorService t = timer;
    if (t == null) {
      synchronized (this) {
        t = timer;
        if (t == null) {
          // Two threads: a decision may wait on a shared store (Redis: up to its timeout), and
          // one slow decision must not hold every other wait past its bound.
          AtomicInteger n = new AtomicInteger();
          t =
              Executors.newScheduledThreadPool(
                  TIMER_THREADS,
                  r -> {
                    Thread thread = new Thread(r, "fairshare-waiting-room-" + n.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                  });
          timer = t;
        }
      }
    }
    return t;
  }

  /** Stops the timer and ends every wait still open with a 503. */
  @Override
  public void close() {
    closed = true;
    ScheduledExecutorService t = timer;
    if (t != null) {
      t.shutdownNow();
    }
    for (AsyncWait wait : open) {
      wait.fail(new IllegalStateException("FairShare's filter is stopping"));
    }
  }

  /**
   * The container's events of a waiting request, handed to its wait. Public with a no-argument
   * constructor because WildFly installs every AsyncListener class it finds as a component and
   * warns ({@code WFLYEE0007}) about one it cannot instantiate; one built that way does nothing.
   */
  public static final class WaitListener implements AsyncListener {

    private final AsyncWait wait;

    /** For containers that instantiate listeners themselves: does nothing. */
    public WaitListener() {
      this(null);
    }

    WaitListener(AsyncWait wait) {
      this.wait = wait;
    }

    @Override
    public void onComplete(AsyncEvent event) {
      if (wait != null) {
        wait.completed();
      }
    }

    @Override
    public void onTimeout(AsyncEvent event) {
      if (wait != null) {
        wait.fail(new IllegalStateException("the wait outlived its backstop"));
      }
    }

    @Override
    public void onError(AsyncEvent event) {
      if (wait != null) {
        wait.gone();
      }
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
      if (wait != null) {
        wait.startedAgain(event);
      }
    }
  }

  /**
   * One request waiting without a thread; ends exactly once, under its lock: by a decision
   * (admitted and dispatched, or refused), by a failure, or by the container (the client left, the
   * request completed). What ends it first wins; the others do nothing, so nothing is written to a
   * response the container already completed, and an admission that finds the wait ended is
   * released. Its events come through a {@link WaitListener} (it is no AsyncListener itself: see
   * there).
   */
  private final class AsyncWait {
    private final AsyncContext context;
    private final ServletRequest request;
    private final Place place;
    private final long start = System.nanoTime();
    private final Again again;
    private final Ending ending;
    private final Object lock = new Object();
    private Admissions.Refused last;
    private boolean ended;
    private boolean dispatched;

    AsyncWait(
        AsyncContext context,
        ServletRequest request,
        Place place,
        Admissions.Refused first,
        Again again,
        Ending ending) {
      this.context = context;
      this.request = request;
      this.place = place;
      this.last = first;
      this.again = again;
      this.ending = ending;
    }

    void schedule(long delayMillis) {
      try {
        timer().schedule(this::decide, Math.max(1, delayMillis), TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        fail(e); // the filter is stopping
      }
    }

    private void decide() {
      synchronized (lock) {
        if (ended) {
          return;
        }
      }
      if (elapsedMillis(start) > maxWaitMillis) {
        // The timer fell behind: the bound is passed, answer with what was last said.
        refuse(last);
        return;
      }
      Admissions.Outcome outcome;
      try {
        outcome = again.admit();
      } catch (Exception e) {
        fail(e);
        return;
      }
      if (outcome instanceof Admissions.Admitted admitted) {
        admit(admitted);
        return;
      }
      Admissions.Refused refused = (Admissions.Refused) outcome;
      synchronized (lock) {
        last = refused;
      }
      if (mayWait(refused, elapsedMillis(start))) {
        schedule(refused.decision().retryAfterMillis());
      } else {
        refuse(refused);
      }
    }

    private void admit(Admissions.Admitted admitted) {
      synchronized (lock) {
        if (!ended) {
          end();
          dispatched = true;
          try {
            ending.admitted(admitted);
            fairShare.metrics().waited(last.model(), System.nanoTime() - start, true);
            return;
          } catch (RuntimeException e) {
            // The container refused the dispatch (the request is over): nothing ran.
            dispatched = false;
            request.removeAttribute(ADMITTED);
          }
        }
      }
      // The wait ended meanwhile: the admission did not happen.
      try {
        fairShare
            .admissions()
            .release(admitted.decision().reservation(), fairShare.clock().millis());
      } finally {
        if (admitted.quota() != null) {
          fairShare.quotas().releaseQuietly(admitted.quota(), fairShare.clock().millis());
        }
      }
      fairShare.metrics().released(admitted.completion().model());
    }

    private void refuse(Admissions.Refused refused) {
      if (endFirst()) {
        fairShare.metrics().waited(refused.model(), System.nanoTime() - start, false);
        answer(() -> ending.refused(refused));
      }
    }

    /** Ends the wait with a 503 (deciding failed, the filter stops, the backstop). */
    void fail(Exception e) {
      if (endFirst()) {
        answer(() -> ending.failed(e));
      }
    }

    /** Ends the wait if nothing else did; true when this call ended it. */
    private boolean endFirst() {
      synchronized (lock) {
        if (ended) {
          return false;
        }
        end();
        return true;
      }
    }

    /**
     * Writes the answer on a container thread ({@link AsyncContext#start}), not the timer's: a
     * client that stops reading then holds that thread until the container's write timeout, not
     * every other wait. The answer completes the request, and finds it gone quietly.
     */
    private void answer(Runnable write) {
      try {
        context.start(write);
      } catch (RuntimeException containerIsDone) {
        // The request is over (the client left, the application stops): nothing to answer.
      }
    }

    /** The client went away: the wait ends without an answer. */
    void gone() {
      synchronized (lock) {
        if (!ended) {
          end();
          try {
            context.complete();
          } catch (IllegalStateException alreadyOver) {
            // The container completed it.
          }
        }
      }
    }

    void completed() {
      synchronized (lock) {
        if (!ended) {
          end();
        } else if (dispatched) {
          settleIfTheFilterDidNot();
        }
      }
    }

    void startedAgain(AsyncEvent event) {
      // The endpoint went asynchronous after the dispatch. If the filter took the admission,
      // Settlement listens from here; if not, this wait must still see the end to settle it.
      if (dispatched && request.getAttribute(ADMITTED) != null) {
        event.getAsyncContext().addListener(new WaitListener(this));
      }
    }

    private void end() {
      ended = true;
      open.remove(this);
      place.leave();
    }

    /**
     * The request completed after its admission was dispatched: if the filter never took the
     * admission (not mapped for ASYNC), it is settled here at its reservation and, unless the
     * filter has taken one before, waits block from now on. Not context.getRequest(): illegal once
     * dispatched (Tomcat throws).
     */
    private void settleIfTheFilterDidNot() {
      if (!(request.getAttribute(ADMITTED) instanceof QueuedAdmission queued)) {
        return;
      }
      request.removeAttribute(ADMITTED);
      var reservation = queued.admitted().decision().reservation();
      fairShare
          .admissions()
          .settleWithoutWaiting(reservation, reservation.tokens(), fairShare.clock().millis());
      var quota = queued.admitted().quota();
      if (quota != null) {
        var estimate = queued.admitted().estimate();
        fairShare
            .quotas()
            .settleQuietly(
                quota,
                estimate.promptTokens(),
                reservation.tokens() - estimate.promptTokens(),
                reservation.tokens(),
                fairShare.clock().millis());
      }
      if (!dispatchSeen.get()
          && misses.incrementAndGet() >= MISSES_BEFORE_BLOCKING
          && dispatchMissed.compareAndSet(false, true)) {
        LOG.warning(
            "FairShare: a request admitted after waiting was dispatched back but RateLimitFilter"
                + " did not see it; map the filter for ASYNC dispatches"
                + " (<dispatcher>REQUEST</dispatcher><dispatcher>ASYNC</dispatcher>). It was"
                + " charged its reservation; requests now wait in the container's thread.");
      }
    }
  }
}
