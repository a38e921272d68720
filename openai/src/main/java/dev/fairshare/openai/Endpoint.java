package dev.fairshare.openai;

import java.util.List;

/** The OpenAI endpoints that spend tokens, and how each is counted. */
public enum Endpoint {
  CHAT_COMPLETIONS("/chat/completions", true),
  COMPLETIONS("/completions", true),
  EMBEDDINGS("/embeddings", false),
  RESPONSES("/responses", true);

  private final String path;
  private final boolean generates;

  Endpoint(String path, boolean generates) {
    this.path = path;
    this.generates = generates;
  }

  /** The path without {@code /v1}. */
  public String path() {
    return path;
  }

  /** True when the endpoint produces completion tokens (embeddings do not). */
  public boolean generates() {
    return generates;
  }

  /**
   * The endpoint a request path ends with, among the configured path suffixes; null when the path
   * is not limited. {@code /v1/chat/completions} and {@code /chat/completions} both match.
   */
  public static Endpoint match(String requestPath, List<String> configuredPaths) {
    if (requestPath == null) {
      return null;
    }
    String path =
        requestPath.endsWith("/")
            ? requestPath.substring(0, requestPath.length() - 1)
            : requestPath;
    for (String configured : configuredPaths) {
      if (path.equals(configured) || path.equals("/v1" + configured)) {
        return forSuffix(configured);
      }
    }
    return null;
  }

  private static Endpoint forSuffix(String configured) {
    // "/chat/completions" also ends with "/completions": test the longer path first.
    for (Endpoint e : List.of(CHAT_COMPLETIONS, EMBEDDINGS, RESPONSES, COMPLETIONS)) {
      if (configured.endsWith(e.path)) {
        return e;
      }
    }
    return CHAT_COMPLETIONS;
  }
}
