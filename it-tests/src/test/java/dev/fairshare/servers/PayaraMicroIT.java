package dev.fairshare.servers;

import java.nio.file.Path;

/** Payara Micro 6 with the server-provided WAR flavour (its own Jersey and MicroProfile Config). */
class PayaraMicroIT extends ServerDeploymentContract {

  @Override
  ServerProcess server(Path work) throws Exception {
    return new PayaraMicroProcess(Path.of(System.getProperty("fairshare.it.payara")), work);
  }

  @Override
  String flavour() {
    return "-server-provided";
  }
}
