package dev.fairshare.servlet;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.ByteArrayOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * Holds a non-streaming response body until the filter has read its usage and settled, so the
 * rate-limit headers report the usage after this call. Headers and status go straight to the
 * wrapped response, which stays uncommitted until {@link #writeTo} runs.
 */
final class BufferedResponse extends HttpServletResponseWrapper {

  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(1024);
  private ServletOutputStream stream;
  private PrintWriter writer;

  BufferedResponse(HttpServletResponse response) {
    super(response);
  }

  @Override
  public ServletOutputStream getOutputStream() {
    if (writer != null) {
      throw new IllegalStateException("getWriter() has already been called");
    }
    if (stream == null) {
      stream =
          new ServletOutputStream() {
            @Override
            public void write(int b) {
              buffer.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
              buffer.write(b, off, len);
            }

            @Override
            public boolean isReady() {
              return true;
            }

            @Override
            public void setWriteListener(WriteListener listener) {
              try {
                listener.onWritePossible();
              } catch (java.io.IOException e) {
                listener.onError(e);
              }
            }
          };
    }
    return stream;
  }

  @Override
  public PrintWriter getWriter() {
    if (stream != null) {
      throw new IllegalStateException("getOutputStream() has already been called");
    }
    if (writer == null) {
      String encoding = getCharacterEncoding();
      Charset charset = encoding == null ? StandardCharsets.UTF_8 : Charset.forName(encoding);
      writer = new PrintWriter(new OutputStreamWriter(buffer, charset));
    }
    return writer;
  }

  @Override
  public void flushBuffer() {
    if (writer != null) {
      writer.flush();
    }
  }

  @Override
  public void setContentLength(int len) {
    // The filter sets the length of what it finally writes.
  }

  @Override
  public void setContentLengthLong(long len) {
    // The filter sets the length of what it finally writes.
  }

  @Override
  public void resetBuffer() {
    buffer.reset();
  }

  @Override
  public void reset() {
    super.reset();
    buffer.reset();
  }

  @Override
  public boolean isCommitted() {
    return getResponse().isCommitted();
  }

  /** The body written so far. */
  byte[] body() {
    if (writer != null) {
      writer.flush();
    }
    return buffer.toByteArray();
  }

  /** Writes the held body to the wrapped response. */
  void writeTo(HttpServletResponse response, byte[] body) throws java.io.IOException {
    if (response.isCommitted()) {
      return;
    }
    response.setContentLength(body.length);
    ServletOutputStream out = response.getOutputStream();
    out.write(body);
    out.flush();
  }
}
