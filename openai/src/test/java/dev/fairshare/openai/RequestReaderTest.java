package dev.fairshare.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RequestReaderTest {

  static CompletionRequest read(String json) throws InvalidRequestException {
    return RequestReader.read(json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void readsModelStreamCapAndPrompt() throws Exception {
    CompletionRequest r =
        read(
            "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello world!\"}],\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true},\"max_tokens\":50,\"model\":\"gpt-4o\",\"temperature\":0.2}");
    assertThat(r.model()).isEqualTo("gpt-4o");
    assertThat(r.stream()).isTrue();
    assertThat(r.streamIncludesUsage()).isTrue();
    assertThat(r.maxTokens()).isEqualTo(50);
    assertThat(r.promptTexts()).containsExactly("user", "Hello world!");
    assertThat(r.messageCount()).isEqualTo(1);
  }

  @Test
  void theLargestOfSeveralOutputCapsIsTheCap() throws Exception {
    // An upstream may honour any of them: a small max_tokens must not shrink the hold of a large
    // max_completion_tokens, whichever comes first (a repeated field is refused as a whole).
    assertThat(
            read("{\"model\":\"m\",\"max_tokens\":10,\"max_completion_tokens\":500}").maxTokens())
        .isEqualTo(500);
    assertThat(
            read("{\"model\":\"m\",\"max_completion_tokens\":500,\"max_tokens\":10}").maxTokens())
        .isEqualTo(500);
    assertThat(read("{\"model\":\"m\",\"max_output_tokens\":300,\"max_tokens\":null}").maxTokens())
        .isEqualTo(300);
  }

  @Test
  void contentPartsAndImagesAreCounted() throws Exception {
    CompletionRequest r =
        read(
            "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is this?\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}}]}]}");
    assertThat(r.promptTexts()).containsExactly("user", "What is this?");
    assertThat(r.imageCount()).isEqualTo(1);
  }

  @Test
  void rejectsWhatIsNotAnObjectWithAModel() {
    for (String bad :
        new String[] {
          "",
          "nope",
          "[]",
          "{\"model\":1}",
          "{}",
          "{\"model\":\"\"}",
          "{\"model\":\"m\"} trailing",
          "{\"model\":\"m\",\"messages\":5}",
          "{\"model\":\"m\",\"max_tokens\":\"ten\"}"
        }) {
      InvalidRequestException e =
          catchThrowableOfType(InvalidRequestException.class, () -> read(bad));
      assertThat(e).as("body %s", bad).isNotNull();
      assertThat(e.error().status()).isEqualTo(400);
      assertThat(e.error().type()).isEqualTo("invalid_request_error");
    }
  }

  @Test
  void aBackgroundResponseIsRefused_itsUsageWouldArriveOutOfSight() throws Exception {
    InvalidRequestException e =
        catchThrowableOfType(
            InvalidRequestException.class,
            () -> read("{\"model\":\"m\",\"input\":\"Hi\",\"background\":true}"));
    assertThat(e.error().status()).isEqualTo(400);
    assertThat(e.error().param()).isEqualTo("background");
    assertThat(
            catchThrowableOfType(
                    InvalidRequestException.class,
                    () -> read("{\"model\":\"m\",\"background\":\"yes\"}"))
                .error()
                .param())
        .isEqualTo("background");
    assertThat(read("{\"model\":\"m\",\"input\":\"Hi\",\"background\":false}").model())
        .isEqualTo("m");
  }

  @Test
  void estimatesOpenAisCookbookExampleWithinTwoTokens() throws Exception {
    // OpenAI cookbook "How to count tokens with tiktoken": these messages are 129 prompt tokens
    // for gpt-4 / gpt-3.5-turbo-0613 (cl100k_base).
    String body =
        "{\"model\":\"gpt-4\",\"messages\":["
            + "{\"role\":\"system\",\"content\":\"You are a helpful, pattern-following assistant that translates corporate jargon into plain English.\"},"
            + "{\"role\":\"system\",\"name\":\"example_user\",\"content\":\"New synergies will help drive top-line growth.\"},"
            + "{\"role\":\"system\",\"name\":\"example_assistant\",\"content\":\"Things working well together will increase revenue.\"},"
            + "{\"role\":\"system\",\"name\":\"example_user\",\"content\":\"Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.\"},"
            + "{\"role\":\"system\",\"name\":\"example_assistant\",\"content\":\"Let's talk later when we're less busy about how to do better.\"},"
            + "{\"role\":\"user\",\"content\":\"This late pivot means we don't have time to boil the ocean for the client deliverable.\"}]}";
    TokenEstimator estimator = new TokenEstimator(256, TokenCount.TOTAL);
    long prompt = estimator.promptTokens(read(body));
    assertThat(prompt).isBetween(127L, 131L);
  }

  @Test
  void estimateAddsTheCompletionReserveCappedByMaxTokens() throws Exception {
    TokenEstimator total = new TokenEstimator(256, TokenCount.TOTAL);
    CompletionRequest noCap =
        read(
            "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello world!\"}]}");
    long prompt = total.promptTokens(noCap);
    assertThat(total.estimate(noCap, Endpoint.CHAT_COMPLETIONS))
        .isEqualTo(new TokenEstimate(prompt, 256));
    assertThat(total.reservation(total.estimate(noCap, Endpoint.CHAT_COMPLETIONS)))
        .isEqualTo(prompt + 256);
    CompletionRequest capped =
        read(
            "{\"model\":\"gpt-4o\",\"max_completion_tokens\":40,\"messages\":[{\"role\":\"user\",\"content\":\"Hello world!\"}]}");
    assertThat(total.reservation(total.estimate(capped, Endpoint.CHAT_COMPLETIONS)))
        .isEqualTo(prompt + 40);
    TokenEstimate embedding =
        total.estimate(
            read("{\"model\":\"text-embedding-3-small\",\"input\":\"abc\"}"), Endpoint.EMBEDDINGS);
    assertThat(embedding).isEqualTo(new TokenEstimate(1, 0));
    TokenEstimator output = new TokenEstimator(256, TokenCount.OUTPUT);
    assertThat(output.reservation(output.estimate(capped, Endpoint.CHAT_COMPLETIONS)))
        .isEqualTo(40);
    TokenEstimator input = new TokenEstimator(256, TokenCount.INPUT);
    assertThat(input.reservation(input.estimate(capped, Endpoint.CHAT_COMPLETIONS)))
        .isEqualTo(prompt);
  }

  @Test
  void encodingFollowsTheModelName() {
    assertThat(TokenEstimator.encodingTypeFor("gpt-4o-mini").getName()).isEqualTo("o200k_base");
    assertThat(TokenEstimator.encodingTypeFor("openai/gpt-4.1").getName()).isEqualTo("o200k_base");
    assertThat(TokenEstimator.encodingTypeFor("o3-mini").getName()).isEqualTo("o200k_base");
    assertThat(TokenEstimator.encodingTypeFor("gpt-5").getName()).isEqualTo("o200k_base");
    assertThat(TokenEstimator.encodingTypeFor("gpt-4").getName()).isEqualTo("cl100k_base");
    assertThat(TokenEstimator.encodingTypeFor("my-fake-model").getName()).isEqualTo("cl100k_base");
  }

  @Test
  void usageIsReadFromEveryEndpointsShape() {
    byte[] chat =
        "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"usage\"}}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":20,\"total_tokens\":30}}"
            .getBytes(StandardCharsets.UTF_8);
    assertThat(UsageReader.read(chat, 0, chat.length)).contains(new TokenUsage(10, 20, 30));
    byte[] embeddings =
        "{\"data\":[],\"usage\":{\"prompt_tokens\":7,\"total_tokens\":7}}"
            .getBytes(StandardCharsets.UTF_8);
    assertThat(UsageReader.read(embeddings, 0, embeddings.length))
        .contains(new TokenUsage(7, 0, 7));
    byte[] responses =
        "{\"output\":[],\"usage\":{\"input_tokens\":5,\"output_tokens\":9}}"
            .getBytes(StandardCharsets.UTF_8);
    assertThat(UsageReader.read(responses, 0, responses.length)).contains(new TokenUsage(5, 9, 14));
    byte[] none = "{\"choices\":[]}".getBytes(StandardCharsets.UTF_8);
    assertThat(UsageReader.read(none, 0, none.length)).isEmpty();
    byte[] garbage = "<html>".getBytes(StandardCharsets.UTF_8);
    assertThat(UsageReader.read(garbage, 0, garbage.length)).isEmpty();
  }
}
