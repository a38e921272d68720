package dev.fairshare.servlet;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/** Hands the already-read body on to the endpoint, byte for byte. */
final class ReplayableRequest extends HttpServletRequestWrapper {

  private final byte[] body;

  ReplayableRequest(HttpServletRequest request, byte[] body) {
    super(request);
    this.body = body;
  }

  @Override
  public ServletInputStream getInputStream() {
    ByteArrayInputStream in = new ByteArrayInputStream(body);
    return new ServletInputStream() {
      @Override
      public int read() {
        return in.read();
      }

      @Override
      public int read(byte[] b, int off, int len) {
        return in.read(b, off, len);
      }

      @Override
      public boolean isFinished() {
        return in.available() == 0;
      }

      @Override
      public boolean isReady() {
        return true;
      }

      @Override
      public void setReadListener(ReadListener listener) {
        try {
          listener.onDataAvailable();
          listener.onAllDataRead();
        } catch (java.io.IOException e) {
          listener.onError(e);
        }
      }
    };
  }

  @Override
  public BufferedReader getReader() {
    String encoding = getCharacterEncoding();
    Charset charset = encoding == null ? StandardCharsets.UTF_8 : Charset.forName(encoding);
    return new BufferedReader(new InputStreamReader(new ByteArrayInputStream(body), charset));
  }

  // The body may differ from what the client sent (stream_options added): the framing headers
  // must describe the body handed on, or a proxy behind the filter forwards a wrong length.
  @Override
  public String getHeader(String name) {
    if ("content-length".equalsIgnoreCase(name)) {
      return Integer.toString(body.length);
    }
    if ("transfer-encoding".equalsIgnoreCase(name)) {
      return null;
    }
    return super.getHeader(name);
  }

  @Override
  public java.util.Enumeration<String> getHeaders(String name) {
    if ("content-length".equalsIgnoreCase(name)) {
      return java.util.Collections.enumeration(java.util.List.of(Integer.toString(body.length)));
    }
    if ("transfer-encoding".equalsIgnoreCase(name)) {
      return java.util.Collections.emptyEnumeration();
    }
    return super.getHeaders(name);
  }

  @Override
  public java.util.Enumeration<String> getHeaderNames() {
    java.util.List<String> names = new java.util.ArrayList<>();
    boolean hasLength = false;
    for (java.util.Enumeration<String> e = super.getHeaderNames(); e.hasMoreElements(); ) {
      String name = e.nextElement();
      if ("transfer-encoding".equalsIgnoreCase(name)) {
        continue;
      }
      hasLength |= "content-length".equalsIgnoreCase(name);
      names.add(name);
    }
    if (!hasLength) {
      names.add("Content-Length");
    }
    return java.util.Collections.enumeration(names);
  }

  @Override
  public int getContentLength() {
    return body.length;
  }

  @Override
  public long getContentLengthLong() {
    return body.length;
  }
}
