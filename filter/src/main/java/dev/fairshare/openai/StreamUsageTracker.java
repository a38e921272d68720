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
    if (data == null || data.equals("[DONE]")) {
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
    }
    JsonNode choices = node.get("choices");
    if (choices != null && choices.isArray()) {
      for (JsonNode choice : choices) {
        appendText(choice.path("delta").path("content"));
        appendText(choice.path("text"));
      }
      if (withholdUsageChunk && choices.isEmpty() && usageNode != null && usageNode.isObject()) {
        return false;
      }
    }
    if ("response.output_text.delta".equals(node.path("type").asText())) {
      appendText(node.path("delta"));
    }
    return true;
  }

  /** The usage the stream reported, if it did. */
  public Optional<TokenUsage> usage() {
    return Optional.ofNullable(usage);
  }

  /** The text streamed so far (for counting completion tokens when no usage came). */
  public String completionText() {
    return completionText.toString();
  }

  private void appendText(JsonNode text) {
    if (text.isTextual()) {
      completionText.append(text.asText());
    }
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
