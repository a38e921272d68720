package dev.fairshare.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.function.Function;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Reads {@link FairShareConfig} from MicroProfile Config, and from the properties file named by
 * {@value #CONFIG_FILE} (environment {@code FAIRSHARE_CONFIG_FILE}) when there is one: a file is
 * what survives shells ({@code catalina.sh} splits a {@code -D} value with {@code ;} or {@code &},
 * such as a JDBC URL). What MicroProfile Config has (system properties, environment variables) wins
 * over the file.
 */
public final class MicroProfileConfigSource {

  /** The key naming a properties file of FairShare settings. */
  public static final String CONFIG_FILE = "fairshare.config-file";

  private MicroProfileConfigSource() {}

  /**
   * Reads from the application's MicroProfile Config (system properties, env, properties files).
   */
  public static FairShareConfig read() {
    return read(ConfigProvider.getConfig());
  }

  /** Reads from {@code config}, and the file it names in {@value #CONFIG_FILE}. */
  public static FairShareConfig read(Config config) {
    Function<String, Optional<String>> fromConfig =
        key -> config.getOptionalValue(key, String.class);
    Optional<String> file = fromConfig.apply(CONFIG_FILE);
    List<String> names = new ArrayList<>();
    config.getPropertyNames().forEach(names::add);
    if (file.isEmpty()) {
      return FairShareConfig.read(fromConfig, names);
    }
    Properties properties = load(file.get());
    Set<String> all = new LinkedHashSet<>(names);
    all.addAll(properties.stringPropertyNames());
    return FairShareConfig.read(
        key -> fromConfig.apply(key).or(() -> Optional.ofNullable(properties.getProperty(key))),
        all);
  }

  private static Properties load(String file) {
    Properties properties = new Properties();
    try (Reader in = Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8)) {
      properties.load(in);
      return properties;
    } catch (IOException | RuntimeException e) {
      throw new ConfigurationException(
          List.of(
              CONFIG_FILE + ": cannot read " + file + " (" + e.getClass().getSimpleName() + ")"));
    }
  }
}
