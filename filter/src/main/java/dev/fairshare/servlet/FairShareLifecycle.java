package dev.fairshare.servlet;

import dev.fairshare.FairShare;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;

/**
 * Closes the shared {@link FairShare} instance (key database pool, stores) when the web application
 * is undeployed. Register it in {@code web.xml} next to {@link RateLimitFilter}.
 */
public final class FairShareLifecycle implements ServletContextListener {

  @Override
  public void contextDestroyed(ServletContextEvent event) {
    FairShare.closeShared();
  }
}
