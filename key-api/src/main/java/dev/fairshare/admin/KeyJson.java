package dev.fairshare.admin;

import static dev.fairshare.admin.KeyFields.bool;
import static dev.fairshare.admin.KeyFields.customKey;
import static dev.fairshare.admin.KeyFields.duration;
import static dev.fairshare.admin.KeyFields.invalid;
import static dev.fairshare.admin.KeyFields.metadata;
import static dev.fairshare.admin.KeyFields.models;
import static dev.fairshare.admin.KeyFields.name;
import static dev.fairshare.admin.KeyFields.nonNegative;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.keys.KeySpec;
import dev.fairshare.openai.InvalidRequestException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Maps the key API's JSON (LiteLLM's field names) to {@link KeySpec} and {@link ApiKey}. */
final class KeyJson {

  static final ObjectMapper JSON = new ObjectMapper();

  private KeyJson() {}

  /** Parses a request body; an empty body is {@code {}}. */
  static ObjectNode parseObject(String body) throws InvalidRequestException {
    if (body == null || body.isBlank()) {
      return JSON.createObjectNode();
    }
    try {
      JsonNode node = JSON.readTree(body);
      if (node instanceof ObjectNode object) {
        return object;
      }
    } catch (JsonProcessingException e) {
      // fall through
    }
    throw invalid("The request body must be a JSON object.", null);
  }

  /** The {@code /key/generate} fields. */
  static KeySpec spec(ObjectNode body) throws InvalidRequestException {
    String customKey = customKey(body, "key");
    return new KeySpec(
        customKey,
        name(body, "key_alias"),
        duration(body),
        models(body),
        nonNegative(body, "tpm_limit"),
        nonNegative(body, "rpm_limit"),
        nonNegative(body, "max_parallel_requests"),
        metadata(body),
        bool(body, "blocked"),
        name(body, "user_id"),
        KeyFields.teamId(body),
        QuotaFields.read(body, dev.fairshare.keys.Quotas.NONE));
  }

  /**
   * Applies the {@code /key/update} fields present in {@code body} to {@code key}; absent fields
   * keep their value, {@code null} clears a limit.
   */
  static ApiKey update(ApiKey key, ObjectNode body, java.time.Instant now)
      throws InvalidRequestException {
    String alias = body.has("key_alias") ? name(body, "key_alias") : key.keyAlias();
    List<String> models = body.has("models") ? models(body) : key.models();
    Long tpm = body.has("tpm_limit") ? nonNegative(body, "tpm_limit") : key.tpmLimit();
    Long rpm = body.has("rpm_limit") ? nonNegative(body, "rpm_limit") : key.rpmLimit();
    Long parallel =
        body.has("max_parallel_requests")
            ? nonNegative(body, "max_parallel_requests")
            : key.maxParallelRequests();
    Map<String, Object> metadata = body.has("metadata") ? metadata(body) : key.metadata();
    java.time.Instant expires = key.expires();
    if (body.has("duration")) {
      Duration d = duration(body);
      expires = d == null ? null : now.plus(d);
    }
    Boolean blocked = body.has("blocked") ? bool(body, "blocked") : null;
    String userId = body.has("user_id") ? name(body, "user_id") : key.userId();
    String teamId = body.has("team_id") ? KeyFields.teamId(body) : key.teamId();
    return new ApiKey(
        key.token(),
        key.keyName(),
        alias,
        models,
        tpm,
        rpm,
        parallel,
        metadata,
        expires,
        blocked == null ? key.blocked() : blocked,
        userId,
        teamId,
        key.createdAt(),
        now,
        QuotaFields.read(body, key.quotas()));
  }

  /** A duration field ({@code 30s}, {@code 30m}, {@code 30h}, {@code 30d}), or null. */
  /** The key's record as LiteLLM shows it; {@code rawKey} only when just generated. */
  static ObjectNode render(ApiKey key, String rawKey, String duration) {
    ObjectNode out = JSON.createObjectNode();
    if (rawKey != null) {
      out.put("key", rawKey);
    }
    out.put("key_name", key.keyName());
    out.put("key_alias", key.keyAlias());
    out.put("token", key.token());
    out.put("token_id", key.token());
    out.put("expires", key.expires() == null ? null : key.expires().toString());
    out.put("duration", duration);
    ArrayNode models = out.putArray("models");
    key.models().forEach(models::add);
    putLong(out, "tpm_limit", key.tpmLimit());
    putLong(out, "rpm_limit", key.rpmLimit());
    putLong(out, "max_parallel_requests", key.maxParallelRequests());
    out.set("metadata", JSON.valueToTree(key.metadata()));
    out.put("blocked", key.blocked());
    out.put("user_id", key.userId());
    out.put("team_id", key.teamId());
    out.put("created_at", key.createdAt().toString());
    out.put("updated_at", key.updatedAt().toString());
    return out;
  }

  static void putLong(ObjectNode out, String field, Long value) {
    if (value == null) {
      out.putNull(field);
    } else {
      out.put(field, value);
    }
  }
}
