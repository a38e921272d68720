package dev.fairshare.core;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A {@link Clock} that moves only when told to; for tests and simulations. Thread-safe. */
public final class ManualClock implements Clock {

  private final AtomicLong millis;

  public ManualClock(long startMillis) {
    this.millis = new AtomicLong(startMillis);
  }

  @Override
  public long millis() {
    return millis.get();
  }

  /** Moves the clock forward by {@code duration}; negative durations are rejected. */
  public void advance(Duration duration) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException("duration must not be negative: " + duration);
    }
    millis.addAndGet(duration.toMillis());
  }

  /** Sets the clock to an absolute time. */
  public void set(long epochMillis) {
    millis.set(epochMillis);
  }
}
