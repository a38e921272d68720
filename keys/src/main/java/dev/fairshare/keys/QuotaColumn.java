package dev.fairshare.keys;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@link Quotas} as the JSON text of a {@code quotas} column, with the API's field names; null for
 * none (rows written before the column existed read as none).
 */
final class QuotaColumn {

  private static final ObjectMapper JSON = new ObjectMapper();

  private QuotaColumn() {}

  static String write(Quotas quotas) {
    if (quotas == null || quotas.isEmpty()) {
      return null;
    }
    ObjectNode out = JSON.createObjectNode();
    putIfSet(out, "max_budget", quotas.maxBudget());
    putIfSet(out, "soft_budget", quotas.softBudget());
    if (quotas.budgetDuration() != null) {
      out.put("budget_duration", quotas.budgetDuration());
    }
    if (!quotas.modelTpmLimit().isEmpty()) {
      out.set("model_tpm_limit", JSON.valueToTree(quotas.modelTpmLimit()));
    }
    if (!quotas.modelRpmLimit().isEmpty()) {
      out.set("model_rpm_limit", JSON.valueToTree(quotas.modelRpmLimit()));
    }
    putIfSet(out, "tokens_per_day", quotas.tokensPerDay());
    putIfSet(out, "tokens_per_month", quotas.tokensPerMonth());
    putIfSet(out, "requests_per_day", quotas.requestsPerDay());
    putIfSet(out, "requests_per_month", quotas.requestsPerMonth());
    return out.toString();
  }

  static Quotas read(String text) {
    if (text == null || text.isBlank()) {
      return Quotas.NONE;
    }
    try {
      JsonNode in = JSON.readTree(text);
      return new Quotas(
          decimal(in, "max_budget"),
          decimal(in, "soft_budget"),
          in.hasNonNull("budget_duration") ? in.get("budget_duration").asText() : null,
          limits(in, "model_tpm_limit"),
          limits(in, "model_rpm_limit"),
          whole(in, "tokens_per_day"),
          whole(in, "tokens_per_month"),
          whole(in, "requests_per_day"),
          whole(in, "requests_per_month"));
    } catch (JsonProcessingException e) {
      throw new KeyStoreException("corrupt JSON in a quotas column", e);
    }
  }

  private static void putIfSet(ObjectNode out, String field, Number value) {
    if (value instanceof Double d) {
      out.put(field, d);
    } else if (value != null) {
      out.put(field, value.longValue());
    }
  }

  private static Double decimal(JsonNode in, String field) {
    return in.hasNonNull(field) ? in.get(field).asDouble() : null;
  }

  private static Long whole(JsonNode in, String field) {
    return in.hasNonNull(field) ? in.get(field).asLong() : null;
  }

  private static Map<String, Long> limits(JsonNode in, String field) {
    Map<String, Long> limits = new LinkedHashMap<>();
    if (in.hasNonNull(field)) {
      in.get(field).fields().forEachRemaining(e -> limits.put(e.getKey(), e.getValue().asLong()));
    }
    return limits;
  }
}
