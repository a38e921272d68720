package dev.fairshare.quota;

import java.util.List;

/**
 * What a call reserved on its counters, until it settles or is released (or, if neither happens,
 * until {@code untilMillis}, when the ledger lets the reservation go by itself: an instance that
 * died mid-call does not hold a month's budget).
 *
 * @param id unique among the holds of all instances
 * @param charges what was reserved, counter by counter
 * @param untilMillis when the reservation lapses if it was not settled
 */
public record QuotaHold(String id, List<QuotaCharge> charges, long untilMillis) {

  public QuotaHold {
    charges = List.copyOf(charges);
  }
}
