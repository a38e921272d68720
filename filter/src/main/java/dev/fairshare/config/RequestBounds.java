package dev.fairshare.config;

/**
 * The bounds that keep what a client or an upstream sends from walking around the limit or
 * exhausting the server. Each is a {@code fairshare.*} setting; docs/SECURITY.md says what each
 * protects.
 *
 * @param minRequestTokens the least a request reserves and is charged ({@code
 *     fairshare.min-request-tokens}, default 1 token plus the chat overhead of one message: 7), so
 *     requests that estimate to nothing cannot burst past the capacity
 * @param maxUsageTokens the most one call is charged from the usage an upstream reports ({@code
 *     fairshare.max-usage-tokens}, default 10,000,000); larger figures are clamped to it
 * @param adminMaxBodySize the largest key API body ({@code fairshare.admin.max-body-size}, default
 *     64 KiB; larger is 413)
 * @param maxResponseBuffer the most of a non-streamed answer held to read its usage, and the
 *     longest server-sent event parsed ({@code fairshare.max-response-buffer}, default 16 MiB);
 *     past it the answer streams through and is charged its estimate
 */
public record RequestBounds(
    long minRequestTokens, long maxUsageTokens, long adminMaxBodySize, long maxResponseBuffer) {

  /** The defaults. */
  public static final RequestBounds DEFAULTS =
      new RequestBounds(7, 10_000_000, 64 * 1024, 16L * 1024 * 1024);

  static RequestBounds read(ConfigValues v) {
    long minTokens = v.longValue("fairshare.min-request-tokens", DEFAULTS.minRequestTokens(), 1);
    long maxUsage = v.longValue("fairshare.max-usage-tokens", DEFAULTS.maxUsageTokens(), 1);
    long adminBody = v.size("fairshare.admin.max-body-size", DEFAULTS.adminMaxBodySize());
    if (adminBody <= 0 || adminBody > 1L << 30) {
      v.problem("fairshare.admin.max-body-size", "must be positive and at most 1GB");
    }
    long responseBuffer = v.size("fairshare.max-response-buffer", DEFAULTS.maxResponseBuffer());
    if (responseBuffer <= 0 || responseBuffer > Integer.MAX_VALUE - 8) {
      v.problem("fairshare.max-response-buffer", "must be positive and below 2 GiB");
    }
    return new RequestBounds(minTokens, maxUsage, adminBody, responseBuffer);
  }
}
