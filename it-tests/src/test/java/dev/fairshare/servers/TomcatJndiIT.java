package dev.fairshare.servers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Tomcat 11 with the key database as a container-managed JNDI {@code DataSource} (Tomcat's DBCP
 * pool, PostgreSQL driver in {@code $CATALINA_BASE/lib}), as docs/deploy-tomcat.md describes: the
 * WARs name it with {@code fairshare.keys.datasource} and carry no JDBC URL.
 */
class TomcatJndiIT extends Tomcat11IT {

  static final String JNDI_NAME = "java:comp/env/jdbc/fairshare";

  @Override
  Map<String, String> keyDatabase(String schema) {
    return Map.of("fairshare.keys.datasource", JNDI_NAME);
  }

  @Override
  void prepare(ServerProcess server, String schema) throws Exception {
    Path lib = Files.createDirectories(server.work.resolve("lib"));
    Path driver =
        Path.of(
            org.postgresql.Driver.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
    Files.copy(driver, lib.resolve(driver.getFileName()));
    Files.writeString(
        server.work.resolve("conf/context.xml"),
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <Context>
          <WatchedResource>WEB-INF/web.xml</WatchedResource>
          <Resource name="jdbc/fairshare" auth="Container" type="javax.sql.DataSource"
                    driverClassName="org.postgresql.Driver"
                    url="jdbc:postgresql://127.0.0.1:5432/test?currentSchema=%s"
                    username="postgres" password="" maxTotal="8" maxIdle="2"/>
        </Context>
        """
            .formatted(schema));
  }
}
