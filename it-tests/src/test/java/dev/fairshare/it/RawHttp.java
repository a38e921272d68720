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
 * HTTP/1.1 driven by hand, as a pooling client uses it: requests go over one connection, and a new
 * one is opened only after a response that said {@code Connection: close}. A server that closes a
 * connection without saying so makes the next request fail with {@link EOFException} (or a broken
 * pipe), which is what a test wants to see. Responses must carry a Content-Length.
 */
public final class RawHttp implements AutoCloseable {

  /** A response: status, headers with lower-case names, body. */
  public record Response(int status, Map<String, String> headers, String body) {}

  private final URI base;
  private final String host;
  private Socket socket;
  private InputStream in;
  private OutputStream out;
  private int connections;

  public RawHttp(URI base) throws IOException {
    this.base = base;
    this.host = base.getHost() + ":" + base.getPort();
    open();
  }

  private void open() throws IOException {
    if (socket != null) {
      socket.close();
    }
    socket = new Socket(base.getHost(), base.getPort());
    socket.setSoTimeout(10_000);
    in = socket.getInputStream();
    out = socket.getOutputStream();
    connections++;
  }

  /** Connections opened so far: 1 while the server kept the first one for every request. */
  public int connections() {
    return connections;
  }

  public Response post(String path, String bearer, String json) throws IOException {
    return postDeclaring(path, bearer, json.getBytes(StandardCharsets.UTF_8).length, json);
  }

  /** Sends a POST whose Content-Length header says {@code declaredLength}, and {@code json}. */
  public Response postDeclaring(String path, String bearer, long declaredLength, String json)
      throws IOException {
    StringBuilder head =
        new StringBuilder()
            .append("POST ")
            .append(path)
            .append(" HTTP/1.1\r\n")
            .append("Host: ")
            .append(host)
            .append("\r\n")
            .append("Content-Type: application/json\r\n")
            .append("Content-Length: ")
            .append(declaredLength)
            .append("\r\n");
    if (bearer != null) {
      head.append("Authorization: Bearer ").append(bearer).append("\r\n");
    }
    head.append("\r\n");
    // Head and body in two writes: the body then reaches the server after the head (Nagle holds
    // it back until the head is acknowledged), so a server that answers from the head alone
    // finds the body still unread, as with a real client sending a large body.
    out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
    out.write(json.getBytes(StandardCharsets.UTF_8));
    out.flush();
    Response response = read();
    if ("close".equalsIgnoreCase(response.headers().get("connection"))) {
      open(); // as a pooling client does: the server said it would close this one
    }
    return response;
  }

  private Response read() throws IOException {
    String statusLine = line();
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    Map<String, String> headers = new HashMap<>();
    for (String header = line(); !header.isEmpty(); header = line()) {
      int colon = header.indexOf(':');
      headers.put(
          header.substring(0, colon).trim().toLowerCase(Locale.ROOT),
          header.substring(colon + 1).trim());
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
