package dev.fairshare.config;

/** What requests get while Redis is away ({@code fairshare.redis.failure-mode}). */
public enum FailureMode {
  /** Admitted on this instance's own memory store; the default. */
  OPEN,
  /** Refused with 503. */
  CLOSED
}
