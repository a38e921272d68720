package dev.fairshare.keys;

/**
 * What was charged to one counter (a key's or a team's spend or quota) in one period: {@code
 * amount} is added to what the database holds for ({@code counter}, {@code periodStartMillis}).
 *
 * @param counter the counter's id, e.g. {@code key:<sha256>:spend}
 * @param periodStartMillis when the counter's period began
 * @param amount what to add (nano-USD for spend, tokens or requests for quotas)
 */
public record SpendRow(String counter, long periodStartMillis, long amount) {

  /** The owner part of key {@code token}'s counter ids: {@code key:<sha256>}. */
  public static String keyOwner(String token) {
    return "key:" + token;
  }

  /** The owner part of team {@code teamId}'s counter ids: {@code team:<id>}. */
  public static String teamOwner(String teamId) {
    return "team:" + teamId;
  }

  /** The prefix every counter id of key {@code token} starts with. */
  static String keyCounters(String token) {
    return keyOwner(token) + ":";
  }

  /** The prefix every counter id of team {@code teamId} starts with. */
  static String teamCounters(String teamId) {
    return teamOwner(teamId) + ":";
  }
}
