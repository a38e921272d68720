package dev.fairshare.config;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;

/** Reads {@link FairShareConfig} from MicroProfile Config. */
public final class MicroProfileConfigSource {

  private MicroProfileConfigSource() {}

  /**
   * Reads from the application's MicroProfile Config (system properties, env, properties files).
   */
  public static FairShareConfig read() {
    return read(ConfigProvider.getConfig());
  }

  /** Reads from {@code config}. */
  public static FairShareConfig read(Config config) {
    return FairShareConfig.read(
        key -> config.getOptionalValue(key, String.class), config.getPropertyNames());
  }
}
