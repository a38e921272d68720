package dev.fairshare.config;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the metrics label keys by ({@code fairshare.metrics.key-labels}): per-key series are one per
 * key and model, so their number is bounded here.
 *
 * @param keyLabels {@code none}: no per-key series; {@code alias}: one per key (the key's alias, or
 *     its masked name); {@code top-N}: only the {@code N} keys that used most tokens since start
 * @param topKeys N for {@code top-N}; 0 otherwise
 */
public record MetricsSettings(KeyLabels keyLabels, int topKeys) {

  /** How per-key series are kept. */
  public enum KeyLabels {
    NONE,
    ALIAS,
    TOP
  }

  /** The default: the 20 keys that used most tokens. */
  public static final MetricsSettings DEFAULTS = new MetricsSettings(KeyLabels.TOP, 20);

  private static final Pattern TOP = Pattern.compile("top-(\\d{1,4})");

  static MetricsSettings read(ConfigValues v) {
    String text = v.string("fairshare.metrics.key-labels", "top-20").trim();
    if (text.equals("none")) {
      return new MetricsSettings(KeyLabels.NONE, 0);
    }
    if (text.equals("alias")) {
      return new MetricsSettings(KeyLabels.ALIAS, 0);
    }
    Matcher top = TOP.matcher(text);
    if (top.matches() && Integer.parseInt(top.group(1)) > 0) {
      return new MetricsSettings(KeyLabels.TOP, Integer.parseInt(top.group(1)));
    }
    v.problem(
        "fairshare.metrics.key-labels",
        "'" + text + "' is not one of: none, alias, top-N (N from 1 to 9999)");
    return DEFAULTS;
  }
}
