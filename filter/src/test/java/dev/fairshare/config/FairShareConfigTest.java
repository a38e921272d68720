package dev.fairshare.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.fairshare.core.AllocationMode;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.openai.TokenCount;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FairShareConfigTest {

  static FairShareConfig read(Map<String, String> props) {
    return FairShareConfig.read(k -> Optional.ofNullable(props.get(k)), props.keySet());
  }

  @Test
  void defaults() {
    FairShareConfig c = read(Map.of());
    assertThat(c.masterKey()).isEmpty();
    assertThat(c.models().capacities()).isEmpty();
    assertThat(c.engine().mode()).isEqualTo(AllocationMode.FAIR);
    assertThat(c.engine().windowMillis()).isEqualTo(60_000);
    assertThat(c.engine().bucketMillis()).isEqualTo(1_000);
    assertThat(c.engine().saturationThreshold()).isEqualTo(0.8);
    assertThat(c.engine().pool()).isEqualTo(EngineSettings.Pool.SLIDING_WINDOW);
    assertThat(c.filter().tokenCount()).isEqualTo(TokenCount.TOTAL);
    assertThat(c.filter().maxBodySize()).isEqualTo(10L * 1024 * 1024);
    assertThat(c.filter().clientRetryMaxWait()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.keys().cacheTtl()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.filter().paths())
        .containsExactly("/chat/completions", "/completions", "/embeddings", "/responses");
    assertThat(c.models().unknownModels()).isEqualTo(UnknownModels.REJECT);
    assertThat(c.store()).isEqualTo(StoreKind.MEMORY);
    assertThat(c.redis().failureMode()).isEqualTo(FailureMode.OPEN);
    assertThat(c.keys().usesDataSource()).isFalse();
    assertThat(c.bounds()).isEqualTo(RequestBounds.DEFAULTS);
    assertThat(c.bounds().minRequestTokens()).isEqualTo(7);
    assertThat(c.bounds().adminMaxBodySize()).isEqualTo(65_536);
    assertThat(c.weightOf(null)).isEqualTo(1.0);
  }

  @Test
  void readsModelsPrioritiesAndModes_fromMicroProfileConfig() {
    SmallRyeConfig mp =
        new SmallRyeConfigBuilder()
            .withSources(
                new PropertiesConfigSource(
                    Map.of(
                        "fairshare.models.gpt-4.1.tpm", "30000",
                        "fairshare.models.gpt-4.1.rpm", "500",
                        "fairshare.models.my-fake-model.tpm", "60",
                        "fairshare.priority.prod", "0.9",
                        "fairshare.priority.dev", "0.1",
                        "fairshare.mode", "litellm-v1",
                        "fairshare.window", "30s",
                        "fairshare.models.llama-3.encoding", "o200k_base",
                        "fairshare.master-key", "sk-admin"),
                    "test",
                    100))
            .build();
    FairShareConfig c = MicroProfileConfigSource.read(mp);
    assertThat(c.models().capacities())
        .containsEntry("gpt-4.1", new ModelCapacity(30_000, 500))
        .containsEntry("my-fake-model", new ModelCapacity(60, ModelCapacity.UNLIMITED));
    assertThat(c.weightOf("prod")).isEqualTo(0.9);
    assertThat(c.weightOf("dev")).isEqualTo(0.1);
    assertThat(c.weightOf("unknown")).isEqualTo(1.0);
    assertThat(c.engine().mode()).isEqualTo(AllocationMode.LITELLM_V1);
    assertThat(c.engine().windowMillis()).isEqualTo(30_000);
    assertThat(c.masterKey()).contains("sk-admin");
    assertThat(c.models().encodings()).containsEntry("llama-3", "o200k_base");
    assertThat(c.toString()).doesNotContain("sk-admin");
  }

  /** MicroProfile Config over environment variables only, as in a container. */
  static SmallRyeConfig environment(Map<String, String> variables) {
    return new SmallRyeConfigBuilder()
        .withSources(new io.smallrye.config.EnvConfigSource(variables, 300))
        .build();
  }

  @Test
  void modelsAndPrioritiesFromEnvironmentVariables_namedInTheirLists() {
    SmallRyeConfig mp =
        environment(
            Map.of(
                "FAIRSHARE_MODEL_NAMES", "gpt-4.1, my-fake-model",
                "FAIRSHARE_MODELS_GPT_4_1_TPM", "30000",
                "FAIRSHARE_MODELS_GPT_4_1_RPM", "500",
                "FAIRSHARE_MODELS_MY_FAKE_MODEL_TPM", "60",
                "FAIRSHARE_MODELS_MY_FAKE_MODEL_ENCODING", "o200k_base",
                "FAIRSHARE_PRIORITY_NAMES", "prod",
                "FAIRSHARE_PRIORITY_PROD", "0.9",
                "PATH", "/usr/bin"));
    FairShareConfig c = MicroProfileConfigSource.read(mp);
    assertThat(c.models().capacities())
        .containsOnly(
            Map.entry("gpt-4.1", new ModelCapacity(30_000, 500)),
            Map.entry("my-fake-model", new ModelCapacity(60, ModelCapacity.UNLIMITED)));
    assertThat(c.models().encodings()).containsEntry("my-fake-model", "o200k_base");
    assertThat(c.weightOf("prod")).isEqualTo(0.9);
  }

  @Test
  void aPropertiesFileNamedInTheEnvironment_holdsWhatShellsWouldSplit_andTheEnvironmentWins(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path file = dir.resolve("fairshare.properties");
    java.nio.file.Files.writeString(
        file,
        "fairshare.keys.jdbc-url=jdbc:postgresql://db:5432/keys?currentSchema=fs&ssl=true;x=1\n"
            + "fairshare.models.gpt-4o.tpm=30000\n"
            + "fairshare.models.gpt-4o.rpm=500\n");
    SmallRyeConfig mp =
        environment(
            Map.of(
                "FAIRSHARE_CONFIG_FILE", file.toString(),
                "FAIRSHARE_MODEL_NAMES", "gpt-4o",
                "FAIRSHARE_MODELS_GPT_4O_RPM", "700"));
    FairShareConfig c = MicroProfileConfigSource.read(mp);
    assertThat(c.keys().jdbcUrl())
        .isEqualTo("jdbc:postgresql://db:5432/keys?currentSchema=fs&ssl=true;x=1");
    assertThat(c.capacityOf("gpt-4o")).isEqualTo(new ModelCapacity(30_000, 700));

    ConfigurationException missing =
        catchThrowableOfType(
            ConfigurationException.class,
            () ->
                MicroProfileConfigSource.read(
                    environment(Map.of("FAIRSHARE_CONFIG_FILE", dir.resolve("nope").toString()))));
    assertThat(missing.problems())
        .singleElement()
        .asString()
        .startsWith("fairshare.config-file: cannot read");
  }

  @Test
  void anEnvironmentVariableForAnUnlistedModel_isAnErrorNotAnUnlimitedModel() {
    SmallRyeConfig mp =
        environment(
            Map.of(
                "FAIRSHARE_MODELS_GPT_4O_TPM", "30000",
                "FAIRSHARE_PRIORITY_DEV", "0.1",
                "FAIRSHARE_MODEL_NAMES", "gpt-5"));
    ConfigurationException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            ConfigurationException.class, () -> MicroProfileConfigSource.read(mp));
    assertThat(e.problems())
        .anySatisfy(
            p ->
                assertThat(p)
                    .startsWith("FAIRSHARE_MODELS_GPT_4O_TPM: ")
                    .contains("fairshare.model-names"))
        .anySatisfy(
            p ->
                assertThat(p)
                    .startsWith("FAIRSHARE_PRIORITY_DEV: ")
                    .contains("fairshare.priority-names"))
        .anySatisfy(
            p ->
                assertThat(p)
                    .startsWith("fairshare.model-names: ")
                    .contains("'gpt-5'")
                    .contains("FAIRSHARE_MODELS_GPT_5_TPM"));
    assertThat(e.problems()).hasSize(3);
  }

  @Test
  void everyProblemIsReportedTogether_eachNamingItsKey() {
    ConfigurationException e =
        catchThrowableOfType(
            ConfigurationException.class,
            () ->
                read(
                    Map.ofEntries(
                        Map.entry("fairshare.models.a.tpm", "lots"),
                        Map.entry("fairshare.models.b.rpm", "-3"),
                        Map.entry("fairshare.mode", "greedy"),
                        Map.entry("fairshare.saturation-threshold", "1.5"),
                        Map.entry("fairshare.window", "forever"),
                        Map.entry("fairshare.token-count", "some"),
                        Map.entry("fairshare.store", "cassandra"),
                        Map.entry("fairshare.max-body-size", "big"),
                        Map.entry("fairshare.paths", "chat"),
                        Map.entry("fairshare.models.x.encoding", "utf-8"),
                        Map.entry("fairshare.redis.failure-mode", "ajar"),
                        Map.entry("fairshare.unknown-models", "maybe"))));
    assertThat(e.problems())
        .hasSize(12)
        .anySatisfy(
            p ->
                assertThat(p)
                    .isEqualTo("fairshare.redis.failure-mode: 'ajar' is not one of: open, closed"))
        .anySatisfy(
            p ->
                assertThat(p)
                    .isEqualTo("fairshare.unknown-models: 'maybe' is not one of: reject, allow"))
        .anySatisfy(
            p ->
                assertThat(p)
                    .isEqualTo("fairshare.store: 'cassandra' is not one of: memory, redis"))
        .anySatisfy(
            p -> assertThat(p).startsWith("fairshare.models.x.encoding: 'utf-8' is not one of"))
        .anySatisfy(
            p -> assertThat(p).startsWith("fairshare.models.a.tpm: 'lots' is not a whole number"))
        .anySatisfy(p -> assertThat(p).startsWith("fairshare.models.b.rpm: must be at least 0"))
        .anySatisfy(
            p ->
                assertThat(p)
                    .startsWith("fairshare.mode: 'greedy' is not one of: fair, litellm-v1"))
        .anySatisfy(p -> assertThat(p).startsWith("fairshare.saturation-threshold:"))
        .anySatisfy(p -> assertThat(p).startsWith("fairshare.window: 'forever' is not a duration"))
        .anySatisfy(p -> assertThat(p).startsWith("fairshare.token-count:"))
        .anySatisfy(p -> assertThat(p).startsWith("fairshare.store:"))
        .anySatisfy(p -> assertThat(p).startsWith("fairshare.max-body-size:"))
        .anySatisfy(p -> assertThat(p).startsWith("fairshare.paths: 'chat' must start with /"));
    assertThat(e.getMessage()).startsWith("FairShare configuration has 12 problems:");
  }

  @Test
  void windowMustBeAMultipleOfTheBucket() {
    ConfigurationException e =
        catchThrowableOfType(
            ConfigurationException.class,
            () -> read(Map.of("fairshare.window", "10s", "fairshare.window-bucket", "3s")));
    assertThat(e.problems())
        .singleElement()
        .asString()
        .startsWith("fairshare.window:")
        .contains("multiple");
  }

  @Test
  void masterKeyFromAFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path file = dir.resolve("master");
    java.nio.file.Files.writeString(file, "sk-from-file\n");
    assertThat(read(Map.of("fairshare.master-key-file", file.toString())).masterKey())
        .contains("sk-from-file");
    ConfigurationException missing =
        catchThrowableOfType(
            ConfigurationException.class,
            () -> read(Map.of("fairshare.master-key-file", dir.resolve("absent").toString())));
    assertThat(missing.problems())
        .singleElement()
        .asString()
        .startsWith("fairshare.master-key-file: cannot read");
  }

  @Test
  void thePool_isReadWithItsBurst_andABadBurstIsRefused() {
    FairShareConfig c =
        read(Map.of("fairshare.pool", "token-bucket", "fairshare.pool-burst", "0.25"));
    assertThat(c.engine().pool()).isEqualTo(EngineSettings.Pool.TOKEN_BUCKET);
    assertThat(c.engine().poolBurst()).isEqualTo(0.25);
    assertThat(c.engine().tokenBucket()).isTrue();

    ConfigurationException e =
        catchThrowableOfType(
            ConfigurationException.class,
            () ->
                read(
                    Map.of(
                        "fairshare.pool", "token-bucket",
                        "fairshare.pool-burst", "0",
                        "fairshare.store", "redis")));
    assertThat(e.problems())
        .containsExactly("fairshare.pool-burst: must be greater than 0.0 and at most 1.0, was 0.0");
    assertThat(
            read(Map.of("fairshare.pool", "token-bucket", "fairshare.store", "redis"))
                .engine()
                .tokenBucket())
        .isTrue();
    assertThat(
            catchThrowableOfType(
                    ConfigurationException.class, () -> read(Map.of("fairshare.pool", "leaky")))
                .problems())
        .containsExactly("fairshare.pool: 'leaky' is not one of: sliding-window, token-bucket");
  }
}
