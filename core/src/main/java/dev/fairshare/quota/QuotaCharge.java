package dev.fairshare.quota;

/**
 * What one call reserves on one counter: its estimate (tokens, 1 request, or its estimated cost).
 *
 * @param counter the counter
 * @param amount what is reserved, {@code >= 0}
 */
public record QuotaCharge(QuotaCounter counter, long amount) {

  /**
   * The most one charge may be: 10^15 (a million USD in nano-USD), far above any call, and exact in
   * the doubles Redis' Lua counts with; a larger estimate (an absurd {@code max_tokens}) is charged
   * this, so counters cannot overflow.
   */
  public static final long MAX_AMOUNT = 1_000_000_000_000_000L;

  public QuotaCharge {
    if (amount < 0) {
      throw new IllegalArgumentException("amount must be >= 0");
    }
    amount = Math.min(amount, MAX_AMOUNT);
  }
}
