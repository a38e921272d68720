package dev.fairshare.servers;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/** A real application server started as a child process, with the two WARs deployed. */
abstract class ServerProcess implements AutoCloseable {

  static final Path WARS = Path.of(System.getProperty("fairshare.it.wars", "target/wars"));

  protected final Path work;
  protected final int port;
  private final List<Path> extraWars = new ArrayList<>();
  private Process process;

  ServerProcess(Path work) throws IOException {
    this.work = Files.createDirectories(work);
    this.port = choosePort();
  }

  /** The HTTP port; servers that open more ports pick one whose companions are free too. */
  int choosePort() throws IOException {
    return freePort();
  }

  /** The command that starts the server with these system properties. */
  abstract List<String> command(Map<String, String> systemProperties) throws IOException;

  /** Puts the admin WAR at {@code /fairshare-admin} and the sample WAR at {@code /sample}. */
  abstract void deploy(Path adminWar, Path sampleWar) throws IOException;

  /** Deploys {@code war} too, at the context its file name says; before {@link #start}. */
  void alsoDeploy(Path war) {
    extraWars.add(war);
  }

  /** The WARs given to {@link #alsoDeploy}. */
  List<Path> extraWars() {
    return extraWars;
  }

  /** How long the server may take to start and deploy. */
  Duration startTimeout() {
    return Duration.ofMinutes(3);
  }

  URI base() {
    return URI.create("http://127.0.0.1:" + port);
  }

  /** Deploys, starts and waits until both applications answer. */
  void start(Path adminWar, Path sampleWar, Map<String, String> systemProperties)
      throws IOException {
    deploy(adminWar, sampleWar);
    List<String> command = command(systemProperties);
    process =
        new ProcessBuilder(command)
            .directory(work.toFile())
            .redirectErrorStream(true)
            .redirectOutput(work.resolve("server.log").toFile())
            .start();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    try {
      Awaitility.await(
              "both applications deployed on "
                  + getClass().getSimpleName()
                  + " (log: "
                  + work.resolve("server.log")
                  + ")")
          .atMost(startTimeout())
          .pollInterval(Duration.ofMillis(500))
          .until(
              () -> {
                if (!process.isAlive()) {
                  throw new IllegalStateException(
                      "server exited: " + Files.readString(work.resolve("server.log")));
                }
                return status(http, "/fairshare-admin/health") == 200
                    && status(http, "/sample/chat/completions") == 401;
              });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      List<String> lines =
          Files.readString(work.resolve("server.log"), java.nio.charset.StandardCharsets.ISO_8859_1)
              .lines()
              .toList();
      throw new IllegalStateException(
          e.getMessage()
              + "\n--- the last 150 lines of the server's log ---\n"
              + String.join("\n", lines.subList(Math.max(0, lines.size() - 150), lines.size())),
          e);
    }
  }

  private int status(HttpClient http, String path) {
    try {
      return http.send(
              HttpRequest.newBuilder(base().resolve(path))
                  .timeout(Duration.ofSeconds(5))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** {@code -Dkey=value} arguments. */
  static List<String> systemArgs(Map<String, String> properties) {
    List<String> args = new ArrayList<>();
    properties.forEach((k, v) -> args.add("-D" + k + "=" + v));
    return args;
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  static void copy(Path from, Path to) throws IOException {
    Files.createDirectories(to.getParent());
    Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  static boolean isFree(int port) {
    try (ServerSocket socket = new ServerSocket(port)) {
      return socket.getLocalPort() == port;
    } catch (IOException e) {
      return false;
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** Stops the server (SIGTERM to it and its children, then SIGKILL after 30 s). */
  @Override
  public void close() {
    if (process == null) {
      return;
    }
    List<ProcessHandle> all = new ArrayList<>(process.descendants().toList());
    all.add(process.toHandle());
    all.forEach(ProcessHandle::destroy);
    for (ProcessHandle h : all) {
      try {
        h.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
      } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
        h.destroyForcibly();
      } catch (InterruptedException e) {
        h.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
