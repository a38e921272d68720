package dev.fairshare.servlet;

import dev.fairshare.FairShare;
import dev.fairshare.config.ConfigurationException;
import dev.fairshare.config.FairShareConfig;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.Reservation;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.keys.Credentials;
import dev.fairshare.keys.KeyCheck;
import dev.fairshare.keys.KeyHashing;
import dev.fairshare.keys.KeyStoreException;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.CompletionRequest;
import dev.fairshare.openai.Endpoint;
import dev.fairshare.openai.InvalidRequestException;
import dev.fairshare.openai.RequestReader;
import dev.fairshare.openai.RequestRewriter;
import dev.fairshare.openai.StreamUsageTracker;
import dev.fairshare.openai.TokenEstimate;
import dev.fairshare.openai.TokenUsage;
import dev.fairshare.openai.UsageReader;
import dev.fairshare.store.UsageStoreUnavailableException;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Rate-limits OpenAI-compatible endpoints: authenticates the API key, reads the body (within
 * {@code fairshare.max-body-size}) and hands it on unchanged, estimates the tokens, asks the
 * engine, then either answers 429 in OpenAI's shape or runs the endpoint and settles the
 * reservation with the {@code usage} of its response.
 *
 * <p>Register it in {@code web.xml} (configuration from MicroProfile Config) or programmatically
 * with {@link #RateLimitFilter(FairShare)}. Only {@code POST} requests to the configured paths
 * ({@code fairshare.paths}, with or without {@code /v1}) are limited; everything else passes.
 */
public final class RateLimitFilter implements Filter {

  private static final Logger LOG = Logger.getLogger(RateLimitFilter.class.getName());

  private FairShare fairShare;

  /** For {@code web.xml}: the shared instance is built from MicroProfile Config in {@link #init}. */
  public RateLimitFilter() {}

  /** For programmatic registration with an instance the caller owns. */
  public RateLimitFilter(FairShare fairShare) {
    this.fairShare = fairShare;
  }

  @Override
  public void init(FilterConfig filterConfig) throws ServletException {
    if (fairShare == null) {
      try {
        fairShare = FairShare.shared();
      } catch (ConfigurationException e) {
        throw new ServletException(e.getMessage(), e);
      }
    }
  }

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    if (!(req instanceof HttpServletRequest request) || !(res instanceof HttpServletResponse response)) {
      chain.doFilter(req, res);
      return;
    }
    FairShareConfig config = fairShare.config();
    Endpoint endpoint = "POST".equals(request.getMethod()) ? Endpoint.match(pathOf(request), config.paths()) : null;
    if (endpoint == null) {
      chain.doFilter(request, response);
      return;
    }
    try {
      limit(request, response, chain, endpoint, config);
    } catch (InvalidRequestException e) {
      if (e.error().status() == 413) {
        response.setHeader("Connection", "close"); // the rest of the body is not worth reading
      } else {
        UnreadBody.discard(request, response, config.maxBodySize());
      }
      ErrorResponses.write(response, e.error());
    } catch (KeyStoreException e) {
      LOG.log(Level.WARNING, "FairShare key store unavailable: {0}", e.getMessage());
      UnreadBody.discard(request, response, config.maxBodySize());
      ErrorResponses.write(response, ApiError.unavailable("The API key store is unavailable; please retry shortly."));
    } catch (UsageStoreUnavailableException e) {
      // Logged (throttled) by the store. Closed failure mode: refuse rather than guess.
      response.setHeader("retry-after", "1");
      ErrorResponses.write(
          response, ApiError.unavailable("The rate limiter's shared store is unavailable; please retry shortly."));
    }
  }

  private void limit(
      HttpServletRequest request,
      HttpServletResponse response,
      FilterChain chain,
      Endpoint endpoint,
      FairShareConfig config)
      throws IOException, ServletException, InvalidRequestException {
    ApiKey key = authenticate(request);
    byte[] body = readBody(request, config.maxBodySize());
    CompletionRequest completion = RequestReader.read(body);
    String model = completion.model();
    if (!key.allows(model)) {
      throw new InvalidRequestException(
          ApiError.permissionDenied(
              "Key '" + key.displayName() + "' is not allowed to access model '" + model
                  + "'. Allowed models: " + key.models() + "."));
    }
    ModelCapacity capacity = config.capacityOf(model);
    if (capacity == null) {
      if (config.rejectUnknownModels()) {
        throw new InvalidRequestException(
            ApiError.invalidRequest(
                404, "The model '" + model + "' does not exist or you do not have access to it.",
                "model", "model_not_found"));
      }
      capacity = ModelCapacity.UNLIMITED_MODEL;
    }
    TokenEstimate estimate = fairShare.estimator().estimate(completion, endpoint);
    AdmissionRequest admission =
        new AdmissionRequest(
            key.token(),
            model,
            capacity,
            config.weightOf(key.priority()),
            fairShare.estimator().reservation(estimate),
            limitsOf(key));
    Decision decision = fairShare.usageStore().acquire(admission, fairShare.clock().millis());
    if (!decision.admitted()) {
      RateLimitHeaders.apply(response, decision.usage());
      RateLimitHeaders.applyRetry(response, decision, config.clientRetryMaxWait());
      ErrorResponses.write(response, RateLimitMessages.of(decision, key, model, config));
      return;
    }
    Admitted admitted = new Admitted(decision, completion, endpoint, estimate);
    if (completion.stream()) {
      stream(request, response, chain, body, admitted);
    } else {
      proceed(new ReplayableRequest(request, body), response, chain, admitted);
    }
  }

  /** What the filter knows about an admitted request. */
  private record Admitted(
      Decision decision, CompletionRequest completion, Endpoint endpoint, TokenEstimate estimate) {}

  /**
   * A non-streaming call: the body is held until its usage is read and the reservation settled,
   * so the headers report the standing after this call.
   */
  private void proceed(
      HttpServletRequest request,
      HttpServletResponse response,
      FilterChain chain,
      Admitted admitted)
      throws IOException, ServletException {
    Reservation reservation = admitted.decision().reservation();
    boolean settled = false;
    try {
      BufferedResponse buffered = new BufferedResponse(response);
      chain.doFilter(request, buffered);
      if (request.isAsyncStarted()) {
        // The endpoint answers later, from another thread: the headers show the standing at
        // admission, the bytes pass through, and the reservation is settled when it completes.
        RateLimitHeaders.apply(response, admitted.decision().usage());
        buffered.passThrough();
        settleOnCompletion(request, reservation, () -> {
          byte[] seen = buffered.body();
          if (response.getStatus() >= 400) {
            return 0L;
          }
          return UsageReader.read(seen, 0, seen.length)
              .map(u -> counted(admitted, u))
              .orElse(reservation.tokens());
        });
        settled = true;
        return;
      }
      byte[] body = buffered.body();
      int status = buffered.getStatus();
      long actual = 0; // an upstream error releases the tokens and keeps the request
      if (status < 400) {
        Optional<TokenUsage> usage = UsageReader.read(body, 0, body.length);
        actual = usage.map(u -> counted(admitted, u)).orElse(reservation.tokens());
      }
      long now = settle(reservation, actual);
      settled = true;
      if (status != 429) {
        // An upstream 429 goes back with the upstream's own rate-limit headers. The standing
        // after this call is worked out here rather than asked of the store: one round trip less.
        RateLimitHeaders.apply(
            response, admitted.decision().usage().afterSettling(reservation, actual, now, fairShare.config().engine()));
      }
      buffered.writeTo(response, body);
    } finally {
      if (!settled) {
        // The endpoint threw: release the tokens, keep the request.
        settle(reservation, 0);
      }
    }
  }

  /**
   * A streaming call: bytes pass through as they come; the headers (the standing at admission) go
   * out before the first byte. The stream is settled with its usage chunk, or, without one, with
   * the prompt estimate plus the streamed text counted; a client that leaves mid-stream is charged
   * what was streamed until then.
   */
  private void stream(
      HttpServletRequest request,
      HttpServletResponse response,
      FilterChain chain,
      byte[] body,
      Admitted admitted)
      throws IOException, ServletException {
    CompletionRequest completion = admitted.completion();
    boolean injectUsage =
        !completion.streamIncludesUsage()
            && (admitted.endpoint() == Endpoint.CHAT_COMPLETIONS || admitted.endpoint() == Endpoint.COMPLETIONS);
    byte[] forwarded = injectUsage ? RequestRewriter.withStreamUsage(body) : body;
    StreamingResponse streaming = new StreamingResponse(response, new StreamUsageTracker(injectUsage));
    RateLimitHeaders.apply(response, admitted.decision().usage());
    boolean deferred = false;
    try {
      chain.doFilter(new ReplayableRequest(request, forwarded), streaming);
      if (request.isAsyncStarted()) {
        // Streamed from another thread after this returns: settle when the stream completes.
        settleOnCompletion(
            request,
            admitted.decision().reservation(),
            () -> streamedTokens(streaming, response.getStatus(), admitted));
        deferred = true;
        return;
      }
      streaming.finish();
    } finally {
      if (!deferred) {
        settle(admitted.decision().reservation(), streamedTokens(streaming, response.getStatus(), admitted));
      }
    }
  }

  /**
   * Settles an asynchronous call once, when it completes; on error or timeout with no tokens (the
   * request still counts). Registered during the original dispatch, so it cannot miss the end.
   */
  private void settleOnCompletion(HttpServletRequest request, Reservation reservation, LongSupplier actualTokens) {
    AtomicBoolean done = new AtomicBoolean();
    request.getAsyncContext().addListener(new AsyncListener() {
      @Override
      public void onComplete(AsyncEvent event) {
        if (done.compareAndSet(false, true)) {
          settle(reservation, actualTokens.getAsLong());
        }
      }

      @Override
      public void onTimeout(AsyncEvent event) {
        if (done.compareAndSet(false, true)) {
          settle(reservation, 0);
        }
      }

      @Override
      public void onError(AsyncEvent event) {
        if (done.compareAndSet(false, true)) {
          settle(reservation, 0);
        }
      }

      @Override
      public void onStartAsync(AsyncEvent event) {
        event.getAsyncContext().addListener(this);
      }
    });
  }

  /** The tokens an answered call counts; its reported usage also teaches the estimator. */
  private long counted(Admitted admitted, TokenUsage reported) {
    fairShare.estimator().observe(admitted.completion(), admitted.endpoint(), reported);
    return reported.counted(fairShare.estimator().tokenCount());
  }

  private long streamedTokens(StreamingResponse streaming, int status, Admitted admitted) {
    if (status >= 400) {
      return 0;
    }
    Optional<TokenUsage> reported = streaming.usage();
    if (reported.isPresent()) {
      return counted(admitted, reported.get());
    }
    // No usage chunk: the prompt estimate plus the streamed text, counted (not learned from).
    long prompt = admitted.estimate().promptTokens();
    long completion = fairShare.estimator().countText(admitted.completion().model(), streaming.completionText());
    return new TokenUsage(prompt, completion, prompt + completion).counted(fairShare.estimator().tokenCount());
  }

  /**
   * Settles without waiting for a shared store's answer (it is queued on the store's connection
   * before this returns, so this instance's next admission sees it); a store that is away is
   * counted and logged by the store.
   * Returns the time of settlement.
   */
  private long settle(Reservation reservation, long actualTokens) {
    long now = fairShare.clock().millis();
    fairShare.usageStore().settleWithoutWaiting(reservation, actualTokens, now);
    return now;
  }

  private ApiKey authenticate(HttpServletRequest request) throws InvalidRequestException {
    String raw = Credentials.from(request::getHeader);
    if (raw == null) {
      throw new InvalidRequestException(
          ApiError.invalidApiKey(
              "You didn't provide an API key. You need to provide your API key in an Authorization"
                  + " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."));
    }
    KeyCheck check = fairShare.keys().authenticate(raw);
    return switch (check.status()) {
      case VALID -> check.key();
      case UNKNOWN -> throw new InvalidRequestException(
          ApiError.invalidApiKey("Incorrect API key provided: " + KeyHashing.maskedName(raw) + "."));
      case BLOCKED -> throw new InvalidRequestException(
          ApiError.invalidApiKey("Key is blocked: '" + check.key().displayName() + "'."));
      case EXPIRED -> throw new InvalidRequestException(
          ApiError.invalidApiKey(
              "Key '" + check.key().displayName() + "' expired at " + check.key().expires() + "."));
    };
  }

  private static byte[] readBody(HttpServletRequest request, long maxBodySize)
      throws IOException, InvalidRequestException {
    long declared = request.getContentLengthLong();
    if (declared > maxBodySize) {
      throw tooLarge(maxBodySize);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(declared > 0 ? (int) declared : 1024);
    byte[] chunk = new byte[8192];
    // Not closed: the container owns the stream, and a refusal after this may still look at it
    // (UnreadBody); on Tomcat a closed stream throws where a read-out one answers -1.
    InputStream in = request.getInputStream();
    int n;
    while ((n = in.read(chunk)) != -1) {
      if (out.size() + (long) n > maxBodySize) {
        throw tooLarge(maxBodySize);
      }
      out.write(chunk, 0, n);
    }
    return out.toByteArray();
  }

  private static InvalidRequestException tooLarge(long maxBodySize) {
    return new InvalidRequestException(
        ApiError.invalidRequest(
            413, "The request body is larger than the limit of " + maxBodySize + " bytes.", null,
            "request_too_large"));
  }

  private static KeyLimits limitsOf(ApiKey key) {
    if (key.tpmLimit() == null && key.rpmLimit() == null && key.maxParallelRequests() == null) {
      return KeyLimits.NONE;
    }
    return new KeyLimits(
        orUnlimited(key.tpmLimit()), orUnlimited(key.rpmLimit()), orUnlimited(key.maxParallelRequests()));
  }

  private static long orUnlimited(Long value) {
    return value == null ? ModelCapacity.UNLIMITED : value;
  }

  private static String pathOf(HttpServletRequest request) {
    String uri = request.getRequestURI();
    String context = request.getContextPath();
    return context != null && !context.isEmpty() && uri.startsWith(context) ? uri.substring(context.length()) : uri;
  }

  @Override
  public void destroy() {
    // The shared instance outlives one filter; the owner of a programmatic instance closes it.
  }
}
