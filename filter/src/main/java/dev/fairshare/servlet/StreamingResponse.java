package dev.fairshare.servlet;

import dev.fairshare.openai.SseEventSplitter;
import dev.fairshare.openai.StreamUsageTracker;
import dev.fairshare.openai.TokenUsage;
import dev.fairshare.openai.UsageReader;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;

/**
 * Passes a streamed response through as it arrives, event by event, with every flush preserved,
 * while a {@link StreamUsageTracker} reads the usage and the streamed text (and withholds the
 * injected usage chunk). A response that turns out not to be an event stream (an error, or an
 * endpoint that ignored {@code stream}) passes through byte for byte, and its usage is read from
 * the first megabyte. An event longer than the bound it is given (a stream without blank-line
 * terminators) is not held: from there on the bytes pass through unread, and the stream counts as
 * not read whole ({@link #complete()} is false).
 */
final class StreamingResponse extends HttpServletResponseWrapper {

  private static final int CAPTURE_LIMIT = 1 << 20;

  private final HttpServletResponse response;
  private final StreamUsageTracker tracker;
  private final SseEventSplitter splitter = new SseEventSplitter();
  private final ByteArrayOutputStream capture = new ByteArrayOutputStream();
  private Boolean eventStream;
  private ServletOutputStream stream;
  private PrintWriter writer;
  private boolean finished;
  private final int maxEventBytes;
  private boolean overflowed;
  private boolean clientGone;

  StreamingResponse(HttpServletResponse response, StreamUsageTracker tracker, int maxEventBytes) {
    super(response);
    this.response = response;
    this.tracker = tracker;
    this.maxEventBytes = maxEventBytes;
  }

  @Override
  public ServletOutputStream getOutputStream() throws IOException {
    if (writer != null) {
      throw new IllegalStateException("getWriter() has already been called");
    }
    if (stream == null) {
      ServletOutputStream real = response.getOutputStream();
      stream =
          new ServletOutputStream() {
            @Override
            public void write(int b) throws IOException {
              write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
              relay(real, b, off, len);
            }

            @Override
            public void flush() throws IOException {
              real.flush();
            }

            @Override
            public void close() throws IOException {
              finish();
              real.close();
            }

            @Override
            public boolean isReady() {
              return real.isReady();
            }

            @Override
            public void setWriteListener(WriteListener listener) {
              real.setWriteListener(listener);
            }
          };
    }
    return stream;
  }

  @Override
  public PrintWriter getWriter() throws IOException {
    if (stream != null && writer == null) {
      throw new IllegalStateException("getOutputStream() has already been called");
    }
    if (writer == null) {
      ServletOutputStream out = getOutputStream();
      writer = new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), false);
    }
    return writer;
  }

  @Override
  public void flushBuffer() throws IOException {
    if (writer != null) {
      writer.flush();
    }
    response.flushBuffer();
  }

  @Override
  public void setContentLength(int len) {
    // Withholding the injected usage chunk changes the length: an event stream has none.
  }

  @Override
  public void setContentLengthLong(long len) {
    // As above.
  }

  private void relay(ServletOutputStream real, byte[] b, int off, int len) throws IOException {
    if (eventStream == null) {
      String type = response.getContentType();
      eventStream = type != null && type.toLowerCase(Locale.ROOT).startsWith("text/event-stream");
    }
    if (overflowed) {
      writeThrough(real, b, off, len);
      return;
    }
    if (!eventStream) {
      if (capture.size() < CAPTURE_LIMIT) {
        capture.write(b, off, Math.min(len, CAPTURE_LIMIT - capture.size()));
      }
      writeThrough(real, b, off, len);
      return;
    }
    IOException[] failure = new IOException[1];
    splitter.feed(
        b,
        off,
        len,
        event -> {
          if (failure[0] == null && tracker.accept(event)) {
            try {
              real.write(event);
            } catch (IOException e) {
              failure[0] = e; // the client went away: stop writing, keep counting
            }
          }
        });
    if (failure[0] != null) {
      clientGone = true;
      throw failure[0];
    }
    if (splitter.pending() > maxEventBytes) {
      // No terminator in sight: stop holding bytes, let them (and all later ones) through.
      overflowed = true;
      writeThrough(real, splitter.drain());
    }
  }

  private void writeThrough(ServletOutputStream real, byte[] b) throws IOException {
    writeThrough(real, b, 0, b.length);
  }

  private void writeThrough(ServletOutputStream real, byte[] b, int off, int len)
      throws IOException {
    try {
      real.write(b, off, len);
    } catch (IOException e) {
      clientGone = true;
      throw e;
    }
  }

  /**
   * True when the stream was relayed whole and read to its end: the client stayed, no event was too
   * long to read, and the stream said it ended (or was not an event stream at all).
   */
  boolean complete() {
    return !clientGone && !overflowed && (tracker.ended() || !Boolean.TRUE.equals(eventStream));
  }

  /** Writes what is left of an unterminated last event and flushes. Idempotent. */
  void finish() throws IOException {
    if (finished) {
      return;
    }
    finished = true;
    if (writer != null) {
      writer.flush();
    }
    byte[] rest = splitter.drain();
    if (rest.length > 0 && tracker.accept(rest)) {
      writeThrough(response.getOutputStream(), rest);
    }
    if (stream != null) {
      response.getOutputStream().flush();
    }
  }

  /** The usage reported by the stream (or by the plain body of a non-stream answer). */
  Optional<TokenUsage> usage() {
    if (writer != null) {
      writer.flush();
    }
    Optional<TokenUsage> streamed = tracker.usage();
    if (streamed.isPresent() || Boolean.TRUE.equals(eventStream)) {
      return streamed;
    }
    byte[] body = capture.toByteArray();
    return UsageReader.read(body, 0, body.length);
  }

  /** Text streamed so far. */
  String completionText() {
    return tracker.completionText();
  }

  /** Characters streamed past what is kept for counting. */
  long uncountedChars() {
    return tracker.uncountedChars();
  }
}
