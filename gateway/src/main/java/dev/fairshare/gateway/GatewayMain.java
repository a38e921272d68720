package dev.fairshare.gateway;

import dev.fairshare.config.ConfigurationException;
import dev.fairshare.core.Clock;
import dev.fairshare.keys.KeyHashing;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * {@code java -jar fairshare-gateway.jar}: configuration from MicroProfile Config (system
 * properties, environment variables such as {@code FAIRSHARE_MASTER_KEY}, {@code
 * META-INF/microprofile-config.properties}). Stops cleanly on SIGTERM.
 */
public final class GatewayMain {

  private GatewayMain() {}

  public static void main(String[] args) throws Exception {
    GatewayConfiguration configuration;
    try {
      configuration = GatewayConfiguration.read(ConfigProvider.getConfig());
    } catch (ConfigurationException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    if (configuration.fairShare().masterKey().isEmpty()) {
      String generated = KeyHashing.newKey();
      configuration =
          new GatewayConfiguration(
              configuration.fairShare().withMasterKey(generated), configuration.gateway());
      // Printed once, to the console only (never to a log): set FAIRSHARE_MASTER_KEY to choose one.
      System.out.println(
          "FairShare: no fairshare.master-key configured; master key for this run: " + generated);
    }
    FairShareGateway gateway;
    try {
      // The models' limits and the priorities are read again every fairshare.config-refresh
      gateway =
          FairShareGateway.start(
              configuration,
              Clock.system(),
              () -> GatewayConfiguration.read(ConfigProvider.getConfig()));
    } catch (ConfigurationException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    gateway.close();
                  } catch (Exception e) {
                    System.err.println("FairShare: error while stopping: " + e);
                  }
                },
                "fairshare-shutdown"));
    System.out.println(
        "FairShare gateway listening on http://"
            + configuration.gateway().host()
            + ":"
            + gateway.port()
            + " (models: "
            + configuration.fairShare().models().capacities()
            + ")");
    gateway.join();
  }
}
