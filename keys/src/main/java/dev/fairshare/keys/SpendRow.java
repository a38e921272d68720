package dev.fairshare.keys;

/**
 * What was charged to one counter (a key's or a team's spend or quota) in one period: {@code
 * amount} is added to what the database holds for ({@code counter}, {@code periodStartMillis}).
 *
 * @param counter the counter's id, e.g. {@code key:<sha256>:spend}
 * @param periodStartMillis when the counter's period began
 * @param amount what to add (nano-USD for spend, tokens or requests for quotas)
 */
public record SpendRow(String counter, long periodStartMillis, long amount) {}
