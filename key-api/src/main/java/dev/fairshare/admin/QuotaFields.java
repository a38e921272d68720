package dev.fairshare.admin;

import static dev.fairshare.admin.KeyFields.invalid;
import static dev.fairshare.admin.KeyFields.nonNegative;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fairshare.FairShare;
import dev.fairshare.admission.QuotaPolicy;
import dev.fairshare.keys.Quotas;
import dev.fairshare.openai.InvalidRequestException;
import dev.fairshare.quota.QuotaCounter;
import dev.fairshare.quota.QuotaPeriod;
import dev.fairshare.quota.QuotaStanding;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The budget, per-model limit and quota fields of keys and teams ({@code max_budget}, {@code
 * soft_budget}, {@code budget_duration}, {@code model_tpm_limit}, {@code model_rpm_limit}, {@code
 * tokens_per_day}, {@code tokens_per_month}, {@code requests_per_day}, {@code requests_per_month}):
 * read and bounded one by one, and shown with the live {@code spend} and {@code budget_reset_at}.
 */
final class QuotaFields {

  /** The largest budget accepted, in USD (spend is counted exactly in nano-USD below it). */
  static final double MAX_BUDGET = 1_000_000.0;

  /** Most models in a per-model limit map. */
  static final int MAX_MODEL_LIMITS = 100;

  private QuotaFields() {}

  /** {@code base} with the fields present in {@code body}; {@code null} clears one. */
  static Quotas read(ObjectNode body, Quotas base) throws InvalidRequestException {
    return new Quotas(
        body.has("max_budget") ? budget(body, "max_budget") : base.maxBudget(),
        body.has("soft_budget") ? budget(body, "soft_budget") : base.softBudget(),
        body.has("budget_duration") ? budgetDuration(body) : base.budgetDuration(),
        body.has("model_tpm_limit") ? modelLimits(body, "model_tpm_limit") : base.modelTpmLimit(),
        body.has("model_rpm_limit") ? modelLimits(body, "model_rpm_limit") : base.modelRpmLimit(),
        body.has("tokens_per_day") ? nonNegative(body, "tokens_per_day") : base.tokensPerDay(),
        body.has("tokens_per_month")
            ? nonNegative(body, "tokens_per_month")
            : base.tokensPerMonth(),
        body.has("requests_per_day")
            ? nonNegative(body, "requests_per_day")
            : base.requestsPerDay(),
        body.has("requests_per_month")
            ? nonNegative(body, "requests_per_month")
            : base.requestsPerMonth());
  }

  private static Double budget(ObjectNode body, String field) throws InvalidRequestException {
    JsonNode node = body.get(field);
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isNumber() || !(node.asDouble() >= 0) || node.asDouble() > MAX_BUDGET) {
      throw invalid(
          "'" + field + "' must be a number of USD from 0 to " + (long) MAX_BUDGET + ", or null.",
          field);
    }
    return node.asDouble();
  }

  private static String budgetDuration(ObjectNode body) throws InvalidRequestException {
    String text = KeyFields.text(body, "budget_duration");
    if (text == null) {
      return null;
    }
    if (!QuotaPeriod.isValid(text)) {
      throw invalid(
          "'budget_duration' must look like 30s, 30m, 24h, 7d or 1mo, or be null.",
          "budget_duration");
    }
    return text.strip();
  }

  private static Map<String, Long> modelLimits(ObjectNode body, String field)
      throws InvalidRequestException {
    JsonNode node = body.get(field);
    Map<String, Long> limits = new LinkedHashMap<>();
    if (node == null || node.isNull()) {
      return limits;
    }
    if (!node.isObject() || node.size() > MAX_MODEL_LIMITS) {
      throw invalid(
          "'"
              + field
              + "' must be an object of model names to non-negative integers (at most "
              + MAX_MODEL_LIMITS
              + ").",
          field);
    }
    for (var it = node.fields(); it.hasNext(); ) {
      var e = it.next();
      JsonNode v = e.getValue();
      if (!plainModelName(e.getKey())
          || !v.isIntegralNumber()
          || !v.canConvertToLong()
          || v.asLong() < 0) {
        throw invalid(
            "'" + field + "' must be an object of model names to non-negative integers.", field);
      }
      limits.put(e.getKey().strip(), v.asLong());
    }
    return limits;
  }

  /**
   * A model name as a limit map may hold: not blank, at most {@link KeyFields#MAX_MODEL_NAME}
   * characters, no control character, quote or backslash (no model is named so). JSON stores each
   * of those in up to six characters; so bounded, the limits of both maps fit the key's quotas
   * column (100 models x 256 characters each), where two maps of escaped names overflowed it (a
   * 503).
   */
  private static boolean plainModelName(String name) {
    return !name.isBlank()
        && name.length() <= KeyFields.MAX_MODEL_NAME
        && !KeyFields.hasControl(name)
        && name.indexOf('"') < 0
        && name.indexOf('\\') < 0;
  }

  /**
   * Adds the fields to {@code out}, LiteLLM's way ({@code null} when not set), with the live {@code
   * spend} of {@code owner} ({@code key:<sha256>} or {@code team:<id>}) and {@code
   * budget_reset_at}.
   */
  static void render(ObjectNode out, Quotas quotas, String owner, FairShare fairShare) {
    putDouble(out, "max_budget", quotas.maxBudget());
    putDouble(out, "soft_budget", quotas.softBudget());
    out.put("budget_duration", quotas.budgetDuration());
    out.set("model_tpm_limit", KeyJson.JSON.valueToTree(quotas.modelTpmLimit()));
    out.set("model_rpm_limit", KeyJson.JSON.valueToTree(quotas.modelRpmLimit()));
    KeyJson.putLong(out, "tokens_per_day", quotas.tokensPerDay());
    KeyJson.putLong(out, "tokens_per_month", quotas.tokensPerMonth());
    KeyJson.putLong(out, "requests_per_day", quotas.requestsPerDay());
    KeyJson.putLong(out, "requests_per_month", quotas.requestsPerMonth());
    long now = fairShare.clock().millis();
    QuotaCounter counter = fairShare.quotas().spendCounter(owner, quotas, now);
    long end = counter.period().endMillis();
    out.put("budget_reset_at", end == Long.MAX_VALUE ? null : Instant.ofEpochMilli(end).toString());
    try {
      QuotaStanding standing = fairShare.quotas().standing(counter, now);
      out.put("spend", QuotaPolicy.usd(standing.used()));
    } catch (RuntimeException e) {
      out.putNull("spend"); // the shared ledger is away: unknown, not zero
    }
  }

  private static void putDouble(ObjectNode out, String field, Double value) {
    if (value == null) {
      out.putNull(field);
    } else {
      out.put(field, value);
    }
  }
}
