package dev.fairshare.keys;

import java.util.function.UnaryOperator;

/** Where a caller's key is read from: the headers OpenAI SDKs and LiteLLM clients send. */
public final class Credentials {

  private static final String[] KEY_HEADERS = {"x-api-key", "api-key", "x-litellm-api-key"};

  private Credentials() {}

  /**
   * The key from {@code Authorization: Bearer <key>}, else {@code x-api-key}, {@code api-key} or
   * {@code x-litellm-api-key}; null when none is given.
   *
   * @param header the value of a request header by name, or null
   */
  public static String from(UnaryOperator<String> header) {
    String authorization = header.apply("Authorization");
    if (authorization != null) {
      String value = authorization.strip();
      if (value.equalsIgnoreCase("Bearer")) {
        value = ""; // "Bearer " with no token: look at the other headers
      } else if (value.regionMatches(true, 0, "Bearer ", 0, 7)) {
        value = value.substring(7).strip();
      }
      if (!value.isEmpty()) {
        return value;
      }
    }
    for (String name : KEY_HEADERS) {
      String value = header.apply(name);
      if (value != null && !value.isBlank()) {
        return value.strip();
      }
    }
    return null;
  }
}
