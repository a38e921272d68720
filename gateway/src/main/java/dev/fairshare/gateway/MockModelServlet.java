package dev.fairshare.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fake OpenAI-compatible model, like LiteLLM's {@code mock_response}: chat completions (plain and
 * streamed), text completions, embeddings and the Responses API, each with a fixed usage.
 */
public final class MockModelServlet extends HttpServlet {

  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final transient GatewaySettings settings;
  private final AtomicLong ids = new AtomicLong();

  public MockModelServlet(GatewaySettings settings) {
    this.settings = settings;
  }

  /** For {@code web.xml}: every model answers as {@link MockModel#DEFAULT} (10 + 20 tokens). */
  public MockModelServlet() {
    this(new GatewaySettings(0, "0.0.0.0", java.util.Optional.empty(), java.util.Map.of()));
  }

  @Override
  protected void service(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    if (!"POST".equals(request.getMethod())) {
      response.setHeader("Allow", "POST");
      ObjectNode body = error("Only POST is supported on " + request.getServletPath() + ".");
      writeJson(response, 405, body);
      return;
    }
    doPost(request, response);
  }

  @Override
  protected void doPost(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    JsonNode body;
    try {
      body = JSON.readTree(request.getInputStream());
    } catch (IOException e) {
      body = null;
    }
    if (body == null || !body.isObject() || !body.path("model").isTextual()) {
      writeJson(response, 400, error("The mock model needs a JSON body with a 'model'."));
      return;
    }
    String model = body.get("model").asText();
    MockModel mock = settings.mockFor(model);
    if (mock.async()) {
      JsonNode parsed = body;
      jakarta.servlet.AsyncContext async = request.startAsync();
      async.start(
          () -> {
            try {
              answer(request, response, parsed, model, mock);
            } catch (IOException e) {
              // the client went away
            } finally {
              async.complete();
            }
          });
      return;
    }
    answer(request, response, body, model, mock);
  }

  private void answer(
      HttpServletRequest request,
      HttpServletResponse response,
      JsonNode body,
      String model,
      MockModel mock)
      throws IOException {
    String path = request.getServletPath();
    if (mock.status() != 200) {
      sleep(mock.latency()); // a slow upstream can fail slowly
      if (mock.status() == 429) {
        response.setHeader("retry-after", "7");
        response.setHeader("x-ratelimit-remaining-requests", "0");
      }
      writeJson(response, mock.status(), error("The mock upstream answers " + mock.status() + "."));
      return;
    }
    if (!body.path("stream").asBoolean(false)) {
      sleep(mock.latency());
    }
    long created = System.currentTimeMillis() / 1000;
    String id = Long.toString(ids.incrementAndGet());
    if (path.endsWith("/embeddings")) {
      writeJson(response, 200, embeddings(model, mock));
    } else if (path.endsWith("/responses")) {
      writeJson(response, 200, responses(model, mock, id, created));
    } else if (body.path("stream").asBoolean(false)) {
      boolean includeUsage =
          mock.streamUsage() && body.path("stream_options").path("include_usage").asBoolean(false);
      stream(response, model, mock, id, created, includeUsage, path.endsWith("/chat/completions"));
    } else if (path.endsWith("/chat/completions")) {
      writeJson(response, 200, chat(model, mock, id, created));
    } else {
      writeJson(response, 200, completion(model, mock, id, created));
    }
  }

  private static ObjectNode usage(MockModel mock) {
    ObjectNode usage = JSON.createObjectNode();
    usage.put("prompt_tokens", mock.promptTokens());
    usage.put("completion_tokens", mock.completionTokens());
    usage.put("total_tokens", mock.totalTokens());
    return usage;
  }

  private static ObjectNode chat(String model, MockModel mock, String id, long created) {
    ObjectNode out = JSON.createObjectNode();
    out.put("id", "chatcmpl-mock-" + id);
    out.put("object", "chat.completion");
    out.put("created", created);
    out.put("model", model);
    ObjectNode choice = out.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode message = choice.putObject("message");
    message.put("role", "assistant");
    message.put("content", mock.content());
    message.putNull("refusal");
    choice.putNull("logprobs");
    choice.put("finish_reason", "stop");
    out.set("usage", usage(mock));
    return out;
  }

  /** Streams the content word by word as chat or text completion chunks, then [DONE]. */
  private void stream(
      HttpServletResponse response,
      String model,
      MockModel mock,
      String id,
      long created,
      boolean includeUsage,
      boolean chat)
      throws IOException {
    response.setStatus(200);
    response.setContentType("text/event-stream");
    response.setCharacterEncoding("UTF-8");
    response.setHeader("Cache-Control", "no-cache");
    OutputStream out = response.getOutputStream();
    List<String> pieces = new ArrayList<>();
    if (chat) {
      pieces.add(null); // the role chunk
    }
    for (String word : mock.content().split("(?<= )")) {
      pieces.add(word);
    }
    for (int i = 0; i < pieces.size(); i++) {
      if (i > 0) {
        pause(mock);
      }
      send(out, piece(model, id, created, chat, pieces.get(i), null));
    }
    pause(mock);
    send(out, piece(model, id, created, chat, "", "stop"));
    if (includeUsage) {
      ObjectNode usageChunk = chunk(model, id, created, chat);
      usageChunk.putArray("choices");
      usageChunk.set("usage", usage(mock));
      send(out, usageChunk);
    }
    out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static ObjectNode piece(
      String model, String id, long created, boolean chat, String text, String finishReason) {
    ObjectNode chunk = chunk(model, id, created, chat);
    ObjectNode choice = chunk.putArray("choices").addObject();
    choice.put("index", 0);
    if (chat) {
      ObjectNode delta = choice.putObject("delta");
      if (text == null) {
        delta.put("role", "assistant");
        delta.put("content", "");
      } else if (finishReason == null) {
        delta.put("content", text);
      }
    } else {
      choice.put("text", text);
      choice.putNull("logprobs");
    }
    choice.put("finish_reason", finishReason);
    return chunk;
  }

  private static ObjectNode chunk(String model, String id, long created, boolean chat) {
    ObjectNode chunk = JSON.createObjectNode();
    chunk.put("id", (chat ? "chatcmpl-mock-" : "cmpl-mock-") + id);
    chunk.put("object", chat ? "chat.completion.chunk" : "text_completion");
    chunk.put("created", created);
    chunk.put("model", model);
    return chunk;
  }

  private static void send(OutputStream out, ObjectNode chunk) throws IOException {
    out.write(("data: " + chunk + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static void pause(MockModel mock) throws IOException {
    sleep(mock.chunkDelay());
  }

  /** The mock's simulated model latency (production code of the mock, not a test wait). */
  private static void sleep(java.time.Duration duration) throws IOException {
    if (duration.isZero()) {
      return;
    }
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while streaming", e);
    }
  }

  private static ObjectNode completion(String model, MockModel mock, String id, long created) {
    ObjectNode out = JSON.createObjectNode();
    out.put("id", "cmpl-mock-" + id);
    out.put("object", "text_completion");
    out.put("created", created);
    out.put("model", model);
    ObjectNode choice = out.putArray("choices").addObject();
    choice.put("text", mock.content());
    choice.put("index", 0);
    choice.putNull("logprobs");
    choice.put("finish_reason", "stop");
    out.set("usage", usage(mock));
    return out;
  }

  private static ObjectNode embeddings(String model, MockModel mock) {
    ObjectNode out = JSON.createObjectNode();
    out.put("object", "list");
    ObjectNode item = out.putArray("data").addObject();
    item.put("object", "embedding");
    item.put("index", 0);
    ArrayNode vector = item.putArray("embedding");
    for (int i = 0; i < 8; i++) {
      vector.add(0.125 * i);
    }
    out.put("model", model);
    ObjectNode usage = out.putObject("usage");
    usage.put("prompt_tokens", mock.promptTokens());
    usage.put("total_tokens", mock.promptTokens());
    return out;
  }

  private static ObjectNode responses(String model, MockModel mock, String id, long created) {
    ObjectNode out = JSON.createObjectNode();
    out.put("id", "resp_mock_" + id);
    out.put("object", "response");
    out.put("created_at", created);
    out.put("status", "completed");
    out.put("model", model);
    ObjectNode message = out.putArray("output").addObject();
    message.put("type", "message");
    message.put("id", "msg_mock_" + id);
    message.put("status", "completed");
    message.put("role", "assistant");
    ObjectNode text = message.putArray("content").addObject();
    text.put("type", "output_text");
    text.put("text", mock.content());
    text.putArray("annotations");
    out.put("parallel_tool_calls", true);
    out.putArray("tools");
    out.put("tool_choice", "auto");
    out.putNull("error");
    out.putNull("incomplete_details");
    out.putNull("instructions");
    out.putNull("metadata");
    out.putNull("temperature");
    out.putNull("top_p");
    ObjectNode usage = out.putObject("usage");
    usage.put("input_tokens", mock.promptTokens());
    usage.putObject("input_tokens_details").put("cached_tokens", 0);
    usage.put("output_tokens", mock.completionTokens());
    usage.putObject("output_tokens_details").put("reasoning_tokens", 0);
    usage.put("total_tokens", mock.totalTokens());
    return out;
  }

  private static ObjectNode error(String message) {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode error = root.putObject("error");
    error.put("message", message);
    error.put("type", "invalid_request_error");
    error.putNull("param");
    error.putNull("code");
    return root;
  }

  private static void writeJson(HttpServletResponse response, int status, ObjectNode body)
      throws IOException {
    byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.setContentType("application/json");
    response.setContentLength(bytes.length);
    response.getOutputStream().write(bytes);
  }
}
