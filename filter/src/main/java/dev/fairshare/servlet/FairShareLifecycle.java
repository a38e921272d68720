package dev.fairshare.servlet;

import dev.fairshare.FairShare;
import dev.fairshare.config.ConfigurationException;
import jakarta.servlet.FilterRegistration;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Collections;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The shared {@link FairShare} instance's life in a web application: built and validated when the
 * application starts, so a configuration error fails that deployment with the one report naming
 * every bad key (never a half-configured filter answering requests), and closed when it stops (key
 * database pool, stores).
 *
 * <p>The filter JAR's {@code META-INF/web-fragment.xml} registers it in every application that
 * carries the JAR; naming it in {@code web.xml} as well does no harm. It builds the instance only
 * when the application registers one of FairShare's filters from {@code web.xml} (they use the
 * shared instance); an application that gives its filters an instance of its own can say so with
 * the context parameter {@value #SHARED_INSTANCE} = {@code false}.
 */
public final class FairShareLifecycle implements ServletContextListener {

  /** Context parameter: {@code false} when the application builds its own instance. */
  public static final String SHARED_INSTANCE = "fairshare.shared-instance";

  private static final Logger LOG = Logger.getLogger(FairShareLifecycle.class.getName());

  /** The filters that work on the shared instance when registered by class name. */
  private static final Set<String> FILTERS =
      Set.of(RateLimitFilter.class.getName(), KeyApiGuardFilter.class.getName());

  @Override
  public void contextInitialized(ServletContextEvent event) {
    ServletContext context = event.getServletContext();
    if ("false".equalsIgnoreCase(context.getInitParameter(SHARED_INSTANCE))
        || !usesFairShare(context)) {
      return;
    }
    try {
      FairShare.shared();
    } catch (ConfigurationException e) {
      LOG.log(
          Level.SEVERE,
          "FairShare is not configured correctly; the application {0} does not start.\n{1}",
          new Object[] {context.getContextPath(), e.getMessage()});
      // The application will not stop normally: let go of what its start registered.
      deregisterDrivers(context);
      // Thrown from a listener, this fails the deployment on Tomcat, Jetty, WildFly and Payara.
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  private static boolean usesFairShare(ServletContext context) {
    for (FilterRegistration registration : context.getFilterRegistrations().values()) {
      if (FILTERS.contains(registration.getClassName())) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void contextDestroyed(ServletContextEvent event) {
    FairShare.closeShared();
    deregisterDrivers(event.getServletContext());
  }

  /**
   * Deregisters the JDBC drivers this application's class loader registered (H2, PostgreSQL from
   * {@code WEB-INF/lib}): left registered, they pin the undeployed application's class loader, and
   * Tomcat warns about each.
   */
  private static void deregisterDrivers(ServletContext context) {
    ClassLoader ours = FairShareLifecycle.class.getClassLoader();
    if (ours != context.getClassLoader()) {
      // FairShare sits in a loader shared by several applications (the server's lib folder, a
      // global module): its drivers serve them all, and one application stopping must not take
      // them from the others.
      return;
    }
    // Listing the drivers registers some: to decide whether this loader may see a driver
    // registered by another (the server's copy of PostgreSQL's, for a container DataSource),
    // DriverManager initialises that class through this loader, and our own copy's static
    // initialiser registers it then. A second look finds it; a third finds nothing new.
    for (int pass = 0; pass < 3; pass++) {
      boolean found = false;
      for (Driver driver : Collections.list(DriverManager.getDrivers())) {
        if (driver.getClass().getClassLoader() == ours) {
          found = true;
          try {
            DriverManager.deregisterDriver(driver);
          } catch (SQLException | SecurityException e) {
            LOG.log(Level.FINE, "could not deregister " + driver.getClass().getName(), e);
          }
        }
      }
      if (!found && pass > 0) {
        return;
      }
    }
  }
}
