package dev.fairshare.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Whole events out, however the bytes were cut, for every blank-line form SSE allows. */
class SseEventSplitterTest {

  static List<String> split(String stream, int pieceSize) {
    SseEventSplitter splitter = new SseEventSplitter();
    List<String> events = new ArrayList<>();
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    for (int at = 0; at < bytes.length; at += pieceSize) {
      int n = Math.min(pieceSize, bytes.length - at);
      splitter.feed(bytes, at, n, e -> events.add(new String(e, StandardCharsets.UTF_8)));
    }
    byte[] rest = splitter.drain();
    if (rest.length > 0) {
      events.add("REST:" + new String(rest, StandardCharsets.UTF_8));
    }
    return events;
  }

  @Test
  void eventsComeOutWholeWhateverTheCuts() {
    String stream = "data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\ndata: x\r\rdata: [DONE]\n\n";
    for (int piece = 1; piece <= stream.length(); piece++) {
      assertThat(split(stream, piece))
          .as("pieces of %d bytes", piece)
          .containsExactly(
              "data: {\"a\":1}\n\n", "data: {\"b\":2}\r\n\r\n", "data: x\r\r", "data: [DONE]\n\n");
    }
  }

  @Test
  void anUnterminatedLastEventIsWhatDrainGives_andPendingCountsItsBytes() {
    SseEventSplitter splitter = new SseEventSplitter();
    byte[] bytes = "data: one\n\ndata: two".getBytes(StandardCharsets.UTF_8);
    List<String> events = new ArrayList<>();
    splitter.feed(bytes, 0, bytes.length, e -> events.add(new String(e, StandardCharsets.UTF_8)));
    assertThat(events).containsExactly("data: one\n\n");
    assertThat(splitter.pending()).isEqualTo("data: two".length());
    assertThat(new String(splitter.drain(), StandardCharsets.UTF_8)).isEqualTo("data: two");
    assertThat(splitter.pending()).isZero();
  }

  @Test
  void multiByteCharactersCutInTheMiddleSurvive() {
    String stream = "data: {\"t\":\"héllo wörld ✓\"}\n\n";
    for (int piece = 1; piece <= 5; piece++) {
      assertThat(split(stream, piece)).containsExactly(stream);
    }
  }
}
