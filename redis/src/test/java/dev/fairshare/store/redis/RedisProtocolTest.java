package dev.fairshare.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.Verdict;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The Lua scripts and {@link RedisProtocol} name the same arguments and verdict codes. */
class RedisProtocolTest {

  private static final Pattern ARGUMENT =
      Pattern.compile("(?m)^\\s*(?:local )?(\\w+) = (?:tonumber\\()?ARGV\\[(\\d+)\\]");
  private static final Pattern VERDICTS =
      Pattern.compile("(?m)^local (ADMITTED(?:, \\w+)*) = ([\\d, ]+)$");

  static String script(String name) throws IOException {
    try (InputStream in = RedisUsageStore.class.getResourceAsStream(name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static Map<String, Integer> arguments(String lua) {
    Map<String, Integer> found = new HashMap<>();
    Matcher m = ARGUMENT.matcher(lua);
    while (m.find()) {
      found.put(m.group(1), Integer.parseInt(m.group(2)));
    }
    return found;
  }

  @Test
  void everyArgumentIsReadUnderTheNameAndPositionTheJavaSideGivesIt() throws IOException {
    assertThat(arguments(script("common.lua"))).isEqualTo(RedisProtocol.COMMON_LUA_NAMES);
    assertThat(arguments(script("settlement.lua"))).isEqualTo(RedisProtocol.SETTLEMENT_LUA_NAMES);
    assertThat(arguments(script("acquire.lua"))).isEqualTo(RedisProtocol.ACQUIRE_LUA_NAMES);
    // No script reads an argument without naming it first
    for (String name :
        List.of(
            "common.lua",
            "pool.lua",
            "settlement.lua",
            "acquire.lua",
            "settle.lua",
            "settle-quiet.lua",
            "standing.lua",
            "active-keys.lua",
            "batch.lua")) {
      String lua = script(name);
      long reads = Pattern.compile("ARGV\\[").matcher(lua).results().count();
      assertThat(reads).as(name).isEqualTo(arguments(lua).size());
    }
  }

  @Test
  void verdictCodesAreNamedAlikeOnBothSides() throws IOException {
    Matcher m = VERDICTS.matcher(script("common.lua"));
    assertThat(m.find()).as("the verdict line in common.lua").isTrue();
    String[] names = m.group(1).split(", ");
    String[] codes = m.group(2).split(", ");
    assertThat(names).hasSameSizeAs(codes);
    List<String> byCode = new ArrayList<>();
    for (int i = 0; i < names.length; i++) {
      assertThat(Integer.parseInt(codes[i].trim())).isEqualTo(i);
      byCode.add(names[i]);
    }
    assertThat(byCode).isEqualTo(RedisProtocol.VERDICTS.stream().map(Verdict::name).toList());
    // No bare verdict number left in the scripts' comparisons
    for (String name : List.of("common.lua", "pool.lua", "acquire.lua")) {
      assertThat(script(name))
          .doesNotContainPattern("verdict [=~<>]+ \\d")
          .doesNotContainPattern("return [1-7] end");
    }
  }

  @Test
  void anUnknownCodeIsAnErrorNotAnotherVerdict() {
    assertThat(RedisProtocol.verdict(4)).isEqualTo(Verdict.MODEL_TOKENS);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> RedisProtocol.verdict(8))
        .isInstanceOf(IllegalStateException.class);
  }
}
