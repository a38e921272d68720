package dev.fairshare.servlet;

import dev.fairshare.FairShare;
import dev.fairshare.admission.Admissions;
import dev.fairshare.config.FairShareConfig;
import dev.fairshare.core.Decision;
import dev.fairshare.core.Verdict;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.keys.KeyStoreException;
import dev.fairshare.metrics.FairShareMetrics;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.CompletionRequest;
import dev.fairshare.openai.Endpoint;
import dev.fairshare.openai.InvalidRequestException;
import dev.fairshare.openai.RequestReader;
import dev.fairshare.store.UsageStoreUnavailableException;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Rate-limits OpenAI-compatible endpoints: authenticates the API key from the headers, reads the
 * body (within {@code fairshare.max-body-size}), resolves the model, estimates the tokens, asks the
 * usage store, then either answers 429 in OpenAI's shape or runs the endpoint and settles the
 * reservation with the {@code usage} of its response ({@link Settlement}).
 *
 * <p>Register it in {@code web.xml} (configuration from MicroProfile Config) or programmatically
 * with {@link #RateLimitFilter(FairShare)}. The decision is made on the container's decoded,
 * normalised path ({@link RequestPaths}); a raw path not in normal form on a limited prefix is
 * refused 400. {@code POST} requests to the configured paths ({@code fairshare.paths}, with or
 * without {@code /v1}) are limited; other methods on those paths need a valid key and pass.
 */
public final class RateLimitFilter extends FairShareFilter {

  private static final Logger LOG = Logger.getLogger(RateLimitFilter.class.getName());

  /** For {@code web.xml}: the shared instance, built from MicroProfile Config. */
  public RateLimitFilter() {
    super(null);
  }

  /** For programmatic registration with an instance the caller owns. */
  public RateLimitFilter(FairShare fairShare) {
    super(fairShare);
  }

  /** The limited endpoint this filter decided a request for (or refused it at). */
  static final String DECIDED = RateLimitFilter.class.getName() + ".decided";

  /** Requests held for their turn instead of a 429 ({@code fairshare.max-queue-wait}). */
  private volatile WaitingRoom waitingRoom;

  private WaitingRoom waitingRoom() {
    WaitingRoom room = waitingRoom;
    if (room == null) {
      synchronized (this) {
        room = waitingRoom;
        if (room == null) {
          room = new WaitingRoom(fairShare());
          fairShare().metrics().bindWaitingRoom(room::waiting);
          waitingRoom = room;
        }
      }
    }
    return room;
  }

  /** Requests waiting for {@code model} in this filter now; for tests and metrics. */
  public int waiting(String model) {
    WaitingRoom room = waitingRoom;
    return room == null ? 0 : room.waiting(model);
  }

  @Override
  public void destroy() {
    WaitingRoom room = waitingRoom;
    if (room != null) {
      room.close();
    }
  }

  @Override
  void filter(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    FairShare fairShare = fairShare();
    FairShareConfig config = fairShare.config();
    if (request.getDispatcherType() == DispatcherType.ASYNC) {
      // Admitted while it waited: run and settle it now.
      if (request.getAttribute(WaitingRoom.ADMITTED) instanceof WaitingRoom.QueuedAdmission q) {
        request.removeAttribute(WaitingRoom.ADMITTED);
        waitingRoom().dispatchSeen();
        settle(q.admitted(), q.endpoint(), request, response, chain, q.body());
        return;
      }
    }
    String path = RequestPaths.canonical(request);
    Endpoint endpoint = Endpoint.match(path, config.filter().paths());
    if (request.getDispatcherType() == DispatcherType.ASYNC) {
      // An async dispatch of a request this filter decided on passes, to the endpoint it was
      // decided for or to no limited one. Any other (an application dispatching from a path the
      // filter does not limit, or on to another limited endpoint) is judged below like a new
      // request: it must not reach a limited endpoint unlimited.
      Object decided = request.getAttribute(DECIDED);
      if (decided != null && (endpoint == null || endpoint.equals(decided))) {
        chain.doFilter(request, response);
        return;
      }
    }
    if (endpoint != null) {
      request.setAttribute(DECIDED, endpoint);
    }
    boolean normal = RequestPaths.isNormalForm(request, path);
    // Beneath a limited endpoint (OpenAI's stored completions and responses: GET, DELETE, cancel):
    // no call to limit, but an application forwarding them upstream does so with its own key, so
    // they need a valid key of a team not blocked, like a GET of the endpoint itself.
    boolean beneath =
        endpoint == null && normal && RequestPaths.beneathEndpoint(path, config.filter().paths());
    if (endpoint == null
        && !beneath
        && (normal || !RequestPaths.onLimitedPrefix(path, config.filter().paths()))) {
      chain.doFilter(request, response);
      return;
    }
    try {
      if (!normal) {
        // The container and an upstream behind a proxy may read such a path differently: no
        // client of the OpenAI API sends one, so it is refused rather than classified.
        throw new InvalidRequestException(
            ApiError.invalidRequest(
                400,
                "The request path is not in normal form (it has ';' parameters, '%' escapes, dot"
                    + " segments, '//' or is not a plain path); send the plain path, e.g. /v1/chat/completions.",
                null,
                "invalid_path"));
      }
      ApiKey key = Authentication.require(fairShare, request);
      if (beneath) {
        fairShare.admissionPolicy().requireTeamNotBlocked(key);
        if (!RequestPaths.generatesNothing(path, request.getMethod(), config.filter().paths())) {
          // A call there that may generate (POST /v1/responses/compact) cannot be limited here
          throw new InvalidRequestException(
              ApiError.invalidRequest(
                  400,
                  "FairShare does not limit "
                      + request.getMethod()
                      + " on this path, so it does not let it through.",
                  null,
                  "unsupported_endpoint"));
        }
        chain.doFilter(request, response);
        return;
      }
      String method = request.getMethod();
      if (!"POST".equals(method)) {
        // GET and HEAD (OpenAI lists stored completions there) need a key and pass, but carry no
        // body an upstream could take for a call; any other method, "post" included, is refused.
        if (!"GET".equals(method) && !"HEAD".equals(method)) {
          throw new InvalidRequestException(
              new ApiError(
                  405,
                  "Method " + method + " is not allowed here; use POST.",
                  "invalid_request_error",
                  null,
                  "method_not_allowed"));
        }
        if (request.getContentLengthLong() > 0 || request.getHeader("Transfer-Encoding") != null) {
          throw new InvalidRequestException(
              ApiError.invalidRequest(
                  400, "A " + method + " request takes no body.", null, "invalid_request"));
        }
        fairShare.admissionPolicy().requireTeamNotBlocked(key);
        chain.doFilter(request, response);
        return;
      }
      limit(request, response, chain, endpoint, key, config);
    } catch (InvalidRequestException e) {
      fairShare.metrics().refused(FairShareMetrics.Refusal.of(e.error()));
      Refusals.write(request, response, e);
    } catch (KeyStoreException e) {
      fairShare.metrics().refused(FairShareMetrics.Refusal.STORE_DOWN);
      LOG.log(Level.WARNING, "FairShare key store unavailable: {0}", e.getMessage());
      Refusals.write(
          request,
          response,
          ApiError.unavailable("The API key store is unavailable; please retry shortly."));
    } catch (UsageStoreUnavailableException e) {
      // Logged (throttled) by the store. Closed failure mode: refuse rather than guess.
      fairShare.metrics().refused(FairShareMetrics.Refusal.STORE_DOWN);
      unavailable(request, response, STORE_UNAVAILABLE);
    }
  }

  private static final String STORE_UNAVAILABLE =
      "The rate limiter's shared store is unavailable; please retry shortly.";

  /** A 503 that asks the client to retry in a second. */
  private static void unavailable(
      HttpServletRequest request, HttpServletResponse response, String message) throws IOException {
    response.setHeader("retry-after", "1");
    Refusals.write(request, response, ApiError.unavailable(message));
  }

  private void limit(
      HttpServletRequest request,
      HttpServletResponse response,
      FilterChain chain,
      Endpoint endpoint,
      ApiKey key,
      FairShareConfig config)
      throws IOException, ServletException, InvalidRequestException {
    FairShare fairShare = fairShare();
    byte[] body = readBody(request, config.filter().maxBodySize());
    CompletionRequest parsed = RequestReader.read(body);
    Admissions admissions = fairShare.admissionPolicy();
    Admissions.Outcome outcome = admissions.admit(key, parsed, endpoint);
    if (outcome instanceof Admissions.Refused refused) {
      WaitingRoom room = waitingRoom();
      boolean async = request.isAsyncSupported() && !room.dispatchMissed();
      WaitingRoom.Place place =
          room.mayWait(refused, 0)
              ? room.enter(refused.model(), key.token(), body.length, !async)
              : null;
      if (place != null) {
        // Each decision looks the key up again: one blocked, deleted or expired while its call
        // waited is refused then, with its current limits otherwise.
        WaitingRoom.Again again =
            () -> admissions.admit(Authentication.require(fairShare, request), parsed, endpoint);
        if (async) {
          ReplayableRequest replayable = new ReplayableRequest(request, body);
          AsyncContext context;
          try {
            context = request.startAsync(replayable, response);
          } catch (IllegalStateException e) {
            // The container would not go asynchronous after all: answer now.
            place.leave();
            refuseForRate(
                response, refused.decision(), key, refused.model(), refused.requested(), config);
            return;
          }
          try {
            room.waitAsync(
                context,
                replayable,
                place,
                refused,
                again,
                new AsyncEnding(context, replayable, response, key, endpoint, body, config));
          } catch (RuntimeException e) {
            place.leave();
            context.complete();
            throw e;
          }
          return;
        }
        try {
          outcome = room.waitHere(refused, again);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt(); // answered with the first refusal
        } finally {
          place.leave();
        }
      }
    }
    if (outcome instanceof Admissions.Refused refused) {
      refuseForRate(
          response, refused.decision(), key, refused.model(), refused.requested(), config);
    } else if (outcome instanceof Admissions.Admitted admitted) {
      settle(admitted, endpoint, request, response, chain, body);
    }
  }

  private void settle(
      Admissions.Admitted admitted,
      Endpoint endpoint,
      HttpServletRequest request,
      HttpServletResponse response,
      FilterChain chain,
      byte[] body)
      throws IOException, ServletException {
    FairShare fairShare = fairShare();
    fairShare.metrics().admitted(admitted.completion().model(), admitted.decision().usage());
    new Settlement(fairShare, admitted, endpoint).run(request, response, chain, body);
  }

  /**
   * How a wait without a thread ends: an admission is dispatched back through the filter; a 429 or
   * a store failure is written and the request completed. Each runs on the waiting room's timer.
   */
  private final class AsyncEnding implements WaitingRoom.Ending {
    private final AsyncContext context;
    private final HttpServletRequest request;
    private final HttpServletResponse response;
    private final ApiKey key;
    private final Endpoint endpoint;
    private final byte[] body;
    private final FairShareConfig config;

    AsyncEnding(
        AsyncContext context,
        HttpServletRequest request,
        HttpServletResponse response,
        ApiKey key,
        Endpoint endpoint,
        byte[] body,
        FairShareConfig config) {
      this.context = context;
      this.request = request;
      this.response = response;
      this.key = key;
      this.endpoint = endpoint;
      this.body = body;
      this.config = config;
    }

    @Override
    public void admitted(Admissions.Admitted admitted) {
      request.setAttribute(
          WaitingRoom.ADMITTED, new WaitingRoom.QueuedAdmission(admitted, endpoint, body));
      context.dispatch();
    }

    @Override
    public void refused(Admissions.Refused refused) {
      try {
        refuseForRate(
            response, refused.decision(), key, refused.model(), refused.requested(), config);
      } catch (IOException | RuntimeException e) {
        // The client is gone, or the container is done with the request: nothing was
        // admitted, nothing to settle.
      } finally {
        completeQuietly();
      }
    }

    private void completeQuietly() {
      try {
        context.complete();
      } catch (IllegalStateException alreadyOver) {
        // The container completed it.
      }
    }

    @Override
    public void failed(Exception e) {
      try {
        if (e instanceof UsageStoreUnavailableException) {
          unavailable(request, response, STORE_UNAVAILABLE);
        } else if (e instanceof InvalidRequestException invalid) {
          Refusals.write(request, response, invalid);
        } else {
          LOG.log(Level.WARNING, "FairShare: a waiting request could not be decided", e);
          unavailable(
              request,
              response,
              "The request could not be decided while it waited for its turn; please retry"
                  + " shortly.");
        }
      } catch (IOException | RuntimeException ignored) {
        // The client is gone, or the container is done with the request.
      } finally {
        completeQuietly();
      }
    }
  }

  private void refuseForRate(
      HttpServletResponse response,
      Decision decision,
      ApiKey key,
      String model,
      long requested,
      FairShareConfig config)
      throws IOException {
    FairShare fairShare = fairShare();
    fairShare.metrics().refused(model, key, decision.verdict(), decision.usage());
    fairShare.history().refused(key.token(), config.countedAs(model), fairShare.clock().millis());
    RateLimitHeaders.apply(response, decision.usage());
    RateLimitHeaders.applyRetry(response, decision, config.filter().clientRetryMaxWait());
    if (decision.verdict() == Verdict.REQUEST_TOO_LARGE) {
      response.setHeader("x-should-retry", "false"); // no wait admits it
    }
    ErrorResponses.write(response, RateLimitMessages.of(decision, key, model, requested, config));
  }

  private static byte[] readBody(HttpServletRequest request, long maxBodySize)
      throws IOException, InvalidRequestException {
    long declared = request.getContentLengthLong();
    if (declared > maxBodySize) {
      throw tooLarge(maxBodySize);
    }
    byte[] body;
    try {
      body = readBounded(request, maxBodySize);
    } catch (IOException e) {
      // The client went away or was too slow (the container's minimum data rate): nothing was
      // admitted, nothing to settle.
      throw new InvalidRequestException(
          ApiError.invalidRequest(
              400, "The request body could not be read.", null, "body_not_read"));
    }
    if (body == null) {
      throw tooLarge(maxBodySize);
    }
    return body;
  }

  /**
   * The whole body, or null when it is longer than {@code limit} bytes (reading stops there). Not
   * closed: the container owns the stream, and a refusal after this may still look at it
   * (UnreadBody); on Tomcat a closed stream throws where a read-out one answers -1.
   */
  static byte[] readBounded(HttpServletRequest request, long limit) throws IOException {
    long declared = request.getContentLengthLong();
    InputStream in = request.getInputStream();
    // Read straight into the array returned: a body of the declared length takes one array of its
    // size (no copy buffer, no final copy). What a client declares is not trusted with memory: the
    // array starts at most FIRST_READ long and grows as bytes actually arrive.
    long first = declared >= 0 && declared <= limit ? declared : Math.min(1024, limit);
    byte[] body = new byte[(int) Math.min(first, FIRST_READ)];
    int size = 0;
    while (true) {
      if (size == body.length) {
        // Full: one more byte says whether the body ended here (always so at a declared length:
        // containers end the stream there) or goes on into a larger array, never past the limit.
        int next = in.read();
        if (next == -1) {
          return body;
        }
        body = grow(body, size, limit);
        if (body == null) {
          return null;
        }
        body[size++] = (byte) next;
        continue;
      }
      int n = in.read(body, size, body.length - size);
      if (n == -1) {
        return Arrays.copyOf(body, size);
      }
      size += n;
    }
  }

  /** The first array of a body read: a declared length larger than this is grown into. */
  private static final int FIRST_READ = 64 * 1024;

  /** {@code body} with room for more, never past {@code limit} bytes; null when full at it. */
  private static byte[] grow(byte[] body, int size, long limit) {
    if (size >= limit) {
      return null;
    }
    long larger = Math.min(Math.min(limit, Integer.MAX_VALUE - 8), Math.max(1024, 2L * size));
    return larger > size ? Arrays.copyOf(body, (int) larger) : null;
  }

  static InvalidRequestException tooLarge(long maxBodySize) {
    return new InvalidRequestException(
        ApiError.invalidRequest(
            413,
            "The request body is larger than the limit of " + maxBodySize + " bytes.",
            null,
            "request_too_large"));
  }
}
