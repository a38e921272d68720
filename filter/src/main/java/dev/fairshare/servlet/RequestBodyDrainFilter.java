package dev.fairshare.servlet;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;

/**
 * Reads what is left of a request body once the application has answered, so that the connection
 * stays open for the client's next request. Jetty 12 closes a connection whose request content is
 * unread when the response completes, without saying {@code Connection: close}; a pooling client
 * then sends its next request into a closing socket and gets no answer. Any answer given without
 * reading the body does this: a 404 for an unknown path, a 401 from the key API. Tomcat, WildFly
 * and Payara read the rest themselves, so there the filter only finds nothing left to read.
 *
 * <p>Register it first, for {@code /*}. Bodies longer than {@code max-bytes} (init parameter,
 * default 10 MiB, as {@code fairshare.max-body-size}) are not read: the container closes those
 * connections. Requests that went asynchronous are left alone.
 */
public final class RequestBodyDrainFilter implements Filter {

  /** The default of {@code max-bytes}. */
  public static final long DEFAULT_MAX_BYTES = 10L * 1024 * 1024;

  private long maxBytes = DEFAULT_MAX_BYTES;

  /** For {@code web.xml}. */
  public RequestBodyDrainFilter() {}

  /** For programmatic registration: reads at most {@code maxBytes} of what is left. */
  public RequestBodyDrainFilter(long maxBytes) {
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes must be positive, was " + maxBytes);
    }
    this.maxBytes = maxBytes;
  }

  @Override
  public void init(FilterConfig config) throws ServletException {
    String value = config.getInitParameter("max-bytes");
    if (value != null) {
      try {
        maxBytes = Long.parseLong(value.trim());
      } catch (NumberFormatException e) {
        throw new ServletException("max-bytes must be a number of bytes, was '" + value + "'", e);
      }
      if (maxBytes <= 0) {
        throw new ServletException("max-bytes must be positive, was " + maxBytes);
      }
    }
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    chain.doFilter(request, response);
    if (request instanceof HttpServletRequest http && !http.isAsyncStarted()) {
      UnreadBody.readToEnd(http, maxBytes);
    }
  }
}
