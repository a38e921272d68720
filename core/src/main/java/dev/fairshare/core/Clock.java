package dev.fairshare.core;

/**
 * Source of wall-clock time, in milliseconds since the epoch.
 *
 * <p>Wall-clock time (not {@link System#nanoTime()}) because usage is shared between instances
 * through a store such as Redis: every instance must agree on which window bucket "now" is in.
 * Instances must therefore be NTP-synchronised. Tests inject a manual clock (the filter's test
 * fixtures: {@code dev.fairshare.core.ManualClock}).
 */
@FunctionalInterface
public interface Clock {

  /** Returns the current time in milliseconds since the epoch. */
  long millis();

  /** The system wall clock. */
  static Clock system() {
    return System::currentTimeMillis;
  }
}
