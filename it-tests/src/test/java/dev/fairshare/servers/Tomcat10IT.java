package dev.fairshare.servers;

import java.nio.file.Path;
import java.util.List;

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

  /**
   * None at all: Jersey warned about the key API's resource instances and its missing optional
   * APIs, Tomcat about JDBC drivers left registered by the misconfigured application.
   */
  @Override
  List<String> forbiddenWarnings() {
    return List.of("WARNING");
  }
}
