package dev.fairshare.quota;

/**
 * Where a ledger that does not hold a counter's period (a new instance, a Redis that lost its data)
 * reads what was persisted for it: the key database's {@code fairshare_spend}.
 */
@FunctionalInterface
public interface SpendSeed {

  /** Nothing persisted. */
  SpendSeed NONE = (counter, periodStart) -> 0;

  /**
   * What is persisted for {@code counter} in the period that began at {@code periodStartMillis}.
   */
  long persisted(String counter, long periodStartMillis);
}
