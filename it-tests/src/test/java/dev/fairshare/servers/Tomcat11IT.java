package dev.fairshare.servers;

import java.nio.file.Path;

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
}
