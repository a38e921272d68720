package dev.fairshare.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.config.ConfigurationException;
import dev.fairshare.config.FairShareConfig;
import dev.fairshare.core.Allowance;
import dev.fairshare.core.UsageSnapshot;
import dev.fairshare.core.Verdict;
import dev.fairshare.keys.ApiKey;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FairShareMetricsTest {

  static FairShareConfig config(String keyLabels) {
    Map<String, String> props = new HashMap<>();
    props.put("fairshare.models.m.tpm", "1000");
    props.put("fairshare.models.m.rpm", "50");
    if (keyLabels != null) {
      props.put("fairshare.metrics.key-labels", keyLabels);
    }
    return FairShareConfig.read(k -> Optional.ofNullable(props.get(k)), props.keySet());
  }

  static ApiKey key(String alias) {
    return new ApiKey(
        "hash-" + alias,
        "sk-...abcd",
        alias,
        List.of(),
        null,
        null,
        null,
        Map.of(),
        null,
        false,
        null,
        null,
        null,
        null);
  }

  static final UsageSnapshot USAGE =
      new UsageSnapshot(
          new Allowance(500, 200, 300, 1_000, 1_000, 400, 600),
          new Allowance(25, 20, 5, 1_000, 50, 40, 10),
          2);

  @Test
  void topN_keepsSeriesForTheKeysThatUsedMostTokens_andFollowsTheOrder() {
    FairShareMetrics metrics = new FairShareMetrics(config("top-2"));
    metrics.settled("m", key("a"), 100, 10, null);
    metrics.settled("m", key("b"), 100, 20, null);
    metrics.settled("m", key("c"), 100, 30, null);
    String text = metrics.scrape();
    assertThat(text)
        .contains("fairshare_key_tokens_total{key=\"c\",model=\"m\"} 30.0")
        .contains("fairshare_key_tokens_total{key=\"b\",model=\"m\"} 20.0")
        .doesNotContain("key=\"a\"");

    metrics.settled("m", key("a"), 100, 50, null); // a: 60, now the first
    text = metrics.scrape();
    assertThat(text)
        .contains("fairshare_key_tokens_total{key=\"a\",model=\"m\"} 60.0")
        .contains("fairshare_key_tokens_total{key=\"c\",model=\"m\"} 30.0")
        .doesNotContain("key=\"b\"");
  }

  @Test
  void none_keepsNoKeySeries_alias_keepsOnePerKey() {
    FairShareMetrics none = new FairShareMetrics(config("none"));
    none.settled("m", key("a"), 100, 10, null);
    none.refused("m", key("a"), Verdict.SHARE_TOKENS, USAGE);
    assertThat(none.scrape()).doesNotContain("fairshare_key_");

    FairShareMetrics alias = new FairShareMetrics(config("alias"));
    for (int i = 0; i < 30; i++) {
      alias.settled("m", key("k" + i), 100, i, null);
    }
    assertThat(alias.scrape().lines().filter(l -> l.startsWith("fairshare_key_tokens_total{")))
        .hasSize(30);
  }

  @Test
  void callsAreCountedByReason_andTheModelsStandingIsTheLastDecisions() {
    FairShareMetrics metrics = new FairShareMetrics(config(null));
    metrics.admitted("m", USAGE);
    metrics.refused("m", key("a"), Verdict.SHARE_TOKENS, USAGE);
    metrics.refused("m", key("a"), Verdict.KEY_PARALLEL_LIMIT, USAGE);
    metrics.refused("m", key("a"), Verdict.MODEL_REQUESTS, USAGE);
    metrics.refused(FairShareMetrics.Refusal.UNAUTHORIZED);
    // A model named by a client (unknown models allowed) is one label, whatever its name
    metrics.admitted("made-up-by-a-client", USAGE);
    String text = metrics.scrape();
    assertThat(text)
        .contains("fairshare_calls_total{model=\"m\",outcome=\"admitted\",reason=\"\"} 1.0")
        .contains("fairshare_calls_total{model=\"m\",outcome=\"refused\",reason=\"share\"} 1.0")
        .contains("fairshare_calls_total{model=\"m\",outcome=\"refused\",reason=\"parallel\"} 1.0")
        .contains(
            "fairshare_calls_total{model=\"m\",outcome=\"refused\",reason=\"model_full\"} 1.0")
        .contains(
            "fairshare_calls_total{model=\"\",outcome=\"refused\",reason=\"unauthorized\"} 1.0")
        .contains(
            "fairshare_calls_total{model=\"fairshare:unconfigured-models\",outcome=\"admitted\","
                + "reason=\"\"} 1.0")
        .doesNotContain("made-up-by-a-client")
        .contains("fairshare_model_capacity{dimension=\"tokens\",model=\"m\"} 1000.0")
        .contains("fairshare_model_capacity{dimension=\"requests\",model=\"m\"} 50.0")
        .contains("fairshare_model_used{dimension=\"tokens\",model=\"m\"} 600.0")
        .contains("fairshare_model_used{dimension=\"requests\",model=\"m\"} 10.0")
        .contains("fairshare_model_active_keys{model=\"m\"} 2.0");
  }

  @Test
  void aRegistryOfTheUsersOwnGetsTheMeters() {
    FairShareMetrics metrics = new FairShareMetrics(config(null));
    SimpleMeterRegistry own = new SimpleMeterRegistry();
    metrics.addRegistry(own);
    metrics.admitted("m", USAGE);
    metrics.settled("m", key("a"), 100, 70, new dev.fairshare.openai.TokenUsage(20, 50, 70));
    assertThat(own.get("fairshare.calls").tag("outcome", "admitted").counter().count())
        .isEqualTo(1.0);
    assertThat(
            own.get("gen_ai.client.token.usage")
                .tag("gen_ai.token.type", "output")
                .summary()
                .totalAmount())
        .isEqualTo(50.0);
    assertThat(own.get("fairshare.estimate.error").tag("direction", "over").summary().totalAmount())
        .isEqualTo(30.0);
  }

  /** A registry of a user's own that fails: recording must never throw into a request. */
  static final class FailingRegistry extends SimpleMeterRegistry {
    volatile boolean failing;

    private void failIfAsked() {
      if (failing) {
        throw new IllegalStateException("this registry is broken");
      }
    }

    @Override
    protected io.micrometer.core.instrument.Counter newCounter(
        io.micrometer.core.instrument.Meter.Id id) {
      failIfAsked();
      return super.newCounter(id);
    }

    @Override
    protected io.micrometer.core.instrument.DistributionSummary newDistributionSummary(
        io.micrometer.core.instrument.Meter.Id id,
        io.micrometer.core.instrument.distribution.DistributionStatisticConfig config,
        double scale) {
      failIfAsked();
      return super.newDistributionSummary(id, config, scale);
    }

    @Override
    protected io.micrometer.core.instrument.Timer newTimer(
        io.micrometer.core.instrument.Meter.Id id,
        io.micrometer.core.instrument.distribution.DistributionStatisticConfig config,
        io.micrometer.core.instrument.distribution.pause.PauseDetector pause) {
      failIfAsked();
      return super.newTimer(id, config, pause);
    }
  }

  @Test
  void aFailingRegistryNeverThrowsIntoARequest_andPrometheusStillCounts() {
    FairShareMetrics metrics = new FairShareMetrics(config(null));
    FailingRegistry broken = new FailingRegistry();
    metrics.addRegistry(broken);
    metrics.admitted("m", USAGE); // its meters made while the registry works
    broken.failing = true;
    // From now on the registry throws when a meter is made
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> broken.counter("x"))
        .isInstanceOf(IllegalStateException.class);
    metrics.admitted("m", USAGE); // existing meters go on counting
    metrics.refused("m", key("a"), Verdict.SHARE_TOKENS, USAGE); // new ones: not made, no throw
    metrics.refused(FairShareMetrics.Refusal.UNAUTHORIZED);
    metrics.settled("m", key("a"), 100, 70, new dev.fairshare.openai.TokenUsage(20, 50, 70));
    metrics.released("m");
    metrics.waited("m", 1_000_000, true);
    metrics.storeAdmission(1_000);
    assertThat(metrics.scrape())
        .contains("fairshare_calls_total{model=\"m\",outcome=\"admitted\",reason=\"\"} 2.0");
  }

  @Test
  void aBadKeyLabelsValueIsRefusedByName() {
    ConfigurationException e =
        org.assertj.core.api.Assertions.catchThrowableOfType(
            ConfigurationException.class, () -> config("top-0"));
    assertThat(e.problems())
        .containsExactly(
            "fairshare.metrics.key-labels: 'top-0' is not one of: none, alias, top-N (N from 1 to"
                + " 9999)");
  }
}
