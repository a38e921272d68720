package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.fairshare.core.ManualClock;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.gateway.GatewaySettings;
import dev.fairshare.gateway.MockModelServlet;
import dev.fairshare.openai.Endpoint;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway in front of a real (here: another Jetty's) OpenAI-compatible server through {@code
 * fairshare.gateway.upstream}: the budget holds, streams pass through and are counted, and the
 * client's FairShare key is replaced by the upstream key.
 */
class UpstreamProxyIT {

  @TempDir Path dir;
  Server upstream;
  TestGateway gateway;
  final List<String> upstreamAuthorizations = new CopyOnWriteArrayList<>();
  final List<String> upstreamBilling = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    upstream = new Server();
    ServerConnector connector = new ServerConnector(upstream);
    connector.setHost("127.0.0.1");
    upstream.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler("/");
    Filter recorder =
        (req, res, chain) -> {
          jakarta.servlet.http.HttpServletRequest http =
              (jakarta.servlet.http.HttpServletRequest) req;
          upstreamAuthorizations.add(String.valueOf(http.getHeader("Authorization")));
          upstreamBilling.add(
              http.getHeader("OpenAI-Organization")
                  + "|"
                  + http.getHeader("OpenAI-Project")
                  + "|"
                  + http.getHeader("x-litellm-timeout"));
          chain.doFilter(req, res);
        };
    context.addFilter(new FilterHolder(recorder), "/*", EnumSet.of(DispatcherType.REQUEST));
    ServletHolder mock =
        new ServletHolder(
            new MockModelServlet(new GatewaySettings(0, "127.0.0.1", Optional.empty(), Map.of())));
    for (Endpoint e : Endpoint.values()) {
      context.addServlet(mock, "/v1" + e.path());
    }
    upstream.setHandler(context);
    upstream.start();
    gateway =
        TestGateway.start(
            dir,
            new ManualClock(1_800_000_000_000L),
            Map.of(
                "fairshare.gateway.upstream",
                    "http://127.0.0.1:" + connector.getLocalPort() + "/v1",
                "fairshare.gateway.upstream-api-key", "sk-upstream-secret",
                "fairshare.models.my-fake-model.tpm", "60",
                "fairshare.models.streamed.tpm", "100000"));
  }

  @AfterEach
  void stop() throws Exception {
    gateway.close();
    upstream.stop();
  }

  @Test
  void theClientsOrganisationAndProjectStayAtTheGateway() throws Exception {
    // The upstream bills the operator's key: a tenant must not pick which of its organisations or
    // projects pays.
    String key = gateway.mintKey("{}");
    HttpResponse<String> r =
        gateway.http.send(
            java.net.http.HttpRequest.newBuilder(gateway.base().resolve("/v1/chat/completions"))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .header("OpenAI-Organization", "org-tenant")
                .header("OpenAI-Project", "proj-tenant")
                // A LiteLLM upstream's own controls: a timeout cutting the call short of being
                // charged, retries, who is billed
                .header("x-litellm-timeout", "29")
                .POST(
                    java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(upstreamBilling).containsExactly("null|null|null");
  }

  @Test
  void referenceScenarioThroughTheProxy_andTheUpstreamSeesOnlyItsOwnKey() throws Exception {
    String key1 = gateway.mintKey("{}");
    String key2 = gateway.mintKey("{}");
    ChatCompletionCreateParams hello =
        ChatCompletionCreateParams.builder()
            .model("my-fake-model")
            .addUserMessage("Hello world!")
            .build();
    OpenAIClient client1 =
        OpenAIOkHttpClient.builder().apiKey(key1).baseUrl(gateway.base().toString()).build();
    OpenAIClient client2 =
        OpenAIOkHttpClient.builder().apiKey(key2).baseUrl(gateway.base() + "/v1").build();
    assertThat(client1.chat().completions().create(hello).usage().orElseThrow().totalTokens())
        .isEqualTo(30);
    var second = client2.chat().completions().withRawResponse().create(hello);
    assertThat(second.headers().values("x-ratelimit-remaining-tokens")).containsExactly("0");
    RateLimitException limited =
        catchThrowableOfType(
            RateLimitException.class, () -> client2.chat().completions().create(hello));
    assertThat(limited).isNotNull();
    assertThat(upstreamAuthorizations).hasSize(2).containsOnly("Bearer sk-upstream-secret");
  }

  @Test
  void streamsPassThroughTheProxy_andAreCountedFromTheUpstreamUsage() throws Exception {
    String key = gateway.mintKey("{}");
    OpenAIClient client = gateway.client(key);
    StringBuilder text = new StringBuilder();
    int[] usageChunks = {0};
    try (StreamResponse<ChatCompletionChunk> stream =
        client
            .chat()
            .completions()
            .createStreaming(
                ChatCompletionCreateParams.builder()
                    .model("streamed")
                    .addUserMessage("Hi")
                    .build())) {
      stream.stream()
          .forEach(
              c -> {
                c.choices().forEach(ch -> ch.delta().content().ifPresent(text::append));
                if (c.usage().isPresent()) {
                  usageChunks[0]++;
                }
              });
    }
    assertThat(text.toString()).isEqualTo("This is a mock response from FairShare.");
    assertThat(usageChunks[0]).isZero();
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(
            () ->
                gateway
                        .standing(
                            key, "streamed", new ModelCapacity(100_000, ModelCapacity.UNLIMITED))
                        .tokens()
                        .used()
                    == 30);
  }

  @Test
  void noPathTrickReachesTheUpstream_soItsKeyIsNeverSpentAnonymously() throws Exception {
    String key = gateway.mintKey("{}");
    // The key at its limit: a call counted is a 429, a call let through uncounted a 200
    String hello =
        "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    List<Integer> statuses = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      statuses.add(gateway.post("/v1/chat/completions", hello, key).statusCode());
    }
    assertThat(statuses).startsWith(200).endsWith(429); // 60 TPM, 30 tokens a call
    upstreamAuthorizations.clear();
    PathTricks.assertNoneReachesTheModel(gateway.base(), "", key);
    assertThat(upstreamAuthorizations).isEmpty();
  }

  @Test
  void anAnswerOverTheCaptureIsChargedTheUsageAtItsEnd() throws Exception {
    // The proxy answers asynchronously: the whole answer passes through, and its usage is read
    String key = gateway.mintKey("{}");
    HttpResponse<String> r =
        gateway.post(
            "/v1/chat/completions",
            "{\"model\":\"streamed\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
            key);
    assertThat(r.statusCode()).isEqualTo(200);
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(
            () ->
                gateway
                        .standing(
                            key, "streamed", new ModelCapacity(100_000, ModelCapacity.UNLIMITED))
                        .tokens()
                        .used()
                    == 30);
  }
}
