package dev.fairshare.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.InvalidRequestException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The key API's fields, each read and bounded on its own: a wrong type, a value out of bounds or a
 * control character is a 400 that names the field.
 */
final class KeyFields {

  private static final Pattern DURATION = Pattern.compile("(\\d{1,12})(s|m|h|d)");

  /** The longest duration accepted: a century (longer ones overflow dates on the way). */
  static final Duration MAX_DURATION = Duration.ofDays(36_525);

  /** A custom key: {@code sk-} and at least 13 more characters of a safe alphabet. */
  private static final Pattern CUSTOM_KEY = Pattern.compile("sk-[A-Za-z0-9_\\-]{13,253}");

  /** Longest {@code key_alias}, {@code user_id}, {@code team_id} (the database columns). */
  static final int MAX_NAME = 255;

  /** Longest model name, and most models on one key. */
  static final int MAX_MODEL_NAME = 256;

  static final int MAX_MODELS = 100;

  /** Longest {@code metadata}, as JSON. */
  static final int MAX_METADATA_CHARS = 16_384;

  private KeyFields() {}

  static Duration durationField(ObjectNode body, String field) throws InvalidRequestException {
    String text = text(body, field);
    if (text == null) {
      return null;
    }
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches()) {
      throw invalid("'" + field + "' must look like 30s, 30m, 30h or 30d, or be null.", field);
    }
    long n = Long.parseLong(m.group(1)); // at most 12 digits: no overflow below
    Duration d =
        switch (m.group(2)) {
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        };
    if (d.compareTo(MAX_DURATION) > 0) {
      throw invalid("'" + field + "' must be at most " + MAX_DURATION.toDays() + "d.", field);
    }
    return d;
  }

  /**
   * A custom key ({@code key}, {@code new_key}): {@code sk-} and at least 13 more letters, digits,
   * {@code _} or {@code -} (at least 16 in all); null when absent.
   */
  static String customKey(ObjectNode body, String field) throws InvalidRequestException {
    String key = text(body, field);
    if (key != null && !CUSTOM_KEY.matcher(key).matches()) {
      throw invalid(
          "'" + field + "' must be 'sk-' followed by 13 to 253 letters, digits, '_' or '-'.",
          field);
    }
    return key;
  }

  /** A name-like field: at most {@value #MAX_NAME} characters, no control characters. */
  static String name(ObjectNode body, String field) throws InvalidRequestException {
    String value = text(body, field);
    if (value != null && value.length() > MAX_NAME) {
      throw invalid("'" + field + "' must be at most " + MAX_NAME + " characters.", field);
    }
    return value;
  }

  /** A list of strings under {@code field}, required and non-empty. */
  static List<String> stringList(ObjectNode body, String field) throws InvalidRequestException {
    JsonNode node = body.get(field);
    if (node == null || !node.isArray() || node.isEmpty()) {
      throw invalid("'" + field + "' must be a non-empty array of strings.", field);
    }
    List<String> values = new ArrayList<>();
    for (JsonNode v : node) {
      if (!v.isTextual() || v.asText().isBlank()) {
        throw invalid("'" + field + "' must be a non-empty array of strings.", field);
      }
      values.add(v.asText());
    }
    return values;
  }

  private static final Pattern TEAM_ID = Pattern.compile("[A-Za-z0-9._@+-]{1,255}");

  /**
   * {@code team_id}: 1–255 letters, digits or {@code . _ @ + -} (a UUID, a slug), or null: it names
   * the team's windows and counters, where {@code :} separates names.
   */
  static String teamId(ObjectNode body) throws InvalidRequestException {
    String id = text(body, "team_id");
    if (id != null && !TEAM_ID.matcher(id).matches()) {
      throw invalid(
          "'team_id' must be 1 to 255 letters, digits, '.', '_', '@', '+' or '-'.", "team_id");
    }
    return id;
  }

  static String text(ObjectNode body, String field) throws InvalidRequestException {
    JsonNode node = body.get(field);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isTextual()) {
      throw invalid("'" + field + "' must be a string.", field);
    }
    String value = node.asText();
    if (hasControl(value)) {
      throw invalid("'" + field + "' must not contain control characters.", field);
    }
    return value;
  }

  static boolean hasControl(String value) {
    for (int i = 0; i < value.length(); i++) {
      if (Character.isISOControl(value.charAt(i))) {
        return true;
      }
    }
    return false;
  }

  static Boolean bool(ObjectNode body, String field) throws InvalidRequestException {
    JsonNode node = body.get(field);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isBoolean()) {
      throw invalid("'" + field + "' must be true or false.", field);
    }
    return node.asBoolean();
  }

  static Long nonNegative(ObjectNode body, String field) throws InvalidRequestException {
    JsonNode node = body.get(field);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isIntegralNumber() || !node.canConvertToLong() || node.asLong() < 0) {
      throw invalid("'" + field + "' must be a non-negative integer or null.", field);
    }
    return node.asLong();
  }

  static Duration duration(ObjectNode body) throws InvalidRequestException {
    return durationField(body, "duration");
  }

  static List<String> models(ObjectNode body) throws InvalidRequestException {
    JsonNode node = body.get("models");
    if (node == null || node.isNull()) {
      return List.of();
    }
    if (!node.isArray()) {
      throw invalid("'models' must be an array of model names.", "models");
    }
    if (node.size() > MAX_MODELS) {
      throw invalid("'models' may name at most " + MAX_MODELS + " models.", "models");
    }
    List<String> models = new ArrayList<>();
    for (JsonNode m : node) {
      if (!m.isTextual()
          || m.asText().isBlank()
          || m.asText().length() > MAX_MODEL_NAME
          || hasControl(m.asText())) {
        throw invalid(
            "'models' must be an array of model names (each at most "
                + MAX_MODEL_NAME
                + " characters, no control characters).",
            "models");
      }
      models.add(m.asText().strip());
    }
    return models;
  }

  static Map<String, Object> metadata(ObjectNode body) throws InvalidRequestException {
    JsonNode node = body.get("metadata");
    if (node == null || node.isNull()) {
      return Map.of();
    }
    if (!node.isObject()) {
      throw invalid("'metadata' must be an object.", "metadata");
    }
    JsonNode priority = node.get("priority");
    if (priority != null && !priority.isNull() && !priority.isTextual()) {
      throw invalid(
          "'metadata.priority' must be a string naming a configured priority.", "metadata");
    }
    String json = node.toString();
    if (json.length() > MAX_METADATA_CHARS) {
      throw invalid(
          "'metadata' must be at most " + MAX_METADATA_CHARS + " characters as JSON.", "metadata");
    }
    if (json.contains("\\u0000")) {
      throw invalid("'metadata' must not contain NUL characters.", "metadata");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> map = KeyJson.JSON.convertValue(node, LinkedHashMap.class);
    return map;
  }

  /** A query parameter: a whole number from 1 to {@code max}; {@code defaultValue} when absent. */
  static int wholeNumber(String text, String param, int defaultValue, int max)
      throws InvalidRequestException {
    if (text == null || text.isBlank()) {
      return defaultValue;
    }
    try {
      int value = Integer.parseInt(text.trim());
      if (value >= 1 && value <= max) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw invalid("'" + param + "' must be a whole number from 1 to " + max + ".", param);
  }

  static InvalidRequestException invalid(String message, String param) {
    return new InvalidRequestException(ApiError.invalidRequest(400, message, param, null));
  }
}
