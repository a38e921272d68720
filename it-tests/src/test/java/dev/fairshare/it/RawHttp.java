package dev.fairshare.it;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 connection driven by hand, so a test can see what a pooling client sees: whether
 * the server keeps the connection for the next request. Responses must carry a Content-Length.
 */
final class RawHttp implements AutoCloseable {

  /** A response: status, headers with lower-case names, body. */
  record Response(int status, Map<String, String> headers, String body) {}

  private final Socket socket;
  private final String host;
  private final InputStream in;
  private final OutputStream out;

  RawHttp(URI base) throws IOException {
    this.socket = new Socket(base.getHost(), base.getPort());
    this.socket.setSoTimeout(10_000);
    this.host = base.getHost() + ":" + base.getPort();
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  Response post(String path, String bearer, String json) throws IOException {
    return postDeclaring(path, bearer, json.getBytes(StandardCharsets.UTF_8).length, json);
  }

  /** Sends a POST whose Content-Length header says {@code declaredLength}, and {@code json}. */
  Response postDeclaring(String path, String bearer, long declaredLength, String json) throws IOException {
    StringBuilder head = new StringBuilder()
        .append("POST ").append(path).append(" HTTP/1.1\r\n")
        .append("Host: ").append(host).append("\r\n")
        .append("Content-Type: application/json\r\n")
        .append("Content-Length: ").append(declaredLength).append("\r\n");
    if (bearer != null) {
      head.append("Authorization: Bearer ").append(bearer).append("\r\n");
    }
    head.append("\r\n");
    out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
    out.write(json.getBytes(StandardCharsets.UTF_8));
    out.flush();
    return read();
  }

  private Response read() throws IOException {
    String statusLine = line();
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    Map<String, String> headers = new HashMap<>();
    for (String header = line(); !header.isEmpty(); header = line()) {
      int colon = header.indexOf(':');
      headers.put(header.substring(0, colon).trim().toLowerCase(Locale.ROOT), header.substring(colon + 1).trim());
    }
    byte[] body = in.readNBytes(Integer.parseInt(headers.getOrDefault("content-length", "0")));
    return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
  }

  private String line() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != '\n') {
      if (b == -1) {
        throw new EOFException("the server closed the connection; read so far: " + bytes);
      }
      if (b != '\r') {
        bytes.write(b);
      }
    }
    return bytes.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
