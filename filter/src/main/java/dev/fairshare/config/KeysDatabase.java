package dev.fairshare.config;

import java.time.Duration;

/**
 * Where the keys live ({@code fairshare.keys.*}): a JNDI {@code DataSource} when one is named,
 * otherwise a JDBC URL (an embedded H2 file by default).
 *
 * @param dataSource JNDI name of a {@code DataSource}, or empty
 * @param jdbcUrl JDBC URL, used when no data source is named
 * @param user user for {@code jdbcUrl}, may be empty
 * @param password password for {@code jdbcUrl}, may be empty
 * @param cacheTtl how long key lookups are cached
 */
public record KeysDatabase(
    String dataSource, String jdbcUrl, String user, String password, Duration cacheTtl) {

  /**
   * The key database when nothing is configured: an H2 file in the server's own folder when this
   * runs in a known container (Tomcat's {@code ${catalina.base}/work}, WildFly's {@code
   * ${jboss.server.data.dir}}, Payara's {@code ${com.sun.aas.instanceRoot}}), else under {@code
   * ~/.fairshare}; shared by the server's applications (the admin WAR and yours) through H2's
   * AUTO_SERVER, which FairShare binds to the loopback interface.
   */
  public static String defaultJdbcUrl() {
    // AUTO_RECONNECT: when the application whose H2 engine serves the file stops, the others'
    // connections reconnect (one of them then opens the file and serves it) instead of failing.
    return "jdbc:h2:file:" + defaultFolder() + "/keys;AUTO_SERVER=TRUE;AUTO_RECONNECT=TRUE";
  }

  /** Where {@link #defaultJdbcUrl()} keeps the database. */
  static String defaultFolder() {
    String tomcat = System.getProperty("catalina.base");
    if (tomcat != null) {
      return tomcat + "/work/fairshare";
    }
    String wildfly = System.getProperty("jboss.server.data.dir");
    if (wildfly != null) {
      return wildfly + "/fairshare";
    }
    String payara = System.getProperty("com.sun.aas.instanceRoot");
    if (payara != null) {
      return payara + "/fairshare";
    }
    return "~/.fairshare";
  }

  /** True when the keys live in a container-managed {@code DataSource}. */
  public boolean usesDataSource() {
    return !dataSource.isEmpty();
  }

  static KeysDatabase read(ConfigValues v) {
    String jdbcUrl = v.string("fairshare.keys.jdbc-url", defaultJdbcUrl());
    if (!jdbcUrl.startsWith("jdbc:")) {
      v.problem(
          "fairshare.keys.jdbc-url",
          "'" + jdbcUrl + "' is not a JDBC URL (it must start with jdbc:)");
    }
    return new KeysDatabase(
        v.string("fairshare.keys.datasource", ""),
        jdbcUrl,
        v.string("fairshare.keys.jdbc-user", ""),
        v.string("fairshare.keys.jdbc-password", ""),
        v.duration("fairshare.keys.cache-ttl", Duration.ofSeconds(5)));
  }

  @Override
  public String toString() {
    // Never print the password; the URL may carry one too.
    return "KeysDatabase["
        + (usesDataSource() ? "dataSource=" + dataSource : "jdbc")
        + ", cacheTtl="
        + cacheTtl
        + "]";
  }
}
