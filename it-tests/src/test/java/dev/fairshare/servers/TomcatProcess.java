package dev.fairshare.servers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** An unpacked Tomcat distribution, run with its own CATALINA_BASE under the test's folder. */
final class TomcatProcess extends ServerProcess {

  private final Path home;

  TomcatProcess(Path home, Path work) throws IOException {
    super(work);
    this.home = home;
    copyTree(home.resolve("conf"), work.resolve("conf"));
    copy(Path.of("src/test/resources/tomcat/server.xml"), work.resolve("conf/server.xml"));
    for (String dir : new String[] {"logs", "temp", "work", "webapps"}) {
      Files.createDirectories(work.resolve(dir));
    }
  }

  /**
   * Deploys and undeploys WARs as they appear in and leave {@code webapps}, checked every second
   * (for the redeploy test; the other tests deploy once).
   */
  TomcatProcess autoDeploy() throws IOException {
    Path serverXml = work.resolve("conf/server.xml");
    String xml = Files.readString(serverXml);
    Files.writeString(
        serverXml,
        xml.replace("autoDeploy=\"false\"", "autoDeploy=\"true\"")
            .replace(
                "<Engine name=\"Catalina\"",
                "<Engine backgroundProcessorDelay=\"1\" name=\"Catalina\""));
    return this;
  }

  @Override
  void deploy(Path adminWar, Path sampleWar) throws IOException {
    copy(adminWar, work.resolve("webapps/fairshare-admin.war"));
    copy(sampleWar, work.resolve("webapps/sample.war"));
    for (Path war : extraWars()) {
      copy(war, work.resolve("webapps").resolve(war.getFileName()));
    }
  }

  @Override
  List<String> command(Map<String, String> systemProperties) {
    List<String> command = new ArrayList<>(List.of(java(), "-Xmx512m"));
    // What catalina.sh adds, so that Tomcat's leak detection works as on a real start.
    command.addAll(
        List.of(
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.rmi/sun.rmi.transport=ALL-UNNAMED"));
    command.add("-Dcatalina.home=" + home);
    command.add("-Dcatalina.base=" + work);
    command.add("-Djava.io.tmpdir=" + work.resolve("temp"));
    command.add("-Djava.util.logging.manager=org.apache.juli.ClassLoaderLogManager");
    command.add("-Djava.util.logging.config.file=" + work.resolve("conf/logging.properties"));
    command.add("-Dfairshare.it.port=" + port);
    command.addAll(systemArgs(systemProperties));
    command.add("-cp");
    command.add(home.resolve("bin/bootstrap.jar") + ":" + home.resolve("bin/tomcat-juli.jar"));
    command.add("org.apache.catalina.startup.Bootstrap");
    command.add("start");
    return command;
  }
}
