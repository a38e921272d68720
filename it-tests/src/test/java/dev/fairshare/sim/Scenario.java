package dev.fairshare.sim;

import java.util.List;

/**
 * A traffic scenario described as data.
 *
 * @param name shown in the table
 * @param capacity the model's tokens per window
 * @param minutes simulated length
 * @param estimateError actual usage = estimate × (1 + e × u), u uniform in [-1, 1]
 * @param keys the keys and their traffic
 */
public record Scenario(
    String name, long capacity, int minutes, double estimateError, List<Traffic> keys) {}
