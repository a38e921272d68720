package dev.fairshare.servers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fairshare.it.RawHttp;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a real Tomcat 11 with the default key database (H2 in the server's folder, shared by its
 * applications through AUTO_SERVER): each of the two applications is undeployed and redeployed in
 * turn while the other keeps serving, and nothing is left behind: no 503 from the one that stayed,
 * no thread or JDBC driver left by the one that left (Tomcat's {@code clearReferences*} warnings),
 * and the key API and the filter work again afterwards.
 */
class TomcatRedeployIT {

  static final String CHAT =
      "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  @TempDir Path dir;
  final HttpClient http = HttpClient.newHttpClient();

  @Test
  void eachApplicationLeavesAndComesBack_theOtherKeepsServing_andNothingIsLeftBehind()
      throws Exception {
    Map<String, String> config =
        Map.of("fairshare.master-key", "sk-1234", "fairshare.models.my-fake-model.tpm", "6000");
    try (TomcatProcess server =
        new TomcatProcess(
                Path.of(System.getProperty("fairshare.it.tomcat11")), dir.resolve("server"))
            .autoDeploy()) {
      server.start(
          ServerProcess.WARS.resolve("fairshare-admin.war"),
          ServerProcess.WARS.resolve("fairshare-sample-app.war"),
          config);
      assertThat(Files.exists(server.work.resolve("work/fairshare/keys.mv.db")))
          .as("the default key database lives in the server's own folder")
          .isTrue();
      String key = ServerDeploymentContract.mint(server);
      assertThat(chat(server, key)).isEqualTo(200);

      for (String app : List.of("sample", "fairshare-admin")) {
        Path war = server.work.resolve("webapps/" + app + ".war");
        Path away = dir.resolve(app + ".war");
        Files.move(war, away);
        await(app + " undeployed")
            .atMost(Duration.ofSeconds(30))
            .until(() -> status(server, "/" + app + "/health") == 404);
        if (app.equals("sample")) {
          assertThat(status(server, "/fairshare-admin/health")).isEqualTo(200);
          assertThat(get(server, "/fairshare-admin/key/list", "sk-1234").statusCode())
              .isEqualTo(200);
          assertThat(get(server, "/fairshare-admin/key/info", "sk-not-a-key-at-all").statusCode())
              .isEqualTo(401);
        } else {
          assertThat(chat(server, key)).isEqualTo(200);
          try (RawHttp raw = new RawHttp(server.base())) {
            assertThat(raw.post("/sample/chat/completions", "sk-not-a-key-at-all", CHAT).status())
                .isEqualTo(401);
          }
        }
        Files.move(away, war);
        await(app + " redeployed")
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    app.equals("sample")
                        ? status(server, "/sample/chat/completions") == 401
                        : status(server, "/fairshare-admin/health") == 200);
      }
      // Both back: a key minted now works through the filter, and so does the old one.
      String fresh = ServerDeploymentContract.mint(server);
      assertThat(chat(server, fresh)).isEqualTo(200);
      assertThat(chat(server, key)).isEqualTo(200);
      assertThat(status(server, "/fairshare-admin/health")).isEqualTo(200);

      List<String> warnings =
          Files.readString(server.work.resolve("server.log"), StandardCharsets.ISO_8859_1)
              .lines()
              .filter(l -> l.contains("WARNING"))
              .toList();
      assertThat(warnings).as("Tomcat's warnings over two undeploys and redeploys").isEmpty();
    }
  }

  private int chat(ServerProcess server, String key) throws Exception {
    try (RawHttp raw = new RawHttp(server.base())) {
      return raw.post("/sample/chat/completions", key, CHAT).status();
    }
  }

  private int status(ServerProcess server, String path) throws Exception {
    return get(server, path, null).statusCode();
  }

  private HttpResponse<String> get(ServerProcess server, String path, String bearer)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(server.base().resolve(path)).GET();
    if (bearer != null) {
      b.header("Authorization", "Bearer " + bearer);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
