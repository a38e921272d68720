package dev.fairshare.admin;

import java.util.Map;

/**
 * Jersey's optional features the key API does not use, off, so that Jersey does not warn that their
 * APIs are missing (JAXB for WADL, Jakarta Activation for DataSource bodies). Other JAX-RS
 * implementations ignore these properties.
 */
public final class JerseySettings {

  /** The properties, for an {@code Application} or a {@code ResourceConfig}. */
  public static final Map<String, Object> QUIET =
      Map.of(
          "jersey.config.server.wadl.disableWadl",
          true,
          "jersey.config.disableDefaultProvider",
          "DATASOURCE,DOMSOURCE,RENDEREDIMAGE,SAXSOURCE,STREAMSOURCE");

  private JerseySettings() {}
}
