package dev.fairshare.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/** The only change the filter ever makes to a request body. */
public final class RequestRewriter {

  private static final ObjectMapper JSON = new ObjectMapper();

  private RequestRewriter() {}

  /**
   * The body with {@code stream_options.include_usage = true}, so that the stream ends with a usage
   * chunk; other fields are kept as they were.
   */
  public static byte[] withStreamUsage(byte[] body) {
    try {
      JsonNode root = JSON.readTree(body);
      if (!(root instanceof ObjectNode object)) {
        return body;
      }
      JsonNode options = object.get("stream_options");
      ObjectNode streamOptions =
          options instanceof ObjectNode existing ? existing : object.putObject("stream_options");
      streamOptions.put("include_usage", true);
      return JSON.writeValueAsBytes(object);
    } catch (IOException e) {
      return body; // already validated by RequestReader; keep the original if anything is off
    }
  }
}
