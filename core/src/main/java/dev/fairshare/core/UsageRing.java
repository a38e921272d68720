package dev.fairshare.core;

import java.util.Arrays;
import java.util.function.Predicate;

/**
 * A model's usage over the window: a ring of {@code N = window / bucket} slots, each holding the
 * tokens and requests counted in its bucket, and the total weight and number of keys whose latest
 * activity fell in it (so {@code Σw} over the active keys is a sum over the ring, with no per-key
 * scan), and the rejections of keys that were owed capacity.
 *
 * <p>A slot is reused for a later bucket only after being cleared; a slot whose bucket has left the
 * window counts for nothing. Not thread-safe: guarded by the owning {@link ModelWindow}'s caller.
 */
final class UsageRing {

  private final int slots;
  private final long[] slotBucket;
  private final long[] slotTokens;
  private final long[] slotRequests;
  private final double[] slotActiveWeight;
  private final int[] slotActiveKeys;

  /**
   * Rejections, per bucket, of keys within their share for want of model capacity: owed demand.
   * While any is in the window, no key borrows.
   */
  private final int[] slotStarved;

  UsageRing(int slots) {
    this.slots = slots;
    this.slotBucket = new long[slots];
    this.slotTokens = new long[slots];
    this.slotRequests = new long[slots];
    this.slotActiveWeight = new double[slots];
    this.slotActiveKeys = new int[slots];
    this.slotStarved = new int[slots];
    Arrays.fill(slotBucket, KeyUsage.NEVER);
  }

  /** Counts {@code tokens} and {@code requests} in the current {@code bucket}. */
  void add(long bucket, long tokens, long requests) {
    int slot = slotFor(bucket);
    slotTokens[slot] += tokens;
    slotRequests[slot] += requests;
  }

  /**
   * Counts {@code tokens} and {@code requests} (negative: taken back) in an earlier {@code bucket},
   * if its slot still holds it; otherwise that usage has left the window and nothing changes.
   */
  void adjust(long bucket, long tokens, long requests) {
    int slot = Math.floorMod(bucket, slots);
    if (slotBucket[slot] == bucket) {
      slotTokens[slot] += tokens;
      slotRequests[slot] += requests;
    }
  }

  /** Remembers that a key owed capacity was turned away in {@code bucket}. */
  void starve(long bucket) {
    slotStarved[slotFor(bucket)]++;
  }

  /** Moves {@code key}'s activity (and its weight) to {@code bucket}. */
  void markActive(KeyUsage key, long bucket, double weight) {
    if (key.lastActiveBucket != KeyUsage.NEVER) {
      int previous = Math.floorMod(key.lastActiveBucket, slots);
      if (slotBucket[previous] == key.lastActiveBucket) {
        slotActiveWeight[previous] -= key.weight;
        slotActiveKeys[previous] -= 1;
      }
    }
    int slot = slotFor(bucket);
    slotActiveWeight[slot] += weight;
    slotActiveKeys[slot] += 1;
    key.lastActiveBucket = bucket;
    key.weight = weight;
  }

  /** The sums over the window starting at bucket {@code start}, for {@code key} (or none). */
  WindowTotals totals(KeyUsage key, long start) {
    long tokens = 0;
    long requests = 0;
    double weight = 0;
    int count = 0;
    int starved = 0;
    for (int i = 0; i < slots; i++) {
      if (slotBucket[i] >= start) {
        tokens += slotTokens[i];
        requests += slotRequests[i];
        weight += slotActiveWeight[i];
        count += slotActiveKeys[i];
        starved += slotStarved[i];
      }
    }
    boolean active = key != null && key.lastActiveBucket >= start;
    if (active) {
      weight -= key.weight;
      count -= 1;
    }
    return new WindowTotals(
        tokens,
        requests,
        key == null ? 0 : key.tokensSince(start),
        key == null ? 0 : key.requestsSince(start),
        Math.max(0.0, weight),
        count,
        active,
        starved > 0);
  }

  /**
   * Replays the window's buckets leaving it, oldest first, with no other traffic, and returns the
   * first bucket after whose departure {@code admits} holds for the sums then, or {@link
   * KeyUsage#NEVER} if none in the window does. Owed capacity is taken as repaid by then.
   */
  long firstAdmittingDeparture(
      KeyUsage key, WindowTotals now, long start, long bucket, Predicate<WindowTotals> admits) {
    long modelTokens = now.modelTokens();
    long modelRequests = now.modelRequests();
    long keyTokens = now.keyTokens();
    long keyRequests = now.keyRequests();
    double othersWeight = now.othersWeight();
    int othersCount = now.othersCount();
    boolean requesterActive = now.requesterActive();
    int keyEntry = 0;
    for (long leaving = start; leaving <= bucket; leaving++) {
      int slot = Math.floorMod(leaving, slots);
      if (slotBucket[slot] == leaving) {
        modelTokens -= slotTokens[slot];
        modelRequests -= slotRequests[slot];
        othersWeight -= slotActiveWeight[slot];
        othersCount -= slotActiveKeys[slot];
      }
      if (key != null) {
        while (keyEntry < key.size() && key.bucketAt(keyEntry) <= leaving) {
          if (key.bucketAt(keyEntry) >= start) {
            keyTokens -= key.tokensAt(keyEntry);
            keyRequests -= key.requestsAt(keyEntry);
          }
          keyEntry++;
        }
        if (requesterActive && key.lastActiveBucket == leaving) {
          // The slot sums just lost the requester's own weight, which "others" never held.
          requesterActive = false;
          othersWeight += key.weight;
          othersCount += 1;
        }
      }
      WindowTotals later =
          new WindowTotals(
              modelTokens,
              modelRequests,
              keyTokens,
              keyRequests,
              Math.max(0.0, othersWeight),
              othersCount,
              requesterActive,
              false);
      if (admits.test(later)) {
        return leaving;
      }
    }
    return KeyUsage.NEVER;
  }

  /** The slot of {@code bucket}, cleared first if it still holds a bucket that left the window. */
  private int slotFor(long bucket) {
    int slot = Math.floorMod(bucket, slots);
    if (slotBucket[slot] != bucket) {
      slotBucket[slot] = bucket;
      slotTokens[slot] = 0;
      slotRequests[slot] = 0;
      slotActiveWeight[slot] = 0;
      slotActiveKeys[slot] = 0;
      slotStarved[slot] = 0;
    }
    return slot;
  }
}
