package dev.fairshare.servers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * WildFly (standalone, default profile) with a server base directory of the test's own and a port
 * offset, both WARs dropped into its deployments folder.
 */
final class WildFlyProcess extends ServerProcess {

  private final Path home;
  private final int offset;

  WildFlyProcess(Path home, Path work) throws IOException {
    super(work);
    this.home = home;
    this.offset = port - 8080;
    copyTree(home.resolve("standalone"), work.resolve("standalone"));
  }

  /**
   * WildFly opens HTTP (8080), HTTPS (8443), management (9990) and management HTTPS (9993), all
   * shifted by the offset.
   */
  @Override
  int choosePort() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int http = freePort();
      int offset = http - 8080;
      if (http + 1910 < 65_536
          && isFree(8443 + offset)
          && isFree(9990 + offset)
          && isFree(9993 + offset)) {
        return http;
      }
    }
    throw new IOException("no free port set for WildFly");
  }

  @Override
  void deploy(Path adminWar, Path sampleWar) throws IOException {
    copy(adminWar, work.resolve("standalone/deployments/fairshare-admin.war"));
    copy(sampleWar, work.resolve("standalone/deployments/sample.war"));
    for (Path war : extraWars()) {
      copy(war, work.resolve("standalone/deployments").resolve(war.getFileName()));
    }
  }

  @Override
  List<String> command(Map<String, String> systemProperties) throws IOException {
    List<String> command =
        new ArrayList<>(List.of("bash", home.resolve("bin/standalone.sh").toString()));
    command.add("-Djboss.server.base.dir=" + work.resolve("standalone"));
    command.add("-Djboss.socket.binding.port-offset=" + offset);
    command.add("-Djboss.bind.address=127.0.0.1");
    command.add("-Djboss.bind.address.management=127.0.0.1");
    command.addAll(systemArgs(systemProperties));
    return command;
  }

  /** Runs one management command through {@code jboss-cli.sh}; returns its output. */
  String cli(String command) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(
                "bash",
                home.resolve("bin/jboss-cli.sh").toString(),
                "--connect",
                "--controller=127.0.0.1:" + (9990 + offset),
                "--command=" + command)
            .redirectErrorStream(true)
            .start();
    p.getOutputStream().close();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException("jboss-cli " + command + ": " + out);
    }
    return out;
  }
}
