package dev.fairshare.adminwar;

import dev.fairshare.FairShare;
import dev.fairshare.admin.HealthResource;
import dev.fairshare.admin.InternalErrorMapper;
import dev.fairshare.admin.KeyResource;
import dev.fairshare.admin.WebErrorMapper;
import jakarta.ws.rs.core.Application;
import java.util.Set;

/**
 * The admin WAR's JAX-RS application: the key API, on the instance shared with any filter of this
 * web application, configured through MicroProfile Config.
 */
public final class AdminApplication extends Application {

  @Override
  public Set<Object> getSingletons() {
    FairShare fairShare = FairShare.shared();
    return Set.of(
        new KeyResource(fairShare),
        new HealthResource(fairShare),
        new WebErrorMapper(),
        new InternalErrorMapper());
  }
}
