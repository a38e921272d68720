package dev.fairshare.it;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads series out of Prometheus text, as tests need them. */
public final class PrometheusText {

  private PrometheusText() {}

  /** The value of the series {@code name} with exactly {@code labels}, or null when absent. */
  public static Double value(String text, String name, String... labels) {
    Map<String, String> wanted = new LinkedHashMap<>();
    for (int i = 0; i < labels.length; i += 2) {
      wanted.put(labels[i], labels[i + 1]);
    }
    Pattern line = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{([^}]*)\\})? (\\S+)$");
    Matcher m = line.matcher(text);
    while (m.find()) {
      Map<String, String> found = new LinkedHashMap<>();
      Matcher label =
          Pattern.compile("(\\w+)=\"([^\"]*)\"").matcher(m.group(1) == null ? "" : m.group(1));
      while (label.find()) {
        found.put(label.group(1), label.group(2));
      }
      if (found.equals(wanted)) {
        return Double.parseDouble(m.group(2));
      }
    }
    return null;
  }

  /** {@code fairshare_calls_total} of {@code model} with {@code outcome} and {@code reason}. */
  public static Double calls(String text, String model, String outcome, String reason) {
    return value(
        text, "fairshare_calls_total", "model", model, "outcome", outcome, "reason", reason);
  }
}
