package dev.fairshare.servlet;

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
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Holds a non-streaming response body until the filter has read its usage and settled, so the
 * rate-limit headers report the usage after this call. Headers and status go straight to the
 * wrapped response, which stays uncommitted until {@link #writeTo} runs.
 *
 * <p>An endpoint that answers asynchronously (it started async processing and writes from another
 * thread after the filter returned) cannot be held: {@link #passThrough} writes what was held and
 * lets every later byte through, keeping a copy of up to the bound and the last 64 KiB to read the
 * usage from. Writes are synchronized because the switch races with the endpoint's own thread.
 *
 * <p>A body larger than the bound it is given is not held either: at that point the headers of
 * admission are applied ({@code beforeOverflow}), what was held is written, and the rest passes
 * through ({@link #overflowed()}).
 */
final class BufferedResponse extends HttpServletResponseWrapper {

  /** The last bytes kept of a body too large to hold, where its usage is. */
  private static final int TAIL = 64 * 1024;

  private final HttpServletResponse response;
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(1024);
  private ServletOutputStream stream;
  private PrintWriter writer;
  private ServletOutputStream passThrough;
  private final long maxBytes;
  private final Runnable beforeOverflow;
  private boolean overflowed;

  /**
   * The last {@value #TAIL} bytes, as a ring indexed by position in the body; allocated only once
   * the body outgrows what {@link #buffer} holds (until then the buffer has every byte).
   */
  private byte[] tail;

  private long written;

  /** The length the endpoint declared for its body, or -1. */
  private long declaredLength = -1;

  /** Run once, in pass-through, before the last declared byte goes out; then null. */
  private Runnable beforeLastBytes;

  BufferedResponse(HttpServletResponse response, long maxBytes, Runnable beforeOverflow) {
    super(response);
    this.response = response;
    this.maxBytes = maxBytes;
    this.beforeOverflow = beforeOverflow;
  }

  @Override
  public ServletOutputStream getOutputStream() {
    if (writer != null) {
      throw new IllegalStateException("getWriter() has already been called");
    }
    return stream();
  }

  private ServletOutputStream stream() {
    if (stream == null) {
      stream =
          new ServletOutputStream() {
            @Override
            public void write(int b) throws IOException {
              write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
              append(b, off, len);
            }

            @Override
            public void flush() throws IOException {
              flushThrough();
            }

            @Override
            public boolean isReady() {
              return true;
            }

            @Override
            public void setWriteListener(WriteListener listener) {
              try {
                listener.onWritePossible();
              } catch (IOException e) {
                listener.onError(e);
              }
            }
          };
    }
    return stream;
  }

  @Override
  public PrintWriter getWriter() {
    if (stream != null && writer == null) {
      throw new IllegalStateException("getOutputStream() has already been called");
    }
    if (writer == null) {
      String encoding = getCharacterEncoding();
      Charset charset = encoding == null ? StandardCharsets.UTF_8 : Charset.forName(encoding);
      writer = new PrintWriter(new OutputStreamWriter(stream(), charset));
    }
    return writer;
  }

  /**
   * Bytes the endpoint's writer still holds belong to the body being reset: they must reach the
   * buffer before it is cleared, not after.
   */
  private void flushWriterIntoTheBuffer() {
    if (writer != null) {
      writer.flush();
    }
  }

  private synchronized void append(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length); // before any count moves
    if (passThrough == null && buffer.size() + (long) len > maxBytes) {
      overflowed = true;
      beforeOverflow.run();
      passThrough();
    }
    keepTail(b, off, len);
    if (passThrough == null) {
      buffer.write(b, off, len);
      return;
    }
    if (buffer.size() < maxBytes) {
      buffer.write(b, off, (int) Math.min(len, maxBytes - buffer.size()));
    }
    beforeTheEndGoesOut();
    passThrough.write(b, off, len);
  }

  private synchronized void flushThrough() throws IOException {
    if (passThrough != null) {
      passThrough.flush();
    }
  }

  @Override
  public void flushBuffer() throws IOException {
    if (writer != null) {
      writer.flush();
    }
    flushThrough();
  }

  @Override
  public void setContentLength(int len) {
    setContentLengthLong(len);
  }

  @Override
  public synchronized void setContentLengthLong(long len) {
    // While the body is held the filter sets the length of what it finally writes; in
    // pass-through the endpoint's length goes out with its bytes.
    declaredLength = len;
    if (passThrough != null) {
      super.setContentLengthLong(len);
    }
  }

  @Override
  public void setHeader(String name, String value) {
    noteLength(name, value);
    super.setHeader(name, value);
  }

  @Override
  public void addHeader(String name, String value) {
    noteLength(name, value);
    super.addHeader(name, value);
  }

  @Override
  public void setIntHeader(String name, int value) {
    noteLength(name, Integer.toString(value));
    super.setIntHeader(name, value);
  }

  @Override
  public void addIntHeader(String name, int value) {
    noteLength(name, Integer.toString(value));
    super.addIntHeader(name, value);
  }

  private synchronized void noteLength(String name, String value) {
    if ("Content-Length".equalsIgnoreCase(name) && value == null) {
      declaredLength = -1; // setHeader(name, null) removes the header
    } else if ("Content-Length".equalsIgnoreCase(name)) {
      try {
        declaredLength = Long.parseLong(value.trim());
      } catch (NumberFormatException e) {
        declaredLength = -1;
      }
    }
  }

  @Override
  public synchronized void resetBuffer() {
    if (passThrough == null) {
      flushWriterIntoTheBuffer();
      buffer.reset();
      written = 0; // the body starts again: the buffer holds all of it, no tail yet
      tail = null;
    } else {
      super.resetBuffer();
    }
  }

  @Override
  public synchronized void reset() {
    super.reset();
    if (passThrough == null) {
      flushWriterIntoTheBuffer();
      buffer.reset();
      written = 0;
      tail = null;
      declaredLength = -1;
    }
  }

  @Override
  public boolean isCommitted() {
    return getResponse().isCommitted();
  }

  /** The body written so far (in pass-through mode: its first megabyte). */
  synchronized byte[] body() {
    if (writer != null) {
      writer.flush();
    }
    return buffer.toByteArray();
  }

  /**
   * {@link #passThrough} for an endpoint answering asynchronously: {@code beforeLastBytes} runs
   * once, before the last byte of a body of declared length goes out (a body of unknown length ends
   * at completion, where the caller settles).
   */
  synchronized void passThroughSettlingBeforeTheEnd(Runnable beforeLastBytes) throws IOException {
    this.beforeLastBytes = beforeLastBytes;
    if (declaredLength >= 0) {
      super.setContentLengthLong(declaredLength);
    }
    passThrough();
  }

  /** Writes what was held so far and lets every later byte through. */
  synchronized void passThrough() throws IOException {
    if (passThrough != null) {
      return;
    }
    passThrough = response.getOutputStream();
    byte[] held = buffer.toByteArray();
    if (held.length > 0) {
      beforeTheEndGoesOut(); // the endpoint's thread may have written it all already
      passThrough.write(held);
    }
  }

  /**
   * Once the body of declared length is whole, the client knows the answer is complete when the
   * bytes about to go out arrive, and may send its next request at once: the settlement must be in
   * the store before then.
   */
  private void beforeTheEndGoesOut() {
    if (beforeLastBytes != null && declaredLength >= 0 && written >= declaredLength) {
      Runnable last = beforeLastBytes;
      beforeLastBytes = null;
      last.run();
    }
  }

  private void keepTail(byte[] b, int off, int len) {
    if (tail == null) {
      if (passThrough == null || buffer.size() + (long) len <= maxBytes) {
        written += len; // the buffer takes these too: it holds the whole body so far
        return;
      }
      // The first bytes the buffer will not hold: start the ring with the body's last bytes so
      // far, which are all in the buffer.
      tail = new byte[TAIL];
      byte[] held = buffer.toByteArray();
      for (int i = Math.max(0, held.length - TAIL); i < held.length; i++) {
        tail[i % TAIL] = held[i];
      }
    }
    for (int i = Math.max(0, len - TAIL); i < len; i++) {
      tail[(int) ((written + i) % TAIL)] = b[off + i];
    }
    written += len;
  }

  /**
   * The usage of the body: read from the body when it was kept whole, else from its last {@value
   * #TAIL} bytes.
   */
  synchronized Optional<TokenUsage> usage() {
    if (writer != null) {
      writer.flush();
    }
    if (written <= buffer.size()) {
      byte[] body = buffer.toByteArray();
      return UsageReader.read(body, 0, body.length);
    }
    int n = (int) Math.min(TAIL, written);
    byte[] last = new byte[n];
    for (int i = 0; i < n; i++) {
      last[i] = tail[(int) ((written - n + i) % TAIL)];
    }
    return UsageReader.readTail(last);
  }

  /** True when the body outgrew the bound and passed through. */
  synchronized boolean overflowed() {
    return overflowed;
  }

  /** After an overflow: flushes what the endpoint's writer still holds. */
  void finishPassThrough() throws IOException {
    if (writer != null) {
      writer.flush();
    }
    flushThrough();
  }

  /** Writes the held body to the wrapped response. */
  void writeTo(HttpServletResponse target, byte[] body) throws IOException {
    if (target.isCommitted()) {
      return;
    }
    target.setContentLength(body.length);
    ServletOutputStream out = target.getOutputStream();
    out.write(body);
    out.flush();
  }
}
