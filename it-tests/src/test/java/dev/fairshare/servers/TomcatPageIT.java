package dev.fairshare.servers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code docs/deploy-tomcat.md} followed literally on the real Tomcat 11 distribution: the shell
 * blocks the page marks {@code <!-- TomcatPageIT: step -->} are run as they are written, in order,
 * with step 0's variables set to this test's folders and free ports (the page's only step without a
 * mark is the build, which the suite has done). The scenario answers 200, 200, 429 before and after
 * both applications are undeployed and redeployed; {@code /fairshare-admin/health} never answers
 * 503 meanwhile; Tomcat's manager then finds no leaked class loader, and Tomcat's log has no
 * warning.
 */
class TomcatPageIT {

  static final Path PAGE = Path.of("../docs/deploy-tomcat.md");

  @TempDir Path dir;
  final HttpClient http = HttpClient.newHttpClient();

  @Test
  void thePageRunsAsWritten_scenarioRedeployScenario_nothingLeftBehind() throws Exception {
    Map<String, String> steps = steps(Files.readString(PAGE));
    assertThat(steps.keySet())
        .containsExactly("vars", "base", "config", "wars", "start", "scenario", "redeploy", "stop");

    Path home = Path.of(System.getProperty("fairshare.it.tomcat11"));
    // As unpacked from Tomcat's tar.gz: the Maven artifact is a zip, which drops the modes.
    try (Stream<Path> scripts = Files.list(home.resolve("bin"))) {
      scripts
          .filter(p -> p.toString().endsWith(".sh"))
          .forEach(p -> p.toFile().setExecutable(true));
    }
    Path base = dir.resolve("tomcat-base");
    int port = freePort();
    Map<String, String> env = new LinkedHashMap<>();
    env.put("CATALINA_HOME", home.toString());
    env.put("CATALINA_BASE", base.toString());
    env.put("FAIRSHARE", Path.of("..").toAbsolutePath().normalize().toString());
    env.put(
        "APP_WAR",
        ServerProcess.WARS.resolve("fairshare-sample-app.war").toAbsolutePath().toString());
    env.put("FAIRSHARE_ETC", dir.resolve("etc").toString());
    env.put("HTTP_PORT", Integer.toString(port));
    env.put("SHUTDOWN_PORT", Integer.toString(freePort()));
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.put("HOME", dir.toString()); // the page's defaults are never used, but stay in here
    Shell shell = new Shell(steps.get("vars"), env, dir);

    assertThat(shell.run(steps.get("base"))).contains("Created CATALINA_BASE directory");
    String serverXml = Files.readString(base.resolve("conf/server.xml"));
    assertThat(serverXml)
        .contains("port=\"" + port + "\" protocol=\"HTTP/1.1\" maxSwallowSize=\"0\"");
    shell.run(steps.get("config"));
    assertThat(Files.readString(dir.resolve("etc/master-key"))).matches("sk-[0-9a-f]{48}\n");
    for (String file : List.of("etc/master-key", "etc/fairshare.properties")) {
      assertThat(
              java.nio.file.attribute.PosixFilePermissions.toString(
                  Files.getPosixFilePermissions(dir.resolve(file))))
          .as("%s: for Tomcat's user only", file)
          .isEqualTo("rw-------");
    }
    shell.run(steps.get("wars"));
    withManager(home, base);
    try {
      assertThat(shell.run(steps.get("start"))).contains("\"status\":\"healthy\"");
      assertThat(shell.run(steps.get("scenario")).lines()).containsExactly("200", "200", "429");

      List<Integer> adminHealth = new CopyOnWriteArrayList<>();
      AtomicBoolean redeploying = new AtomicBoolean(true);
      URI health = URI.create("http://127.0.0.1:" + port + "/fairshare-admin/health");
      Thread watcher =
          new Thread(
              () -> {
                while (redeploying.get()) {
                  try {
                    adminHealth.add(
                        http.send(
                                HttpRequest.newBuilder(health)
                                    .timeout(Duration.ofSeconds(5))
                                    .build(),
                                HttpResponse.BodyHandlers.discarding())
                            .statusCode());
                    // Twenty probes a second: enough to see a 503, not enough to load the server.
                    java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L);
                  } catch (IOException e) {
                    adminHealth.add(-1);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              });
      watcher.start();
      String redeployed;
      try {
        redeployed = shell.run(steps.get("redeploy"));
      } finally {
        redeploying.set(false);
        watcher.join();
      }
      assertThat(redeployed).contains("\"status\":\"healthy\"");
      assertThat(adminHealth)
          .as("/fairshare-admin/health while both applications were redeployed")
          .contains(200, 404)
          .allMatch(s -> s == 200 || s == 404);
      // The two keys minted before are still in the key database after both redeploys.
      String masterKey = Files.readString(dir.resolve("etc/master-key")).strip();
      assertThat(keyCount(port, masterKey)).isEqualTo(2);
      // New keys in a window the redeploy started afresh (the page says why).
      assertThat(shell.run(steps.get("scenario")).lines()).containsExactly("200", "200", "429");
      assertThat(keyCount(port, masterKey)).isEqualTo(4);

      // findleaks collects garbage once and lists the stopped applications whose class loader is
      // still there; one that only awaited finalization or a reference queue is gone by a later
      // call. A loader that is really held stays on the list, and fails this.
      await("no leaked class loader in Tomcat's manager's findleaks")
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofSeconds(1))
          .until(
              () -> manager(port, "/manager/text/findleaks?statusLine=true"),
              leaks -> leaks.startsWith("OK - No memory leaks found"));
    } finally {
      String stopped = shell.run(steps.get("stop"));
      // shutdown.sh's -force kills a Tomcat that did not stop within 30 s, and a killed Tomcat
      // logs nothing: a stop that hangs must fail here, not pass the log check below.
      assertThat(stopped).doesNotContain("did not stop in time").doesNotContain("Killing");
    }
    List<String> warnings =
        Files.readString(base.resolve("logs/catalina.out"), StandardCharsets.ISO_8859_1)
            .lines()
            .filter(l -> l.contains("WARNING") || l.contains("SEVERE") || l.contains("SLF4J("))
            .toList();
    assertThat(warnings).as("Tomcat's log: start, scenario, redeploys, stop").isEmpty();
  }

  /** The page's marked shell blocks, by step name, in page order. */
  static Map<String, String> steps(String page) {
    Matcher m =
        Pattern.compile("<!-- TomcatPageIT: (\\w+) -->\\n```bash\\n(.*?)\\n```", Pattern.DOTALL)
            .matcher(page);
    Map<String, String> steps = new LinkedHashMap<>();
    while (m.find()) {
      steps.put(m.group(1), m.group(2));
    }
    return steps;
  }

  /**
   * Tomcat's manager application in the base, for {@code findleaks} only (not a step of the page),
   * with a user allowed its text interface.
   */
  private static void withManager(Path home, Path base) throws IOException {
    ServerProcess.copyTree(home.resolve("webapps/manager"), base.resolve("webapps/manager"));
    Files.writeString(
        base.resolve("conf/tomcat-users.xml"),
        "<tomcat-users><role rolename=\"manager-script\"/>"
            + "<user username=\"it\" password=\"it-secret\" roles=\"manager-script\"/>"
            + "</tomcat-users>");
  }

  private String manager(int port, String path) throws Exception {
    String basic =
        Base64.getEncoder().encodeToString("it:it-secret".getBytes(StandardCharsets.UTF_8));
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Basic " + basic)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r.body();
  }

  /** {@code total_count} of {@code /fairshare-admin/key/list}. */
  private int keyCount(int port, String masterKey) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/fairshare-admin/key/list"))
                .header("Authorization", "Bearer " + masterKey)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(r.body())
        .get("total_count")
        .asInt();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Runs a page block with bash, after the page's variables block; fails on a non-zero exit. */
  private record Shell(String vars, Map<String, String> env, Path dir) {

    String run(String block) throws Exception {
      Path script = Files.createTempFile(dir, "step", ".sh");
      Files.writeString(script, "set -e\n" + vars + "\n" + block + "\n");
      ProcessBuilder pb = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true);
      pb.environment().putAll(env);
      pb.environment().remove("CATALINA_OPTS");
      pb.environment().remove("JAVA_OPTS");
      Path output = Files.createTempFile(dir, "step", ".out");
      pb.redirectOutput(output.toFile());
      Process p = pb.start();
      p.getOutputStream().close();
      boolean ended = p.waitFor(5, TimeUnit.MINUTES);
      if (!ended) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      }
      String out = Files.readString(output, StandardCharsets.UTF_8);
      assertThat(ended).as("step ended within 5 minutes:\n%s\noutput:\n%s", block, out).isTrue();
      assertThat(p.exitValue()).as("exit status of:\n%s\noutput:\n%s", block, out).isZero();
      System.out.println("--- " + block.lines().findFirst().orElse("") + "\n" + out);
      return out;
    }
  }
}
