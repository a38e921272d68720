package dev.fairshare.servlet;

import dev.fairshare.FairShare;
import dev.fairshare.keys.Credentials;
import dev.fairshare.keys.KeyCheck;
import dev.fairshare.keys.KeyStoreException;
import dev.fairshare.openai.ApiError;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Stands in front of the admin API ({@code /key/*}, {@code /config/*}, {@code /usage}): a caller
 * without the master key or a valid key is answered 401 from the headers alone, before any of its
 * body is read (and without waiting for it); a body over {@code fairshare.admin.max-body-size} is
 * 413; the rest is read here, bounded, and handed on; the answer is held and written here. A client
 * that goes away mid-body or mid-answer is dropped without a log line. The key API's own checks
 * (master key for admin operations, an ordinary key only about itself) still apply.
 *
 * <p>Register it for {@code /*} in front of the JAX-RS servlet of the key API (the gateway and the
 * admin WAR do).
 */
public final class KeyApiGuardFilter extends FairShareFilter {

  private static final Logger LOG = Logger.getLogger(KeyApiGuardFilter.class.getName());

  /** The most of a key API answer held (a page of 100 full records is far less). */
  private static final long MAX_ANSWER = 4L * 1024 * 1024;

  /** For {@code web.xml}: the shared instance, built from MicroProfile Config. */
  public KeyApiGuardFilter() {
    super(null);
  }

  /** For programmatic registration with an instance the caller owns. */
  public KeyApiGuardFilter(FairShare fairShare) {
    super(fairShare);
  }

  /**
   * The admin API's paths: the key and team API, the run-time limits, the usage table and history.
   */
  static boolean guarded(String path) {
    for (String prefix : new String[] {"/key", "/team", "/config", "/usage"}) {
      if (path.equals(prefix) || path.startsWith(prefix + "/")) {
        return true;
      }
    }
    return false;
  }

  @Override
  void filter(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    FairShare fairShare = fairShare();
    String path = RequestPaths.canonical(request);
    if (!guarded(path)) {
      chain.doFilter(request, response);
      return;
    }
    if (!RequestPaths.isNormalForm(request, path)) {
      refuse(
          request,
          response,
          ApiError.invalidRequest(
              400, "The request path is not in normal form.", null, "invalid_path"));
      return;
    }
    ApiError refusal;
    try {
      refusal = authenticate(request);
    } catch (KeyStoreException e) {
      LOG.log(Level.WARNING, "FairShare key store unavailable: {0}", e.getMessage());
      refusal = ApiError.unavailable("The API key store is unavailable; please retry shortly.");
    }
    if (refusal != null) {
      refuse(request, response, refusal);
      return;
    }
    long limit = fairShare.config().bounds().adminMaxBodySize();
    if (request.getContentLengthLong() > limit) {
      refuse(request, response, RateLimitFilter.tooLarge(limit).error());
      return;
    }
    byte[] body;
    try {
      body = RateLimitFilter.readBounded(request, limit);
    } catch (IOException e) {
      // The client went away (or was too slow): nothing to log; if it is still there, it is told.
      if (!response.isCommitted()) {
        response.setHeader("Connection", "close");
        response.setStatus(408);
      }
      return;
    }
    if (body == null) {
      refuse(request, response, RateLimitFilter.tooLarge(limit).error());
      return;
    }
    // The answer is held and written here: a client that went away costs no stack trace in the
    // JAX-RS implementation's log (Jersey logs a failed write at SEVERE).
    BufferedResponse held = new BufferedResponse(response, MAX_ANSWER, () -> {});
    chain.doFilter(new ReplayableRequest(request, body), held);
    try {
      if (held.overflowed()) {
        held.finishPassThrough();
      } else {
        held.writeTo(response, held.body());
      }
    } catch (IOException e) {
      // the client went away: nobody to answer, nothing to log
    }
  }

  /** Null when the caller presents the master key or a valid key; else why not. */
  private ApiError authenticate(HttpServletRequest request) {
    String presented = Credentials.from(request::getHeader);
    if (presented == null) {
      return ApiError.invalidApiKey(
          "You didn't provide a key. Send the master key as Authorization: Bearer <master key>.");
    }
    if (fairShare().config().isMasterKey(presented)) {
      return null;
    }
    KeyCheck check = fairShare().keys().authenticate(presented);
    if (check.valid()) {
      return null;
    }
    if (check.status() == KeyCheck.Status.BLOCKED) {
      return ApiError.invalidApiKey("Key is blocked: '" + check.key().displayName() + "'.");
    }
    return ApiError.invalidApiKey("Invalid master key or API key.");
  }

  private static void refuse(
      HttpServletRequest request, HttpServletResponse response, ApiError error) throws IOException {
    Refusals.write(request, response, error);
  }
}
