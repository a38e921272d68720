package dev.fairshare.bench;

import dev.fairshare.gateway.FairShareGateway;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Heap per request held in the waiting room (issue 17, item 6): {@value #WAITING} calls to a model
 * that is full for the next minute, each on its own connection, each held (Servlet async, no
 * thread) until its room frees. Measured as used heap after GC with the connections open and idle,
 * then with every call waiting; the difference divided by the calls is what a waiting request holds
 * beyond its connection (its request and response, the async context, the wait's state and timer
 * task, its body). The same for the connections against the gateway at rest.
 *
 * <p>The clients are plain sockets in this JVM: they hold no more once the request is written, so
 * the figures are the gateway's.
 *
 * <pre>mvn -B -q -pl it-tests -am -DskipTests install &&
 * mvn -B -pl it-tests -Pbench exec:exec -Dbench.main=dev.fairshare.bench.WaitingFootprint</pre>
 */
public final class WaitingFootprint {

  static final int WAITING = 1_000;

  public static void main(String[] args) throws Exception {
    for (int bodyBytes : new int[] {200, 4_000}) {
      measure(bodyBytes);
    }
    System.exit(0);
  }

  private static void measure(int bodyBytes) throws Exception {
    Path dir = Files.createTempDirectory("fairshare-waiting-footprint");
    FairShareGateway gateway =
        OverheadBenchmark.gateway(
            dir,
            Map.of(
                "fairshare.models.wait-model.tpm", "1000000000",
                "fairshare.models.wait-model.rpm", "1",
                "fairshare.max-queue-wait", "60s",
                "fairshare.max-queued", Integer.toString(2 * WAITING)));
    List<Socket> sockets = new ArrayList<>();
    try {
      List<String> keys = OverheadBenchmark.mint(gateway);
      byte[][] requests = new byte[WAITING][];
      for (int i = 0; i < WAITING; i++) {
        requests[i] = request(gateway, keys.get(i % keys.size()), bodyBytes);
      }
      // The model's one request of the minute: everything after it waits for the next.
      try (Socket first = new Socket("127.0.0.1", gateway.baseUri().getPort())) {
        first.getOutputStream().write(requests[0]);
        first.getOutputStream().flush();
        if (first.getInputStream().readNBytes(12).length != 12) {
          throw new IllegalStateException("no answer to the first call");
        }
      }
      long atRest = usedAfterGc();
      for (int i = 0; i < WAITING; i++) {
        sockets.add(new Socket("127.0.0.1", gateway.baseUri().getPort()));
      }
      long connected = usedAfterGc();
      for (int i = 0; i < WAITING; i++) {
        OutputStream out = sockets.get(i).getOutputStream();
        out.write(requests[i]);
        out.flush();
      }
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (gateway.rateLimitFilter().waiting("wait-model") < WAITING) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "only "
                  + gateway.rateLimitFilter().waiting("wait-model")
                  + " of "
                  + WAITING
                  + " calls wait");
        }
        Thread.onSpinWait();
      }
      long waiting = usedAfterGc();
      int stillWaiting = gateway.rateLimitFilter().waiting("wait-model");
      System.out.printf(
          Locale.ROOT,
          "| %d-byte body | %d | %.1f KB | %.1f KB |%n",
          requests[0].length - headerLength(requests[0]),
          stillWaiting,
          (connected - atRest) / 1e3 / WAITING,
          (waiting - connected) / 1e3 / WAITING);
    } finally {
      for (Socket socket : sockets) {
        closeQuietly(socket);
      }
      gateway.close();
    }
  }

  private static byte[] request(FairShareGateway gateway, String key, int bodyBytes) {
    String prefix = "{\"model\":\"wait-model\",\"messages\":[{\"role\":\"user\",\"content\":\"";
    String suffix = "\"}]}";
    String content = "x".repeat(Math.max(1, bodyBytes - prefix.length() - suffix.length()));
    byte[] body = (prefix + content + suffix).getBytes(StandardCharsets.UTF_8);
    String head =
        "POST /v1/chat/completions HTTP/1.1\r\n"
            + "Host: 127.0.0.1:"
            + gateway.baseUri().getPort()
            + "\r\nAuthorization: Bearer "
            + key
            + "\r\nContent-Type: application/json\r\nContent-Length: "
            + body.length
            + "\r\n\r\n";
    byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
    byte[] all = new byte[headBytes.length + body.length];
    System.arraycopy(headBytes, 0, all, 0, headBytes.length);
    System.arraycopy(body, 0, all, headBytes.length, body.length);
    return all;
  }

  private static int headerLength(byte[] request) {
    String text = new String(request, StandardCharsets.US_ASCII);
    return text.indexOf("\r\n\r\n") + 4;
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  private static long usedAfterGc() {
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return rt.totalMemory() - rt.freeMemory();
  }
}
