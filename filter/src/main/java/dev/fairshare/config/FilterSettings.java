package dev.fairshare.config;

import dev.fairshare.openai.TokenCount;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the filter limits and how it counts.
 *
 * @param paths request paths the filter limits (suffix match, with or without {@code /v1})
 * @param maxBodySize largest request body accepted, in bytes
 * @param clientRetryMaxWait waits longer than this get {@code x-should-retry: false}
 * @param tokenCount which tokens of a response count
 * @param completionReserve tokens reserved for the completion when the request sets no {@code
 *     max_tokens}
 * @param maxQueueWait how long a request refused for want of model room may be held for its turn
 *     instead of answered 429 at once (zero: never held)
 * @param maxQueued how many requests may be held at once per model
 * @param upstreamErrorChargeAfter an upstream 5xx that comes at least this long after admission is
 *     charged its reservation (the model may have generated until something gave up waiting);
 *     sooner, it is released
 */
public record FilterSettings(
    List<String> paths,
    long maxBodySize,
    Duration clientRetryMaxWait,
    TokenCount tokenCount,
    long completionReserve,
    Duration maxQueueWait,
    int maxQueued,
    Duration upstreamErrorChargeAfter) {

  public static final List<String> DEFAULT_PATHS =
      List.of("/chat/completions", "/completions", "/embeddings", "/responses");

  public FilterSettings {
    paths = List.copyOf(paths);
  }

  static FilterSettings read(ConfigValues v) {
    long maxBodySize = v.size("fairshare.max-body-size", 10L * 1024 * 1024);
    if (maxBodySize <= 0 || maxBodySize > 1L << 30) {
      v.problem("fairshare.max-body-size", "must be positive and at most 1GB");
    }
    return new FilterSettings(
        paths(v),
        maxBodySize,
        v.duration("fairshare.client-retry-max-wait", Duration.ofSeconds(5)),
        v.choice("fairshare.token-count", TokenCount.class, TokenCount.TOTAL),
        v.longValue("fairshare.completion-reserve", 256, 0),
        maxQueueWait(v),
        (int) Math.min(v.longValue("fairshare.max-queued", 256, 0), 100_000),
        upstreamErrorChargeAfter(v));
  }

  private static Duration upstreamErrorChargeAfter(ConfigValues v) {
    Duration after = v.duration("fairshare.upstream-error-charge-after", Duration.ofSeconds(30));
    if (after.isNegative()) {
      v.problem("fairshare.upstream-error-charge-after", "must not be negative, was " + after);
      return Duration.ofSeconds(30);
    }
    return after;
  }

  private static Duration maxQueueWait(ConfigValues v) {
    Duration wait = v.duration("fairshare.max-queue-wait", Duration.ofSeconds(5));
    if (wait.isNegative() || wait.compareTo(Duration.ofSeconds(60)) > 0) {
      v.problem(
          "fairshare.max-queue-wait",
          "must be from 0 (never wait) to 60s (an SDK's whole timeout), was " + wait);
      return Duration.ofSeconds(5);
    }
    return wait;
  }

  private static List<String> paths(ConfigValues v) {
    Optional<String> text = v.string("fairshare.paths");
    if (text.isEmpty()) {
      return DEFAULT_PATHS;
    }
    List<String> paths = new ArrayList<>();
    for (String p : text.get().split(",")) {
      String path = p.trim();
      if (path.isEmpty()) {
        continue;
      }
      if (!path.startsWith("/")) {
        v.problem("fairshare.paths", "'" + path + "' must start with /");
      } else if (!path.matches("(/[A-Za-z0-9._~-]+)+")) {
        v.problem(
            "fairshare.paths",
            "'"
                + path
                + "' must be a plain path (letters, digits, '.', '_', '~', '-' between"
                + " slashes; no wildcards)");
      }
      paths.add(path);
    }
    return paths;
  }
}
