package dev.fairshare.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Watches the events of a streamed response: takes the usage from the final chunk (chat and text
 * completions with {@code stream_options.include_usage}, or the Responses API's {@code
 * response.completed}), accumulates the streamed text (to count it when no usage comes), and
 * decides which events the client sees: the usage-only chunk is withheld when the filter asked for
 * it and the client did not.
 */
public final class StreamUsageTracker {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final boolean withholdUsageChunk;
  private final StringBuilder completionText = new StringBuilder();
  private TokenUsage usage;
  private boolean ended;
  private long uncountedChars;

  /** Streamed text kept for counting tokens when no usage comes. */
  static final int MAX_TEXT_CHARS = 4 * 1024 * 1024;

  /**
   * @param withholdUsageChunk true when the filter injected {@code include_usage} and the
   *     usage-only chunk must not reach the client
   */
  public StreamUsageTracker(boolean withholdUsageChunk) {
    this.withholdUsageChunk = withholdUsageChunk;
  }

  /** Reads one whole event; returns whether the client should receive it. */
  public boolean accept(byte[] event) {
    String data = dataOf(new String(event, StandardCharsets.UTF_8));
    if (data == null) {
      return true;
    }
    if (data.equals("[DONE]")) {
      ended = true;
      return true;
    }
    JsonNode node;
    try {
      node = JSON.readTree(data);
    } catch (IOException e) {
      return true; // not ours to judge: pass it on
    }
    if (node == null || !node.isObject()) {
      return true;
    }
    JsonNode usageNode = node.get("usage");
    if (usageNode == null || usageNode.isNull()) {
      JsonNode response = node.get("response");
      usageNode = response == null ? null : response.get("usage");
    }
    if (usageNode != null && usageNode.isObject()) {
      byte[] json = data.getBytes(StandardCharsets.UTF_8);
      usage = UsageReader.read(json, 0, json.length).orElse(usage);
      ended = usage != null;
    }
    JsonNode choices = node.get("choices");
    if (choices != null && choices.isArray()) {
      for (JsonNode choice : choices) {
        JsonNode delta = choice.path("delta");
        appendText(delta.path("content"));
        appendText(delta.path("reasoning_content"));
        appendText(delta.path("reasoning"));
        appendText(delta.path("refusal"));
        appendText(delta.path("function_call").path("arguments"));
        for (JsonNode call : delta.path("tool_calls")) {
          appendText(call.path("function").path("name"));
          appendText(call.path("function").path("arguments"));
        }
        appendText(choice.path("text"));
      }
      if (withholdUsageChunk && choices.isEmpty() && usageNode != null && usageNode.isObject()) {
        return false;
      }
    }
    String type = node.path("type").asText();
    if (type.endsWith(".delta") && type.startsWith("response.")) {
      // output_text, function_call_arguments, reasoning_text, reasoning_summary_text, refusal...
      appendText(node.path("delta"));
    } else if (type.equals("response.completed")) {
      ended = true;
    }
    return true;
  }

  /** True once the stream said it ended: {@code [DONE]}, a usage report, or response.completed. */
  public boolean ended() {
    return ended;
  }

  /** The usage the stream reported, if it did. */
  public Optional<TokenUsage> usage() {
    return Optional.ofNullable(usage);
  }

  /**
   * The text streamed so far (for counting completion tokens when no usage came): content,
   * reasoning, refusals and tool-call names and arguments.
   */
  public String completionText() {
    return completionText.toString();
  }

  private void appendText(JsonNode text) {
    if (text.isTextual()) {
      String value = text.asText();
      if (completionText.length() + (long) value.length() > MAX_TEXT_CHARS) {
        uncountedChars += value.length();
      } else {
        completionText.append(value);
      }
    }
  }

  /**
   * Characters streamed past the {@value #MAX_TEXT_CHARS} kept for counting: charged one token each
   * (no token is shorter than a character).
   */
  public long uncountedChars() {
    return uncountedChars;
  }

  /** The event's data: its {@code data:} lines joined by newlines; null when it has none. */
  private static String dataOf(String event) {
    StringBuilder data = null;
    for (String line : event.split("\r\n|\r|\n")) {
      if (line.startsWith("data:")) {
        String value = line.substring(5);
        if (value.startsWith(" ")) {
          value = value.substring(1);
        }
        if (data == null) {
          data = new StringBuilder(value);
        } else {
          data.append('\n').append(value);
        }
      }
    }
    return data == null ? null : data.toString();
  }
}
