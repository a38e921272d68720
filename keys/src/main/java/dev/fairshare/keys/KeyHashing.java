package dev.fairshare.keys;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/** Key generation, hashing and comparison. */
public final class KeyHashing {

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder URL_SAFE = Base64.getUrlEncoder().withoutPadding();

  private KeyHashing() {}

  /** A new raw key: {@code sk-} plus 22 URL-safe characters (16 random bytes), as LiteLLM's. */
  public static String newKey() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return "sk-" + URL_SAFE.encodeToString(bytes);
  }

  /**
   * A digest to copy: a copy costs less than {@code getInstance}, which looks the algorithm up in
   * the security providers (once per authenticated request). Never used itself.
   */
  private static final MessageDigest SHA_256 = newSha256();

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  /** Lower-case hex sha256 of the UTF-8 bytes of {@code rawKey}. */
  public static String sha256(String rawKey) {
    MessageDigest digest;
    try {
      digest = (MessageDigest) SHA_256.clone();
    } catch (CloneNotSupportedException e) {
      digest = newSha256(); // a provider whose digest cannot be copied
    }
    return HexFormat.of().formatHex(digest.digest(rawKey.getBytes(StandardCharsets.UTF_8)));
  }

  /** True when {@code text} looks like a sha256 hex digest (a key given by its hash). */
  public static boolean isHash(String text) {
    if (text.length() != 64) {
      return false;
    }
    for (int i = 0; i < 64; i++) {
      char c = text.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  /** The stored token for a key given raw or as its hash. */
  public static String tokenOf(String rawOrHashed) {
    return isHash(rawOrHashed) ? rawOrHashed : sha256(rawOrHashed);
  }

  /** {@code sk-...} plus the last 4 characters. */
  public static String maskedName(String rawKey) {
    return "sk-..." + rawKey.substring(Math.max(0, rawKey.length() - 4));
  }

  /** Compares two secrets in time independent of where they differ. */
  public static boolean constantTimeEquals(String a, String b) {
    if (a == null || b == null) {
      return false;
    }
    // Compare digests so that the length of the secret does not leak either.
    return MessageDigest.isEqual(
        sha256(a).getBytes(StandardCharsets.US_ASCII),
        sha256(b).getBytes(StandardCharsets.US_ASCII));
  }
}
