package dev.fairshare.servlet;

import dev.fairshare.FairShare;
import dev.fairshare.admission.Admissions;
import dev.fairshare.core.Decision;
import dev.fairshare.openai.Endpoint;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletRequest;
import java.time.Duration;
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
 * each new wait still ends within the bound; it ends in an admission or a 429, never later than the
 * bound (plus one decision).
 *
 * <p>With the Servlet async API ({@link jakarta.servlet.ServletRequest#isAsyncSupported()}), no
 * container thread is held while a request waits: a timer decides again, and an admitted request is
 * dispatched back through the filter ({@link jakarta.servlet.DispatcherType#ASYNC}), which then
 * runs the call and settles it. That needs the filter mapped for ASYNC dispatches; where it is not
 * (the endpoint ran without the filter), the admission is settled at its reservation when the
 * request completes, a warning is logged once, and later waits block instead. Without async support
 * the container thread waits (bounded by the same limits).
 *
 * <p>What is refused for good, or by the key's own limits, never waits: only the model's room does.
 * Fair order between waiting keys is the engine's (tickets in the token-bucket pool).
 */
final class WaitingRoom implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(WaitingRoom.class.getName());

  /** The request attribute that carries an admission made while waiting to the ASYNC dispatch. */
  static final String ADMITTED = WaitingRoom.class.getName() + ".admitted";

  /** An admission made while waiting, for the filter's ASYNC dispatch to run and settle. */
  record QueuedAdmission(Admissions.Admitted admitted, Endpoint endpoint, byte[] body) {}

  /** Decides a waiting request again. */
  @FunctionalInterface
  interface Again {
    Admissions.Outcome admit() throws Exception;
  }

  /** What becomes of an asynchronous wait. */
  interface Ending {
    /** Admitted: dispatch it. */
    void admitted(Admissions.Admitted admitted);

    /** Still refused past the bound: answer 429 with this refusal. */
    void refused(Admissions.Refused refused);

    /** Deciding again failed (a store down): answer with what the filter answers then. */
    void failed(Exception e);
  }

  private final FairShare fairShare;
  private final long maxWaitMillis;
  private final int maxQueued;
  private final ConcurrentHashMap<String, AtomicInteger> waiting = new ConcurrentHashMap<>();
  private final AtomicBoolean dispatchMissed = new AtomicBoolean();
  private volatile ScheduledExecutorService timer;

  WaitingRoom(FairShare fairShare) {
    this.fairShare = fairShare;
    Duration wait = fairShare.config().filter().maxQueueWait();
    this.maxWaitMillis = wait.toMillis();
    this.maxQueued = fairShare.config().filter().maxQueued();
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

  /** Takes one of {@code model}'s places; false when they are all taken. */
  boolean enter(String model) {
    AtomicInteger count = waiting.computeIfAbsent(model, m -> new AtomicInteger());
    if (count.incrementAndGet() > maxQueued) {
      count.decrementAndGet();
      return false;
    }
    return true;
  }

  /** Gives back a place taken by {@link #enter}. */
  void leave(String model) {
    AtomicInteger count = waiting.get(model);
    if (count != null) {
      count.decrementAndGet();
    }
  }

  /** Requests waiting for {@code model} now; for tests and metrics. */
  int waiting(String model) {
    AtomicInteger count = waiting.get(model);
    return count == null ? 0 : count.get();
  }

  /** Whether an ASYNC dispatch is known not to reach the filter (waits then block). */
  boolean dispatchMissed() {
    return dispatchMissed.get();
  }

  /**
   * Waits in the calling thread: sleeps until each retry time and decides again, until admitted or
   * the next wait would pass the bound. The caller holds a place ({@link #enter}) and gives it
   * back.
   */
  Admissions.Outcome waitHere(Admissions.Refused first, Again again) throws Exception {
    long start = System.nanoTime();
    Admissions.Refused refused = first;
    while (true) {
      Thread.sleep(Math.max(1, refused.decision().retryAfterMillis()));
      Admissions.Outcome outcome = again.admit();
      if (!(outcome instanceof Admissions.Refused next) || !mayWait(next, elapsedMillis(start))) {
        return outcome;
      }
      refused = next;
    }
  }

  /**
   * Waits without a thread: {@code context} (started by the caller, who holds a place) is decided
   * again at each retry time on the timer, and ends once through {@code ending}; a client that goes
   * away leaves at once. The place is given back when the wait ends.
   */
  void waitAsync(
      AsyncContext context,
      ServletRequest request,
      String model,
      Admissions.Refused first,
      Again again,
      Ending ending) {
    AsyncWait wait = new AsyncWait(context, request, model, System.nanoTime(), again, ending);
    // The timer's own bound is a backstop: every wait ends by then through a decision.
    context.setTimeout(maxWaitMillis + 30_000);
    context.addListener(new WaitListener(wait));
    wait.schedule(first.decision().retryAfterMillis());
  }

  /**
   * Called when a request that was dispatched with an admission completes: if the filter never took
   * the admission (not mapped for ASYNC), it is settled here at its reservation and waits block
   * from now on.
   */
  private void completedAfterDispatch(ServletRequest request) {
    // Not context.getRequest(): illegal once dispatched (Tomcat throws).
    Object left = request.getAttribute(ADMITTED);
    if (left instanceof QueuedAdmission queued) {
      request.removeAttribute(ADMITTED);
      var reservation = queued.admitted().decision().reservation();
      fairShare
          .admissions()
          .settleWithoutWaiting(reservation, reservation.tokens(), fairShare.clock().millis());
      if (dispatchMissed.compareAndSet(false, true)) {
        LOG.warning(
            "FairShare: a request admitted after waiting was dispatched back but RateLimitFilter"
                + " did not see it; map the filter for ASYNC dispatches"
                + " (<dispatcher>REQUEST</dispatcher><dispatcher>ASYNC</dispatcher>). It was"
                + " charged its reservation; requests now wait in the container's thread.");
      }
    }
  }

  /**
   * Real time waited since {@code startNanos}: the bound is the client's, whatever the decisions'
   * clock says (a frozen test clock would otherwise hold a request for ever).
   */
  private static long elapsedMillis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  private ScheduledExecutorService timer() {
    ScheduledExecutorService t = timer;
    if (t == null) {
      synchronized (this) {
        t = timer;
        if (t == null) {
          t =
              Executors.newSingleThreadScheduledExecutor(
                  r -> {
                    Thread thread = new Thread(r, "fairshare-waiting-room");
                    thread.setDaemon(true);
                    return thread;
                  });
          timer = t;
        }
      }
    }
    return t;
  }

  @Override
  public void close() {
    ScheduledExecutorService t = timer;
    if (t != null) {
      t.shutdownNow();
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
        wait.timedOut();
      }
    }

    @Override
    public void onError(AsyncEvent event) {
      if (wait != null) {
        wait.failed();
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
   * One request waiting without a thread; ends exactly once. Its events come through a {@link
   * WaitListener} (it is no AsyncListener itself: see there).
   */
  private final class AsyncWait {
    private final AsyncContext context;
    private final ServletRequest request;
    private final String model;
    private final long start;
    private final Again again;
    private final Ending ending;

    /** Set once, by whoever ends the wait: a decision, the client leaving, or the backstop. */
    private final AtomicBoolean ended = new AtomicBoolean();

    private volatile boolean dispatched;

    AsyncWait(
        AsyncContext context,
        ServletRequest request,
        String model,
        long start,
        Again again,
        Ending ending) {
      this.context = context;
      this.request = request;
      this.model = model;
      this.start = start;
      this.again = again;
      this.ending = ending;
    }

    void schedule(long delayMillis) {
      try {
        timer().schedule(this::decide, Math.max(1, delayMillis), TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        // Closed while it waited: decide now rather than never.
        decide();
      }
    }

    private void decide() {
      if (ended.get()) {
        return;
      }
      Admissions.Outcome outcome;
      try {
        outcome = again.admit();
      } catch (Exception e) {
        if (end()) {
          ending.failed(e);
        }
        return;
      }
      if (outcome instanceof Admissions.Admitted admitted) {
        if (end()) {
          dispatched = true;
          ending.admitted(admitted);
        } else {
          // The client left while this was decided: it did not happen.
          fairShare
              .admissions()
              .release(admitted.decision().reservation(), fairShare.clock().millis());
        }
        return;
      }
      Admissions.Refused refused = (Admissions.Refused) outcome;
      if (mayWait(refused, elapsedMillis(start))) {
        schedule(refused.decision().retryAfterMillis());
      } else if (end()) {
        ending.refused(refused);
      }
    }

    /** Ends the wait if nobody has; gives the place back. */
    private boolean end() {
      if (ended.compareAndSet(false, true)) {
        leave(model);
        return true;
      }
      return false;
    }

    void timedOut() {
      if (end()) {
        context.complete();
      }
    }

    /** The client went away (or the container failed the request). */
    void failed() {
      if (end()) {
        context.complete();
      }
    }

    void completed() {
      end();
      if (dispatched) {
        completedAfterDispatch(request);
      }
    }

    void startedAgain(AsyncEvent event) {
      // The endpoint went asynchronous after the dispatch. If the filter took the admission,
      // Settlement listens from here; if not, this listener must still see the end to settle it.
      if (dispatched && request.getAttribute(ADMITTED) != null) {
        event.getAsyncContext().addListener(new WaitListener(this));
      }
    }
  }
}
