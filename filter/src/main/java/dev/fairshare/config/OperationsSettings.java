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
 * @param quotaZone the time zone of calendar quotas' days and months and of budget durations in
 *     days or months ({@code fairshare.quota.time-zone}; default UTC)
 * @param alertsWebhook where budget and quota alerts are POSTed ({@code
 *     fairshare.alerts.webhook-url}); null: logged only
 * @param quotaAlertFraction the fraction of a calendar quota whose crossing raises an alert ({@code
 *     fairshare.alerts.quota-fraction}; default 0.8)
 * @param quotaHoldTimeout how long a call's budget and quota reservation lasts if it is never
 *     settled (an instance that died mid-call) ({@code fairshare.quota.hold-timeout}; default 10m)
 */
public record OperationsSettings(
    KeyLabels keyLabels,
    int topKeys,
    Duration historyFlush,
    Duration configRefresh,
    boolean metricsPublic,
    boolean history,
    Duration historyRetention,
    java.time.ZoneId quotaZone,
    java.net.URI alertsWebhook,
    double quotaAlertFraction,
    Duration quotaHoldTimeout) {

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
          Duration.ofDays(400),
          java.time.ZoneOffset.UTC,
          null,
          0.8,
          Duration.ofMinutes(10));

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
    java.time.ZoneId zone = DEFAULTS.quotaZone();
    String zoneText = v.string("fairshare.quota.time-zone", "UTC").strip();
    try {
      zone = java.time.ZoneId.of(zoneText);
    } catch (java.time.DateTimeException e) {
      v.problem(
          "fairshare.quota.time-zone",
          "'" + zoneText + "' is not a time zone (e.g. UTC, Europe/Paris, America/New_York)");
    }
    java.net.URI webhook = null;
    String hook = v.string("fairshare.alerts.webhook-url", "").strip();
    if (!hook.isEmpty()) {
      try {
        webhook = new java.net.URI(hook);
        if (!("http".equals(webhook.getScheme()) || "https".equals(webhook.getScheme()))
            || webhook.getHost() == null) {
          throw new java.net.URISyntaxException(hook, "not an http(s) URL");
        }
      } catch (java.net.URISyntaxException e) {
        v.problem("fairshare.alerts.webhook-url", "'" + hook + "' is not an http(s) URL");
        webhook = null;
      }
    }
    double fraction =
        v.doubleValue("fairshare.alerts.quota-fraction", DEFAULTS.quotaAlertFraction(), 0, 1);
    Duration hold = v.duration("fairshare.quota.hold-timeout", DEFAULTS.quotaHoldTimeout());
    if (hold.compareTo(Duration.ofSeconds(10)) < 0 || hold.compareTo(Duration.ofDays(1)) > 0) {
      v.problem(
          "fairshare.quota.hold-timeout", "must be from 10s to 1d, was " + hold.toMillis() + "ms");
      hold = DEFAULTS.quotaHoldTimeout();
    }
    return new OperationsSettings(
        labels,
        top,
        flush,
        refresh,
        metricsPublic,
        history,
        retention,
        zone,
        webhook,
        fraction,
        hold);
  }
}
