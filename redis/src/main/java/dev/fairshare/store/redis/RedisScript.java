package dev.fairshare.store.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A Lua script and the SHA-1 Redis names it by, computed here: it is sent by its SHA and, when a
 * node lacks it (a restart, {@code SCRIPT FLUSH}, a node that never had it), whole, which caches it
 * there. Never {@code SCRIPT LOAD}: on a cluster that goes to every node and fails when one is
 * away.
 *
 * @param source the script
 * @param sha its SHA-1, lower-case hex
 */
record RedisScript(String source, String sha) {

  /** A script of {@code source}. */
  static RedisScript of(String source) {
    return new RedisScript(source, sha1(source));
  }

  /** One round trip: EVALSHA; EVAL of the whole script only when the node lacks it. */
  <T> T run(
      RedisClusterCommands<String, String> redis,
      ScriptOutputType type,
      String[] keys,
      String[] args) {
    try {
      return redis.evalsha(sha, type, keys, args);
    } catch (RedisNoScriptException e) {
      return redis.eval(source, type, keys, args);
    }
  }

  /**
   * As {@link #run}, without waiting: the command is queued on the connection before this returns;
   * the whole script follows only when the node answers that it lacks it.
   */
  <T> CompletableFuture<T> runAsync(
      RedisClusterAsyncCommands<String, String> redis,
      ScriptOutputType type,
      String[] keys,
      String[] args) {
    return redis
        .<T>evalsha(sha, type, keys, args)
        .exceptionallyCompose(
            failure -> {
              Throwable cause =
                  failure instanceof CompletionException && failure.getCause() != null
                      ? failure.getCause()
                      : failure;
              if (cause instanceof RedisNoScriptException) {
                return redis.<T>eval(source, type, keys, args);
              }
              return CompletableFuture.failedFuture(cause);
            })
        .toCompletableFuture();
  }

  /** The script file {@code name} beside this class, with a newline so that files may be joined. */
  static String resource(String name) {
    try (InputStream in = RedisScript.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing script " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

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
