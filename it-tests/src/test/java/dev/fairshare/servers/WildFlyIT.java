package dev.fairshare.servers;

import java.nio.file.Path;
import java.util.List;

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

  /**
   * An anonymous {@code AsyncListener} in the filter JAR was logged as an optional component that
   * could not be installed, once per deployment; the key API's JAX-RS resources in the filter JAR
   * made every application with the filter a JAX-RS deployment warned about choosing Jackson.
   */
  @Override
  List<String> forbiddenWarnings() {
    return List.of("WFLYEE0007", "WFLYRS0018");
  }
}
