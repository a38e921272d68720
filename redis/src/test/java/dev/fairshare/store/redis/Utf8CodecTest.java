package dev.fairshare.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.codec.StringCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The codec writes what Lettuce's UTF-8 codec writes, and says exactly how many bytes first. */
class Utf8CodecTest {

  @Test
  void writesTheBytesOfLettucesUtf8CodecAndKnowsTheirNumber() {
    for (String s :
        new String[] {
          "",
          "fs:{bench-model}:m",
          "12345.5",
          "modèle-é",
          "模型",
          "emoji \uD83D\uDE00 key",
          "a\u0000b",
          // Unpaired surrogates: the length said first must still be the bytes written.
          "\uD800",
          "\uDC00",
          "\uD800é",
          "\uD800\uD800\uDC00",
          "x\uDBFF"
        }) {
      ByteBuffer expected = StringCodec.UTF8.encodeValue(s);
      ByteBuf written = Unpooled.buffer();
      Utf8Codec.INSTANCE.encodeValue(s, written);
      byte[] bytes = new byte[written.readableBytes()];
      written.readBytes(bytes);
      byte[] want = new byte[expected.remaining()];
      expected.get(want);
      assertThat(bytes).as(s).isEqualTo(want);
      assertThat(Utf8Codec.INSTANCE.estimateSize(s)).as(s).isEqualTo(want.length);
      ByteBuf key = Unpooled.buffer();
      Utf8Codec.INSTANCE.encodeKey(s, key);
      assertThat(key.readableBytes()).isEqualTo(want.length);
      if (!s.matches("(?s).*[\uD800-\uDFFF].*") || s.contains("\uD83D\uDE00")) {
        // Well-formed: it reads back (an unpaired surrogate was written as '?', as Lettuce does).
        assertThat(Utf8Codec.INSTANCE.decodeValue(ByteBuffer.wrap(want))).isEqualTo(s);
      }
    }
    assertThat(Utf8Codec.INSTANCE.isEstimateExact()).isTrue();
  }
}
