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
}
