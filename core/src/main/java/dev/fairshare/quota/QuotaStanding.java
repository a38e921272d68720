package dev.fairshare.quota;

/**
 * A counter now.
 *
 * @param used what settled calls charged in the period
 * @param reserved what calls in flight hold
 */
public record QuotaStanding(long used, long reserved) {}
