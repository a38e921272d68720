package dev.fairshare.openai;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The completion reserve follows what a model's completions really came to. */
class CompletionHistoryTest {

  @Test
  void configuredReserveUntilTheModelAnswers_thenItsCompletions() {
    CompletionHistory history = new CompletionHistory(256);
    assertThat(history.reserve("m")).isEqualTo(256);
    history.observe("m", 20);
    assertThat(history.reserve("m")).isEqualTo(20);
    assertThat(history.reserve("other")).isEqualTo(256);
  }

  @Test
  void reserveIsMeanPlusTwiceTheDeviation_weightingTheNewest0point1() {
    CompletionHistory history = new CompletionHistory(256);
    history.observe("m", 100);
    history.observe("m", 200);
    // mean 100 + 0.1 × 100 = 110; deviation 0 + 0.1 × 100 = 10; reserve ceil(110 + 20) = 130
    assertThat(history.reserve("m")).isEqualTo(130);
    history.observe("m", 10);
    // error -100: mean 100; deviation 10 + 0.1 × (100 - 10) = 19; reserve 138
    assertThat(history.reserve("m")).isEqualTo(138);
  }

  @Test
  void estimatorUsesTheLearnedReserve_cappedByMaxTokens_andLearnsOnlyFromGeneratingEndpoints()
      throws Exception {
    TokenEstimator estimator = new TokenEstimator(256, TokenCount.TOTAL);
    CompletionRequest noCap =
        RequestReader.read(
            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello world!\"}]}"
                .getBytes());
    CompletionRequest capped =
        RequestReader.read(
            "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
                .getBytes());
    estimator.observe(noCap, Endpoint.EMBEDDINGS, new TokenUsage(10, 0, 10));
    assertThat(estimator.estimate(noCap, Endpoint.CHAT_COMPLETIONS).completionTokens())
        .isEqualTo(256);
    estimator.observe(noCap, Endpoint.CHAT_COMPLETIONS, new TokenUsage(10, 20, 30));
    assertThat(estimator.estimate(noCap, Endpoint.CHAT_COMPLETIONS).completionTokens())
        .isEqualTo(20);
    assertThat(estimator.estimate(capped, Endpoint.CHAT_COMPLETIONS).completionTokens())
        .isEqualTo(5);
    // A capped call teaches nothing: a flood of max_tokens 1 cannot shrink uncapped reservations
    for (int i = 0; i < 100; i++) {
      estimator.observe(capped, Endpoint.CHAT_COMPLETIONS, new TokenUsage(10, 1, 11));
    }
    assertThat(estimator.estimate(noCap, Endpoint.CHAT_COMPLETIONS).completionTokens())
        .isEqualTo(20);
  }
}
