package dev.fairshare.adminwar;

import dev.fairshare.admin.ConfigResource;
import dev.fairshare.admin.HealthResource;
import dev.fairshare.admin.InternalErrorMapper;
import dev.fairshare.admin.JerseySettings;
import dev.fairshare.admin.KeyResource;
import dev.fairshare.admin.NoStoreHeaders;
import dev.fairshare.admin.TeamResource;
import dev.fairshare.admin.UsageResource;
import dev.fairshare.admin.WebErrorMapper;
import jakarta.ws.rs.core.Application;
import java.util.Map;
import java.util.Set;

/**
 * The admin WAR's JAX-RS application: the key API, on the instance shared with any filter of this
 * web application, configured through MicroProfile Config.
 */
public final class AdminApplication extends Application {

  /**
   * Classes, not instances: Jersey warns about every resource instance it is given ("does not
   * implement any provider interfaces"). Each resource works on the shared instance.
   */
  @Override
  public Set<Class<?>> getClasses() {
    return Set.of(
        KeyResource.class,
        TeamResource.class,
        HealthResource.class,
        UsageResource.class,
        ConfigResource.class,
        WebErrorMapper.class,
        InternalErrorMapper.class,
        NoStoreHeaders.class);
  }

  /** {@link JerseySettings#QUIET}. */
  @Override
  public Map<String, Object> getProperties() {
    return JerseySettings.QUIET;
  }
}
