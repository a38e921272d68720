package dev.fairshare.core;

/**
 * One key's usage of one model: a sparse, time-ordered series of (bucket, tokens, requests), plus
 * its activity and in-flight count. A key that sends one request a minute costs one entry.
 *
 * <p>Not thread-safe: guarded by the owning {@link ModelWindow}'s caller.
 */
final class KeyUsage {

  static final long NEVER = Long.MIN_VALUE;

  private long[] buckets = new long[2];
  private long[] tokens = new long[2];
  private long[] requests = new long[2];

  /** Tokens of requests refused for want of model room (token bucket: part of the key's demand). */
  private long[] refused = new long[2];

  /** Calls refused by the model (not by the key's own limits): what {@code GET /usage} shows. */
  private long[] refusals = new long[2];

  private int head;
  private int size;

  /**
   * Bucket of the key's most recent admission on this model, or of its most recent rejection for
   * want of model capacity (fair mode), or {@link #NEVER}: the key is active while it is in the
   * window.
   */
  long lastActiveBucket = NEVER;

  /** The weight the key was last seen with; what it contributes to the active weight. */
  double weight;

  /** Admitted requests not yet settled. */
  int inFlight;

  /** Tokens reserved by the admitted requests not yet settled. */
  long inFlightTokens;

  /** Drops entries older than {@code startBucket}. */
  void prune(long startBucket) {
    while (size > 0 && buckets[head] < startBucket) {
      head = (head + 1) % buckets.length;
      size--;
    }
  }

  boolean isEmpty() {
    return size == 0;
  }

  /**
   * Adds to bucket {@code bucket}. Buckets arrive in non-decreasing order, except refunds of a
   * reservation, which target the (still present) bucket the reservation was counted in.
   */
  void add(long bucket, long tokenDelta, long requestDelta) {
    add(bucket, tokenDelta, requestDelta, 0, 0);
  }

  /** Counts {@code tokens} a refused request wanted, in the current {@code bucket}. */
  void addRefused(long bucket, long tokens) {
    add(bucket, 0, 0, tokens, 0);
  }

  /** Counts a call the model refused, in the current {@code bucket}. */
  void addRefusal(long bucket) {
    add(bucket, 0, 0, 0, 1);
  }

  /** Calls the model refused since {@code startBucket}. */
  long refusalsSince(long startBucket) {
    long sum = 0;
    for (int i = 0; i < size; i++) {
      int at = index(i);
      if (buckets[at] >= startBucket) {
        sum += refusals[at];
      }
    }
    return sum;
  }

  private void add(
      long bucket, long tokenDelta, long requestDelta, long refusedDelta, long refusalDelta) {
    if (size > 0) {
      int last = index(size - 1);
      if (buckets[last] == bucket) {
        tokens[last] += tokenDelta;
        requests[last] += requestDelta;
        refused[last] += refusedDelta;
        refusals[last] += refusalDelta;
        return;
      }
      if (buckets[last] > bucket) {
        for (int i = size - 2; i >= 0; i--) {
          int at = index(i);
          if (buckets[at] == bucket) {
            tokens[at] += tokenDelta;
            requests[at] += requestDelta;
            refused[at] += refusedDelta;
            refusals[at] += refusalDelta;
            return;
          }
        }
        return; // the bucket has left the window: nothing to adjust
      }
    }
    if (size == buckets.length) {
      grow();
    }
    int at = index(size);
    buckets[at] = bucket;
    tokens[at] = tokenDelta;
    requests[at] = requestDelta;
    refused[at] = refusedDelta;
    refusals[at] = refusalDelta;
    size++;
  }

  /**
   * The key's demand since {@code startBucket}: tokens counted for it plus tokens it was refused.
   */
  long demandSince(long startBucket) {
    long sum = 0;
    for (int i = 0; i < size; i++) {
      int at = index(i);
      if (buckets[at] >= startBucket) {
        sum += tokens[at] + refused[at];
      }
    }
    return sum;
  }

  int size() {
    return size;
  }

  long bucketAt(int i) {
    return buckets[index(i)];
  }

  long tokensAt(int i) {
    return tokens[index(i)];
  }

  long requestsAt(int i) {
    return requests[index(i)];
  }

  long tokensSince(long startBucket) {
    long sum = 0;
    for (int i = 0; i < size; i++) {
      int at = index(i);
      if (buckets[at] >= startBucket) {
        sum += tokens[at];
      }
    }
    return sum;
  }

  long requestsSince(long startBucket) {
    long sum = 0;
    for (int i = 0; i < size; i++) {
      int at = index(i);
      if (buckets[at] >= startBucket) {
        sum += requests[at];
      }
    }
    return sum;
  }

  /** Newest bucket with token usage, or {@link #NEVER}. */
  long lastTokenBucket() {
    for (int i = size - 1; i >= 0; i--) {
      int at = index(i);
      if (tokens[at] > 0) {
        return buckets[at];
      }
    }
    return NEVER;
  }

  /** Newest bucket with a request, or {@link #NEVER}. */
  long lastRequestBucket() {
    for (int i = size - 1; i >= 0; i--) {
      int at = index(i);
      if (requests[at] > 0) {
        return buckets[at];
      }
    }
    return NEVER;
  }

  private int index(int i) {
    return (head + i) % buckets.length;
  }

  private void grow() {
    int n = buckets.length * 2;
    long[] b = new long[n];
    long[] t = new long[n];
    long[] r = new long[n];
    long[] x = new long[n];
    long[] y = new long[n];
    for (int i = 0; i < size; i++) {
      int at = index(i);
      b[i] = buckets[at];
      t[i] = tokens[at];
      r[i] = requests[at];
      x[i] = refused[at];
      y[i] = refusals[at];
    }
    buckets = b;
    tokens = t;
    requests = r;
    refused = x;
    refusals = y;
    head = 0;
  }
}
