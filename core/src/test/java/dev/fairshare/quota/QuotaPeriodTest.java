package dev.fairshare.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class QuotaPeriodTest {

  static final long T0 = Instant.parse("2027-01-15T08:00:00Z").toEpochMilli();

  static QuotaPeriod period(String start, String end) {
    return new QuotaPeriod(Instant.parse(start).toEpochMilli(), Instant.parse(end).toEpochMilli());
  }

  @Test
  void periodsAreAlignedSoEveryInstanceComputesTheSame() {
    assertThat(QuotaPeriod.of("30s", ZoneOffset.UTC, T0 + 29_999))
        .isEqualTo(period("2027-01-15T08:00:00Z", "2027-01-15T08:00:30Z"));
    assertThat(QuotaPeriod.of("24h", ZoneOffset.UTC, T0))
        .isEqualTo(period("2027-01-15T00:00:00Z", "2027-01-16T00:00:00Z"));
    assertThat(QuotaPeriod.of("1d", ZoneId.of("Europe/Paris"), T0))
        .isEqualTo(period("2027-01-14T23:00:00Z", "2027-01-15T23:00:00Z"));
    assertThat(QuotaPeriod.of("30d", ZoneOffset.UTC, T0))
        .isEqualTo(period("2027-01-02T00:00:00Z", "2027-02-01T00:00:00Z"));
    assertThat(QuotaPeriod.of("1mo", ZoneOffset.UTC, T0))
        .isEqualTo(period("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"));
    assertThat(QuotaPeriod.of("3mo", ZoneId.of("America/New_York"), T0))
        .isEqualTo(period("2027-01-01T05:00:00Z", "2027-04-01T04:00:00Z"));
    assertThat(
            QuotaPeriod.month(ZoneOffset.UTC, Instant.parse("2028-02-29T23:59:59Z").toEpochMilli()))
        .isEqualTo(period("2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"));
    assertThat(QuotaPeriod.of(null, ZoneOffset.UTC, T0)).isEqualTo(QuotaPeriod.FOREVER);
  }

  @Test
  void aDayAcrossADaylightSavingChange_isThatDay() {
    // 2027-03-14: New York springs forward; the day is 23 hours long
    QuotaPeriod day =
        QuotaPeriod.day(
            ZoneId.of("America/New_York"), Instant.parse("2027-03-14T12:00:00Z").toEpochMilli());
    assertThat(day.endMillis() - day.startMillis()).isEqualTo(23 * 3_600_000L);
  }

  @Test
  void durationsAreChecked() {
    assertThat(QuotaPeriod.isValid("30d")).isTrue();
    assertThat(QuotaPeriod.isValid("1mo")).isTrue();
    assertThat(QuotaPeriod.isValid("0d")).isFalse();
    assertThat(QuotaPeriod.isValid("1w")).isFalse();
    assertThat(QuotaPeriod.isValid("-1d")).isFalse();
    assertThat(QuotaPeriod.isValid("9999999d")).isFalse();
    assertThatThrownBy(() -> QuotaPeriod.of("1y", ZoneOffset.UTC, T0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
