package dev.fairshare.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The request body read within a limit, whatever the client declared and however it arrives. */
class ReadBoundedTest {

  private static final int LIMIT = 200_000;

  @Test
  void aBodyOfItsDeclaredLengthIsReadWhole() throws IOException {
    for (int length : new int[] {0, 1, 100, 1023, 1024, 1025, 65_536, 65_537, LIMIT}) {
      byte[] body = bytes(length);
      assertThat(RateLimitFilter.readBounded(request(body, length, 7), LIMIT))
          .as("declared %d", length)
          .isEqualTo(body);
    }
  }

  @Test
  void aBodyWithoutALengthIsReadUpToTheLimitAndRefusedPastIt() throws IOException {
    for (int length : new int[] {0, 1, 1024, 1025, 70_000, LIMIT}) {
      byte[] body = bytes(length);
      assertThat(RateLimitFilter.readBounded(request(body, -1, 4096), LIMIT))
          .as("chunked %d", length)
          .isEqualTo(body);
    }
    assertThat(RateLimitFilter.readBounded(request(bytes(LIMIT + 1), -1, 4096), LIMIT)).isNull();
  }

  @Test
  void aLimitBelowTheFirstArrayHoldsToo() throws IOException {
    for (int limit : new int[] {0, 1, 100, 1023}) {
      for (long declared : new long[] {-1, limit}) {
        byte[] body = bytes(limit);
        assertThat(RateLimitFilter.readBounded(request(body, declared, 4096), limit))
            .as("limit %d, declared %d", limit, declared)
            .isEqualTo(body);
      }
      assertThat(RateLimitFilter.readBounded(request(bytes(limit + 1), -1, 4096), limit))
          .as("limit %d, one byte more", limit)
          .isNull();
      assertThat(RateLimitFilter.readBounded(request(bytes(limit + 1), limit, 4096), limit))
          .as("limit %d, one byte past the declared length", limit)
          .isNull();
    }
  }

  @Test
  void bytesPastTheDeclaredLengthAreReadAndBoundedLikeAnyOthers() throws IOException {
    // A container that did not end the stream at the declared length.
    byte[] body = bytes(5_000);
    assertThat(RateLimitFilter.readBounded(request(body, 100, 512), LIMIT)).isEqualTo(body);
    assertThat(RateLimitFilter.readBounded(request(bytes(LIMIT + 1), 100, 512), LIMIT)).isNull();
  }

  @Test
  void aBodyShorterThanDeclaredIsWhatArrived() throws IOException {
    byte[] body = bytes(300);
    assertThat(RateLimitFilter.readBounded(request(body, 1_000, 64), LIMIT)).isEqualTo(body);
  }

  private static byte[] bytes(int length) {
    byte[] b = new byte[length];
    new Random(length).nextBytes(b);
    return b;
  }

  /** A request whose stream gives {@code body} at most {@code chunk} bytes per read. */
  private static HttpServletRequest request(byte[] body, long declared, int chunk) {
    ServletInputStream in =
        new ServletInputStream() {
          private int at;

          @Override
          public int read() {
            return at < body.length ? body[at++] & 0xff : -1;
          }

          @Override
          public int read(byte[] b, int off, int len) {
            if (at == body.length) {
              return -1;
            }
            int n = Math.min(Math.min(len, chunk), body.length - at);
            System.arraycopy(body, at, b, off, n);
            at += n;
            return n;
          }

          @Override
          public boolean isFinished() {
            return at == body.length;
          }

          @Override
          public boolean isReady() {
            return true;
          }

          @Override
          public void setReadListener(ReadListener listener) {
            throw new UnsupportedOperationException();
          }
        };
    return (HttpServletRequest)
        Proxy.newProxyInstance(
            ReadBoundedTest.class.getClassLoader(),
            new Class<?>[] {HttpServletRequest.class},
            (proxy, method, args) ->
                switch (method.getName()) {
                  case "getContentLengthLong" -> declared;
                  case "getInputStream" -> in;
                  default -> throw new UnsupportedOperationException(method.getName());
                });
  }
}
