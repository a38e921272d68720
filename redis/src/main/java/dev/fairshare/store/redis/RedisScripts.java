package dev.fairshare.store.redis;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** What the Redis scripts share. */
final class RedisScripts {

  private RedisScripts() {}

  /**
   * The SHA-1 Redis names {@code source} by (lower-case hex), computed here: EVALSHA needs no
   * SCRIPT LOAD, which on a cluster goes to every node and fails when one is away.
   */
  static String sha1(String source) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-1", e);
    }
  }
}
