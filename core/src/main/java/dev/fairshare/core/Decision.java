package dev.fairshare.core;

/**
 * The answer to an {@link AdmissionRequest}: a verdict, the numbers for the headers and, when
 * admitted, the reservation to settle.
 *
 * @param verdict admitted, or which limit rejected the request
 * @param reservation what to settle later; null when rejected
 * @param usage the key's standing after this decision
 * @param retryAfterMillis when rejected, the time until enough usage leaves the window for the same
 *     request to be admitted (assuming no other traffic); 0 when admitted
 */
public record Decision(
    Verdict verdict, Reservation reservation, UsageSnapshot usage, long retryAfterMillis) {

  /** True when the request may proceed. */
  public boolean admitted() {
    return verdict.admitted();
  }
}
