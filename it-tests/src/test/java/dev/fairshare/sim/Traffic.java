package dev.fairshare.sim;

import java.util.Random;

/** How one key sends requests: when, how large, for which part of the run. */
public record Traffic(
    String key, double weight, long joinMillis, long leaveMillis, Arrivals arrivals, Sizes sizes) {

  /** Gaps between requests. */
  @FunctionalInterface
  public interface Arrivals {
    /** Milliseconds from {@code now} to the next request. */
    long nextGap(long now, Random random);

    /**
     * A closed-loop batch client ({@link ClientSimulator} only): {@code workers} calls at a time,
     * each worker's next one when its last one ends.
     */
    static Arrivals batch(int workers) {
      return new Batch(workers);
    }

    /** A request every {@code millis}. */
    static Arrivals every(long millis) {
      return (now, random) -> millis;
    }

    /** Poisson arrivals at {@code perSecond}. */
    static Arrivals poisson(double perSecond) {
      return (now, random) ->
          Math.max(1, (long) (-Math.log(1 - random.nextDouble()) * 1000 / perSecond));
    }

    /**
     * A request every {@code millis} while on; on for {@code onMillis}, off for {@code offMillis},
     * shifted by {@code phase}.
     */
    static Arrivals onOff(long onMillis, long offMillis, long phase, long millis) {
      long period = onMillis + offMillis;
      return (now, random) -> {
        long next = now + millis;
        long at = Math.floorMod(next - phase, period);
        return at < onMillis ? millis : millis + (period - at);
      };
    }
  }

  /** {@link Arrivals#batch}: no arrivals of its own, the workers' calls follow each other. */
  public record Batch(int workers) implements Arrivals {
    @Override
    public long nextGap(long now, Random random) {
      throw new UnsupportedOperationException("a batch client calls when a call ends");
    }
  }

  /** Request sizes (the estimate, in tokens). */
  @FunctionalInterface
  public interface Sizes {
    long next(Random random);

    static Sizes fixed(long tokens) {
      return random -> tokens;
    }

    /** Heavy-tailed: Pareto with the given minimum and shape, capped. */
    static Sizes pareto(long min, double shape, long cap) {
      return random -> Math.min(cap, (long) (min / Math.pow(1 - random.nextDouble(), 1 / shape)));
    }
  }
}
