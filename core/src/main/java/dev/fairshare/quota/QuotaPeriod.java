package dev.fairshare.quota;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One period of a counter, {@code [startMillis, endMillis)}: what a budget or a quota counts
 * towards, until it resets at {@code endMillis}.
 *
 * <p>Periods are aligned, never anchored to a key's creation, so every instance computes the same
 * period from the clock alone: {@code 30s}, {@code 30m}, {@code 24h} are multiples of the duration
 * since the epoch; {@code 1d}, {@code 7d} count calendar days in the time zone (a day period starts
 * at midnight); {@code 1mo}, {@code 3mo} count calendar months from January 1970 (a month period
 * starts at midnight on the first).
 *
 * @param startMillis when the period began (included)
 * @param endMillis when it ends and the counter resets (excluded)
 */
public record QuotaPeriod(long startMillis, long endMillis) {

  /** One period that never ends, for spend tracked without a {@code budget_duration}. */
  public static final QuotaPeriod FOREVER = new QuotaPeriod(0, Long.MAX_VALUE);

  private static final Pattern DURATION = Pattern.compile("(\\d{1,6})(s|m|h|d|mo)");

  public QuotaPeriod {
    if (endMillis <= startMillis) {
      throw new IllegalArgumentException("a period must end after it starts");
    }
  }

  /** True when {@code duration} is a duration this class reads ({@code 30s} … {@code 12mo}). */
  public static boolean isValid(String duration) {
    Matcher m = DURATION.matcher(duration == null ? "" : duration.strip());
    return m.matches() && Long.parseLong(m.group(1)) > 0;
  }

  /**
   * The period of {@code duration} that {@code nowMillis} falls in, in {@code zone}; {@link
   * #FOREVER} for a null duration.
   *
   * @throws IllegalArgumentException for a duration {@link #isValid} refuses
   */
  public static QuotaPeriod of(String duration, ZoneId zone, long nowMillis) {
    if (duration == null) {
      return FOREVER;
    }
    Matcher m = DURATION.matcher(duration.strip().toLowerCase(Locale.ROOT));
    if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
      throw new IllegalArgumentException(
          "a duration looks like 30s, 30m, 24h, 7d or 1mo, not '" + duration + "'");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "s" -> fixed(n * 1_000L, nowMillis);
      case "m" -> fixed(n * 60_000L, nowMillis);
      case "h" -> fixed(n * 3_600_000L, nowMillis);
      case "d" -> days(n, zone, nowMillis);
      default -> months(n, zone, nowMillis);
    };
  }

  /** The calendar day of {@code nowMillis} in {@code zone}. */
  public static QuotaPeriod day(ZoneId zone, long nowMillis) {
    return days(1, zone, nowMillis);
  }

  /** The calendar month of {@code nowMillis} in {@code zone}. */
  public static QuotaPeriod month(ZoneId zone, long nowMillis) {
    return months(1, zone, nowMillis);
  }

  private static QuotaPeriod fixed(long length, long nowMillis) {
    long start = Math.floorDiv(nowMillis, length) * length;
    return new QuotaPeriod(start, start + length);
  }

  private static QuotaPeriod days(long n, ZoneId zone, long nowMillis) {
    long day = LocalDate.ofInstant(Instant.ofEpochMilli(nowMillis), zone).toEpochDay();
    long first = Math.floorDiv(day, n) * n;
    return new QuotaPeriod(
        startOf(LocalDate.ofEpochDay(first), zone), startOf(LocalDate.ofEpochDay(first + n), zone));
  }

  private static QuotaPeriod months(long n, ZoneId zone, long nowMillis) {
    LocalDate date = LocalDate.ofInstant(Instant.ofEpochMilli(nowMillis), zone);
    long month = (date.getYear() - 1970L) * 12 + date.getMonthValue() - 1;
    long first = Math.floorDiv(month, n) * n;
    LocalDate start = LocalDate.of(1970, 1, 1).plusMonths(first);
    return new QuotaPeriod(startOf(start, zone), startOf(start.plusMonths(n), zone));
  }

  private static long startOf(LocalDate date, ZoneId zone) {
    ZonedDateTime midnight = date.atStartOfDay(zone);
    return midnight.toInstant().toEpochMilli();
  }
}
