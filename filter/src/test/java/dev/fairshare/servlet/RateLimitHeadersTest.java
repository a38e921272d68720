package dev.fairshare.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RateLimitHeadersTest {

  @Test
  void resetUsesOpenAisDurationFormat() {
    assertThat(RateLimitHeaders.formatReset(0)).isEqualTo("0ms");
    assertThat(RateLimitHeaders.formatReset(250)).isEqualTo("250ms");
    assertThat(RateLimitHeaders.formatReset(1_000)).isEqualTo("1s");
    assertThat(RateLimitHeaders.formatReset(1_500)).isEqualTo("1.5s");
    assertThat(RateLimitHeaders.formatReset(59_930)).isEqualTo("59.93s");
    assertThat(RateLimitHeaders.formatReset(60_000)).isEqualTo("1m0s");
    assertThat(RateLimitHeaders.formatReset(390_500)).isEqualTo("6m30.5s");
    assertThat(RateLimitHeaders.formatReset(1_005)).isEqualTo("1.005s");
    assertThat(RateLimitHeaders.formatReset(1_050)).isEqualTo("1.05s");
    assertThat(RateLimitHeaders.formatReset(60_001)).isEqualTo("1m0.001s");
    assertThat(RateLimitHeaders.formatReset(3_600_000)).isEqualTo("60m0s");
  }
}
