package dev.fairshare.servers;

import static org.assertj.core.api.Assertions.assertThat;

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

  @Override
  List<String> serverOwnWarnings() {
    // A fresh standalone.xml: the default transaction node id, the generated TLS key store.
    return List.of("WFLYTX0013", "WFLYELY00023", "WFLYELY01084");
  }

  /** Through the management interface: {@code /deployment=sample.war:redeploy}. */
  @Override
  boolean redeployTheApplication(ServerProcess server) throws Exception {
    String out = ((WildFlyProcess) server).cli("/deployment=sample.war:redeploy");
    assertThat(out).contains("\"outcome\" => \"success\"");
    return true;
  }
}
