package dev.fairshare.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.fairshare.config.FairShareConfig;
import dev.fairshare.core.ManualClock;
import dev.fairshare.core.Verdict;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.openai.CompletionRequest;
import dev.fairshare.openai.Endpoint;
import dev.fairshare.openai.InvalidRequestException;
import dev.fairshare.openai.RequestReader;
import dev.fairshare.openai.TokenEstimator;
import dev.fairshare.quota.MemoryQuotaLedger;
import dev.fairshare.quota.SpendSeed;
import dev.fairshare.store.KeyLimitedUsageStore;
import dev.fairshare.store.MemoryUsageStore;
import dev.fairshare.usage.AlertSender;
import dev.fairshare.usage.SpendRecorder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The admission policy on its own: no servlet, no HTTP, the memory store and a manual clock. */
class AdmissionsTest {

  static final Instant T0 = Instant.ofEpochMilli(1_800_000_000_000L);
  final ManualClock clock = new ManualClock(T0.toEpochMilli());
  MemoryUsageStore memory;
  MemoryQuotaLedger ledger;

  Admissions admissions(Map<String, String> extra) {
    Map<String, String> props = new HashMap<>(extra);
    props.put("fairshare.models.gpt-4o.tpm", "1000");
    props.put("fairshare.models.gpt-4o.aliases", "openai/gpt-4o");
    FairShareConfig config =
        FairShareConfig.read(k -> Optional.ofNullable(props.get(k)), props.keySet());
    memory = new MemoryUsageStore(config.engine());
    TokenEstimator estimator =
        new TokenEstimator(
            256, config.filter().tokenCount(), Map.of(), config.bounds().minRequestTokens());
    return new Admissions(
        () -> config,
        estimator,
        new KeyLimitedUsageStore(memory, 60_000),
        clock,
        Teams.NONE,
        new QuotaPolicy(
            () -> config,
            ledger = new MemoryQuotaLedger(SpendSeed.NONE),
            new SpendRecorder(rows -> {}, java.time.Duration.ofHours(1)),
            new AlertSender(null),
            false));
  }

  static ApiKey key(List<String> models, Long tpm, Long rpm) {
    return new ApiKey(
        "a".repeat(64),
        "sk-...aaaa",
        null,
        models,
        tpm,
        rpm,
        null,
        Map.of(),
        null,
        false,
        null,
        null,
        T0,
        T0);
  }

  static CompletionRequest chat(String model, String content) throws InvalidRequestException {
    return RequestReader.read(
        ("{\"model\":\""
                + model
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + content
                + "\"}]}")
            .getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void withOutputTokenCounting_aBudgetPricesThePromptToo_andARateRefusalHoldsNoBudget()
      throws Exception {
    Admissions admissions =
        admissions(
            Map.of(
                "fairshare.token-count", "output",
                "fairshare.models.gpt-4o.input-cost-per-token", "0.00001",
                "fairshare.models.gpt-4o.output-cost-per-token", "0.00002"));
    ApiKey key =
        key(List.of(), null, 1L)
            .withQuotas(
                new dev.fairshare.keys.Quotas(1.0, null, null, null, null, null, null, null, null));
    // A long prompt and max_tokens 5: counted by output, the reservation is far below the prompt
    CompletionRequest longPrompt =
        RequestReader.read(
            ("{\"model\":\"gpt-4o\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\","
                    + "\"content\":\""
                    + "word ".repeat(300)
                    + "\"}]}")
                .getBytes(StandardCharsets.UTF_8));
    Admissions.Admitted admitted =
        (Admissions.Admitted) admissions.admit(key, longPrompt, Endpoint.CHAT_COMPLETIONS);
    long prompt = admitted.estimate().promptTokens();
    assertThat(prompt).isGreaterThan(300);
    var spend = admitted.quota().charges().get(0);
    assertThat(spend.counter().id()).endsWith(":spend");
    assertThat(spend.amount()).isEqualTo(prompt * 10_000 + 5 * 20_000); // nano-USD
    // rpm_limit 1: the second call is refused by the rates and reserves nothing of the budget
    Admissions.Outcome second = admissions.admit(key, longPrompt, Endpoint.CHAT_COMPLETIONS);
    assertThat(second).isInstanceOf(Admissions.Refused.class);
    assertThat(ledger.standing(spend.counter(), clock.millis()).reserved())
        .isEqualTo(spend.amount());
  }

  @Test
  void anAliasResolvesToTheConfiguredModel_andItsEstimateIsReserved() throws Exception {
    Admissions admissions = admissions(Map.of());
    Admissions.Outcome outcome =
        admissions.admit(
            key(List.of(), null, null),
            chat(" openai/gpt-4o ", "Hello"),
            Endpoint.CHAT_COMPLETIONS);
    assertThat(outcome).isInstanceOf(Admissions.Admitted.class);
    Admissions.Admitted admitted = (Admissions.Admitted) outcome;
    assertThat(admitted.completion().model()).isEqualTo("gpt-4o");
    assertThat(admitted.learn()).isTrue();
    long expected = admitted.estimate().promptTokens() + admitted.estimate().completionTokens();
    assertThat(admitted.decision().reservation().tokens()).isEqualTo(expected);
    assertThat(memory.inFlight("gpt-4o")).isEqualTo(1);
  }

  @Test
  void unknownAndForbiddenModelsAreRefusedBeforeAnythingIsReserved() throws Exception {
    Admissions admissions = admissions(Map.of());
    InvalidRequestException unknown =
        catchThrowableOfType(
            InvalidRequestException.class,
            () ->
                admissions.admit(
                    key(List.of(), null, null), chat("GPT-4O", "x"), Endpoint.CHAT_COMPLETIONS));
    assertThat(unknown.error().status()).isEqualTo(404);
    assertThat(unknown.error().code()).isEqualTo("model_not_found");
    InvalidRequestException forbidden =
        catchThrowableOfType(
            InvalidRequestException.class,
            () ->
                admissions.admit(
                    key(List.of("other"), null, null),
                    chat("gpt-4o", "x"),
                    Endpoint.CHAT_COMPLETIONS));
    assertThat(forbidden.error().status()).isEqualTo(403);
    assertThat(memory.trackedModels()).isZero();
  }

  @Test
  void allowedUnknownModelsShareOneWindowAndTeachNothing() throws Exception {
    Admissions admissions = admissions(Map.of("fairshare.unknown-models", "allow"));
    for (String model : List.of("made-up-1", "made-up-2", "made-up-3")) {
      Admissions.Admitted admitted =
          (Admissions.Admitted)
              admissions.admit(
                  key(List.of(), null, null), chat(model, "x"), Endpoint.CHAT_COMPLETIONS);
      assertThat(admitted.learn()).isFalse();
    }
    assertThat(memory.inFlight(Admissions.UNCONFIGURED_MODELS)).isEqualTo(3);
    assertThat(memory.trackedModels()).isEqualTo(1);
    // A key with a budget cannot walk around it through a model nobody priced
    ApiKey budgeted =
        key(List.of(), null, null)
            .withQuotas(
                new dev.fairshare.keys.Quotas(1.0, null, null, null, null, null, null, null, null));
    InvalidRequestException refused =
        catchThrowableOfType(
            InvalidRequestException.class,
            () -> admissions.admit(budgeted, chat("made-up-4", "x"), Endpoint.CHAT_COMPLETIONS));
    assertThat(refused.error().status()).isEqualTo(403);
    assertThat(memory.inFlight(Admissions.UNCONFIGURED_MODELS)).isEqualTo(3);
  }

  @Test
  void aKeyOutOfRoomIsRefusedAtTheCheapBoundForALongPrompt() throws Exception {
    Admissions admissions = admissions(Map.of());
    ApiKey once = key(List.of(), null, 1L);
    assertThat(admissions.admit(once, chat("gpt-4o", "Hi"), Endpoint.CHAT_COMPLETIONS))
        .isInstanceOf(Admissions.Admitted.class);
    CompletionRequest longPrompt = chat("gpt-4o", "word ".repeat(10_000));
    Admissions.Outcome outcome = admissions.admit(once, longPrompt, Endpoint.CHAT_COMPLETIONS);
    assertThat(outcome).isInstanceOf(Admissions.Refused.class);
    Admissions.Refused refused = (Admissions.Refused) outcome;
    assertThat(refused.decision().verdict()).isEqualTo(Verdict.KEY_REQUEST_LIMIT);
    // Refused at the bound (overhead and completion allowance), not at the tokenised estimate
    assertThat(refused.requested()).isEqualTo(3 + 3 + 256);
    // ... and the probe left nothing behind
    assertThat(memory.inFlight("gpt-4o")).isEqualTo(1);
  }

  @Test
  void aDeclaredMaxTokensOverTheKeysWholeTpmLimitIsTooLarge() throws Exception {
    Admissions admissions = admissions(Map.of());
    CompletionRequest capped =
        RequestReader.read(
            "{\"model\":\"gpt-4o\",\"max_tokens\":16000,\"messages\":[{\"role\":\"user\",\"content\":\"write\"}]}"
                .getBytes(StandardCharsets.UTF_8));
    Admissions.Outcome outcome =
        admissions.admit(key(List.of(), 1000L, null), capped, Endpoint.CHAT_COMPLETIONS);
    assertThat(outcome).isInstanceOf(Admissions.Refused.class);
    assertThat(((Admissions.Refused) outcome).decision().verdict())
        .isEqualTo(Verdict.REQUEST_TOO_LARGE);
    assertThat(((Admissions.Refused) outcome).requested()).isGreaterThan(16_000);
    assertThat(memory.inFlight("gpt-4o")).isZero();
  }

  @Test
  void aRequestOverTheKeysWholeTpmLimitIsTooLarge() throws Exception {
    Admissions admissions = admissions(Map.of());
    Admissions.Outcome outcome =
        admissions.admit(
            key(List.of(), 100L, null), chat("gpt-4o", "Hi"), Endpoint.CHAT_COMPLETIONS);
    assertThat(outcome).isInstanceOf(Admissions.Refused.class);
    assertThat(((Admissions.Refused) outcome).decision().verdict())
        .isEqualTo(Verdict.REQUEST_TOO_LARGE);
    assertThat(((Admissions.Refused) outcome).requested()).isGreaterThan(100);
  }

  @Test
  void aPerModelLimitWrittenUnderAnAliasHoldsForEveryNameOfTheModel() throws Exception {
    Admissions admissions = admissions(Map.of());
    ApiKey key =
        key(List.of(), null, null)
            .withQuotas(
                new dev.fairshare.keys.Quotas(
                    null, null, null, null, Map.of("openai/gpt-4o", 2L), null, null, null, null));
    // Two admissions, one by each name, fill the alias's rpm limit of 2: a third by either is
    // refused
    assertThat(admissions.admit(key, chat("gpt-4o", "Hi"), Endpoint.CHAT_COMPLETIONS))
        .isInstanceOf(Admissions.Admitted.class);
    assertThat(admissions.admit(key, chat("openai/gpt-4o", "Hi"), Endpoint.CHAT_COMPLETIONS))
        .isInstanceOf(Admissions.Admitted.class);
    assertThat(admissions.admit(key, chat("gpt-4o", "Hi"), Endpoint.CHAT_COMPLETIONS))
        .isInstanceOf(Admissions.Refused.class);
    assertThat(admissions.admit(key, chat(" openai/gpt-4o", "Hi"), Endpoint.CHAT_COMPLETIONS))
        .isInstanceOf(Admissions.Refused.class);
  }

  @Test
  void whereTheModelAndAnAliasBothHaveALimitTheSmallerHolds() throws Exception {
    Admissions admissions = admissions(Map.of());
    ApiKey key =
        key(List.of(), null, null)
            .withQuotas(
                new dev.fairshare.keys.Quotas(
                    null,
                    null,
                    null,
                    null,
                    Map.of("gpt-4o", 5L, "openai/gpt-4o", 1L),
                    null,
                    null,
                    null,
                    null));
    assertThat(admissions.admit(key, chat("gpt-4o", "Hi"), Endpoint.CHAT_COMPLETIONS))
        .isInstanceOf(Admissions.Admitted.class);
    assertThat(admissions.admit(key, chat("gpt-4o", "Hi"), Endpoint.CHAT_COMPLETIONS))
        .isInstanceOf(Admissions.Refused.class);
  }
}
