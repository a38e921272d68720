package dev.fairshare.openai;

/** Which tokens of a response count against TPM ({@code fairshare.token-count}). */
public enum TokenCount {
  /** prompt + completion (OpenAI's own TPM accounting); the default. */
  TOTAL,
  /** prompt tokens only. */
  INPUT,
  /** completion tokens only. */
  OUTPUT
}
