package dev.fairshare.keys;

import java.util.Map;
import java.util.TreeMap;

/**
 * A key's or a team's budgets, per-model limits and calendar quotas (LiteLLM's field names where it
 * has them). Null means "not set"; the empty maps mean no per-model limit.
 *
 * @param maxBudget the most it may spend in a budget period, in USD; refused past it
 * @param softBudget the spend at which one alert is sent per budget period, in USD
 * @param budgetDuration how long a budget period lasts ({@code 30s}, {@code 24h}, {@code 7d},
 *     {@code 1mo}); null for one period that never ends
 * @param modelTpmLimit tokens per minute per model ({@code model_tpm_limit})
 * @param modelRpmLimit requests per minute per model ({@code model_rpm_limit})
 * @param tokensPerDay tokens per calendar day ({@code fairshare.quota.time-zone})
 * @param tokensPerMonth tokens per calendar month
 * @param requestsPerDay requests per calendar day
 * @param requestsPerMonth requests per calendar month
 */
public record Quotas(
    Double maxBudget,
    Double softBudget,
    String budgetDuration,
    Map<String, Long> modelTpmLimit,
    Map<String, Long> modelRpmLimit,
    Long tokensPerDay,
    Long tokensPerMonth,
    Long requestsPerDay,
    Long requestsPerMonth) {

  /** Nothing set. */
  public static final Quotas NONE =
      new Quotas(null, null, null, Map.of(), Map.of(), null, null, null, null);

  public Quotas {
    modelTpmLimit =
        modelTpmLimit == null
            ? Map.of()
            : java.util.Collections.unmodifiableMap(new TreeMap<>(modelTpmLimit));
    modelRpmLimit =
        modelRpmLimit == null
            ? Map.of()
            : java.util.Collections.unmodifiableMap(new TreeMap<>(modelRpmLimit));
  }

  /** True when nothing is set. */
  public boolean isEmpty() {
    return equals(NONE);
  }

  /** True when a quota on a calendar day or month is set. */
  public boolean hasCalendarQuota() {
    return tokensPerDay != null
        || tokensPerMonth != null
        || requestsPerDay != null
        || requestsPerMonth != null;
  }
}
