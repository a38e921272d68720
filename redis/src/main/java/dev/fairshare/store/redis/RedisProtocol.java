package dev.fairshare.store.redis;

import dev.fairshare.core.Verdict;
import java.util.List;
import java.util.Map;

/**
 * What the Java side and the Lua scripts agree on, by name: the position of each script argument
 * ({@code ARGV}) and the code of each verdict. The scripts read every argument into a named local
 * and name every verdict code; {@code RedisProtocolTest} reads the scripts and checks them against
 * the tables here, so a change on one side without the other fails the build.
 */
final class RedisProtocol {

  // Arguments every script reads (common.lua), 1-based as in Lua.
  static final int NOW = 1;
  static final int BUCKET_MILLIS = 2;
  static final int BUCKETS = 3;
  static final int MODE = 4;
  static final int THRESHOLD = 5;
  static final int CAPACITY_TOKENS = 6;
  static final int CAPACITY_REQUESTS = 7;
  static final int WEIGHT = 8;
  static final int KEY_TOKENS = 9;
  static final int KEY_REQUESTS = 10;
  static final int KEY_PARALLEL = 11;
  static final int TTL = 12;
  static final int POOL = 13;
  static final int POOL_BURST = 14;
  static final int POOL_RESERVE = 15;
  static final int TICKET_MAX_WAIT = 16;
  static final int KEY_ID = 17;
  static final int COMMON_ARGS = 17;

  // acquire.lua
  static final int ESTIMATE = 18;
  static final int ACQUIRE_ID = 19;
  static final int IN_FLIGHT_LIFETIME = 20;
  static final int ACQUIRE_ARGS = 20;

  // settlement.lua, for settle.lua and settle-quiet.lua
  static final int RESERVATION_BUCKET = 18;
  static final int RESERVED = 19;
  static final int ACTUAL = 20;
  static final int SETTLE_ID = 21;
  static final int RELEASE = 22;

  /** {@link #RELEASE}'s value for a release by id alone, if the call is in flight. */
  static final String RELEASE_IF_IN_FLIGHT = "2";

  static final int SETTLE_ARGS = 22;

  /** Lua local name of each argument, per script part: what the test compares. */
  static final Map<String, Integer> COMMON_LUA_NAMES =
      Map.ofEntries(
          Map.entry("now", NOW),
          Map.entry("bm", BUCKET_MILLIS),
          Map.entry("N", BUCKETS),
          Map.entry("mode", MODE),
          Map.entry("theta", THRESHOLD),
          Map.entry("capT", CAPACITY_TOKENS),
          Map.entry("capR", CAPACITY_REQUESTS),
          Map.entry("w", WEIGHT),
          Map.entry("kT", KEY_TOKENS),
          Map.entry("kR", KEY_REQUESTS),
          Map.entry("kP", KEY_PARALLEL),
          Map.entry("ttl", TTL),
          Map.entry("usePool", POOL),
          Map.entry("poolBurst", POOL_BURST),
          Map.entry("poolReserve", POOL_RESERVE),
          Map.entry("ticketMaxWait", TICKET_MAX_WAIT),
          Map.entry("keyId", KEY_ID));

  static final Map<String, Integer> SETTLEMENT_LUA_NAMES =
      Map.of(
          "resBucket",
          RESERVATION_BUCKET,
          "reserved",
          RESERVED,
          "actual",
          ACTUAL,
          "rid",
          SETTLE_ID,
          "release",
          RELEASE);

  static final Map<String, Integer> ACQUIRE_LUA_NAMES =
      Map.of("est", ESTIMATE, "rid", ACQUIRE_ID, "flightTtl", IN_FLIGHT_LIFETIME);

  /** The verdict of each code the scripts return: code = index. */
  static final List<Verdict> VERDICTS =
      List.of(
          Verdict.ADMITTED,
          Verdict.KEY_PARALLEL_LIMIT,
          Verdict.KEY_REQUEST_LIMIT,
          Verdict.KEY_TOKEN_LIMIT,
          Verdict.MODEL_TOKENS,
          Verdict.SHARE_TOKENS,
          Verdict.MODEL_REQUESTS,
          Verdict.SHARE_REQUESTS);

  private RedisProtocol() {}

  /** The verdict a script returned as {@code code}. */
  static Verdict verdict(long code) {
    if (code < 0 || code >= VERDICTS.size()) {
      throw new IllegalStateException("the Redis script returned an unknown verdict code " + code);
    }
    return VERDICTS.get((int) code);
  }

  /** An argument array for a script taking {@code count} arguments. */
  static String[] arguments(int count) {
    return new String[count];
  }

  /** Sets the 1-based argument {@code position}. */
  static void set(String[] args, int position, String value) {
    args[position - 1] = value;
  }
}
