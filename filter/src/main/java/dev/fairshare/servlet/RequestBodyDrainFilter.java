package dev.fairshare.servlet;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import jakarta.servlet.ServletOutputStream;
import java.io.PrintWriter;
import java.io.IOException;

/**
 * Reads what has arrived of a request body once the application has answered without reading it,
 * so that the connection stays open for the client's next request. Jetty 12 closes a connection
 * whose request content is unread when the response completes, without saying {@code Connection:
 * close}; a pooling client then sends its next request into a closing socket and gets no answer.
 * Any answer given without reading the body does this: a 404 for an unknown path, a 401 from the
 * key API. Tomcat, WildFly and Payara read the rest themselves, so there the filter only finds
 * nothing left to read.
 *
 * <p>Register it first, for {@code /*}. It never waits for a body still on its way (a slow body
 * must not hold a thread): it reads what has arrived, at most {@code max-bytes} (init parameter,
 * default 64 KiB), and when the body is not finished then and the answer is not yet sent, the
 * answer says {@code Connection: close}. Requests that went asynchronous are left alone.
 */
public final class RequestBodyDrainFilter implements Filter {

  /** The default of {@code max-bytes}. */
  public static final long DEFAULT_MAX_BYTES = UnreadBody.SMALL_BODY;
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

  /**
   * Decides when the answer starts to be written: if the request body is then neither read nor
   * arrived, the answer says {@code Connection: close} (afterwards it could not: the response may
   * be committed as soon as it is written).
   */
  private static final class CloseIfBodyUnread extends HttpServletResponseWrapper {

    private final HttpServletRequest request;
    private final long maxBytes;
    private boolean checked;

    CloseIfBodyUnread(HttpServletRequest request, HttpServletResponse response, long maxBytes) {
      super(response);
      this.request = request;
      this.maxBytes = maxBytes;
    }

    private void check() {
      if (!checked) {
        checked = true;
        if (!isCommitted() && !request.isAsyncStarted() && !UnreadBody.readArrived(request, maxBytes)) {
          setHeader("Connection", "close");
        }
      }
    }

    @Override
    public ServletOutputStream getOutputStream() throws IOException {
      check();
      return super.getOutputStream();
    }

    @Override
    public PrintWriter getWriter() throws IOException {
      check();
      return super.getWriter();
    }

    @Override
    public void sendError(int sc, String msg) throws IOException {
      check();
      super.sendError(sc, msg);
    }

    @Override
    public void sendError(int sc) throws IOException {
      check();
      super.sendError(sc);
    }

    @Override
    public void flushBuffer() throws IOException {
      check();
      super.flushBuffer();
    }
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    if (request instanceof HttpServletRequest http && response instanceof HttpServletResponse answer) {
      response = new CloseIfBodyUnread(http, answer, maxBytes);
    }
    chain.doFilter(request, response);
    if (request instanceof HttpServletRequest http && !http.isAsyncStarted()
        && !UnreadBody.readArrived(http, maxBytes) && !response.isCommitted()
        && response instanceof HttpServletResponse answer) {
      answer.setHeader("Connection", "close");
    }
  }
}
