package dev.fairshare.config;

import java.util.List;

/** Thrown at start-up when the configuration has problems; lists all of them, each with its key. */
public final class ConfigurationException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  public ConfigurationException(List<String> problems) {
    super(
        "FairShare configuration has "
            + problems.size()
            + (problems.size() == 1 ? " problem:" : " problems:")
            + "\n  - "
            + String.join("\n  - ", problems));
    this.problems = List.copyOf(problems);
  }

  /** Each problem, starting with the configuration key it concerns. */
  public List<String> problems() {
    return problems;
  }
}
