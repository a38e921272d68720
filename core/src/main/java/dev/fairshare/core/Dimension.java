package dev.fairshare.core;

/** The two things a model's capacity is counted in; OpenAI's error {@code type} names them. */
public enum Dimension {
  TOKENS("tokens"),
  REQUESTS("requests");

  private final String wireName;

  Dimension(String wireName) {
    this.wireName = wireName;
  }

  /** The name OpenAI uses in error bodies and header names. */
  public String wireName() {
    return wireName;
  }
}
