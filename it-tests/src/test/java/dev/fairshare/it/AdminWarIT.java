package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fairshare.core.ManualClock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.eclipse.jetty.ee10.webapp.WebAppContext;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built admin WAR file, deployed unchanged into embedded Jetty (WebAppContext) and configured
 * through MicroProfile Config (system properties), mints a key; the filter of another context, on
 * the same H2 key database, honours it.
 */
class AdminWarIT {

  @TempDir Path dir;
  Server server;
  TestGateway gateway;

  @AfterEach
  void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    if (server != null) {
      server.stop();
    }
    System.clearProperty("fairshare.master-key");
    System.clearProperty("fairshare.keys.jdbc-url");
  }

  @Test
  void keyMintedThroughTheDeployedWar_isHonouredByTheFilterInAnotherContext() throws Exception {
    Path war =
        Path.of(System.getProperty("fairshare.it.wars", "target/wars"), "fairshare-admin.war");
    assertThat(war).exists();
    String jdbcUrl = "jdbc:h2:file:" + dir.resolve("keys").toAbsolutePath() + ";AUTO_SERVER=TRUE";
    System.setProperty("fairshare.master-key", "sk-war-master");
    System.setProperty("fairshare.keys.jdbc-url", jdbcUrl);

    server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    server.addConnector(connector);
    WebAppContext admin = new WebAppContext(war.toString(), "/fairshare-admin");
    admin.setTempDirectory(Files.createDirectories(dir.resolve("jetty-tmp")).toFile());
    server.setHandler(admin);
    server.start();
    assertThat(admin.isAvailable()).as("admin WAR deployed").isTrue();
    URI adminBase = URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/fairshare-admin");

    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> health =
        http.send(
            HttpRequest.newBuilder(URI.create(adminBase + "/health")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);
    HttpResponse<String> minted =
        http.send(
            HttpRequest.newBuilder(URI.create(adminBase + "/key/generate"))
                .header("Authorization", "Bearer sk-war-master")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"key_alias\":\"from-war\",\"rpm_limit\":1}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(minted.statusCode()).as(minted.body()).isEqualTo(200);
    JsonNode key = TestGateway.JSON.readTree(minted.body());
    String raw = key.get("key").asText();

    // Answers given without reading the body (wrong master key, unknown path) keep the connection
    // on Jetty: the WAR's RequestBodyDrainFilter reads the rest. Without it Jetty closes the
    // connection whenever the body arrives after the answer (it did within a dozen rounds).
    try (RawHttp connection = new RawHttp(adminBase)) {
      for (int round = 0; round < 10; round++) {
        assertThat(
                connection
                    .post("/fairshare-admin/key/generate", "sk-wrong", "{\"key_alias\":\"x\"}")
                    .status())
            .isEqualTo(401);
        assertThat(connection.post("/fairshare-admin/no/such/path", "sk-war-master", "{}").status())
            .isEqualTo(404);
      }
      assertThat(connection.post("/fairshare-admin/key/generate", "sk-war-master", "{}").status())
          .isEqualTo(200);
      // Reopened only after answers that said Connection: close (RawHttp throws EOFException on
      // a connection closed without a word); 21 answers in all.
      assertThat(connection.connections()).as("connections opened").isLessThanOrEqualTo(21);
    }

    gateway =
        TestGateway.start(
            dir, new ManualClock(1_800_000_000_000L), Map.of("fairshare.keys.jdbc-url", jdbcUrl));
    String hello =
        "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    assertThat(gateway.post("/chat/completions", hello, raw).statusCode()).isEqualTo(200);
    // ...with the key's own limit from the WAR's database: rpm_limit 1
    HttpResponse<String> second = gateway.post("/chat/completions", hello, raw);
    assertThat(second.statusCode()).isEqualTo(429);
    assertThat(TestGateway.error(second).get("message").asText()).contains("from-war");
  }
}
