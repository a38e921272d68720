package dev.fairshare.admission;

import dev.fairshare.config.ModelPrice;
import dev.fairshare.quota.QuotaCharge;
import dev.fairshare.quota.QuotaHold;
import java.util.List;

/**
 * What an admitted call holds of its key's and team's budgets and quotas, to settle (or release)
 * exactly once with the call's reservation.
 *
 * @param hold the ledger's hold; null when the shared ledger was away and the call was admitted
 *     without it ({@code fairshare.redis.failure-mode=open}): its charges are only persisted
 * @param charges the counters the call counts towards, with its estimates
 * @param price the model's price when the call was admitted
 * @param keyAlias the key's name for alerts (alias or masked name; never the raw key)
 */
public record QuotaClaim(
    QuotaHold hold, List<QuotaCharge> charges, ModelPrice price, String keyAlias) {

  public QuotaClaim {
    charges = List.copyOf(charges);
  }
}
