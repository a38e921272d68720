package dev.fairshare.core;

/**
 * A key active on a model: admitted, or turned away by the model, in the window.
 *
 * @param keyId the key's id as the store knows it (the sha256 of the raw key)
 * @param weight the weight it was last seen with
 */
public record ActiveKey(String keyId, double weight) {}
