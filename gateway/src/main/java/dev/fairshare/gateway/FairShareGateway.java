package dev.fairshare.gateway;

import dev.fairshare.FairShare;
import dev.fairshare.admin.ConfigResource;
import dev.fairshare.admin.HealthResource;
import dev.fairshare.admin.InternalErrorMapper;
import dev.fairshare.admin.JerseySettings;
import dev.fairshare.admin.KeyResource;
import dev.fairshare.admin.NoStoreHeaders;
import dev.fairshare.admin.TeamResource;
import dev.fairshare.admin.UsageResource;
import dev.fairshare.admin.WebErrorMapper;
import dev.fairshare.core.Clock;
import dev.fairshare.servlet.AdminPageServlet;
import dev.fairshare.servlet.KeyApiGuardFilter;
import dev.fairshare.servlet.MetricsServlet;
import dev.fairshare.servlet.RateLimitFilter;
import dev.fairshare.servlet.RequestBodyDrainFilter;
import jakarta.servlet.DispatcherType;
import java.net.URI;
import java.util.EnumSet;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.glassfish.jersey.server.ResourceConfig;
import org.glassfish.jersey.server.ServerProperties;
import org.glassfish.jersey.servlet.ServletContainer;

/**
 * The embedded gateway: Jetty 12 with {@link RateLimitFilter} in front of the OpenAI paths, the key
 * API at {@code /key/*}, {@code /health}, and the mock model. The integration tests start the same
 * class on port 0.
 */
public final class FairShareGateway implements AutoCloseable {

  /**
   * Jersey warns that instance-registered resources "will be ignored" as providers although they
   * are served as resources; kept at SEVERE so the start-up log does not say the key API is off. A
   * strong reference, since java.util.logging holds loggers weakly.
   */
  private static final Logger JERSEY_PROVIDERS =
      Logger.getLogger("org.glassfish.jersey.internal.inject.Providers");

  static {
    JERSEY_PROVIDERS.setLevel(Level.SEVERE);
  }

  private final Server server;
  private final FairShare fairShare;
  private final ServerConnector connector;
  private final RateLimitFilter rateLimitFilter;

  private FairShareGateway(
      Server server,
      ServerConnector connector,
      FairShare fairShare,
      RateLimitFilter rateLimitFilter) {
    this.server = server;
    this.connector = connector;
    this.fairShare = fairShare;
    this.rateLimitFilter = rateLimitFilter;
  }

  /**
   * Starts a gateway. The configuration must carry a master key.
   *
   * @throws Exception when Jetty cannot start (port taken, ...)
   */
  public static FairShareGateway start(GatewayConfiguration configuration, Clock clock)
      throws Exception {
    return start(configuration, clock, null);
  }

  /**
   * Starts a gateway whose models' limits and priorities are read again from {@code reread} every
   * {@code fairshare.config-refresh}.
   */
  public static FairShareGateway start(
      GatewayConfiguration configuration,
      Clock clock,
      java.util.function.Supplier<GatewayConfiguration> reread)
      throws Exception {
    if (configuration.fairShare().masterKey().isEmpty()) {
      throw new IllegalArgumentException("the gateway needs fairshare.master-key");
    }
    FairShare fairShare =
        FairShare.create(
            configuration.fairShare(),
            clock,
            reread == null ? null : () -> reread.get().fairShare());
    GatewaySettings settings = configuration.gateway();
    Server server = new Server();
    HttpConfiguration http = new HttpConfiguration();
    // A body trickled in cannot hold a thread: below the rate the read fails and the request ends.
    http.setMinRequestDataRate(settings.connections().minRequestDataRate());
    ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
    connector.setIdleTimeout(settings.connections().idleTimeout().toMillis());
    connector.setHost(settings.host());
    connector.setPort(settings.port());
    server.addConnector(connector);

    ServletContextHandler context = new ServletContextHandler("/");
    // First: whatever answers without reading the body (a 404, a 401 of the key API), Jetty keeps
    // the connection for the client's next request.
    context.addFilter(
        new FilterHolder(new RequestBodyDrainFilter()), "/*", EnumSet.of(DispatcherType.REQUEST));
    context.addFilter(
        new FilterHolder(new KeyApiGuardFilter(fairShare)),
        "/*",
        EnumSet.of(DispatcherType.REQUEST));
    RateLimitFilter rateLimitFilter = new RateLimitFilter(fairShare);
    FilterHolder filter = new FilterHolder(rateLimitFilter);
    filter.setAsyncSupported(true);
    // ASYNC too: a request admitted after waiting for its turn comes back through the filter,
    // which runs and settles it (WaitingRoom).
    context.addFilter(filter, "/*", EnumSet.of(DispatcherType.REQUEST, DispatcherType.ASYNC));
    ServletHolder model =
        settings.upstream().isPresent()
            ? new ServletHolder(
                "upstream",
                new UpstreamProxyServlet(
                    settings.upstream().get(), settings.upstreamApiKey().orElse(null)))
            : new ServletHolder("mock-model", new MockModelServlet(settings));
    model.setAsyncSupported(true);
    // Model calls can take minutes (long completions, slow streams).
    model.setInitParameter("timeout", "600000");
    model.setInitParameter("idleTimeout", "600000");
    // Only the limited paths reach the model: a path the filter does not limit must not reach an
    // upstream with the operator's key.
    for (String path : configuration.fairShare().filter().paths()) {
      context.addServlet(model, path);
      context.addServlet(model, "/v1" + path);
    }
    ResourceConfig admin =
        new ResourceConfig()
            .addProperties(JerseySettings.QUIET)
            .register(new KeyResource(fairShare))
            .register(new TeamResource(fairShare))
            .register(new HealthResource(fairShare))
            .register(new UsageResource(fairShare))
            .register(new ConfigResource(fairShare))
            .register(WebErrorMapper.class)
            .register(InternalErrorMapper.class)
            .register(NoStoreHeaders.class)
            .property(ServerProperties.WADL_FEATURE_DISABLE, true);
    context.addServlet(new ServletHolder("fairshare-admin", new ServletContainer(admin)), "/*");
    context.addServlet(
        new ServletHolder("fairshare-metrics", new MetricsServlet(fairShare)), "/metrics");
    context.addServlet(new ServletHolder("fairshare-ui", new AdminPageServlet()), "/ui/*");
    server.setHandler(context);
    try {
      server.start();
    } catch (Exception e) {
      server.stop();
      fairShare.close();
      throw e;
    }
    return new FairShareGateway(server, connector, fairShare, rateLimitFilter);
  }

  /** The port the gateway listens on (the real one when started on port 0). */
  public int port() {
    return connector.getLocalPort();
  }

  /** {@code http://127.0.0.1:<port>}. */
  public URI baseUri() {
    return URI.create("http://127.0.0.1:" + port());
  }

  /** The FairShare instance behind the filter and the key API. */
  public FairShare fairShare() {
    return fairShare;
  }

  /** The rate-limiting filter in front of the model paths. */
  public RateLimitFilter rateLimitFilter() {
    return rateLimitFilter;
  }

  /** Blocks until the server stops. */
  public void join() throws InterruptedException {
    server.join();
  }

  /** Stops Jetty (finishing requests in flight) and closes the stores. */
  @Override
  public void close() throws Exception {
    try {
      server.stop();
    } finally {
      fairShare.close();
    }
  }
}
