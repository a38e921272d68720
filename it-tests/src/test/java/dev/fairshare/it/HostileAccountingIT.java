package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fairshare.FairShare;
import dev.fairshare.admission.Admissions;
import dev.fairshare.config.FairShareConfig;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ManualClock;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.keys.KeyHashing;
import dev.fairshare.keys.KeySpec;
import dev.fairshare.openai.RequestReader;
import dev.fairshare.openai.TokenEstimator;
import dev.fairshare.servlet.RateLimitFilter;
import dev.fairshare.store.MemoryUsageStore;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile or broken upstream behind the real filter on Jetty: absurd usage figures, streams
 * without event terminators, answers larger than the buffer, streams the client abandons, calls
 * that fail or time out asynchronously. On every path the call is settled exactly once (nothing
 * left in flight, the exact charge below) and nothing answers 5xx from the filter.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileAccountingIT {

  static final ObjectMapper JSON = new ObjectMapper();
  static final long MAX_USAGE = 1_000;

  @TempDir static Path dir;
  final ManualClock clock = new ManualClock(1_800_000_000_000L);
  Server server;
  FairShare fairShare;
  URI base;
  final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    Map<String, String> props = new HashMap<>();
    props.put("fairshare.master-key", "sk-1234");
    props.put("fairshare.keys.jdbc-url", "jdbc:h2:file:" + dir.resolve("keys").toAbsolutePath());
    props.put("fairshare.max-usage-tokens", Long.toString(MAX_USAGE));
    props.put("fairshare.max-response-buffer", "64KB");
    props.put("fairshare.unknown-models", "allow");
    fairShare =
        FairShare.create(
            FairShareConfig.read(k -> Optional.ofNullable(props.get(k)), props.keySet()), clock);
    server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    FilterHolder filter = new FilterHolder(new RateLimitFilter(fairShare));
    filter.setAsyncSupported(true);
    context.addFilter(filter, "/*", EnumSet.of(DispatcherType.REQUEST));
    ServletHolder hostile = new ServletHolder(new HostileUpstream());
    hostile.setAsyncSupported(true);
    context.addServlet(hostile, "/v1/chat/completions");
    server.setHandler(context);
    server.start();
    base = URI.create("http://127.0.0.1:" + connector.getLocalPort());
  }

  @AfterAll
  void stop() throws Exception {
    server.stop();
    fairShare.close();
  }

  /** Lets the "async-held-open" call complete. */
  static final java.util.concurrent.CountDownLatch COMPLETE_HELD_CALL =
      new java.util.concurrent.CountDownLatch(1);

  /** The upstream: what it does is named by the model. */
  static final class HostileUpstream extends HttpServlet {
    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response)
        throws IOException {
      String model = JSON.readTree(request.getInputStream()).path("model").asText();
      switch (model) {
        case "huge-usage" ->
            json(
                response,
                "{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":9000000000000000,\"total_tokens\":9000000000000005}}");
        case "overflowing-usage" ->
            json(
                response,
                "{\"usage\":{\"prompt_tokens\":9223372036854775807,\"completion_tokens\":9223372036854775807}}");
        case "negative-usage" ->
            json(
                response,
                "{\"usage\":{\"prompt_tokens\":-50,\"completion_tokens\":-50,\"total_tokens\":-100}}");
        case "big-answer" ->
            json(
                response,
                "{\"text\":\"" + "x".repeat(200_000) + "\",\"usage\":{\"total_tokens\":500}}");
        case "no-terminator" -> {
          response.setContentType("text/event-stream");
          OutputStream out = response.getOutputStream();
          for (int i = 0; i < 100; i++) {
            out.write(("data: " + "y".repeat(2_000) + "\n").getBytes(StandardCharsets.UTF_8));
          }
        }
        case "tool-stream" -> {
          response.setContentType("text/event-stream");
          OutputStream out = response.getOutputStream();
          out.write(
              "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"Think about the weather first.\"}}]}\n\n"
                  .getBytes(StandardCharsets.UTF_8));
          for (String part :
              new String[] {
                "{\\\"city\\\":", " \\\"Paris, France\\\",", " \\\"unit\\\": \\\"celsius\\\"}"
              }) {
            out.write(
                ("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\""
                        + part
                        + "\"}}]}}]}\n\n")
                    .getBytes(StandardCharsets.UTF_8));
          }
          out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        }
        case "endless-stream" -> {
          response.setContentType("text/event-stream");
          OutputStream out = response.getOutputStream();
          // Writes until the client has gone (a write then fails), bounded: no end, no usage.
          for (int i = 0; i < 1_000_000; i++) {
            out.write(
                "data: {\"choices\":[{\"delta\":{\"content\":\"word \"}}]}\n\n"
                    .getBytes(StandardCharsets.UTF_8));
            out.flush();
          }
        }
        case "async-held-open" -> {
          // Answers whole, with its length, from another thread, then keeps the call open until
          // the test lets it complete: the client has its answer before any completion event.
          AsyncContext async = request.startAsync();
          async.setTimeout(30_000);
          async.start(
              () -> {
                try {
                  byte[] answer =
                      "{\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":20,\"total_tokens\":30}}"
                          .getBytes(StandardCharsets.UTF_8);
                  HttpServletResponse r = response; // as a proxy does: the response it was given
                  r.setContentType("application/json");
                  r.setContentLength(answer.length);
                  r.getOutputStream().write(answer);
                  r.getOutputStream().flush();
                  COMPLETE_HELD_CALL.await();
                } catch (IOException | InterruptedException e) {
                  Thread.currentThread().interrupt();
                } finally {
                  async.complete();
                }
              });
        }
        case "async-timeout" -> {
          AsyncContext async = request.startAsync();
          async.setTimeout(200); // never completed: the container times it out
        }
        case "async-answer-then-timeout" -> {
          // Answers 200 with a large usage from another thread, then never completes: the
          // container times the call out, and the usage it reported is still what it cost.
          AsyncContext async = request.startAsync();
          async.setTimeout(300);
          async.start(
              () -> {
                try {
                  response.setContentType("application/json");
                  response
                      .getOutputStream()
                      .write(
                          "{\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":890,\"total_tokens\":900}}"
                              .getBytes(StandardCharsets.UTF_8));
                  response.getOutputStream().flush();
                } catch (IOException e) {
                  // the client left: the test then fails on its charge
                }
              });
        }
        case "async-then-throw" -> {
          // Goes asynchronous, then throws from the dispatch: another thread could still answer,
          // so the call is settled when the container ends it, not released at the throw.
          AsyncContext async = request.startAsync();
          async.setTimeout(200);
          throw new IllegalStateException("thrown after startAsync (expected by the test)");
        }
        default ->
            json(
                response,
                "{\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":20,\"total_tokens\":30}}");
      }
    }

    private static void json(HttpServletResponse response, String body) throws IOException {
      response.setContentType("application/json");
      response.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
    }
  }

  String mint() {
    return fairShare.keys().generate(KeySpec.EMPTY).rawKey();
  }

  HttpResponse<String> call(String key, String model, boolean stream) throws Exception {
    String body = body(model, stream);
    return http.send(
        HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
            .header("Authorization", "Bearer " + key)
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static String body(String model, boolean stream) {
    return "{\"model\":\""
        + model
        + "\",\"stream\":"
        + stream
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hi there\"}]}";
  }

  MemoryUsageStore store() {
    return (MemoryUsageStore) fairShare.usageStore();
  }

  long used(String key) {
    AdmissionRequest probe =
        new AdmissionRequest(
            KeyHashing.sha256(key),
            Admissions.UNCONFIGURED_MODELS,
            ModelCapacity.UNLIMITED_MODEL,
            1.0,
            0,
            KeyLimits.NONE);
    return store().peek(probe, clock.millis()).tokens().used();
  }

  long reservation(String model, boolean stream) throws Exception {
    return TestGateway.reservation(fairShare, body(model, stream));
  }

  void assertNothingInFlight() {
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> store().inFlight(Admissions.UNCONFIGURED_MODELS) == 0);
  }

  @Test
  void absurdUsageFiguresAreClampedAndNeverA500() throws Exception {
    String key = mint();
    assertThat(call(key, "huge-usage", false).statusCode()).isEqualTo(200);
    assertThat(used(key)).isEqualTo(MAX_USAGE);
    assertThat(call(key, "overflowing-usage", false).statusCode()).isEqualTo(200);
    assertThat(used(key)).isEqualTo(2 * MAX_USAGE);
    assertThat(call(key, "negative-usage", false).statusCode()).isEqualTo(200);
    assertThat(used(key))
        .as("clamped to nothing, then the minimum a request costs")
        .isEqualTo(2 * MAX_USAGE + 7);
    assertNothingInFlight();
  }

  @Test
  void anAnswerLargerThanTheBufferPassesThroughWholeAndIsChargedTheUsageAtItsEnd()
      throws Exception {
    String key = mint();
    HttpResponse<String> r = call(key, "big-answer", false);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body())
        .hasSize(200_000 + "{\"text\":\"\",\"usage\":{\"total_tokens\":500}}".length());
    assertNothingInFlight();
    assertThat(used(key)).isEqualTo(500);
  }

  @Test
  void aStreamWithoutTerminatorsIsNotHeldAndIsChargedAtLeastItsReservation() throws Exception {
    String key = mint();
    HttpResponse<String> r = call(key, "no-terminator", true);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).hasSize(100 * ("data: ".length() + 2_000 + 1));
    assertNothingInFlight();
    assertThat(used(key)).isEqualTo(reservation("no-terminator", true));
  }

  @Test
  void reasoningAndToolCallArgumentsAreCountedWhenNoUsageComes() throws Exception {
    String key = mint();
    HttpResponse<String> r = call(key, "tool-stream", true);
    assertThat(r.statusCode()).isEqualTo(200);
    assertNothingInFlight();
    TokenEstimator estimator = fairShare.estimator();
    long prompt =
        estimator.promptTokens(
            RequestReader.read(body("tool-stream", true).getBytes(StandardCharsets.UTF_8)));
    long arguments =
        estimator.countText("tool-stream", "{\"city\": \"Paris, France\", \"unit\": \"celsius\"}");
    long reasoning = estimator.countText("tool-stream", "Think about the weather first.");
    assertThat(arguments).isGreaterThan(8);
    assertThat(reasoning).isGreaterThan(4);
    long counted =
        estimator.countText(
            "tool-stream",
            "Think about the weather first.{\"city\": \"Paris, France\", \"unit\": \"celsius\"}");
    assertThat(used(key)).isEqualTo(prompt + counted).isGreaterThan(prompt + arguments);
  }

  @Test
  void aStreamTheClientAbandonsIsChargedAtLeastItsReservation() throws Exception {
    String key = mint();
    String body = body("endless-stream", true);
    try (Socket socket = new Socket(base.getHost(), base.getPort())) {
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                  + key
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + body.length()
                  + "\r\n\r\n"
                  + body)
              .getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = socket.getInputStream();
      assertThat(in.readNBytes(200)).hasSize(200);
    }
    assertNothingInFlight();
    long reserved = reservation("endless-stream", true);
    assertThat(used(key)).isGreaterThanOrEqualTo(reserved);
    assertThat(reserved)
        .isGreaterThan(
            fairShare
                .estimator()
                .promptTokens(RequestReader.read(body.getBytes(StandardCharsets.UTF_8))));
  }

  @Test
  void aCallThatThrowsAfterGoingAsynchronousIsChargedItsReservationWhenItEnds() throws Exception {
    for (boolean stream : new boolean[] {false, true}) {
      String key = mint();
      HttpResponse<String> r = call(key, "async-then-throw", stream);
      assertThat(r.statusCode()).as("stream " + stream).isEqualTo(500);
      assertNothingInFlight();
      assertThat(used(key))
          .as("stream " + stream)
          .isEqualTo(reservation("async-then-throw", stream));
    }
  }

  @Test
  void anAsynchronousCallThatTimesOutAfterReportingMoreIsChargedWhatItReported() throws Exception {
    String key = mint();
    HttpResponse<String> r = call(key, "async-answer-then-timeout", false);
    assertThat(r.statusCode()).isLessThan(600);
    assertNothingInFlight();
    assertThat(reservation("async-answer-then-timeout", false)).isLessThan(900);
    assertThat(used(key)).isEqualTo(900); // within MAX_USAGE
  }

  @Test
  void anAsynchronousCallThatTimesOutIsChargedItsReservation() throws Exception {
    String key = mint();
    HttpResponse<String> r = call(key, "async-timeout", false);
    assertThat(r.statusCode()).isLessThan(600); // whatever the container answers a timeout with
    assertNothingInFlight();
    assertThat(used(key)).isEqualTo(reservation("async-timeout", false));
  }

  @Test
  void anAsynchronousAnswerIsSettledBeforeItsLastByteReachesTheClient() throws Exception {
    String key = mint();
    try {
      HttpResponse<String> r = call(key, "async-held-open", false);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("\"total_tokens\":30");
      // The call is still open (no completion yet), but the client has its whole answer and may
      // send its next request now: the usage must already be in the store.
      assertThat(used(key)).isEqualTo(30);
      assertThat(store().inFlight(Admissions.UNCONFIGURED_MODELS)).isZero();
    } finally {
      COMPLETE_HELD_CALL.countDown();
    }
    assertNothingInFlight();
    assertThat(used(key)).as("settled once").isEqualTo(30);
  }
}
