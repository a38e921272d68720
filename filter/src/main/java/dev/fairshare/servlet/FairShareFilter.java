package dev.fairshare.servlet;

import dev.fairshare.FairShare;
import dev.fairshare.config.ConfigurationException;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * What FairShare's filters share: the instance they work on (given, or the shared one built from
 * MicroProfile Config when registered in {@code web.xml}), and HTTP requests only.
 */
abstract class FairShareFilter implements Filter {

  private FairShare fairShare;

  /**
   * @param fairShare the instance, or null for the shared one (found in {@link #init})
   */
  FairShareFilter(FairShare fairShare) {
    this.fairShare = fairShare;
  }

  @Override
  public final void init(FilterConfig filterConfig) throws ServletException {
    if (fairShare == null) {
      try {
        fairShare = FairShare.shared();
      } catch (ConfigurationException e) {
        throw new ServletException(e.getMessage(), e);
      }
    }
  }

  final FairShare fairShare() {
    return fairShare;
  }

  @Override
  public final void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    if (req instanceof HttpServletRequest request && res instanceof HttpServletResponse response) {
      filter(request, response, chain);
    } else {
      chain.doFilter(req, res);
    }
  }

  /** Filters one HTTP request. */
  abstract void filter(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws IOException, ServletException;

  @Override
  public void destroy() {
    // The shared instance outlives one filter; the owner of a programmatic instance closes it.
  }
}
