package dev.fairshare.store;

import dev.fairshare.core.ActiveKey;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.KeyStanding;
import dev.fairshare.core.Reservation;
import dev.fairshare.core.UsageSnapshot;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Storage SPI for model usage. A store supplies atomicity: {@link #acquire} checks and reserves as
 * one step, {@link #settle} replaces a reservation by the real usage as one step. The allocation
 * rule itself is {@link dev.fairshare.core.ModelWindow}'s (mirrored by stores that run it
 * remotely).
 *
 * <p>Implementations are thread-safe. Time is passed in by the caller so that every instance
 * sharing a store uses the same (wall-clock) notion of the window.
 */
public interface UsageStore extends AutoCloseable {

  /** Checks {@code request} against the model's window and, when admitted, reserves it. */
  Decision acquire(AdmissionRequest request, long nowMillis);

  /**
   * Settles a reservation from {@link #acquire}: charges {@code actualTokens} in its place (0
   * releases the tokens of a failed call; the request still counts). Call exactly once per admitted
   * request.
   */
  UsageSnapshot settle(Reservation reservation, long actualTokens, long nowMillis);

  /**
   * Settles like {@link #settle}, for a caller that does not need the standing afterwards (it can
   * work it out from the admission's with {@link UsageSnapshot#afterSettling}). A shared store
   * queues the settlement on its connection before returning but does not wait for the answer; one
   * connection keeps its commands in order, so this instance's later calls see the settlement. The
   * default settles at once.
   *
   * @return completes once the settlement is applied; exceptionally if it could not be (a shared
   *     store that is away), in which case the reservation stays counted until it leaves the window
   */
  default CompletionStage<Void> settleWithoutWaiting(
      Reservation reservation, long actualTokens, long nowMillis) {
    settle(reservation, actualTokens, nowMillis);
    return CompletableFuture.completedFuture(null);
  }

  /**
   * Takes back a reservation from {@link #acquire} whose request did not happen (refused at another
   * level): its tokens and its request leave the window, as if it had never been admitted; the key
   * stays active. Call instead of settling, at most once. Like {@link #settleWithoutWaiting}, a
   * shared store may queue it without waiting.
   *
   * @return completes once the release is applied; exceptionally if it could not be
   */
  CompletionStage<Void> release(Reservation reservation, long nowMillis);

  /**
   * The keys active on {@code model} now (admitted, or turned away by the model, in the window),
   * for {@code GET /usage}; never on a request's path.
   *
   * @throws UnsupportedOperationException from a store that cannot list them
   */
  default List<ActiveKey> activeKeys(String model, long nowMillis) {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " does not list the active keys");
  }

  /**
   * What the store holds of {@code request}'s key now, admitting nothing (its estimate is not
   * used), for {@code GET /usage}; never on a request's path.
   *
   * @throws UnsupportedOperationException from a store that cannot tell it
   */
  default KeyStanding standing(AdmissionRequest request, long nowMillis) {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " does not tell a key's standing");
  }

  /**
   * Decides from now on with {@code threshold} as the saturation threshold (a limit changed at run
   * time); reservations already made stay.
   *
   * @throws IllegalArgumentException when it is not in (0, 1]
   * @throws UnsupportedOperationException from a store that cannot change it
   */
  default void setSaturationThreshold(double threshold) {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " cannot change its saturation threshold");
  }

  /**
   * Whether the store answers a round trip now (for health checks; never on a request's path). The
   * default, for stores in this JVM, is true.
   */
  default boolean isReachable() {
    return true;
  }

  /** Releases resources (connections, threads). The default does nothing. */
  @Override
  default void close() {}
}
