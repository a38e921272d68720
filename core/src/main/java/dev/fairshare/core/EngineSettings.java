package dev.fairshare.core;

/**
 * Engine-wide settings: how usage is windowed and when borrowing stops.
 *
 * @param mode the allocation rule
 * @param windowMillis length of the sliding window (capacities are per window); {@code litellm-v1}
 *     always uses the calendar minute
 * @param bucketMillis granularity of the window; must divide the window (and the minute)
 * @param saturationThreshold fraction of a model's capacity in use above which keys are held to
 *     their fair share; below it a key may borrow idle capacity
 * @param owedCapacity how capacity owed to a key turned away within its share is kept for it
 *     (sliding-window pool)
 * @param pool how the model's tokens come back: as usage leaves the sliding window, or refilled
 *     continuously into a bucket
 * @param poolBurst the token bucket's size, as a fraction of the capacity per window
 * @param poolReserve the part of the token bucket that keys past their guaranteed share may not
 *     borrow (kept for keys within theirs), as a fraction of the bucket
 */
public record EngineSettings(
    AllocationMode mode,
    long windowMillis,
    long bucketMillis,
    double saturationThreshold,
    OwedCapacity owedCapacity,
    Pool pool,
    double poolBurst,
    double poolReserve) {

  /** How a model's tokens come back after use (fair mode; {@code litellm-v1} counts minutes). */
  public enum Pool {
    /** Tokens come back as the usage that took them leaves the sliding window. */
    SLIDING_WINDOW,
    /**
     * Tokens refill continuously at the capacity per window into a bucket of {@link #poolBurst} (a
     * {@link TokenPool}): waits are short and exact, and keys within their share hold tickets.
     */
    TOKEN_BUCKET
  }

  /** The default bucket: a sixth of the capacity per window (ten seconds of a minute). */
  public static final double DEFAULT_POOL_BURST = 1.0 / 6;

  /** The default reserve: half the bucket is kept for keys within their share. */
  public static final double DEFAULT_POOL_RESERVE = 0.5;

  /** Settings with the sliding-window pool. */
  public EngineSettings(
      AllocationMode mode,
      long windowMillis,
      long bucketMillis,
      double saturationThreshold,
      OwedCapacity owedCapacity) {
    this(
        mode,
        windowMillis,
        bucketMillis,
        saturationThreshold,
        owedCapacity,
        Pool.SLIDING_WINDOW,
        DEFAULT_POOL_BURST,
        DEFAULT_POOL_RESERVE);
  }

  /**
   * How the fair rule keeps capacity for a key that was turned away within its share, for want of
   * model capacity.
   */
  public enum OwedCapacity {
    /** No key borrows past its share while such a turn-away is in the window (the default). */
    WINDOW,
    /**
     * Experimental, memory store only (issue 14): the key holds a ticket for the room it needs,
     * first come first served, until its retry time (at most {@link
     * ModelWindow#TICKET_MAX_WAIT_MILLIS}) plus a bucket; freed room goes to tickets first, and
     * nobody borrows past its share only while a ticket of another key is held.
     */
    TICKETS
  }

  /** Settings that keep owed capacity for a window ({@link OwedCapacity#WINDOW}). */
  public EngineSettings(
      AllocationMode mode, long windowMillis, long bucketMillis, double saturationThreshold) {
    this(mode, windowMillis, bucketMillis, saturationThreshold, OwedCapacity.WINDOW);
  }

  public static final long DEFAULT_WINDOW_MILLIS = 60_000;
  public static final long DEFAULT_BUCKET_MILLIS = 1_000;
  public static final double DEFAULT_SATURATION_THRESHOLD = 0.8;

  /** The defaults: fair mode, 60 s window in 1 s buckets, threshold 0.8. */
  public static final EngineSettings DEFAULTS =
      new EngineSettings(
          AllocationMode.FAIR,
          DEFAULT_WINDOW_MILLIS,
          DEFAULT_BUCKET_MILLIS,
          DEFAULT_SATURATION_THRESHOLD);

  public EngineSettings {
    if (mode == null) {
      throw new IllegalArgumentException("mode must not be null");
    }
    if (owedCapacity == null) {
      throw new IllegalArgumentException("owedCapacity must not be null");
    }
    if (pool == null) {
      throw new IllegalArgumentException("pool must not be null");
    }
    if (!(poolBurst > 0.0 && poolBurst <= 1.0)) {
      throw new IllegalArgumentException(
          "pool burst must be in (0, 1] of the capacity, was " + poolBurst);
    }
    if (!(poolReserve >= 0.0 && poolReserve < 1.0)) {
      throw new IllegalArgumentException(
          "pool reserve must be in [0, 1) of the burst, was " + poolReserve);
    }
    if (bucketMillis <= 0) {
      throw new IllegalArgumentException("bucket must be positive, was " + bucketMillis + " ms");
    }
    if (windowMillis < bucketMillis || windowMillis % bucketMillis != 0) {
      throw new IllegalArgumentException(
          "window ("
              + windowMillis
              + " ms) must be a positive multiple of the bucket ("
              + bucketMillis
              + " ms)");
    }
    if (windowMillis / bucketMillis > 3600) {
      throw new IllegalArgumentException(
          "window / bucket must be at most 3600 buckets, was " + windowMillis / bucketMillis);
    }
    if (mode == AllocationMode.LITELLM_V1 && 60_000 % bucketMillis != 0) {
      throw new IllegalArgumentException(
          "litellm-v1 counts calendar minutes: the bucket ("
              + bucketMillis
              + " ms) must divide 60000 ms");
    }
    if (!(saturationThreshold > 0.0 && saturationThreshold <= 1.0)) {
      throw new IllegalArgumentException(
          "saturation threshold must be in (0, 1], was " + saturationThreshold);
    }
  }

  /** Same settings with another saturation threshold. */
  public EngineSettings withSaturationThreshold(double threshold) {
    return new EngineSettings(
        mode, windowMillis, bucketMillis, threshold, owedCapacity, pool, poolBurst, poolReserve);
  }

  /** Same settings with another mode. */
  public EngineSettings withMode(AllocationMode newMode) {
    return new EngineSettings(
        newMode,
        windowMillis,
        bucketMillis,
        saturationThreshold,
        owedCapacity,
        pool,
        poolBurst,
        poolReserve);
  }

  /** Same settings with another way of keeping owed capacity. */
  public EngineSettings withOwedCapacity(OwedCapacity newOwedCapacity) {
    return new EngineSettings(
        mode,
        windowMillis,
        bucketMillis,
        saturationThreshold,
        newOwedCapacity,
        pool,
        poolBurst,
        poolReserve);
  }

  /** Same settings with another pool, of {@code burst} and {@code reserve}. */
  public EngineSettings withPool(Pool newPool, double burst, double reserve) {
    return new EngineSettings(
        mode,
        windowMillis,
        bucketMillis,
        saturationThreshold,
        owedCapacity,
        newPool,
        burst,
        reserve);
  }

  /** Whether the token bucket is in use (fair mode only: {@code litellm-v1} counts minutes). */
  public boolean tokenBucket() {
    return pool == Pool.TOKEN_BUCKET && mode == AllocationMode.FAIR;
  }

  /** The allocation rule these settings name. */
  public AllocationRule rule() {
    return AllocationRule.of(this);
  }

  /** Number of buckets in one window. */
  public int bucketsPerWindow() {
    return (int) (effectiveWindowMillis() / bucketMillis);
  }

  /** The window actually used: the calendar minute in {@code litellm-v1} mode. */
  public long effectiveWindowMillis() {
    return mode == AllocationMode.LITELLM_V1 ? 60_000 : windowMillis;
  }
}
