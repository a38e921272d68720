package dev.fairshare.quota;

/**
 * The ledger's answer to a reservation: a hold, or the first counter that had no room.
 *
 * @param hold what was reserved; null when refused
 * @param refusedBy the charge that did not fit; null when admitted
 * @param counted what the refusing counter held (settled and reserved) when it refused
 */
public record QuotaDecision(QuotaHold hold, QuotaCharge refusedBy, long counted) {

  /** True when every charge was reserved. */
  public boolean admitted() {
    return hold != null;
  }

  /** Admitted with {@code hold}. */
  public static QuotaDecision admitted(QuotaHold hold) {
    return new QuotaDecision(hold, null, 0);
  }

  /** Refused by {@code charge}, whose counter held {@code counted}. */
  public static QuotaDecision refused(QuotaCharge charge, long counted) {
    return new QuotaDecision(null, charge, counted);
  }
}
