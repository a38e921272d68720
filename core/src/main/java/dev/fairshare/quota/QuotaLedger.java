package dev.fairshare.quota;

import java.util.List;

/**
 * Budgets and calendar quotas, held exactly under concurrency: a call reserves its estimate on
 * every counter it counts towards before it runs (all or none), and settles its actual amounts
 * after. So concurrent calls cannot overshoot a limit by more than the in-flight estimates' error.
 * A ledger shared by instances (Redis) does each step as one atomic script.
 *
 * <p>Implementations are thread-safe.
 */
public interface QuotaLedger extends AutoCloseable {

  /**
   * Reserves every charge, or none when one does not fit ({@code used + reserved + amount >
   * limit}).
   *
   * @param holdId unique among all instances' holds
   * @param untilMillis when the reservation lapses if it is never settled
   */
  QuotaDecision reserve(List<QuotaCharge> charges, String holdId, long untilMillis, long nowMillis);

  /**
   * Replaces what {@code hold} reserved by {@code actual} (one amount per charge, in order), in the
   * period each was reserved in. Call at most once per hold, instead of {@link #release}.
   *
   * @return the counters whose alert level this settlement crossed, each once per period across
   *     every instance sharing the ledger
   */
  List<QuotaCounter> settle(QuotaHold hold, long[] actual, long nowMillis);

  /** Takes back what {@code hold} reserved: the call did not happen. */
  void release(QuotaHold hold, long nowMillis);

  /** What {@code counter} holds in its period now. */
  QuotaStanding standing(QuotaCounter counter, long nowMillis);

  @Override
  default void close() {}
}
