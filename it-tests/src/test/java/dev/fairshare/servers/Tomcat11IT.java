package dev.fairshare.servers;

import java.nio.file.Path;
import java.util.List;

/** Tomcat 11 with the same WAR files as Tomcat 10.1. */
class Tomcat11IT extends ServerDeploymentContract {

  @Override
  ServerProcess server(Path work) throws Exception {
    return new TomcatProcess(Path.of(System.getProperty("fairshare.it.tomcat11")), work);
  }

  @Override
  String flavour() {
    return "";
  }

  @Override
  boolean fuzzes() {
    return getClass() == Tomcat11IT.class; // not again for TomcatJndiIT
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
