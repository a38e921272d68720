package dev.fairshare.quota;

import java.util.Objects;

/**
 * One thing a call is counted towards in one period: a key's or a team's spend (nano-USD), tokens
 * or requests of a day or a month.
 *
 * @param id the counter's id, the same on every instance ({@code key:<sha256>:spend}, {@code
 *     team:<id>:tokens:day}); never a raw key
 * @param period the period it counts in now
 * @param limit the most it may reach; {@link #UNLIMITED} when it is only tracked
 * @param alertAt the level whose crossing raises one alert per period, or {@link #NO_ALERT}
 */
public record QuotaCounter(String id, QuotaPeriod period, long limit, long alertAt) {

  /** No limit: the counter is only tracked (spend shown by {@code /key/info}). */
  public static final long UNLIMITED = Long.MAX_VALUE;

  /** No alert threshold. */
  public static final long NO_ALERT = -1;

  public QuotaCounter {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(period, "period");
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be >= 0");
    }
  }

  /** The id of this counter in this period: where its state lives. */
  public String periodKey() {
    return id + "@" + period.startMillis();
  }
}
