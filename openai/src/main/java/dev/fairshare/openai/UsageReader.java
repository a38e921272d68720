package dev.fairshare.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.Optional;

/**
 * Finds {@code usage} in a JSON response: chat and text completions ({@code prompt_tokens}, {@code
 * completion_tokens}, {@code total_tokens}), embeddings ({@code prompt_tokens}, {@code
 * total_tokens}) and the Responses API ({@code input_tokens}, {@code output_tokens}, also nested
 * under {@code response} in its events).
 */
public final class UsageReader {

  private static final JsonFactory JSON = new JsonFactory();

  private UsageReader() {}

  /** The usage in {@code body}, or empty when there is none or the body is not JSON. */
  public static Optional<TokenUsage> read(byte[] body, int offset, int length) {
    try (JsonParser p = JSON.createParser(body, offset, length)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return Optional.empty();
      }
      return findUsage(p);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * The usage in the last bytes of a body too large to keep whole: the object after its last {@code
   * "usage":}, where OpenAI-compatible answers put it; empty when there is none.
   */
  public static Optional<TokenUsage> readTail(byte[] tail) {
    byte[] marker = "\"usage\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    for (int at = tail.length - marker.length; at >= 0; at--) {
      if (!matches(tail, at, marker)) {
        continue;
      }
      int i = skipSpace(tail, at + marker.length);
      if (i < tail.length && tail[i] == ':') {
        i = skipSpace(tail, i + 1);
        if (i < tail.length && tail[i] == '{') {
          try (JsonParser p = JSON.createParser(tail, i, tail.length - i)) {
            p.nextToken();
            return Optional.of(readUsage(p));
          } catch (IOException | RuntimeException e) {
            return Optional.empty();
          }
        }
      }
    }
    return Optional.empty();
  }

  private static boolean matches(byte[] bytes, int at, byte[] marker) {
    for (int k = 0; k < marker.length; k++) {
      if (bytes[at + k] != marker[k]) {
        return false;
      }
    }
    return true;
  }

  private static int skipSpace(byte[] bytes, int i) {
    while (i < bytes.length
        && (bytes[i] == ' ' || bytes[i] == '\n' || bytes[i] == '\r' || bytes[i] == '\t')) {
      i++;
    }
    return i;
  }

  /** Searches the current object (positioned after START_OBJECT) for a usage field. */
  private static Optional<TokenUsage> findUsage(JsonParser p) throws IOException {
    Optional<TokenUsage> found = Optional.empty();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken value = p.nextToken();
      if (name.equals("usage") && value == JsonToken.START_OBJECT) {
        found = Optional.of(readUsage(p));
      } else if (name.equals("response") && value == JsonToken.START_OBJECT && found.isEmpty()) {
        found = findUsage(p);
      } else {
        p.skipChildren();
      }
    }
    return found;
  }

  private static TokenUsage readUsage(JsonParser p) throws IOException {
    long input = -1;
    long output = -1;
    long total = -1;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken value = p.nextToken();
      if (value == JsonToken.VALUE_NUMBER_INT) {
        switch (name) {
          case "prompt_tokens", "input_tokens" -> input = p.getLongValue();
          case "completion_tokens", "output_tokens" -> output = p.getLongValue();
          case "total_tokens" -> total = p.getLongValue();
          default -> {}
        }
      } else {
        p.skipChildren();
      }
    }
    input = Math.max(0, input);
    output = Math.max(0, output);
    if (total < 0) {
      total = input + output;
    }
    return new TokenUsage(input, output, total);
  }
}
