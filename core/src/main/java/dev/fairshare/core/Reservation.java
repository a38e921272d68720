package dev.fairshare.core;

/**
 * What an admitted request holds until it is settled: one request and {@code tokens} tokens,
 * counted in window bucket {@code bucket}.
 *
 * @param request the admitted request
 * @param bucket the window bucket (time / bucket length) the reservation was counted in
 * @param tokens tokens reserved, at most the estimate and at most what the model had left
 * @param id identifies the reservation within its store (the in-flight entry of a shared store)
 */
public record Reservation(AdmissionRequest request, long bucket, long tokens, long id) {}
