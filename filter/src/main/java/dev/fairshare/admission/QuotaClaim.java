package dev.fairshare.admission;

import dev.fairshare.config.ModelPrice;
import dev.fairshare.quota.QuotaHold;

/**
 * What an admitted call holds of its key's and team's budgets and quotas, to settle (or release)
 * exactly once with the call's reservation.
 *
 * @param hold the ledger's hold
 * @param price the model's price when the call was admitted
 * @param keyAlias the key's name for alerts (alias or masked name; never the raw key)
 */
public record QuotaClaim(QuotaHold hold, ModelPrice price, String keyAlias) {}
