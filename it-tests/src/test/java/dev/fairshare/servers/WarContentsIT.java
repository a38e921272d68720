package dev.fairshare.servers;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * What the WARs built as the docs say carry: an application on the memory store (the sample app,
 * also deployed with a JNDI DataSource by {@link TomcatJndiIT}) ships the FairShare modules it
 * needs and no Redis client; the admin WAR, which must start under any application's configuration,
 * carries the Redis store.
 */
class WarContentsIT {

  @Test
  void aMemoryStoreApplicationShipsNeitherLettuceNorNetty() throws IOException {
    List<String> libs = libraries(ServerProcess.WARS.resolve("fairshare-sample-app.war"));
    assertThat(libs)
        .anyMatch(l -> l.startsWith("fairshare-core-"))
        .anyMatch(l -> l.startsWith("fairshare-keys-"))
        .anyMatch(l -> l.startsWith("fairshare-openai-"))
        .anyMatch(l -> l.startsWith("fairshare-filter-"))
        .noneMatch(l -> l.startsWith("fairshare-redis-"))
        .noneMatch(l -> l.startsWith("lettuce-"))
        .noneMatch(l -> l.startsWith("netty-"))
        .noneMatch(l -> l.startsWith("reactor-core-"))
        .noneMatch(l -> l.matches(".*-RC\\d*\\.jar"))
        .contains("microprofile-config-api-3.1.jar");
  }

  @Test
  void theAdminWarCarriesTheRedisStore() throws IOException {
    for (String war : List.of("fairshare-admin.war", "fairshare-admin-server-provided.war")) {
      assertThat(libraries(ServerProcess.WARS.resolve(war)))
          .as(war)
          .anyMatch(l -> l.startsWith("fairshare-redis-"))
          .anyMatch(l -> l.startsWith("lettuce-core-"));
    }
  }

  private static List<String> libraries(Path war) throws IOException {
    try (ZipFile zip = new ZipFile(war.toFile())) {
      return zip.stream()
          .map(ZipEntry::getName)
          .filter(n -> n.startsWith("WEB-INF/lib/") && n.endsWith(".jar"))
          .map(n -> n.substring("WEB-INF/lib/".length()))
          .toList();
    }
  }
}
