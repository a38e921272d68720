package dev.fairshare.servlet;

import dev.fairshare.FairShare;
import dev.fairshare.admission.Admissions;
import dev.fairshare.core.Decision;
import dev.fairshare.core.Reservation;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.openai.CompletionRequest;
import dev.fairshare.openai.Endpoint;
import dev.fairshare.openai.RequestRewriter;
import dev.fairshare.openai.StreamUsageTracker;
import dev.fairshare.openai.TokenEstimate;
import dev.fairshare.openai.TokenUsage;
import dev.fairshare.openai.UsageReader;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Runs one admitted call and settles its reservation exactly once, on every path: answered,
 * streamed, abandoned by the client, failed upstream, thrown, or finished asynchronously (complete,
 * error or timeout). What is charged:
 *
 * <ul>
 *   <li>an answer with {@code usage}: that usage, clamped to {@code [min-request-tokens,
 *       max-usage-tokens]};
 *   <li>a whole stream without usage: the prompt estimate plus the streamed text, tool-call
 *       arguments and reasoning, counted;
 *   <li>a stream the client left, that broke off, or whose events were too long to read, and a call
 *       that failed or timed out asynchronously: what was counted as above, but never less than the
 *       reservation (the upstream may have generated more than was relayed);
 *   <li>an answer too large to hold: the reservation;
 *   <li>an upstream error (status 400 or more): nothing (the request still counts); but a 5xx that
 *       came {@code fairshare.upstream-error-charge-after} (30 s) or more after admission: the
 *       reservation (see {@link #failedCall}).
 * </ul>
 */
final class Settlement {

  private final FairShare fairShare;
  private final Decision decision;
  private final Reservation reservation;
  private final CompletionRequest completion;
  private final Endpoint endpoint;
  private final TokenEstimate estimate;
  private final boolean learn;
  private final ApiKey key;
  private final dev.fairshare.admission.QuotaClaim quota;

  /** When the call was admitted (its settlement began): how long an upstream error took. */
  private final long admittedAtMillis;

  /** Set by the first settlement: every path settles once, even one that threw and ran again. */
  private final AtomicBoolean settledOnce = new AtomicBoolean();

  /**
   * What the answer reported (or, for a stream without a report, what was counted), for metrics.
   */
  private volatile TokenUsage usage;

  /**
   * Set on the request's thread once an asynchronous answer's completion listener is registered:
   * from then on the listener settles, not the thread that ran the endpoint.
   */
  private boolean listenerSettles;

  /**
   * @param admitted the admission (its {@code learn}: whether the reported usage may teach the
   *     estimator, not for unconfigured models, whose names come from clients)
   */
  Settlement(FairShare fairShare, Admissions.Admitted admitted, Endpoint endpoint) {
    this.admittedAtMillis = fairShare.clock().millis();
    this.learn = admitted.learn();
    this.fairShare = fairShare;
    this.decision = admitted.decision();
    this.reservation = decision.reservation();
    this.completion = admitted.completion();
    this.endpoint = endpoint;
    this.estimate = admitted.estimate();
    this.key = admitted.key();
    this.quota = admitted.quota();
  }

  /** Runs the endpoint with {@code body} and settles. */
  void run(HttpServletRequest request, HttpServletResponse response, FilterChain chain, byte[] body)
      throws IOException, ServletException {
    if (completion.stream()) {
      stream(request, response, chain, body);
    } else {
      proceed(new ReplayableRequest(request, body), response, chain);
    }
  }

  /**
   * A non-streaming call: the body is held until its usage is read and the reservation settled, so
   * the headers report the standing after this call. A body larger than {@code
   * fairshare.max-response-buffer} streams through from that point and is charged the reservation.
   */
  private void proceed(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    boolean settled = false;
    BufferedResponse buffered =
        new BufferedResponse(
            response,
            fairShare.config().bounds().maxResponseBuffer(),
            () -> RateLimitHeaders.apply(response, decision.usage()));
    try {
      try {
        chain.doFilter(request, buffered);
      } catch (Throwable e) { // even a checked exception thrown undeclared (precise rethrow)
        // Nothing held is sent: the container answers the throw.
        settleLaterIfAsynchronous(
            request,
            e,
            () -> settleAnswerOnCompletion(request, answered(response, buffered), buffered));
        throw e;
      }
      if (request.isAsyncStarted()) {
        continueAsynchronously(request, response, buffered);
        return;
      }
      int status = buffered.getStatus();
      if (buffered.overflowed()) {
        settle(answeredWith(status, buffered::usage));
        settled = true;
        buffered.finishPassThrough();
        return;
      }
      byte[] body = buffered.body();
      long actual = answeredWith(status, () -> UsageReader.read(body, 0, body.length));
      long now = settle(actual);
      settled = true;
      if (status != 429) {
        // An upstream 429 goes back with the upstream's own rate-limit headers. The standing
        // after this call is worked out here rather than asked of the store: one round trip less.
        RateLimitHeaders.apply(
            response,
            decision.usage().afterSettling(reservation, actual, now, fairShare.config().engine()));
      }
      buffered.writeTo(response, body);
    } finally {
      if (!settled && !listenerSettles) {
        // The endpoint threw: as an upstream error (see failedCall: released, unless it came late,
        // as an application's HTTP client does on its read timeout); but once part of a large
        // answer went out (the client may have left mid-way), the work was done: the reservation.
        settle(buffered.overflowed() ? reservation.tokens() : failedCall(500));
      }
    }
  }

  /**
   * The endpoint answers later, from another thread: the headers show the standing at admission,
   * the bytes pass through, and the reservation is settled when it completes. The listener goes
   * first: once it is registered it owns the settlement, whatever throws next (if registering
   * throws, the caller's finally settles; {@link #settledOnce} stops a second).
   */
  private void continueAsynchronously(
      HttpServletRequest request, HttpServletResponse response, BufferedResponse buffered)
      throws IOException {
    LongSupplier answered = answered(response, buffered);
    AtomicBoolean done = settleAnswerOnCompletion(request, answered, buffered);
    RateLimitHeaders.apply(response, decision.usage());
    buffered.passThroughSettlingBeforeTheEnd(
        () -> {
          if (done.compareAndSet(false, true)) {
            settle(safely(answered));
          }
        });
  }

  /**
   * Registers the settlement of an answer given from another thread, for when the call completes
   * (what it answered) or errs or times out (its reservation, or the usage its answer reported if
   * larger); from then on the listener settles.
   */
  private AtomicBoolean settleAnswerOnCompletion(
      HttpServletRequest request, LongSupplier answered, BufferedResponse buffered) {
    AtomicBoolean done =
        settleOnCompletion(
            request,
            answered,
            () -> Math.max(reservation.tokens(), buffered.usage().map(this::counted).orElse(0L)));
    listenerSettles = true;
    return done;
  }

  /** What an answer given from another thread is charged once it completed. */
  private LongSupplier answered(HttpServletResponse response, BufferedResponse buffered) {
    return () -> answeredWith(response.getStatus(), buffered::usage);
  }

  /**
   * What a non-streamed answer with {@code status} is charged: an error, see {@link #failedCall};
   * else the usage it reported ({@code usage}, read only then), or its reservation without one.
   */
  private long answeredWith(int status, Supplier<Optional<TokenUsage>> usage) {
    return status >= 400
        ? failedCall(status)
        : usage.get().map(this::counted).orElse(reservation.tokens());
  }

  /**
   * A streaming call: bytes pass through as they come; the headers (the standing at admission) go
   * out before the first byte.
   */
  private void stream(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain, byte[] body)
      throws IOException, ServletException {
    boolean injectUsage =
        !completion.streamIncludesUsage()
            && (endpoint == Endpoint.CHAT_COMPLETIONS || endpoint == Endpoint.COMPLETIONS);
    StreamingResponse streaming = null;
    boolean called = false;
    try {
      // Inside the try: whatever throws before the upstream is called still releases the holds
      // (nothing was sent: the tokens go back, the request counts, as for an upstream error).
      byte[] forwarded = injectUsage ? RequestRewriter.withStreamUsage(body) : body;
      streaming =
          new StreamingResponse(
              response,
              new StreamUsageTracker(injectUsage),
              (int) fairShare.config().bounds().maxResponseBuffer());
      RateLimitHeaders.apply(response, decision.usage());
      called = true;
      try {
        chain.doFilter(new ReplayableRequest(request, forwarded), streaming);
      } catch (Throwable e) { // even a checked exception thrown undeclared (precise rethrow)
        StreamingResponse started = streaming;
        settleLaterIfAsynchronous(
            request, e, () -> settleStreamOnCompletion(request, response, started));
        throw e;
      }
      if (request.isAsyncStarted()) {
        // Streamed from another thread after this returns: settle when the stream completes.
        settleStreamOnCompletion(request, response, streaming);
        return;
      }
      streaming.finish();
    } finally {
      if (!listenerSettles) {
        // Worked out safely: a count that throws must not skip the settlement (the reservation).
        StreamingResponse relayed = streaming;
        settle(called ? safely(() -> streamedTokens(relayed, response.getStatus())) : 0);
      }
    }
  }

  /**
   * The endpoint threw {@code thrown}: if it went asynchronous first, another thread may still
   * answer, so the settlement waits for the call's end ({@code register}), not 0 at once, which
   * could undercharge. Whatever registering throws is added to {@code thrown}, which the caller
   * rethrows.
   */
  private static void settleLaterIfAsynchronous(
      HttpServletRequest request, Throwable thrown, Runnable register) {
    if (request.isAsyncStarted()) {
      try {
        register.run();
      } catch (Throwable passing) {
        thrown.addSuppressed(passing);
      }
    }
  }

  private void settleStreamOnCompletion(
      HttpServletRequest request, HttpServletResponse response, StreamingResponse started) {
    settleOnCompletion(
        request,
        () -> streamedTokens(started, response.getStatus()),
        () -> Math.max(reservation.tokens(), generated(started)));
    listenerSettles = true;
  }

  /**
   * Settles an asynchronous call once, when it completes, errs or times out, unless whoever else
   * holds the returned flag set it first. Registered during the original dispatch, so it cannot
   * miss the end.
   */
  private AtomicBoolean settleOnCompletion(
      HttpServletRequest request, LongSupplier completed, LongSupplier failed) {
    AtomicBoolean done = new AtomicBoolean();
    request
        .getAsyncContext()
        .addListener(
            new CompletionListener(
                () -> {
                  if (done.compareAndSet(false, true)) {
                    settle(safely(completed));
                  }
                },
                () -> {
                  if (done.compareAndSet(false, true)) {
                    settle(safely(failed));
                  }
                }));
    return done;
  }

  /**
   * Runs one action when an asynchronous call completes and another when it errs or times out;
   * follows the call into a new async cycle. Public with a public no-argument constructor because
   * WildFly tries to install every {@link AsyncListener} it finds as an EE component and warns
   * ({@code WFLYEE0007}) about one it cannot instantiate; one built that way does nothing.
   */
  public static final class CompletionListener implements AsyncListener {

    private final Runnable completed;
    private final Runnable failed;

    /** For containers that instantiate listeners themselves: does nothing. */
    public CompletionListener() {
      this(() -> {}, () -> {});
    }

    CompletionListener(Runnable completed, Runnable failed) {
      this.completed = completed;
      this.failed = failed;
    }

    @Override
    public void onComplete(AsyncEvent event) {
      completed.run();
    }

    @Override
    public void onTimeout(AsyncEvent event) {
      failed.run();
    }

    @Override
    public void onError(AsyncEvent event) {
      failed.run();
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
      event.getAsyncContext().addListener(this);
    }
  }

  /**
   * What a call answered with an error status is charged: nothing (its tokens go back, the request
   * still counts), unless it is a 5xx that came {@code fairshare.upstream-error-charge-after} or
   * more after admission, or a 408 as late (LiteLLM's and Bedrock's timeouts). Then something
   * between the filter and the model may have given up while the model was still generating: a
   * proxy or load balancer after its timeout (504, Cloudflare's 524, a 502 for a worker killed
   * mid-call). Released, a completion made to outlast such a timeout would cost nothing however
   * much it generated; it is charged its reservation. A 5xx that comes sooner (the upstream is down
   * or refuses at once) generated nothing worth charging.
   */
  private long failedCall(int status) {
    if (status < 500 && status != 408) {
      return 0;
    }
    long elapsed = fairShare.clock().millis() - admittedAtMillis;
    return elapsed >= fairShare.config().filter().upstreamErrorChargeAfter().toMillis()
        ? reservation.tokens()
        : 0;
  }

  /** What {@code amount} says, or the reservation if working it out fails: settled either way. */
  private long safely(LongSupplier amount) {
    try {
      return amount.getAsLong();
    } catch (RuntimeException e) {
      return reservation.tokens();
    }
  }

  /** The tokens an answered call counts, clamped; its reported usage also teaches the estimator. */
  private long counted(TokenUsage reported) {
    TokenUsage sane = reported.clamped(fairShare.config().bounds().maxUsageTokens());
    usage = sane;
    if (learn) {
      fairShare.estimator().observe(completion, endpoint, sane);
    }
    return Math.max(
        fairShare.estimator().minRequestTokens(), sane.counted(fairShare.estimator().tokenCount()));
  }

  private long streamedTokens(StreamingResponse streaming, int status) {
    if (status >= 400) {
      return failedCall(status);
    }
    Optional<TokenUsage> reported = streaming.usage();
    if (reported.isPresent()) {
      return counted(reported.get());
    }
    long generated = generated(streaming);
    // Without a usage report, a stream that did not run to its end may have generated more than
    // was relayed: it costs at least what was reserved for it.
    return streaming.complete() ? generated : Math.max(reservation.tokens(), generated);
  }

  /** The prompt estimate plus what was streamed, counted (not learned from). */
  private long generated(StreamingResponse streaming) {
    long prompt = estimate.promptTokens();
    long output =
        fairShare.estimator().countText(completion.model(), streaming.completionText())
            + streaming.uncountedChars();
    TokenUsage streamed =
        new TokenUsage(prompt, output, prompt + output)
            .clamped(fairShare.config().bounds().maxUsageTokens());
    usage = streamed;
    return Math.max(
        fairShare.estimator().minRequestTokens(),
        streamed.counted(fairShare.estimator().tokenCount()));
  }

  /**
   * Settles without waiting for a shared store's answer (it is queued on the store's connection
   * before this returns, so this instance's next admission sees it); a store that is away is
   * counted and logged by the store. Returns the time of settlement.
   */
  private long settle(long actualTokens) {
    long now = fairShare.clock().millis();
    // Once: whatever throws below (the store, the metrics, the history) sends proceed's finally
    // here a second time, and a second settlement would refund the reservation twice.
    if (!settledOnce.compareAndSet(false, true)) {
      return now;
    }
    TokenUsage reported = usage;
    try {
      fairShare.admissions().settleWithoutWaiting(reservation, actualTokens, now);
    } finally {
      if (quota != null) {
        // Priced by the reported split; without one, what was charged, as prompt tokens
        fairShare
            .quotas()
            .settleQuietly(
                quota,
                reported != null ? reported.input() : actualTokens,
                reported != null ? reported.output() : 0,
                actualTokens,
                now);
      }
    }
    fairShare
        .metrics()
        .settled(completion.model(), key, reservation.tokens(), actualTokens, reported);
    // The history: the reported (or counted) split; without either, what was charged, as input
    fairShare
        .history()
        .settled(
            key.token(),
            fairShare.config().countedAs(completion.model()),
            now,
            reported != null ? reported.input() : actualTokens,
            reported != null ? reported.output() : 0);
    return now;
  }
}
