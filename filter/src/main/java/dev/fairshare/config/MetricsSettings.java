package dev.fairshare.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What operators see: how the metrics label keys ({@code fairshare.metrics.key-labels}; per-key
 * series are one per key and model, so their number is bounded here) and how often the usage
 * history is written ({@code fairshare.usage.flush-interval}).
 *
 * @param keyLabels {@code none}: no per-key series; {@code alias}: one per key (the key's alias, or
 *     its masked name); {@code top-N}: only the {@code N} keys that used most tokens since start
 * @param topKeys N for {@code top-N}; 0 otherwise
 * @param historyFlush how often the usage history is written to the key database (what a crash may
 *     lose)
 */
public record MetricsSettings(KeyLabels keyLabels, int topKeys, Duration historyFlush) {

  /** How per-key series are kept. */
  public enum KeyLabels {
    NONE,
    ALIAS,
    TOP
  }

  /** The defaults: the 20 keys that used most tokens; the history written every 10 s. */
  public static final MetricsSettings DEFAULTS =
      new MetricsSettings(KeyLabels.TOP, 20, Duration.ofSeconds(10));

  private static final Pattern TOP = Pattern.compile("top-(\\d{1,4})");

  static MetricsSettings read(ConfigValues v) {
    Duration flush = v.duration("fairshare.usage.flush-interval", DEFAULTS.historyFlush());
    if (flush.compareTo(Duration.ofMillis(100)) < 0 || flush.compareTo(Duration.ofHours(1)) > 0) {
      v.problem(
          "fairshare.usage.flush-interval",
          "must be from 100ms to 1h, was " + flush.toMillis() + "ms");
      flush = DEFAULTS.historyFlush();
    }
    String text = v.string("fairshare.metrics.key-labels", "top-20").trim();
    if (text.equals("none")) {
      return new MetricsSettings(KeyLabels.NONE, 0, flush);
    }
    if (text.equals("alias")) {
      return new MetricsSettings(KeyLabels.ALIAS, 0, flush);
    }
    Matcher top = TOP.matcher(text);
    if (top.matches() && Integer.parseInt(top.group(1)) > 0) {
      return new MetricsSettings(KeyLabels.TOP, Integer.parseInt(top.group(1)), flush);
    }
    v.problem(
        "fairshare.metrics.key-labels",
        "'" + text + "' is not one of: none, alias, top-N (N from 1 to 9999)");
    return DEFAULTS;
  }
}
