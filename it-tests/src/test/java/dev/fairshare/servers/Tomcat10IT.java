package dev.fairshare.servers;

import java.nio.file.Path;

/** Tomcat 10.1 with the bundled WAR flavour. */
class Tomcat10IT extends ServerDeploymentContract {

  @Override
  ServerProcess server(Path work) throws Exception {
    return new TomcatProcess(Path.of(System.getProperty("fairshare.it.tomcat10")), work);
  }

  @Override
  String flavour() {
    return "";
  }
}
