package dev.fairshare.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link KeyStore} must do, at the interface: run on H2 and on a real PostgreSQL. */
abstract class KeyStoreContract {

  static final Instant T0 = Instant.parse("2027-01-15T10:00:00Z");

  KeyStore store;

  /** A fresh, empty store. */
  abstract KeyStore newStore() throws Exception;

  @BeforeEach
  void open() throws Exception {
    store = newStore();
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  static ApiKey key(String token, String alias, Instant created) {
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("priority", "prod");
    metadata.put("team", Map.of("name", "search", "size", 4));
    return new ApiKey(
        token,
        "sk-...abcd",
        alias,
        List.of("gpt-4o", "my-fake-model"),
        1000L,
        20L,
        3L,
        metadata,
        created.plus(30, ChronoUnit.DAYS),
        false,
        "user-1",
        "team-1",
        created,
        created);
  }

  static String token(int i) {
    return String.format("%064x", i);
  }

  @Test
  void aKeyComesBackAsItWasStored() {
    ApiKey stored = key(token(1), "first", T0);
    store.insert(stored);
    assertThat(store.findByToken(token(1))).contains(stored);
    assertThat(store.findByAlias("first")).contains(stored);
    assertThat(store.findByToken(token(2))).isEmpty();
    assertThat(store.findByAlias("nobody")).isEmpty();
    ApiKey bare =
        new ApiKey(
            token(3),
            "sk-...ffff",
            null,
            List.of(),
            null,
            null,
            null,
            Map.of(),
            null,
            true,
            null,
            null,
            T0,
            T0);
    store.insert(bare);
    assertThat(store.findByToken(token(3))).contains(bare);
    assertThat(store.isReachable()).isTrue();
  }

  @Test
  void aTakenTokenOrAliasIsADuplicateNamingTheField() {
    store.insert(key(token(1), "taken", T0));
    DuplicateKeyException sameToken =
        catchThrowableOfType(
            DuplicateKeyException.class, () -> store.insert(key(token(1), "other", T0)));
    assertThat(sameToken).isNotNull();
    assertThat(sameToken.field()).isEqualTo("key");
    DuplicateKeyException sameAlias =
        catchThrowableOfType(
            DuplicateKeyException.class, () -> store.insert(key(token(2), "taken", T0)));
    assertThat(sameAlias.field()).isEqualTo("key_alias");
    assertThat(store.findByToken(token(2))).isEmpty();
  }

  @Test
  void updateReplacesTheRecord_orSaysThereIsNone() {
    store.insert(key(token(1), "one", T0));
    store.insert(key(token(2), "two", T0));
    ApiKey changed =
        new ApiKey(
            token(1),
            "sk-...abcd",
            "uno",
            List.of(),
            null,
            5L,
            null,
            Map.of(),
            null,
            true,
            null,
            null,
            T0,
            T0.plusSeconds(60));
    assertThat(store.update(changed)).isTrue();
    assertThat(store.findByToken(token(1))).contains(changed);
    assertThat(store.findByAlias("one")).isEmpty();
    ApiKey missing =
        new ApiKey(
            token(9), "x", null, List.of(), null, null, null, Map.of(), null, false, null, null, T0,
            T0);
    assertThat(store.update(missing)).isFalse();
    ApiKey clash =
        new ApiKey(
            token(1),
            "sk-...abcd",
            "two",
            List.of(),
            null,
            null,
            null,
            Map.of(),
            null,
            false,
            null,
            null,
            T0,
            T0);
    assertThat(catchThrowableOfType(DuplicateKeyException.class, () -> store.update(clash)).field())
        .isEqualTo("key_alias");
    assertThat(store.findByToken(token(1))).contains(changed);
  }

  @Test
  void aReplacedTokenKeepsWorkingThroughItsGraceOnly() {
    // Regeneration changes the token and the shown name; everything else stays with the key
    ApiKey old = key(token(1), "rotating", T0);
    store.insert(old);
    ApiKey renewed =
        new ApiKey(
            token(2),
            "sk-...9999",
            old.keyAlias(),
            old.models(),
            old.tpmLimit(),
            old.rpmLimit(),
            old.maxParallelRequests(),
            old.metadata(),
            old.expires(),
            false,
            old.userId(),
            old.teamId(),
            old.createdAt(),
            T0.plusSeconds(10));
    long graceEnd = T0.plusSeconds(3600).toEpochMilli();
    assertThat(store.replaceToken(token(1), renewed, graceEnd)).isTrue();
    assertThat(store.findByToken(token(1))).isEmpty();
    assertThat(store.findByToken(token(2))).contains(renewed);
    assertThat(store.findGrace(token(1), graceEnd - 1)).contains(new GraceToken(renewed, graceEnd));
    assertThat(store.findGrace(token(1), graceEnd)).isEmpty();
    // A token already in use cannot be the new one; a key that does not exist is not replaced
    assertThat(
            catchThrowableOfType(
                    DuplicateKeyException.class, () -> store.replaceToken(token(2), renewed, null))
                .field())
        .isEqualTo("new_key");
    assertThat(store.replaceToken(token(7), key(token(8), null, T0), null)).isFalse();
    assertThat(store.findByToken(token(8))).isEmpty();
  }

  @Test
  void deleteTakesTheKeysAndTheirGraceTokens() {
    store.insert(key(token(1), "a", T0));
    store.insert(key(token(2), "b", T0));
    ApiKey renewed = key(token(3), "a2", T0);
    store.replaceToken(token(1), renewed, T0.plusSeconds(3600).toEpochMilli());
    assertThat(store.delete(List.of(token(3), token(2), token(8))))
        .containsExactly(token(3), token(2));
    assertThat(store.findByToken(token(3))).isEmpty();
    assertThat(store.findGrace(token(1), T0.toEpochMilli())).isEmpty();
    assertThat(store.count(null)).isZero();
  }

  @Test
  void listPagesInCreationOrderAndFiltersByAlias() {
    for (int i = 1; i <= 7; i++) {
      store.insert(key(token(i), "alias-" + i, T0.plusSeconds(i)));
    }
    assertThat(store.count(null)).isEqualTo(7);
    assertThat(store.count("alias-3")).isEqualTo(1);
    assertThat(store.count("none")).isZero();
    assertThat(store.list(0, 3, null))
        .extracting(ApiKey::token)
        .containsExactly(token(1), token(2), token(3));
    assertThat(store.list(6, 3, null)).extracting(ApiKey::token).containsExactly(token(7));
    assertThat(store.list(0, 10, "alias-5")).extracting(ApiKey::token).containsExactly(token(5));
  }

  @Test
  void usageHistoryAddsUpPerKeyModelAndHour_andTotalsPerModel() {
    long h0 = UsageRow.hourOf(T0.toEpochMilli());
    long h1 = h0 + UsageRow.HOUR_MILLIS;
    store.addUsage(
        List.of(
            new UsageRow(token(1), "gpt-4o", h0, 100, 20, 2, 0),
            new UsageRow(token(1), "mini", h0, 5, 5, 1, 3),
            new UsageRow(token(2), "gpt-4o", h0, 7, 7, 1, 0)));
    // The same hour again adds to it; a new hour is a new row
    store.addUsage(
        List.of(
            new UsageRow(token(1), "gpt-4o", h0, 50, 10, 1, 1),
            new UsageRow(token(1), "gpt-4o", h1, 1, 2, 1, 0)));

    assertThat(store.usageHistory(token(1), null, h0, h1 + UsageRow.HOUR_MILLIS))
        .containsExactly(
            new UsageRow(token(1), "gpt-4o", h0, 150, 30, 3, 1),
            new UsageRow(token(1), "mini", h0, 5, 5, 1, 3),
            new UsageRow(token(1), "gpt-4o", h1, 1, 2, 1, 0));
    assertThat(store.usageHistory(token(1), "gpt-4o", h1, h1 + 1))
        .containsExactly(new UsageRow(token(1), "gpt-4o", h1, 1, 2, 1, 0));
    assertThat(store.usageHistory(token(1), null, h0, h1)).hasSize(2); // 'to' is excluded
    assertThat(store.usageTotals(token(1)))
        .containsExactly(
            new UsageRow(token(1), "gpt-4o", 0, 151, 32, 4, 1),
            new UsageRow(token(1), "mini", 0, 5, 5, 1, 3));
    assertThat(store.usageTotals(token(9))).isEmpty();
    // Retention: the rows of hours before h1 go
    assertThat(store.pruneUsage(h1)).isEqualTo(3); // key 1: gpt-4o and mini; key 2
    assertThat(store.usageHistory(token(1), null, 0, Long.MAX_VALUE))
        .containsExactly(new UsageRow(token(1), "gpt-4o", h1, 1, 2, 1, 0));
  }

  @Test
  void usageFromTwoInstancesAtOnce_isAllCounted() throws Exception {
    long h0 = UsageRow.hourOf(T0.toEpochMilli());
    try (KeyStore second = sameDatabase()) {
      java.util.concurrent.ExecutorService pool =
          java.util.concurrent.Executors.newFixedThreadPool(4);
      try {
        List<java.util.concurrent.Future<?>> writes = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) {
          KeyStore target = i % 2 == 0 ? store : second;
          writes.add(
              pool.submit(
                  () -> target.addUsage(List.of(new UsageRow(token(1), "m", h0, 1, 2, 1, 0)))));
        }
        for (java.util.concurrent.Future<?> w : writes) {
          w.get();
        }
      } finally {
        pool.shutdown();
      }
      assertThat(second.usageTotals(token(1)))
          .containsExactly(new UsageRow(token(1), "m", 0, 40, 80, 40, 0));
    }
  }

  @Test
  void runtimeLimitsAreSetReplacedAndRemoved_allOrNone() {
    assertThat(store.runtimeLimits()).isEmpty();
    store.putRuntimeLimits(
        Map.of("fairshare.models.gpt-4o.tpm", "1000", "fairshare.priority.prod", "2.0"),
        List.of(),
        T0.toEpochMilli());
    store.putRuntimeLimits(
        Map.of("fairshare.models.gpt-4o.tpm", "unlimited"),
        List.of("fairshare.priority.prod", "fairshare.priority.absent"),
        T0.toEpochMilli());
    assertThat(store.runtimeLimits())
        .containsExactlyEntriesOf(Map.of("fairshare.models.gpt-4o.tpm", "unlimited"));
  }

  /** Another store on the same database (another instance). */
  abstract KeyStore sameDatabase() throws Exception;

  static Quotas quotas() {
    return new Quotas(
        12.5,
        10.0,
        "1mo",
        Map.of("gpt-4o", 500L),
        Map.of("gpt-4o", 5L),
        100_000L,
        null,
        null,
        3_000L);
  }

  @Test
  void quotasRoundTripOnKeys_andAKeyWithoutThemReadsAsNone() {
    ApiKey with = key(token(1), "with", T0).withQuotas(quotas());
    store.insert(with);
    store.insert(key(token(2), "without", T0));
    assertThat(store.findByToken(token(1)).orElseThrow()).isEqualTo(with);
    assertThat(store.findByToken(token(2)).orElseThrow().quotas()).isEqualTo(Quotas.NONE);
    ApiKey cleared = with.withQuotas(Quotas.NONE);
    store.update(cleared);
    assertThat(store.findByToken(token(1)).orElseThrow()).isEqualTo(cleared);
  }

  @Test
  void teams_insertFindUpdateListDelete_andATeamWithKeysStays() {
    Team team =
        new Team(
            "team-1",
            "Search",
            List.of("gpt-4o"),
            6000L,
            60L,
            quotas(),
            Map.of("priority", "prod"),
            false,
            T0,
            T0);
    store.insertTeam(team);
    assertThat(store.findTeam("team-1")).contains(team);
    assertThat(catchThrowableOfType(() -> store.insertTeam(team), DuplicateKeyException.class))
        .isNotNull();
    Team blocked = team.withBlocked(true, T0.plusSeconds(1));
    assertThat(store.updateTeam(blocked)).isTrue();
    assertThat(store.findTeam("team-1")).contains(blocked);
    store.insertTeam(
        new Team(
            "team-2",
            null,
            List.of(),
            null,
            null,
            Quotas.NONE,
            Map.of(),
            false,
            T0.plusSeconds(5),
            T0));
    assertThat(store.listTeams(0, 10)).extracting(Team::teamId).containsExactly("team-1", "team-2");
    assertThat(store.countTeams()).isEqualTo(2);
    store.insert(key(token(1), "member", T0)); // team-1
    assertThat(store.keysOfTeam("team-1", 10))
        .extracting(ApiKey::keyAlias)
        .containsExactly("member");
    TeamInUseException inUse =
        catchThrowableOfType(
            () -> store.deleteTeams(List.of("team-2", "team-1")), TeamInUseException.class);
    assertThat(inUse.keys()).isEqualTo(1);
    assertThat(store.findTeam("team-2")).isPresent(); // all or none
    assertThat(store.deleteTeams(List.of("team-2"))).containsExactly("team-2");
    assertThat(store.findTeam("team-2")).isEmpty();
  }

  @Test
  void spendAddsUpPerCounterAndPeriod_andFollowsARegeneratedKey() {
    String counter = "key:" + token(1) + ":spend";
    store.addSpend(List.of(new SpendRow(counter, 0, 400_000), new SpendRow("team:t:spend", 0, 7)));
    store.addSpend(
        List.of(new SpendRow(counter, 0, 400_000), new SpendRow(counter, 86_400_000L, 1)));
    assertThat(store.spend(counter, 0)).isEqualTo(800_000);
    assertThat(store.spend(counter, 86_400_000L)).isEqualTo(1);
    assertThat(store.spend("team:t:spend", 0)).isEqualTo(7);
    assertThat(store.spend("key:nobody:spend", 0)).isZero();
    store.insert(key(token(1), "spender", T0));
    ApiKey regenerated =
        new ApiKey(
            token(9),
            "sk-...9999",
            "spender",
            List.of(),
            null,
            null,
            null,
            Map.of(),
            null,
            false,
            null,
            null,
            T0,
            T0.plusSeconds(1));
    assertThat(store.replaceToken(token(1), regenerated, null)).isTrue();
    assertThat(store.spend("key:" + token(9) + ":spend", 0)).isEqualTo(800_000);
    assertThat(store.spend(counter, 0)).isZero();
    // Deleting team a_b drops its spend only: '_' is not a wildcard here
    store.addSpend(
        List.of(new SpendRow("team:a_b:spend", 0, 3), new SpendRow("team:a-b:spend", 0, 5)));
    store.deleteTeams(List.of("a_b"));
    assertThat(store.spend("team:a_b:spend", 0)).isZero();
    assertThat(store.spend("team:a-b:spend", 0)).isEqualTo(5);
  }
}
