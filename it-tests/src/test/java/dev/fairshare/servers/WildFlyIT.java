package dev.fairshare.servers;

import java.nio.file.Path;

/** WildFly 39 with the server-provided WAR flavour (its own RESTEasy and MicroProfile Config). */
class WildFlyIT extends ServerDeploymentContract {

  @Override
  ServerProcess server(Path work) throws Exception {
    return new WildFlyProcess(Path.of(System.getProperty("fairshare.it.wildfly")), work);
  }

  @Override
  String flavour() {
    return "-server-provided";
  }
}
