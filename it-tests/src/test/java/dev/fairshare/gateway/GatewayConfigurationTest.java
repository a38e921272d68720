package dev.fairshare.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.fairshare.config.ConfigurationException;
import dev.fairshare.core.ModelCapacity;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The gateway configured the way containers do it: environment variables only. */
class GatewayConfigurationTest {

  static GatewayConfiguration fromEnvironment(Map<String, String> env) {
    return GatewayConfiguration.read(
        new SmallRyeConfigBuilder().withSources(new EnvConfigSource(env, 300)).build());
  }

  @Test
  void modelLimitsAndMockSettingsFromEnvironmentVariables() {
    GatewayConfiguration c =
        fromEnvironment(
            Map.of(
                "FAIRSHARE_MODEL_NAMES", "gpt-4o-mini",
                "FAIRSHARE_MODELS_GPT_4O_MINI_TPM", "1000",
                "FAIRSHARE_GATEWAY_MOCK_GPT_4O_MINI_PROMPT_TOKENS", "7",
                "FAIRSHARE_GATEWAY_MOCK_GPT_4O_MINI_COMPLETION_TOKENS", "3",
                "FAIRSHARE_GATEWAY_PORT", "4100"));
    assertThat(c.fairShare().capacityOf("gpt-4o-mini"))
        .isEqualTo(new ModelCapacity(1000, ModelCapacity.UNLIMITED));
    assertThat(c.gateway().mockFor("gpt-4o-mini").promptTokens()).isEqualTo(7);
    assertThat(c.gateway().mockFor("gpt-4o-mini").completionTokens()).isEqualTo(3);
    assertThat(c.gateway().port()).isEqualTo(4100);
  }

  @Test
  void unlistedModelVariablesStopTheGatewayWithEveryProblemNamed() {
    ConfigurationException e =
        catchThrowableOfType(
            ConfigurationException.class,
            () ->
                fromEnvironment(
                    Map.of(
                        "FAIRSHARE_MODELS_GPT_4O_MINI_TPM", "1000",
                        "FAIRSHARE_GATEWAY_MOCK_GPT_4O_MINI_PROMPT_TOKENS", "7")));
    assertThat(e.problems())
        .hasSize(2)
        .anySatisfy(p -> assertThat(p).startsWith("FAIRSHARE_MODELS_GPT_4O_MINI_TPM: "))
        .anySatisfy(
            p -> assertThat(p).startsWith("FAIRSHARE_GATEWAY_MOCK_GPT_4O_MINI_PROMPT_TOKENS: "));
  }

  @Test
  void theGatewayListensOnLoopbackByDefault_andANetworkAddressNeedsAMasterKeyHardToGuess() {
    assertThat(fromEnvironment(Map.of("FAIRSHARE_MASTER_KEY", "sk-1234")).gateway().host())
        .isEqualTo("127.0.0.1");
    ConfigurationException e =
        catchThrowableOfType(
            ConfigurationException.class,
            () ->
                fromEnvironment(
                    Map.of(
                        "FAIRSHARE_MASTER_KEY", "sk-1234", "FAIRSHARE_GATEWAY_HOST", "0.0.0.0")));
    assertThat(e.problems())
        .singleElement()
        .satisfies(p -> assertThat(p).startsWith("fairshare.master-key: a master key of 7"));
    assertThat(
            fromEnvironment(
                    Map.of(
                        "FAIRSHARE_MASTER_KEY",
                        "sk-" + "x".repeat(17),
                        "FAIRSHARE_GATEWAY_HOST",
                        "0.0.0.0"))
                .gateway()
                .host())
        .isEqualTo("0.0.0.0");
    // Unset: the key generated at start is long enough anywhere
    assertThat(fromEnvironment(Map.of("FAIRSHARE_GATEWAY_HOST", "0.0.0.0")).gateway().host())
        .isEqualTo("0.0.0.0");
    assertThat(GatewayConfiguration.isLoopback("127.0.0.1")).isTrue();
    assertThat(GatewayConfiguration.isLoopback("::1")).isTrue();
    assertThat(GatewayConfiguration.isLoopback("127.example.com")).isFalse();
  }
}
