package dev.fairshare.servlet;

import dev.fairshare.FairShare;
import dev.fairshare.keys.Credentials;
import dev.fairshare.openai.ApiError;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code GET /metrics}: this instance's meters ({@link dev.fairshare.metrics.FairShareMetrics}) as
 * Prometheus text, for the master key only (the series name keys and models), unless {@code
 * fairshare.metrics.public=true} (a scraper on a private network without the key). Give Prometheus
 * the key with {@code authorization: {credentials_file: ...}} in its scrape configuration.
 *
 * <p>The gateway and the admin WAR map it at {@code /metrics}. In an application of your own that
 * carries {@link RateLimitFilter}, map it in {@code web.xml} to read that application's meters
 * (each web application has its own FairShare instance).
 */
public final class MetricsServlet extends HttpServlet {

  private static final long serialVersionUID = 1L;

  /** Prometheus's text exposition format. */
  public static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final transient FairShare fairShare;

  /** For {@code web.xml}: the shared instance, built from MicroProfile Config. */
  public MetricsServlet() {
    this(null);
  }

  /** For programmatic registration with an instance the caller owns. */
  public MetricsServlet(FairShare fairShare) {
    this.fairShare = fairShare;
  }

  private FairShare fairShare() {
    return fairShare != null ? fairShare : FairShare.shared();
  }

  @Override
  protected void doGet(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    FairShare instance = fairShare();
    if (!instance.config().operations().metricsPublic()
        && !instance.config().isMasterKey(Credentials.from(request::getHeader))) {
      ErrorResponses.write(
          response,
          ApiError.invalidApiKey(
              "The metrics are for the master key only: send it as Authorization: Bearer <master"
                  + " key>."));
      return;
    }
    byte[] text = instance.metrics().scrape().getBytes(StandardCharsets.UTF_8);
    response.setStatus(200);
    response.setContentType(PROMETHEUS_TEXT);
    response.setHeader("Cache-Control", "no-store");
    response.setContentLength(text.length);
    response.getOutputStream().write(text);
  }
}
