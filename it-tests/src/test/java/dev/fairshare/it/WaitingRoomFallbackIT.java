package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairshare.FairShare;
import dev.fairshare.config.FairShareConfig;
import dev.fairshare.core.Clock;
import dev.fairshare.gateway.GatewaySettings;
import dev.fairshare.gateway.MockModelServlet;
import dev.fairshare.keys.KeySpec;
import dev.fairshare.servlet.RateLimitFilter;
import dev.fairshare.store.MemoryUsageStore;
import jakarta.servlet.DispatcherType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The waiting room where the container cannot serve it as the gateway does: the filter mapped for
 * REQUEST dispatches only (the first held call is dispatched past it, charged its reservation, and
 * later calls wait in the container's thread), and an endpoint without async support (the
 * container's thread waits from the start). Every call still ends in one settlement.
 */
class WaitingRoomFallbackIT {

  static final String MODEL = "my-fake-model";
  static final String WAITING_ROOM = "dev.fairshare.servlet.WaitingRoom";

  @TempDir Path dir;
  Server server;
  FairShare fairShare;
  URI base;
  final HttpClient http = HttpClient.newHttpClient();

  void start(boolean asyncDispatchMapped, boolean endpointAsync) throws Exception {
    Map<String, String> props =
        Map.of(
            "fairshare.master-key",
            "sk-1234",
            "fairshare.keys.jdbc-url",
            "jdbc:h2:file:" + dir.resolve("keys").toAbsolutePath(),
            "fairshare.models." + MODEL + ".tpm",
            "60",
            "fairshare.window",
            "4s");
    fairShare =
        FairShare.create(
            FairShareConfig.read(k -> Optional.ofNullable(props.get(k)), props.keySet()),
            Clock.system());
    server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    FilterHolder filter = new FilterHolder(new RateLimitFilter(fairShare));
    filter.setAsyncSupported(true);
    context.addFilter(
        filter,
        "/*",
        asyncDispatchMapped
            ? EnumSet.of(DispatcherType.REQUEST, DispatcherType.ASYNC)
            : EnumSet.of(DispatcherType.REQUEST));
    ServletHolder model =
        new ServletHolder(
            new MockModelServlet(new GatewaySettings(0, "127.0.0.1", Optional.empty(), Map.of())));
    model.setAsyncSupported(endpointAsync);
    context.addServlet(model, "/v1/chat/completions");
    ServletHolder relay = new ServletHolder(new Relay());
    relay.setAsyncSupported(true);
    context.addServlet(relay, "/relay");
    server.setHandler(context);
    server.start();
    base = URI.create("http://127.0.0.1:" + connector.getLocalPort());
  }

  @AfterEach
  void stop() throws Exception {
    if (server != null) {
      server.stop();
    }
    if (fairShare != null) {
      fairShare.close();
    }
  }

  String key() {
    return fairShare.keys().generate(KeySpec.EMPTY).rawKey();
  }

  int call(String key) throws Exception {
    return post("/v1/chat/completions", key).statusCode();
  }

  /** A chat call to {@code path}, with {@code key} or (null) without one. */
  HttpResponse<String> post(String path, String key) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(base.resolve(path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"model\":\""
                        + MODEL
                        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  int inFlight() {
    return ((MemoryUsageStore) fairShare.usageStore()).inFlight(MODEL);
  }

  @Test
  void withoutTheAsyncMapping_heldCallsAreChargedTheirReservation_andAfterThreeTheyWaitInAThread()
      throws Exception {
    start(false, true);
    String[] keys = {key(), key()};
    try (LogCapture log = LogCapture.start()) {
      // Calls of two keys on a 60-TPM model, 30 each, until four were held. A held call
      // admitted is dispatched past the filter; the endpoint answers and the wait settles it at
      // its reservation. After three of those, a warning, and the fourth waits in the thread.
      int held = 0;
      for (int n = 0; n < 16 && held < 4; n++) {
        long before = System.nanoTime();
        assertThat(call(keys[n % 2])).as("call %d", n).isEqualTo(200);
        if ((System.nanoTime() - before) / 1_000_000 > 500) {
          held++;
        }
      }
      assertThat(held).as("calls that were held").isEqualTo(4);
      await().atMost(Duration.ofSeconds(2)).until(() -> inFlight() == 0);
      assertThat(log.records())
          .filteredOn(r -> WAITING_ROOM.equals(r.getLoggerName()))
          .filteredOn(r -> r.getLevel() == Level.WARNING)
          .singleElement()
          .satisfies(r -> assertThat(r.getMessage()).contains("map the filter for ASYNC"));
    }
  }

  @Test
  void anEndpointWithoutAsyncSupport_waitsInTheContainersThread() throws Exception {
    start(true, false);
    String key1 = key();
    String key2 = key();
    assertThat(call(key1)).isEqualTo(200);
    assertThat(call(key2)).isEqualTo(200);
    long before = System.nanoTime();
    assertThat(call(key2)).isEqualTo(200);
    assertThat((System.nanoTime() - before) / 1_000_000).isBetween(500L, 5_500L);
    await().atMost(Duration.ofSeconds(2)).until(() -> inFlight() == 0);
  }

  /** An application servlet on a path the filter does not limit, dispatching to the model. */
  static final class Relay extends jakarta.servlet.http.HttpServlet {
    @Override
    protected void doPost(
        jakarta.servlet.http.HttpServletRequest request,
        jakarta.servlet.http.HttpServletResponse response) {
      request.startAsync().dispatch("/v1/chat/completions");
    }
  }

  @Test
  void anApplicationsAsyncDispatchToTheModel_isJudgedLikeARequest_notPassedThrough()
      throws Exception {
    start(true, true);
    // No key: through the relay the call must meet the filter as it would directly.
    HttpResponse<String> relayed = post("/relay", null);
    assertThat(relayed.statusCode()).as(relayed.body()).isEqualTo(401);
    assertThat(inFlight()).isZero();
  }
}
