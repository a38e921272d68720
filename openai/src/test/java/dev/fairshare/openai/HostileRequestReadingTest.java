package dev.fairshare.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a client can put in a body to walk around the estimate, and how the reader answers. */
class HostileRequestReadingTest {

  static CompletionRequest read(String json) throws InvalidRequestException {
    return RequestReader.read(json.getBytes(StandardCharsets.UTF_8));
  }

  static InvalidRequestException refusal(String json) {
    InvalidRequestException e =
        catchThrowableOfType(InvalidRequestException.class, () -> read(json));
    assertThat(e).as("body %s", json).isNotNull();
    return e;
  }

  @Test
  void streamMustBeAJsonBoolean() throws Exception {
    for (String value : new String[] {"\"true\"", "1", "\"yes\"", "{}", "[true]"}) {
      InvalidRequestException e = refusal("{\"model\":\"m\",\"stream\":" + value + "}");
      assertThat(e.error().status()).isEqualTo(400);
      assertThat(e.error().code()).isEqualTo("invalid_type");
      assertThat(e.error().param()).isEqualTo("stream");
    }
    assertThat(read("{\"model\":\"m\",\"stream\":true}").stream()).isTrue();
    assertThat(read("{\"model\":\"m\",\"stream\":false}").stream()).isFalse();
    assertThat(read("{\"model\":\"m\",\"stream\":null}").stream()).isFalse();
  }

  @Test
  void emptyMessagesAreRefused() {
    InvalidRequestException e = refusal("{\"model\":\"m\",\"messages\":[],\"max_tokens\":0}");
    assertThat(e.error().param()).isEqualTo("messages");
  }

  @Test
  void choicesMultiplyTheCompletionAllowance() throws Exception {
    TokenEstimator estimator = new TokenEstimator(256, TokenCount.TOTAL);
    String chat =
        "{\"model\":\"gpt-4\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
    TokenEstimate one = estimator.estimate(read(chat + "}"), Endpoint.CHAT_COMPLETIONS);
    TokenEstimate five = estimator.estimate(read(chat + ",\"n\":5}"), Endpoint.CHAT_COMPLETIONS);
    assertThat(one.completionTokens()).isEqualTo(10);
    assertThat(five.completionTokens()).isEqualTo(50);
    assertThat(five.promptTokens()).isEqualTo(one.promptTokens());
    TokenEstimate bestOf =
        estimator.estimate(
            read("{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":7,\"best_of\":3}"),
            Endpoint.COMPLETIONS);
    assertThat(bestOf.completionTokens()).isEqualTo(21);
    for (String n : new String[] {"0", "-1", "129", "\"2\"", "1.5"}) {
      assertThat(refusal(chat + ",\"n\":" + n + "}").error().param()).isEqualTo("n");
    }
  }

  @Test
  void reasoningWithoutACapReservesFourCompletionReserves() throws Exception {
    TokenEstimator estimator = new TokenEstimator(256, TokenCount.TOTAL);
    String base = "{\"model\":\"o3\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
    assertThat(estimator.estimate(read(base + "}"), Endpoint.CHAT_COMPLETIONS).completionTokens())
        .isEqualTo(256);
    assertThat(
            estimator
                .estimate(read(base + ",\"reasoning_effort\":\"high\"}"), Endpoint.CHAT_COMPLETIONS)
                .completionTokens())
        .isEqualTo(1024);
    assertThat(
            estimator
                .estimate(
                    read(base + ",\"reasoning_effort\":\"high\",\"max_completion_tokens\":600}"),
                    Endpoint.CHAT_COMPLETIONS)
                .completionTokens())
        .isEqualTo(600);
    assertThat(
            estimator
                .estimate(
                    read("{\"model\":\"o3\",\"input\":\"Hi\",\"reasoning\":{\"effort\":\"low\"}}"),
                    Endpoint.RESPONSES)
                .completionTokens())
        .isEqualTo(1024);
  }

  @Test
  void everyRequestReservesAtLeastTheMinimum() throws Exception {
    TokenEstimator estimator = new TokenEstimator(256, TokenCount.TOTAL, Map.of(), 7);
    TokenEstimate nothing =
        estimator.estimate(read("{\"model\":\"m\",\"input\":\"\"}"), Endpoint.EMBEDDINGS);
    assertThat(nothing.promptTokens() + nothing.completionTokens()).isZero();
    assertThat(estimator.reservation(nothing)).isEqualTo(7);
    TokenEstimate big =
        estimator.estimate(
            read("{\"model\":\"m\",\"input\":\"" + "word ".repeat(50) + "\"}"),
            Endpoint.EMBEDDINGS);
    assertThat(estimator.reservation(big)).isEqualTo(big.promptTokens()).isGreaterThan(7);
  }

  @Test
  void toolChoiceAndToolsEnterThePrompt() throws Exception {
    TokenEstimator estimator = new TokenEstimator(256, TokenCount.TOTAL);
    String base = "{\"model\":\"gpt-4\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
    long plain = estimator.estimate(read(base + "}"), Endpoint.CHAT_COMPLETIONS).promptTokens();
    long withTool =
        estimator
            .estimate(
                read(
                    base
                        + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"lookup_weather_for_city\"}}}"),
                Endpoint.CHAT_COMPLETIONS)
            .promptTokens();
    assertThat(withTool).isGreaterThan(plain + 5);
  }

  @Test
  void longWhitespaceRunsAreCountedWithinATokenPerPiece() {
    Encoding cl100k = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
    for (String text :
        new String[] {
          "a" + " ".repeat(10_000) + "b", "x\n" + "\n".repeat(5_000) + "y z", " ".repeat(300)
        }) {
      long exact = cl100k.countTokensOrdinary(text);
      long counted = TokenEstimator.count(cl100k, text);
      long pieces = text.length() / TokenEstimator.LONG_WHITESPACE_RUN + 2;
      assertThat(counted).as("%d chars", text.length()).isBetween(exact - pieces, exact + pieces);
    }
    String ordinary = "The quick brown fox jumps over the lazy dog.   Indented    code\n\n\tok";
    assertThat(TokenEstimator.count(cl100k, ordinary))
        .isEqualTo(cl100k.countTokensOrdinary(ordinary));
  }

  @Test
  void aPromptOverTheExactBudgetIsEstimatedFromSamplesWithinTwoPercent() throws Exception {
    Encoding cl100k = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
    StringBuilder text = new StringBuilder();
    for (int i = 0; text.length() < 2_000_000; i++) {
      text.append("Sentence number ")
          .append(i)
          .append(" talks about rate limits, fairness and tokens. ");
    }
    String body = "{\"model\":\"gpt-4\",\"input\":\"" + text + "\"}";
    TokenEstimator estimator = new TokenEstimator(256, TokenCount.TOTAL);
    long estimated = estimator.estimate(read(body), Endpoint.EMBEDDINGS).promptTokens();
    long exact = cl100k.countTokensOrdinary(text.toString());
    assertThat((double) estimated).isBetween(exact * 0.98, exact * 1.02);
    // Many short messages are sampled too
    StringBuilder messages = new StringBuilder("{\"model\":\"gpt-4\",\"messages\":[");
    long exactShort = 0;
    for (int i = 0; i < 20_000; i++) {
      String content = "message " + i + " with a few words in it";
      exactShort += cl100k.countTokensOrdinary(content) + cl100k.countTokensOrdinary("user");
      messages
          .append(i == 0 ? "" : ",")
          .append("{\"role\":\"user\",\"content\":\"")
          .append(content)
          .append("\"}");
    }
    CompletionRequest many = read(messages.append("]}").toString());
    assertThat(TokenEstimator.promptChars(many)).isGreaterThan(TokenEstimator.EXACT_PROMPT_CHARS);
    long overhead = 20_000L * 3 + 3;
    long estimatedShort =
        estimator.estimate(many, Endpoint.CHAT_COMPLETIONS).promptTokens() - overhead;
    assertThat((double) estimatedShort).isBetween(exactShort * 0.95, exactShort * 1.05);
  }

  @Test
  void aLowerBoundIsBelowTheEstimateAndNeedsNoTokenising() throws Exception {
    TokenEstimator estimator = new TokenEstimator(256, TokenCount.TOTAL);
    CompletionRequest r =
        read(
            "{\"model\":\"gpt-4\",\"max_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\""
                + "words ".repeat(100)
                + "\"}]}");
    TokenEstimate bound = estimator.lowerBound(r, Endpoint.CHAT_COMPLETIONS);
    TokenEstimate estimate = estimator.estimate(r, Endpoint.CHAT_COMPLETIONS);
    assertThat(bound.completionTokens()).isEqualTo(estimate.completionTokens()).isEqualTo(20);
    assertThat(bound.promptTokens()).isEqualTo(6).isLessThan(estimate.promptTokens());
  }

  @Test
  void tokenIdsCountOneTokenEach() throws Exception {
    TokenEstimator estimator = new TokenEstimator(256, TokenCount.TOTAL);
    assertThat(
            estimator
                .estimate(read("{\"model\":\"m\",\"input\":[[1,2,3],[4,5]]}"), Endpoint.EMBEDDINGS)
                .promptTokens())
        .isEqualTo(5);
    assertThat(
            estimator
                .estimate(read("{\"model\":\"m\",\"prompt\":[7,8,9,10]}"), Endpoint.COMPLETIONS)
                .promptTokens())
        .isEqualTo(4);
    assertThat(
            estimator
                .estimate(read("{\"model\":\"m\",\"input\":42}"), Endpoint.EMBEDDINGS)
                .promptTokens())
        .isEqualTo(1);
  }

  @Test
  void aFieldGivenTwiceOrAnOverlongModelIsRefused() {
    assertThat(refusal("{\"model\":\"m\",\"stream\":false,\"stream\":true}").error().status())
        .isEqualTo(400);
    assertThat(refusal("{\"model\":\"m\",\"model\":\"other\"}").error().status()).isEqualTo(400);
    assertThat(refusal("{\"model\":\"" + "m".repeat(257) + "\"}").error().param())
        .isEqualTo("model");
  }

  @Test
  void usageIsFoundInTheTailOfABodyTooLargeToKeep() {
    byte[] tail =
        "xxxx\"]}],\"usage\" : {\"prompt_tokens\":10,\"completion_tokens\":500,\"total_tokens\":510}}"
            .getBytes(StandardCharsets.UTF_8);
    assertThat(UsageReader.readTail(tail)).contains(new TokenUsage(10, 500, 510));
    assertThat(UsageReader.readTail("no usage here".getBytes(StandardCharsets.UTF_8))).isEmpty();
    assertThat(UsageReader.readTail("\"usage\":{\"total_tok".getBytes(StandardCharsets.UTF_8)))
        .isEmpty();
  }

  @Test
  void usageFromAnUpstreamIsClamped() {
    assertThat(new TokenUsage(-5, -3, -8).clamped(1000)).isEqualTo(new TokenUsage(0, 0, 0));
    assertThat(new TokenUsage(Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE).clamped(1000))
        .isEqualTo(new TokenUsage(1000, 1000, 1000));
    assertThat(new TokenUsage(10, 20, 5).clamped(1000)).isEqualTo(new TokenUsage(10, 20, 30));
    assertThat(new TokenUsage(10, 20, 30).clamped(1000)).isEqualTo(new TokenUsage(10, 20, 30));
    // Reported figures past a long are not a usage at all: the call is charged its reservation.
    byte[] huge =
        "{\"usage\":{\"prompt_tokens\":99999999999999999999999,\"completion_tokens\":1}}"
            .getBytes(StandardCharsets.UTF_8);
    assertThat(UsageReader.read(huge, 0, huge.length)).isEmpty();
  }
}
