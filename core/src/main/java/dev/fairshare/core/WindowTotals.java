package dev.fairshare.core;

/**
 * The sums over a model's window that an {@link AllocationRule} looks at, for one requesting key;
 * "others" are the active keys other than the requester.
 *
 * @param modelTokens tokens counted for the model in the window, reservations included
 * @param modelRequests requests counted for the model in the window
 * @param keyTokens the requester's tokens in the window
 * @param keyRequests the requester's requests in the window
 * @param othersWeight the sum of the other active keys' weights
 * @param othersCount the number of other active keys
 * @param requesterActive whether the requester itself is active
 * @param starved whether a key within its share was turned away for want of model capacity in the
 *     window (capacity is owed to it)
 */
public record WindowTotals(
    long modelTokens,
    long modelRequests,
    long keyTokens,
    long keyRequests,
    double othersWeight,
    int othersCount,
    boolean requesterActive,
    boolean starved) {}
