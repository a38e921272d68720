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
 * @param metricsPublic whether {@code /metrics} answers without the master key ({@code
 *     fairshare.metrics.public}; default false)
 * @param history whether the usage history is kept ({@code fairshare.usage.history}; default true)
 * @param historyRetention how long the history's rows are kept ({@code fairshare.usage.retention};
 *     default 400 days; zero: for ever)
 */
public record OperationsSettings(
    KeyLabels keyLabels,
    int topKeys,
    Duration historyFlush,
    Duration configRefresh,
    boolean metricsPublic,
    boolean history,
    Duration historyRetention) {

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
      new OperationsSettings(
          KeyLabels.TOP,
          20,
          Duration.ofSeconds(10),
          Duration.ofSeconds(30),
          false,
          true,
          Duration.ofDays(400));

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
    boolean metricsPublic = v.bool("fairshare.metrics.public", false);
    boolean history = v.bool("fairshare.usage.history", true);
    Duration retention = v.duration("fairshare.usage.retention", DEFAULTS.historyRetention());
    if (retention.isNegative()
        || (!retention.isZero() && retention.compareTo(Duration.ofDays(1)) < 0)) {
      v.problem(
          "fairshare.usage.retention",
          "must be 0 (for ever) or at least 1d, was " + retention.toMillis() + "ms");
      retention = DEFAULTS.historyRetention();
    }
    String text = v.string("fairshare.metrics.key-labels", "top-20").trim();
    KeyLabels labels = KeyLabels.TOP;
    int top = 20;
    Matcher topN = TOP.matcher(text);
    if (text.equals("none")) {
      labels = KeyLabels.NONE;
      top = 0;
    } else if (text.equals("alias")) {
      labels = KeyLabels.ALIAS;
      top = 0;
    } else if (topN.matches() && Integer.parseInt(topN.group(1)) > 0) {
      top = Integer.parseInt(topN.group(1));
    } else {
      v.problem(
          "fairshare.metrics.key-labels",
          "'" + text + "' is not one of: none, alias, top-N (N from 1 to 9999)");
    }
    return new OperationsSettings(labels, top, flush, refresh, metricsPublic, history, retention);
  }
}
