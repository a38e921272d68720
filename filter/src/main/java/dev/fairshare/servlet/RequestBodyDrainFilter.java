package dev.fairshare.servlet;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import jakarta.servlet.http.Part;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Collection;
import java.util.Enumeration;
import java.util.Map;

/**
 * Reads what has arrived of a request body once the application has answered without reading it, so
 * that the connection stays open for the client's next request. Jetty 12 closes a connection whose
 * request content is unread when the response completes, without saying {@code Connection: close};
 * a pooling client then sends its next request into a closing socket and gets no answer. Any answer
 * given without reading the body does this: a 404 for an unknown path, a 401 from the key API.
 * Tomcat, WildFly and Payara read the rest themselves, so there the filter only finds nothing left
 * to read.
 *
 * <p>Register it first, for {@code /*}. It never waits for a body still on its way (a slow body
 * must not hold a thread), and never reads a body the application may still want: an answer to a
 * request whose body the application did not touch says {@code Connection: close}; after the
 * application is done, what has arrived of the rest is read (at most {@code max-bytes}, init
 * parameter, default 64 KiB), and when the body is not finished then and the answer is not yet
 * sent, the answer says {@code Connection: close}. Requests that went asynchronous are left alone.
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
   * Notes whether the application touched the body (its stream, its reader, its parameters or
   * parts). Nothing is read here: the application's own reading is left exactly as it was.
   */
  private static final class BodyWatch extends HttpServletRequestWrapper {

    private boolean touched;

    BodyWatch(HttpServletRequest request) {
      super(request);
    }

    @Override
    public ServletInputStream getInputStream() throws IOException {
      touched = true;
      return super.getInputStream();
    }

    @Override
    public BufferedReader getReader() throws IOException {
      touched = true;
      return super.getReader();
    }

    @Override
    public String getParameter(String name) {
      touched = true;
      return super.getParameter(name);
    }

    @Override
    public Map<String, String[]> getParameterMap() {
      touched = true;
      return super.getParameterMap();
    }

    @Override
    public Enumeration<String> getParameterNames() {
      touched = true;
      return super.getParameterNames();
    }

    @Override
    public String[] getParameterValues(String name) {
      touched = true;
      return super.getParameterValues(name);
    }

    @Override
    public Collection<Part> getParts() throws IOException, ServletException {
      touched = true;
      return super.getParts();
    }

    @Override
    public Part getPart(String name) throws IOException, ServletException {
      touched = true;
      return super.getPart(name);
    }
  }

  /**
   * Decides when the answer starts to be written, without reading anything: an application that
   * answers a request with a body it has not touched says {@code Connection: close} (afterwards it
   * could not: the response may be committed as soon as it is written).
   */
  private static final class CloseIfBodyUnread extends HttpServletResponseWrapper {

    private final BodyWatch request;
    private boolean checked;

    CloseIfBodyUnread(BodyWatch request, HttpServletResponse response) {
      super(response);
      this.request = request;
    }

    private void check() {
      if (!checked) {
        checked = true;
        if (!request.touched
            && request.getContentLengthLong() != 0
            && !isCommitted()
            && !request.isAsyncStarted()) {
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
    if (request instanceof HttpServletRequest http
        && response instanceof HttpServletResponse answer) {
      BodyWatch watched = new BodyWatch(http);
      response = new CloseIfBodyUnread(watched, answer);
      request = watched;
    }
    chain.doFilter(request, response);
    if (request instanceof HttpServletRequest http
        && !http.isAsyncStarted()
        && !UnreadBody.readArrived(http, maxBytes)
        && !response.isCommitted()
        && response instanceof HttpServletResponse answer) {
      answer.setHeader("Connection", "close");
    }
  }
}
