package dev.fairshare.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How FairShare is operated: how the metrics label keys ({@code fairshare.metrics.key-labels};
 * per-key series are one per key and model, so their number is bounded here), how often the usage
 * history is written ({@code fairshare.usage.flush-interval}) and how often the models' limits and
 * the priorities are read again ({@code fairshare.config-refresh}).
 *
 * @param keyLabels {@code none}: no per-key series; {@code alias}: one per key (the key's alias, or
 *     its masked name); {@code top-N}: only the {@code N} keys that used most tokens since start
 * @param topKeys N for {@code top-N}; 0 otherwise
 * @param historyFlush how often the usage history is written to the key database (what a crash may
 *     lose)
 * @param configRefresh how often the models' capacities and the priorities are read again from the
 *     configuration and the key database's run-time limits; zero: never
 */
public record OperationsSettings(
    KeyLabels keyLabels, int topKeys, Duration historyFlush, Duration configRefresh) {

  /** How per-key series are kept. */
  public enum KeyLabels {
    NONE,
    ALIAS,
    TOP
  }

  /**
   * The defaults: the 20 keys that used most tokens; the history written every 10 s; the limits
   * read again every 30 s.
   */
  public static final OperationsSettings DEFAULTS =
      new OperationsSettings(KeyLabels.TOP, 20, Duration.ofSeconds(10), Duration.ofSeconds(30));

  private static final Pattern TOP = Pattern.compile("top-(\\d{1,4})");

  static OperationsSettings read(ConfigValues v) {
    Duration flush = v.duration("fairshare.usage.flush-interval", DEFAULTS.historyFlush());
    if (flush.compareTo(Duration.ofMillis(100)) < 0 || flush.compareTo(Duration.ofHours(1)) > 0) {
      v.problem(
          "fairshare.usage.flush-interval",
          "must be from 100ms to 1h, was " + flush.toMillis() + "ms");
      flush = DEFAULTS.historyFlush();
    }
    Duration refresh = v.duration("fairshare.config-refresh", DEFAULTS.configRefresh());
    if (refresh.isNegative()
        || (!refresh.isZero() && refresh.compareTo(Duration.ofSeconds(1)) < 0)
        || refresh.compareTo(Duration.ofHours(24)) > 0) {
      v.problem(
          "fairshare.config-refresh",
          "must be 0s (never) or from 1s to 24h, was " + refresh.toMillis() + "ms");
      refresh = DEFAULTS.configRefresh();
    }
    String text = v.string("fairshare.metrics.key-labels", "top-20").trim();
    if (text.equals("none")) {
      return new OperationsSettings(KeyLabels.NONE, 0, flush, refresh);
    }
    if (text.equals("alias")) {
      return new OperationsSettings(KeyLabels.ALIAS, 0, flush, refresh);
    }
    Matcher top = TOP.matcher(text);
    if (top.matches() && Integer.parseInt(top.group(1)) > 0) {
      return new OperationsSettings(KeyLabels.TOP, Integer.parseInt(top.group(1)), flush, refresh);
    }
    v.problem(
        "fairshare.metrics.key-labels",
        "'" + text + "' is not one of: none, alias, top-N (N from 1 to 9999)");
    return DEFAULTS;
  }
}
