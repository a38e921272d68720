package dev.fairshare.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The usage figures of every answer shape FairShare counts. */
class UsageReaderTest {

  static java.util.Optional<TokenUsage> read(String json) {
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    return UsageReader.read(b, 0, b.length);
  }

  @Test
  void chatCompletionsEmbeddingsAndResponses() {
    assertThat(
            read(
                "{\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":20,\"total_tokens\":30}}"))
        .contains(new TokenUsage(10, 20, 30));
    assertThat(
            read(
                "{\"data\":[{\"embedding\":[0.1]}],\"usage\":{\"prompt_tokens\":7,\"total_tokens\":7}}"))
        .contains(new TokenUsage(7, 0, 7));
    assertThat(
            read(
                "{\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":6,"
                    + "\"output_tokens_details\":{\"reasoning_tokens\":4},\"total_tokens\":11}}}"))
        .contains(new TokenUsage(5, 6, 11));
  }

  @Test
  void aMissingTotalIsTheSumAndNonNumbersAreIgnored() {
    assertThat(read("{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}"))
        .contains(new TokenUsage(3, 4, 7));
    assertThat(read("{\"usage\":{\"prompt_tokens\":\"3\",\"completion_tokens\":4}}"))
        .contains(new TokenUsage(0, 4, 4));
  }

  @Test
  void noUsageOrNoJsonIsEmpty() {
    assertThat(read("{\"choices\":[]}")).isEmpty();
    assertThat(read("not json")).isEmpty();
    assertThat(read("[1,2]")).isEmpty();
    assertThat(read("{\"usage\":null}")).isEmpty();
    assertThat(read("")).isEmpty();
  }
}
