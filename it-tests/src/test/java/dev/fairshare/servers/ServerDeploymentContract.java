package dev.fairshare.servers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.fairshare.it.Fuzz;
import dev.fairshare.it.PathTricks;
import dev.fairshare.it.RawHttp;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference scenario on a real application server: the admin WAR mints two keys, the sample WAR
 * (RateLimitFilter in its web.xml, as the README says) honours them through the shared key database
 * (PostgreSQL on localhost), with the official OpenAI Java client. Configuration comes through
 * MicroProfile Config system properties, as docs/deploy-*.md say.
 */
abstract class ServerDeploymentContract {

  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  /** The server under test, working in {@code work}. */
  abstract ServerProcess server(Path work) throws Exception;

  /** The WAR flavour this server takes: {@code ""} (bundled) or {@code "-server-provided"}. */
  abstract String flavour();

  /** How the WARs reach the key database in PostgreSQL schema {@code schema}: a JDBC URL. */
  Map<String, String> keyDatabase(String schema) {
    return Map.of(
        "fairshare.keys.jdbc-url",
        "jdbc:postgresql://127.0.0.1:5432/test?currentSchema=" + schema,
        "fairshare.keys.jdbc-user",
        "postgres");
  }

  /** Server set-up before it starts (container resources and the like); nothing by default. */
  void prepare(ServerProcess server, String schema) throws Exception {}

  @Test
  void referenceScenario() throws Exception {
    String schema =
        "fairshare_srv_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    // The schema does not exist: the applications create it (currentSchema names it), both at once.
    Map<String, String> config = new HashMap<>(keyDatabase(schema));
    config.put("fairshare.master-key", "sk-1234");
    config.put("fairshare.models.my-fake-model.tpm", "60");
    ServerProcess server = server(dir.resolve("server"));
    try (server) {
      prepare(server, schema);
      // Issue 14's waiting room, in an application of its own on a 4 s window (deployed before
      // the failing one: Payara Micro deploys no WAR after one that fails).
      server.alsoDeploy(
          withOwnConfiguration(
              ServerProcess.WARS.resolve("fairshare-sample-app" + flavour() + ".war"),
              dir.resolve("queue.war"),
              "fairshare.window=4s\n"));
      // An application whose own configuration has a bad value: it must not start, and the others
      // must not notice.
      server.alsoDeploy(
          withOwnConfiguration(
              ServerProcess.WARS.resolve("fairshare-sample-app" + flavour() + ".war"),
              dir.resolve("badconfig.war"),
              "fairshare.models.bad-model.tpm=sixty\n"));
      server.start(
          ServerProcess.WARS.resolve("fairshare-admin" + flavour() + ".war"),
          ServerProcess.WARS.resolve("fairshare-sample-app" + flavour() + ".war"),
          config);
      String key1 = mint(server);
      String key2 = mint(server);
      String base = server.base() + "/sample";
      OpenAIClient client1 = OpenAIOkHttpClient.builder().apiKey(key1).baseUrl(base).build();
      OpenAIClient client2 = OpenAIOkHttpClient.builder().apiKey(key2).baseUrl(base).build();
      ChatCompletionCreateParams hello =
          ChatCompletionCreateParams.builder()
              .model("my-fake-model")
              .addUserMessage("Hello world!")
              .build();

      ChatCompletion first = client1.chat().completions().create(hello);
      assertThat(first.usage().orElseThrow().totalTokens()).isEqualTo(30);
      var second = client2.chat().completions().withRawResponse().create(hello);
      assertThat(second.statusCode()).isEqualTo(200);
      assertThat(second.headers().values("x-ratelimit-limit-tokens")).containsExactly("30");
      assertThat(second.headers().values("x-ratelimit-remaining-tokens")).containsExactly("0");

      long started = System.nanoTime();
      RateLimitException limited =
          catchThrowableOfType(
              RateLimitException.class, () -> client2.chat().completions().create(hello));
      assertThat(limited).isNotNull();
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
      assertThat(limited.code()).contains("rate_limit_exceeded");
      assertThat(limited.type()).contains("tokens");
      assertThat(limited.headers().values("x-should-retry")).containsExactly("false");

      // After a refusal a pooling client's next request gets an answer: the container keeps the
      // connection, or says it closes it (Tomcat does after a 400); it must not find the body
      // unread and close the connection without a word
      String chat =
          "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
      try (RawHttp connection = new RawHttp(server.base())) {
        assertThat(connection.post("/sample/chat/completions", "sk-not-a-key-0000", chat).status())
            .isEqualTo(401);
        assertThat(connection.post("/sample/chat/completions", key1, "not json").status())
            .isEqualTo(400);
        assertThat(connection.post("/sample/chat/completions", key2, chat).status()).isEqualTo(429);
      }

      metricsCountWhatHappened(server);
      aCallWhoseRoomFreesSoonIsHeldAndAdmitted(server, key1, key2, chat);

      // Path forms the container normalises never reach the model, with or without a key
      List<String> tricks = PathTricks.assertNoneReachesTheModel(server.base(), "/sample", key1);
      System.out.println(
          "Path tricks on " + getClass().getSimpleName() + ":\n  " + String.join("\n  ", tricks));
      slowBodiesDoNotStarve(server);
      aBadSettingFailsItsOwnDeployment(server, key1, chat);
      healthNamesTheKeyDatabaseWhileItIsGone(server, schema);
      if (redeployTheApplication(server)) {
        // The key database kept the key; the memory store's window began again (deploy pages).
        try (RawHttp connection = new RawHttp(server.base())) {
          assertThat(connection.post("/sample/chat/completions", key1, chat).status())
              .as("the first key, through the redeployed application")
              .isEqualTo(200);
        }
      }
      if (fuzzes()) {
        String log = fuzz(server, key1);
        assertThat(log).doesNotContain(key1.substring(3)).doesNotContain(key2.substring(3));
      }
    }
    // Stopped (SIGTERM): nothing logged at WARN over start, scenario, redeploy and stop either.
    warningsOfANormalRun(server);
    // The keys live in the PostgreSQL schema (hashed), not in an embedded database
    try (Connection c =
            DriverManager.getConnection("jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
        Statement s = c.createStatement();
        ResultSet rows = s.executeQuery("SELECT count(*) FROM " + schema + ".fairshare_keys")) {
      assertThat(rows.next()).isTrue();
      assertThat(rows.getInt(1)).isEqualTo(2);
    }
  }

  /**
   * The application's {@code /fairshare/metrics} counts its calls so far (two admitted, two 429s, a
   * wrong key, a bad body); the admin WAR's {@code /metrics} answers too. Master key only.
   */
  private static void metricsCountWhatHappened(ServerProcess server) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    java.util.function.BiFunction<String, String, HttpResponse<String>> scrape =
        (path, bearer) -> {
          try {
            return http.send(
                HttpRequest.newBuilder(server.base().resolve(path))
                    .header("Authorization", "Bearer " + bearer)
                    .build(),
                HttpResponse.BodyHandlers.ofString());
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        };
    HttpResponse<String> app = scrape.apply("/sample/fairshare/metrics", "sk-1234");
    assertThat(app.statusCode()).as(app.body()).isEqualTo(200);
    String text = app.body();
    assertThat(dev.fairshare.it.PrometheusText.calls(text, "my-fake-model", "admitted", ""))
        .isEqualTo(2.0);
    assertThat(dev.fairshare.it.PrometheusText.calls(text, "my-fake-model", "refused", "share"))
        .isEqualTo(2.0);
    assertThat(dev.fairshare.it.PrometheusText.calls(text, "", "refused", "unauthorized"))
        .as("the start's readiness probe (no key) and the wrong key")
        .isEqualTo(2.0);
    assertThat(scrape.apply("/sample/fairshare/metrics", "sk-wrong").statusCode()).isEqualTo(401);
    HttpResponse<String> admin = scrape.apply("/fairshare-admin/metrics", "sk-1234");
    assertThat(admin.statusCode()).as(admin.body()).isEqualTo(200);
    assertThat(admin.body()).contains("fairshare_store_admission_seconds");
  }

  /**
   * In the application on a 4 s window: once both keys used their 30 of the 60, key 2's next call
   * is held until key 1's usage leaves the window and then admitted, through the container's async
   * dispatch back to the filter (no client retry: plain HTTP), instead of answered 429.
   */
  private static void aCallWhoseRoomFreesSoonIsHeldAndAdmitted(
      ServerProcess server, String key1, String key2, String chat) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    URI queue = server.base().resolve("/queue/v1/chat/completions");
    java.util.function.Function<String, HttpResponse<String>> call =
        key -> {
          try {
            return http.send(
                HttpRequest.newBuilder(queue)
                    .header("Authorization", "Bearer " + key)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(chat))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        };
    assertThat(call.apply(key1).statusCode()).isEqualTo(200);
    assertThat(call.apply(key2).statusCode()).isEqualTo(200);
    long started = System.nanoTime();
    HttpResponse<String> held = call.apply(key2);
    Duration waited = Duration.ofNanos(System.nanoTime() - started);
    assertThat(held.statusCode()).as(held.body()).isEqualTo(200);
    assertThat(JSON.readTree(held.body()).get("usage").get("total_tokens").asInt()).isEqualTo(30);
    assertThat(waited).isBetween(Duration.ofMillis(500), Duration.ofSeconds(6));
  }

  /**
   * {@code /health} runs a real query: with the key tables gone (their schema renamed away) it is
   * 503 and names the key store, and 200 again once they are back.
   */
  private static void healthNamesTheKeyDatabaseWhileItIsGone(ServerProcess server, String schema)
      throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    URI health = server.base().resolve("/fairshare-admin/health");
    try (Connection c =
            DriverManager.getConnection("jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
        Statement s = c.createStatement()) {
      s.executeUpdate("ALTER SCHEMA " + schema + " RENAME TO " + schema + "_gone");
      try {
        HttpResponse<String> gone = awaitHealth(http, health, 503);
        assertThat(JSON.readTree(gone.body()).get("key_store").asText()).isEqualTo("unreachable");
        assertThat(JSON.readTree(gone.body()).get("usage_store").asText()).isEqualTo("reachable");
      } finally {
        s.executeUpdate("ALTER SCHEMA " + schema + "_gone RENAME TO " + schema);
      }
    }
    assertThat(awaitHealth(http, health, 200).statusCode()).isEqualTo(200);
  }

  /**
   * The first answer of {@code health} with {@code status}, within 3 s: a health result is given
   * again for 250 ms, so the first check after a change may be from before it.
   */
  private static HttpResponse<String> awaitHealth(HttpClient http, URI health, int status) {
    return org.awaitility.Awaitility.await("/health answering " + status)
        .atMost(Duration.ofSeconds(3))
        .until(
            () ->
                http.send(
                    HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString()),
            h -> h.statusCode() == status);
  }

  /**
   * Undeploys and deploys the sample application again while the server runs, in this server's way,
   * and says whether it did: not by default (Payara Micro deploys from its command line only;
   * Tomcat's redeploys have tests of their own, TomcatRedeployIT and TomcatPageIT).
   */
  boolean redeployTheApplication(ServerProcess server) throws Exception {
    return false;
  }

  /** Whether this server also takes the fuzz run (one server is enough: it is the filter's). */
  boolean fuzzes() {
    return false;
  }

  /**
   * A seeded, bounded fuzz run at the sample and admin WARs: no 5xx, no stack trace in the server's
   * log from it. Returns the log.
   */
  private String fuzz(ServerProcess server, String key) throws Exception {
    Path logFile = server.work.resolve("server.log");
    long before = Files.size(logFile);
    Fuzz.Summary summary =
        Fuzz.run(
            server.base(),
            "/sample",
            List.of(key, "sk-1234"),
            20261202L,
            1_000,
            Duration.ofSeconds(60));
    System.out.println(
        "Fuzz on "
            + getClass().getSimpleName()
            + ": "
            + summary.sent()
            + " requests, statuses "
            + summary.statuses());
    assertThat(summary.sent()).isGreaterThanOrEqualTo(500);
    assertThat(summary.failures()).as("5xx or no answer").isEmpty();
    String log = Files.readString(logFile);
    String during = log.substring((int) Math.min(before, log.length()));
    assertThat(during)
        .as("server log during the fuzz run")
        .doesNotContain("\tat ")
        .doesNotContain("SEVERE");
    return log;
  }

  /**
   * 250 connections without a key declaring a 1 MB body and sending a byte of it (more than the
   * container's 200 threads): each is answered 401 from its headers, and the server still answers a
   * health check within a second.
   */
  private static void slowBodiesDoNotStarve(ServerProcess server) throws Exception {
    List<java.net.Socket> slow = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 250; i++) {
        java.net.Socket socket =
            new java.net.Socket(server.base().getHost(), server.base().getPort());
        socket.setSoTimeout(10_000);
        socket
            .getOutputStream()
            .write(
                ("POST /sample/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        slow.add(socket);
      }
      for (java.net.Socket socket : slow) {
        byte[] status = socket.getInputStream().readNBytes(12);
        assertThat(new String(status, java.nio.charset.StandardCharsets.US_ASCII))
            .isEqualTo("HTTP/1.1 401");
      }
      long started = System.nanoTime();
      HttpResponse<String> health =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(server.base().resolve("/fairshare-admin/health"))
                      .timeout(Duration.ofSeconds(10))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(Duration.ofNanos(System.nanoTime() - started))
          .as("health with 250 slow bodies open")
          .isLessThan(Duration.ofSeconds(1));
    } finally {
      for (java.net.Socket socket : slow) {
        socket.close();
      }
    }
  }

  static String mint(ServerProcess server) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(server.base().resolve("/fairshare-admin/key/generate"))
                    .header("Authorization", "Bearer sk-1234")
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body()).get("key").asText();
  }

  /**
   * The application with a bad setting never answers as if configured: no 200, no 401 from a
   * half-built filter, no 500 with a stack trace; the server log names the key.
   */
  private static void aBadSettingFailsItsOwnDeployment(
      ServerProcess server, String key, String chat) throws Exception {
    try (RawHttp connection = new RawHttp(server.base())) {
      int status = connection.post("/badconfig/chat/completions", key, chat).status();
      assertThat(status).as("the misconfigured application answers").isIn(404, 503);
    }
    assertThat(Files.readString(server.work.resolve("server.log")))
        .contains("fairshare.models.bad-model.tpm: 'sixty' is not a whole number");
  }

  /** A copy of {@code war} with {@code properties} as its own MicroProfile Config file. */
  static Path withOwnConfiguration(Path war, Path copy, String properties) throws IOException {
    Files.copy(war, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    try (java.nio.file.FileSystem zip = java.nio.file.FileSystems.newFileSystem(copy)) {
      Path file = zip.getPath("WEB-INF/classes/META-INF/microprofile-config.properties");
      Files.createDirectories(file.getParent());
      Files.writeString(file, properties);
    }
    return copy;
  }

  /**
   * The server's own warnings on a fresh installation, which FairShare neither causes nor can
   * silence (a default transaction node id, a self-signed certificate generated on first start):
   * message codes, none by default.
   */
  List<String> serverOwnWarnings() {
    return List.of();
  }

  /**
   * No warning at all on a normal start, scenario, redeploy and stop, but the server's own ({@link
   * #serverOwnWarnings}) and those about the application that must fail ({@code badconfig}, whose
   * report names {@code bad-model}). Each warning is shown with the two lines after it: Payara
   * writes the message on the next line.
   */
  private void warningsOfANormalRun(ServerProcess server) throws IOException {
    List<String> lines =
        Files.readString(
                server.work.resolve("server.log"), java.nio.charset.StandardCharsets.ISO_8859_1)
            .lines()
            .toList();
    List<String> warnings = new java.util.ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i);
      if (l.contains(" WARN ")
          || l.contains("WARNING")
          || l.contains(" WARN[")
          || l.contains("SLF4J(")) {
        warnings.add(String.join(" | ", lines.subList(i, Math.min(lines.size(), i + 3))));
      }
    }
    if (keyDatabase("x").containsKey("fairshare.keys.jdbc-url")) {
      // HikariCP logs through SLF4J, which FairShare's provider hands to java.util.logging: its
      // errors would show in the server's log as its start does.
      assertThat(lines).anyMatch(l -> l.matches(".*fairshare-keys-[0-9]+ - Start completed.*"));
    }
    System.out.println(
        "Warnings on " + getClass().getSimpleName() + ":\n  " + String.join("\n  ", warnings));
    assertThat(warnings)
        .as("warnings on %s", getClass().getSimpleName())
        .allMatch(
            w ->
                w.contains("badconfig")
                    || w.contains("bad-model")
                    // The key tables renamed away on purpose (healthNamesTheKeyDatabase...): a
                    // history flush or a limits refresh in that second says so and keeps its data
                    || (w.contains("the usage history could not be written")
                        && w.contains("kept for the next flush"))
                    || w.contains("the limits could not be read again")
                    || serverOwnWarnings().stream().anyMatch(w::contains));
  }
}
