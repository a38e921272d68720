package dev.fairshare.metrics;

import dev.fairshare.core.UsageSnapshot;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One model's meters, found by the model's label once per recording instead of being looked up by a
 * name built per call. The gauges are registered with the bundle (on the model's first recording of
 * any kind); every other meter when first recorded, so that a series appears only once it has
 * something to say.
 *
 * <p>Races: two threads may both find a meter missing and register it; the registry answers both
 * with the same meter (it is keyed by name and tags), and the slot takes it.
 */
final class ModelMeters {

  private static final String SETTLEMENTS = "fairshare.settlements";
  private static final String SETTLEMENTS_HELP = "Settlements of admitted calls";

  private final MeterRegistry registry;
  private final String model;
  private final AtomicLong usedTokens = new AtomicLong();
  private final AtomicLong usedRequests = new AtomicLong();
  private final AtomicLong activeKeys = new AtomicLong();

  private static final int ADMITTED = 0;
  private static final int SETTLED = 1;
  private static final int RELEASED = 2;
  private static final int REFUSED = 3; // then one slot per reason
  private static final FairShareMetrics.Refusal[] REFUSALS = FairShareMetrics.Refusal.values();
  private final AtomicReferenceArray<Counter> counters =
      new AtomicReferenceArray<>(REFUSED + REFUSALS.length);

  private static final int ERROR_OVER = 0;
  private static final int ERROR_UNDER = 1;
  private static final int INPUT_TOKENS = 2;
  private static final int OUTPUT_TOKENS = 3;
  private final AtomicReferenceArray<DistributionSummary> summaries = new AtomicReferenceArray<>(4);

  ModelMeters(MeterRegistry registry, String model) {
    this.registry = registry;
    this.model = model;
    gauge(usedTokens, "tokens");
    gauge(usedRequests, "requests");
    Gauge.builder("fairshare.model.active.keys", activeKeys, AtomicLong::get)
        .description("Keys active on the model, as of this instance's latest decision")
        .tag("model", model)
        .register(registry);
  }

  private void gauge(AtomicLong value, String dimension) {
    Gauge.builder("fairshare.model.used", value, AtomicLong::get)
        .description("Used and reserved in the window, as of this instance's latest decision")
        .tags("model", model, "dimension", dimension)
        .register(registry);
  }

  /** What the engine decided on at this instance's latest decision. */
  void observe(UsageSnapshot usage) {
    if (usage == null) {
      return;
    }
    usedTokens.set(usage.tokens().modelUsed());
    usedRequests.set(usage.requests().modelUsed());
    activeKeys.set(usage.activeKeys());
  }

  Counter admitted() {
    return counter(ADMITTED);
  }

  Counter refused(FairShareMetrics.Refusal reason) {
    return counter(REFUSED + reason.ordinal());
  }

  Counter settled() {
    return counter(SETTLED);
  }

  Counter released() {
    return counter(RELEASED);
  }

  /** |actual − reserved| of a settled call: {@code over} when the reservation was larger. */
  DistributionSummary estimateError(boolean over) {
    return summary(over ? ERROR_OVER : ERROR_UNDER);
  }

  /** The OpenTelemetry GenAI histogram of tokens per call, {@code input} or {@code output}. */
  DistributionSummary tokens(boolean input) {
    return summary(input ? INPUT_TOKENS : OUTPUT_TOKENS);
  }

  private Counter counter(int slot) {
    Counter counter = counters.get(slot);
    if (counter == null) {
      counter =
          switch (slot) {
            case ADMITTED -> calls("admitted", "");
            case SETTLED -> settlements("settled");
            case RELEASED -> settlements("released");
            default -> calls("refused", REFUSALS[slot - REFUSED].label());
          };
      counters.set(slot, counter);
    }
    return counter;
  }

  private DistributionSummary summary(int slot) {
    DistributionSummary summary = summaries.get(slot);
    if (summary == null) {
      summary =
          slot == ERROR_OVER || slot == ERROR_UNDER
              ? DistributionSummary.builder("fairshare.estimate.error")
                  .description("How far the reservation was from the call's real usage")
                  .baseUnit("tokens")
                  .tags("model", model, "direction", slot == ERROR_OVER ? "over" : "under")
                  .publishPercentileHistogram()
                  .register(registry)
              : DistributionSummary.builder("gen_ai.client.token.usage")
                  .description("Measures number of input and output tokens used")
                  .tags(
                      "gen_ai.token.type",
                      slot == INPUT_TOKENS ? "input" : "output",
                      "gen_ai.request.model",
                      model)
                  .serviceLevelObjectives(
                      1, 4, 16, 64, 256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576)
                  .register(registry);
      summaries.set(slot, summary);
    }
    return summary;
  }

  private Counter calls(String outcome, String reason) {
    return FairShareMetrics.callCounter(registry, model, outcome, reason);
  }

  private Counter settlements(String kind) {
    return Counter.builder(SETTLEMENTS)
        .description(SETTLEMENTS_HELP)
        .tags("model", model, "kind", kind)
        .register(registry);
  }
}
