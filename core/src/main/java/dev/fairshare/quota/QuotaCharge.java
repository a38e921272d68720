package dev.fairshare.quota;

/**
 * What one call reserves on one counter: its estimate (tokens, 1 request, or its estimated cost).
 *
 * @param counter the counter
 * @param amount what is reserved, {@code >= 0}
 */
public record QuotaCharge(QuotaCounter counter, long amount) {

  public QuotaCharge {
    if (amount < 0) {
      throw new IllegalArgumentException("amount must be >= 0");
    }
  }
}
