package dev.fairshare.servlet;

import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * What to do with a request body left unread by an answer (a refusal before the body was read, a
 * 404 of the key API).
 *
 * <p>Jetty 12, finding request content unread when the response completes, closes the connection
 * after the response has gone out without {@code Connection: close} (Tomcat, WildFly and Payara
 * read the rest themselves). A client that pooled the connection then sends its next request into a
 * socket being closed and sees it fail with no response ("header parser received no bytes"), which
 * for a POST it does not retry. So before such an answer the part of the body that has already
 * arrived is read and dropped, without waiting for more; if the body is then not finished (larger
 * than {@link #SMALL_BODY}, or still on its way) the answer says {@code Connection: close}, and the
 * client opens a new connection for its next request. Waiting for the rest instead would let a
 * caller without a key hold a thread with a slow body.
 */
final class UnreadBody {

  /** The most of an unread body read to keep a connection. */
  static final int SMALL_BODY = 64 * 1024;

  private UnreadBody() {}

  /**
   * Reads and drops what has arrived of the rest of the body, or marks the response {@code
   * Connection: close} when the body is not finished then. Must run before the response is
   * committed; does nothing after.
   */
  static void discard(HttpServletRequest request, HttpServletResponse response) {
    if (response.isCommitted()) {
      return;
    }
    if (request.getContentLengthLong() > SMALL_BODY || !readArrived(request, SMALL_BODY)) {
      response.setHeader("Connection", "close");
    }
  }

  /**
   * Reads and drops the part of the body that can be read without blocking, up to {@code limit}
   * bytes; true when the body is finished afterwards (the usual case: it was read, or was empty, or
   * was small and had arrived with the head).
   */
  static boolean readArrived(HttpServletRequest request, long limit) {
    try {
      ServletInputStream in = request.getInputStream();
      if (in.isFinished()) {
        return true;
      }
      if (request.getContentLengthLong() > limit) {
        return false; // more than this would read: not worth starting
      }
      if (request.getContentLengthLong() < 0) {
        // Chunked: what a container counts as available may end inside a chunk's header, and a
        // read could then wait for the rest. Not read at all.
        return false;
      }
      byte[] chunk = new byte[8192];
      long read = 0;
      while (read <= limit) {
        int available = in.available();
        if (available <= 0) {
          break;
        }
        int n = in.read(chunk, 0, Math.min(chunk.length, available));
        if (n == -1) {
          return true;
        }
        read += n;
      }
      return in.isFinished();
    } catch (IOException | RuntimeException e) {
      // The body was taken as a reader (IllegalStateException), or the container gave up on it
      // (Jetty's minimum data rate: a 408 exception): either way, give up the connection.
      return false;
    }
  }
}
