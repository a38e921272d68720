package dev.fairshare.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Seeded hostile requests: odd methods, path forms, credentials and mutated JSON bodies, sent raw
 * (one connection each) to a server. Bounded in count and time; the same seed sends the same
 * requests.
 */
public final class Fuzz {

  /** What the run saw: statuses by count, and the requests answered 5xx (or not at all). */
  public record Summary(Map<Integer, Integer> statuses, List<String> failures, int sent) {}

  private static final String[] METHODS = {
    "POST", "POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "HEAD"
  };
  private static final String[] PATHS = {
    "/v1/chat/completions",
    "/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/responses",
    "/v1/chat/completions/",
    "/v1/models",
    "/key/generate",
    "/key/info",
    "/key/update",
    "/key/delete",
    "/key/list",
    "/key/block",
    "/key/regenerate",
    "/health",
    "/",
    "/v1"
  };
  private static final String[] TEMPLATES = {
    "{\"model\":\"my-fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":5}",
    "{\"model\":\"my-fake-model\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"x\"}]}]}",
    "{\"model\":\"my-fake-model\",\"prompt\":\"Say hi\",\"n\":2,\"best_of\":2}",
    "{\"model\":\"my-fake-model\",\"input\":[\"a\",\"b\"],\"reasoning\":{\"effort\":\"low\"}}",
    "{\"key_alias\":\"fuzz\",\"duration\":\"30s\",\"models\":[\"my-fake-model\"],\"tpm_limit\":10,\"metadata\":{\"priority\":\"p\"}}",
    "{\"key\":\"sk-fuzz\",\"grace_period\":\"1h\",\"new_key\":\"sk-abcdefghijklmnop\"}",
    "{\"keys\":[\"sk-a\"],\"key_aliases\":[\"x\"]}"
  };
  private static final String[] VALUES = {
    "null", "true", "false", "0", "-1", "1e309", "99999999999999999999999", "-9223372036854775808",
        "1.5",
    "\"\"", "\"true\"", "\"1\"", "[]", "{}", "[[[[[[[[[[]]]]]]]]]]", "\"\\u0000\"", "\"\\ud800\"",
        "\"é\u200b\"",
    "{\"a\":{\"b\":{\"c\":[1,2,{\"d\":null}]}}}", "\"" + "z".repeat(5_000) + "\""
  };

  private Fuzz() {}

  /**
   * Sends up to {@code count} requests within {@code budget}.
   *
   * @param prefix the context path the OpenAI paths live under ("" on the gateway)
   * @param keys credentials to choose from (valid keys, the master key); invalid ones are added
   */
  public static Summary run(
      URI base, String prefix, List<String> keys, long seed, int count, Duration budget) {
    Random random = new Random(seed);
    Map<Integer, Integer> statuses = new TreeMap<>();
    List<String> failures = new ArrayList<>();
    long deadline = System.nanoTime() + budget.toNanos();
    int sent = 0;
    for (int i = 0; i < count && System.nanoTime() < deadline; i++) {
      String method = pick(random, METHODS);
      String path = path(random, prefix);
      String body = body(random);
      List<String> headers = headers(random, keys);
      int status;
      try {
        status = send(base, method, path, headers, body);
      } catch (IOException e) {
        status = -1;
      }
      sent++;
      statuses.merge(status, 1, Integer::sum);
      if (status >= 500 || status < 0) {
        failures.add(
            status
                + " "
                + method
                + " "
                + path
                + " "
                + headers
                + " "
                + body.substring(0, Math.min(200, body.length())));
      }
    }
    return new Summary(statuses, failures, sent);
  }

  private static String path(Random random, String prefix) {
    String path = pick(random, PATHS);
    switch (random.nextInt(8)) {
      case 0 -> path = path + ";x=" + random.nextInt(10);
      case 1 -> path = path.replaceFirst("/", "//");
      case 2 -> path = path.replace("/c", "/%63");
      case 3 -> path = "/v1/x/.." + path;
      case 4 -> path = path + "?q=" + random.nextInt(1000);
      default -> {}
    }
    return path.startsWith("/key") || path.startsWith("/health") ? path : prefix + path;
  }

  private static List<String> headers(Random random, List<String> keys) {
    List<String> headers = new ArrayList<>();
    switch (random.nextInt(7)) {
      case 0 -> {}
      case 1 -> headers.add("Authorization: Bearer " + pick(random, keys));
      case 2 -> headers.add("Authorization: Bearer ");
      case 3 -> headers.add("Authorization: Bearer sk-not-a-key-" + random.nextInt(1_000_000));
      case 4 -> headers.add("x-api-key: " + pick(random, keys));
      case 5 -> headers.add("Authorization: Basic Zm9vOmJhcg==");
      default -> headers.add("Authorization: Bearer " + pick(random, keys));
    }
    if (random.nextInt(5) == 0) {
      headers.add("Content-Type: text/plain");
    } else {
      headers.add("Content-Type: application/json");
    }
    return headers;
  }

  /** A template with a few random mutations. */
  static String body(Random random) {
    String body = pick(random, TEMPLATES);
    int mutations = random.nextInt(4);
    for (int m = 0; m < mutations; m++) {
      switch (random.nextInt(5)) {
        case 0 -> body = replaceValue(random, body);
        case 1 -> body = body.substring(0, random.nextInt(body.length() + 1)); // truncated
        case 2 ->
            body =
                body.replaceFirst(
                    "\\{",
                    "{\""
                        + pick(
                            random, new String[] {"stream", "n", "model", "max_tokens", "messages"})
                        + "\":"
                        + pick(random, VALUES)
                        + ",");
        case 3 ->
            body =
                "{\"model\":\""
                    + pick(
                        random,
                        new String[] {"my-fake-model", "MY-FAKE-MODEL", " my-fake-model", "x"})
                    + "\","
                    + (body.isEmpty() ? "}" : body.substring(1));
        default -> {}
      }
    }
    return body;
  }

  private static String replaceValue(Random random, String body) {
    int colon = body.indexOf(':', random.nextInt(Math.max(1, body.length())));
    if (colon < 0) {
      return body;
    }
    int end = colon + 1;
    int depth = 0;
    while (end < body.length()) {
      char c = body.charAt(end);
      if (c == '{' || c == '[') {
        depth++;
      } else if ((c == '}' || c == ']') && depth-- == 0) {
        break;
      } else if (c == ',' && depth == 0) {
        break;
      }
      end++;
    }
    return body.substring(0, colon + 1) + pick(random, VALUES) + body.substring(end);
  }

  private static int send(URI base, String method, String path, List<String> headers, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    try (Socket socket = new Socket(base.getHost(), base.getPort())) {
      socket.setSoTimeout(15_000);
      StringBuilder head =
          new StringBuilder(method)
              .append(' ')
              .append(path)
              .append(" HTTP/1.1\r\n")
              .append("Host: ")
              .append(base.getHost())
              .append("\r\nConnection: close\r\n");
      for (String header : headers) {
        head.append(header).append("\r\n");
      }
      head.append("Content-Length: ").append(bytes.length).append("\r\n\r\n");
      OutputStream out = socket.getOutputStream();
      out.write(head.toString().getBytes(StandardCharsets.UTF_8));
      out.write(bytes);
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] status = in.readNBytes(12);
      if (status.length < 12) {
        return -1;
      }
      in.readAllBytes();
      return Integer.parseInt(new String(status, 9, 3, StandardCharsets.US_ASCII));
    }
  }

  private static String pick(Random random, String[] values) {
    return values[random.nextInt(values.length)];
  }

  private static String pick(Random random, List<String> values) {
    return values.get(random.nextInt(values.size()));
  }
}
