package dev.fairshare.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisURI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RedisLinkTest {

  @Test
  void clusterNodes_takeThePasswordWholeAndEveryHost() {
    List<RedisURI> nodes =
        RedisLink.clusterNodes(
            "rediss-cluster://:p%40ss@w0rd@10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002/?x=1",
            Duration.ofSeconds(2));
    assertThat(nodes).extracting(RedisURI::getHost).containsExactly("10.0.0.1", "10.0.0.2", "::1");
    assertThat(nodes).extracting(RedisURI::getPort).containsExactly(7000, 7001, 7002);
    assertThat(nodes).allSatisfy(n -> assertThat(n.isSsl()).isTrue());
    assertThat(new String(nodes.get(0).getPassword())).isEqualTo("p@ss@w0rd");
    assertThat(
            RedisLink.clusterNodes("redis-cluster://h:1", Duration.ofSeconds(1))
                .get(0)
                .getPassword())
        .isNull();
  }

  @Test
  void aClusterUriWithoutAPort_isRefused_withoutItsPassword() {
    assertThatThrownBy(
            () -> RedisLink.clusterNodes("redis-cluster://:secret@h1", Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .message()
        .doesNotContain("secret");
    assertThatThrownBy(
            () -> RedisLink.clusterNodes("redis-cluster://:secret@", Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .message()
        .doesNotContain("secret");
  }
}
