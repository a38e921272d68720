package dev.fairshare.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a request body with Jackson's streaming parser, keeping only what the limiter needs. The
 * body itself is handed on to the endpoint unchanged.
 */
public final class RequestReader {

  private static final JsonFactory JSON =
      JsonFactory.builder()
          // A field given twice could be read one way here and the other way upstream.
          .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(200)
                  .maxStringLength(Integer.MAX_VALUE)
                  .build())
          .build();

  /** The longest model name accepted. */
  static final int MAX_MODEL_NAME = 256;

  /** OpenAI's largest {@code n}. */
  static final int MAX_CHOICES = 128;

  private RequestReader() {}

  /**
   * Parses {@code body}.
   *
   * @throws InvalidRequestException 400 when the body is not a JSON object or has no string {@code
   *     model}
   */
  public static CompletionRequest read(byte[] body) throws InvalidRequestException {
    State s = new State();
    try (JsonParser p = JSON.createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw invalid("The request body must be a JSON object.", null);
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        switch (field) {
          case "model" -> {
            if (value != JsonToken.VALUE_STRING) {
              throw invalid("'model' must be a string.", "model");
            }
            s.model = p.getText();
            if (s.model.length() > MAX_MODEL_NAME) {
              throw invalid("'model' must be at most " + MAX_MODEL_NAME + " characters.", "model");
            }
          }
          case "stream" -> {
            // Lenient upstreams stream for "true" or 1 too: only the JSON boolean is accepted, as
            // OpenAI does, so the filter and the upstream agree on whether the answer streams.
            if (value != JsonToken.VALUE_TRUE
                && value != JsonToken.VALUE_FALSE
                && value != JsonToken.VALUE_NULL) {
              throw invalidType("stream", "a boolean");
            }
            s.stream = value == JsonToken.VALUE_TRUE;
          }
          case "n", "best_of" -> {
            if (value == JsonToken.VALUE_NUMBER_INT) {
              long choices = p.getLongValue();
              if (choices < 1 || choices > MAX_CHOICES) {
                throw invalid(
                    "'" + field + "' must be an integer from 1 to " + MAX_CHOICES + ".", field);
              }
              s.choices = Math.max(s.choices, (int) choices);
            } else if (value != JsonToken.VALUE_NULL) {
              throw invalidType(field, "an integer");
            }
          }
          case "reasoning_effort", "reasoning" -> {
            s.reasoning = value != JsonToken.VALUE_NULL;
            p.skipChildren();
          }
          case "max_tokens", "max_completion_tokens", "max_output_tokens" -> {
            if (value == JsonToken.VALUE_NUMBER_INT) {
              long max = p.getLongValue();
              if (max < 0) {
                throw invalid("'" + field + "' must not be negative.", field);
              }
              // Several of them: the largest, since the upstream may honour any of them and the
              // reservation must cover what it may generate (a repeated field is refused whole).
              s.maxTokens = s.maxTokens == null ? max : Math.max(s.maxTokens, max);
            } else if (value != JsonToken.VALUE_NULL) {
              throw invalidType(field, "an integer");
            }
          }
          case "background" -> {
            // A background response answers "queued" with no usage and generates afterwards, out
            // of the filter's sight: its cost could never be settled, so it is not let through.
            if (value == JsonToken.VALUE_TRUE) {
              throw invalid(
                  "FairShare cannot limit a background response: its usage arrives after the call."
                      + " Send it without 'background'.",
                  "background");
            }
            if (value != JsonToken.VALUE_FALSE && value != JsonToken.VALUE_NULL) {
              throw invalidType("background", "a boolean");
            }
          }
          case "stream_options" -> readStreamOptions(p, value, s);
          case "messages" -> readMessages(p, value, s);
          case "prompt", "input" -> {
            // Strings, or token ids (lists of integers, or lists of them): each id is a token.
            if (value == JsonToken.VALUE_NUMBER_INT) {
              s.tokenIds++;
            } else {
              collectStrings(p, value, s, true);
            }
          }
          case "instructions", "system" -> collectStrings(p, value, s);
          case "tools", "functions", "response_format", "tool_choice" -> {
            // Definitions count as their JSON text, as the model sees them (an approximation).
            long from = p.currentTokenLocation().getByteOffset();
            p.skipChildren();
            long to = p.currentLocation().getByteOffset();
            if (from >= 0 && to > from && to <= body.length) {
              s.texts.add(new String(body, (int) from, (int) (to - from), StandardCharsets.UTF_8));
            }
          }
          default -> p.skipChildren();
        }
      }
      if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw invalid("The request body must be a single JSON object.", null);
      }
    } catch (JsonProcessingException e) {
      throw invalid(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using"
              + " your HTTP library correctly. The OpenAI API expects a JSON payload.)",
          null);
    } catch (IOException e) {
      throw invalid("The request body could not be read.", null);
    }
    if (s.model == null || s.model.isBlank()) {
      throw invalid("You must provide a model parameter.", "model");
    }
    return new CompletionRequest(
        s.model,
        s.stream,
        s.maxTokens,
        s.includeUsage,
        List.copyOf(s.texts),
        s.messages,
        s.names,
        s.images,
        s.choices,
        s.reasoning,
        s.tokenIds);
  }

  private static void readStreamOptions(JsonParser p, JsonToken value, State s) throws IOException {
    if (value != JsonToken.START_OBJECT) {
      p.skipChildren();
      return;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      if (name.equals("include_usage")) {
        s.includeUsage = v == JsonToken.VALUE_TRUE;
      } else {
        p.skipChildren();
      }
    }
  }

  private static void readMessages(JsonParser p, JsonToken value, State s)
      throws IOException, InvalidRequestException {
    if (value != JsonToken.START_ARRAY) {
      if (value == JsonToken.VALUE_NULL) {
        return;
      }
      throw invalid("'messages' must be an array.", "messages");
    }
    if (p.nextToken() == JsonToken.END_ARRAY) {
      throw invalid("'messages' must contain at least one message.", "messages");
    }
    for (; p.currentToken() != JsonToken.END_ARRAY; p.nextToken()) {
      if (p.currentToken() != JsonToken.START_OBJECT) {
        throw invalid("Each message in 'messages' must be an object.", "messages");
      }
      s.messages++;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "role" -> collectStrings(p, v, s);
          case "name" -> {
            s.names++;
            collectStrings(p, v, s);
          }
          case "content", "tool_calls", "function_call", "refusal" -> collectContent(p, v, s);
          default -> p.skipChildren();
        }
      }
    }
  }

  /** Message content: a string, or parts with {@code text} and {@code image_url}. */
  private static void collectContent(JsonParser p, JsonToken value, State s) throws IOException {
    if (value == JsonToken.START_ARRAY) {
      while (p.nextToken() != JsonToken.END_ARRAY) {
        JsonToken part = p.currentToken();
        if (part == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals("image_url") || name.equals("input_image")) {
              s.images++;
              p.skipChildren();
            } else if (name.equals("type")) {
              p.skipChildren();
            } else {
              collectStrings(p, v, s);
            }
          }
        } else {
          collectStrings(p, part, s);
        }
      }
      return;
    }
    collectStrings(p, value, s);
  }

  /** Every string inside the current value (objects and arrays walked, field names skipped). */
  private static void collectStrings(JsonParser p, JsonToken value, State s) throws IOException {
    collectStrings(p, value, s, false);
  }

  /** As above; with {@code tokenIds}, every integer inside is also counted as a token id. */
  private static void collectStrings(JsonParser p, JsonToken value, State s, boolean tokenIds)
      throws IOException {
    if (value == JsonToken.VALUE_STRING) {
      s.texts.add(p.getText());
      return;
    }
    if (value != JsonToken.START_OBJECT && value != JsonToken.START_ARRAY) {
      return;
    }
    int depth = 1;
    while (depth > 0) {
      JsonToken t = p.nextToken();
      if (t == null) {
        return;
      }
      switch (t) {
        case START_OBJECT, START_ARRAY -> depth++;
        case END_OBJECT, END_ARRAY -> depth--;
        case VALUE_STRING -> s.texts.add(p.getText());
        case VALUE_NUMBER_INT -> s.tokenIds += tokenIds ? 1 : 0;
        default -> {}
      }
    }
  }

  private static InvalidRequestException invalidType(String param, String expected) {
    return new InvalidRequestException(
        ApiError.invalidRequest(
            400,
            "Invalid type for '" + param + "': expected " + expected + ".",
            param,
            "invalid_type"));
  }

  private static InvalidRequestException invalid(String message, String param) {
    return new InvalidRequestException(ApiError.invalidRequest(400, message, param, null));
  }

  private static final class State {
    String model;
    boolean stream;
    Long maxTokens;
    boolean includeUsage;
    final List<String> texts = new ArrayList<>();
    int messages;
    int names;
    int images;
    int choices = 1;
    boolean reasoning;
    long tokenIds;
  }
}
