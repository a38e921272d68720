package dev.fairshare.core;

/**
 * A key's standing on a model at one instant: what the rate-limit headers report.
 *
 * @param tokens the token dimension
 * @param requests the request dimension
 * @param activeKeys keys sharing the model (the requester included)
 */
public record UsageSnapshot(Allowance tokens, Allowance requests, int activeKeys) {}
