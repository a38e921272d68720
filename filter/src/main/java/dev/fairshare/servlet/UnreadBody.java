package dev.fairshare.servlet;

import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * What to do with a request body the filter refuses before reading it all (a missing or wrong key,
 * an unavailable store, a body over the limit).
 *
 * <p>Jetty 12, finding request content unread when the response completes, closes the connection
 * after the response has gone out without {@code Connection: close} (Tomcat, WildFly and Payara
 * read the rest themselves). A client that pooled the connection then sends its next request into
 * a socket being closed and sees it fail with no response ("header parser received no bytes"),
 * which for a POST it does not retry. So before an error answer the rest of the body is read and
 * dropped, up to the body limit; a body larger than that is not read, and the answer says {@code
 * Connection: close} instead.
 */
final class UnreadBody {

  private UnreadBody() {}

  /**
   * Reads and drops what is left of the request body, or marks the response {@code Connection:
   * close} when that would mean reading more than {@code limit} bytes or the body cannot be read.
   * Must run before the response is committed.
   */
  static void discard(HttpServletRequest request, HttpServletResponse response, long limit) {
    if (response.isCommitted()) {
      return;
    }
    if (request.getContentLengthLong() > limit || !readToEnd(request, limit)) {
      response.setHeader("Connection", "close");
    }
  }

  /**
   * Reads and drops the rest of the body; false when it is longer than {@code limit} bytes from
   * here, or cannot be read (then the container closes the connection, as it would have).
   */
  static boolean readToEnd(HttpServletRequest request, long limit) {
    long read = 0;
    try {
      ServletInputStream in = request.getInputStream();
      if (in.isFinished()) {
        return true; // the usual case: the body was read (or there was none)
      }
      byte[] chunk = new byte[8192];
      int n;
      while ((n = in.read(chunk)) != -1) {
        read += n;
        if (read > limit) {
          return false;
        }
      }
      return true;
    } catch (IOException | IllegalStateException e) {
      // IllegalStateException: the body was taken as a reader; either way, give up the connection.
      return false;
    }
  }
}
