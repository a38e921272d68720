package dev.fairshare.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fairshare.keys.KeyStore;
import dev.fairshare.keys.KeyStoreException;
import dev.fairshare.keys.UsageRow;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class UsageRecorderTest {

  static final long T0 = 1_800_000_000_000L; // 08:00 UTC, on the hour

  /** A key store that takes usage batches (or refuses them while {@code down}). */
  static KeyStore store(List<List<UsageRow>> batches, AtomicBoolean down) {
    return store(batches, down, new ArrayList<>());
  }

  /** As above, noting each prune's bound in {@code pruned}. */
  static KeyStore store(List<List<UsageRow>> batches, AtomicBoolean down, List<Long> pruned) {
    return (KeyStore)
        Proxy.newProxyInstance(
            KeyStore.class.getClassLoader(),
            new Class<?>[] {KeyStore.class},
            (proxy, method, args) -> {
              if (method.getName().equals("pruneUsage")) {
                pruned.add((Long) args[0]);
                return 0;
              }
              if (method.getName().equals("addUsage")) {
                if (down.get()) {
                  throw new KeyStoreException("the database is away", null);
                }
                @SuppressWarnings("unchecked")
                List<UsageRow> rows = (List<UsageRow>) args[0];
                batches.add(rows);
                return null;
              }
              throw new UnsupportedOperationException(method.getName());
            });
  }

  @Test
  void aFlushWritesWhatEachCellGained_perKeyModelAndHour() {
    List<List<UsageRow>> batches = new ArrayList<>();
    AtomicLong now = new AtomicLong(T0);
    UsageRecorder recorder =
        new UsageRecorder(store(batches, new AtomicBoolean()), now::get, Duration.ZERO);
    recorder.settled("k1", "m", T0 + 1, 10, 20);
    recorder.settled("k1", "m", T0 + 2, 5, 5);
    recorder.refused("k1", "m", T0 + 3);
    recorder.settled("k2", "m", T0 + 3_600_000, 1, 1); // the next hour
    recorder.flush();
    assertThat(batches).hasSize(1);
    assertThat(batches.get(0))
        .containsExactlyInAnyOrder(
            new UsageRow("k1", "m", T0, 15, 25, 2, 1),
            new UsageRow("k2", "m", T0 + 3_600_000, 1, 1, 1, 0));
    // Only what was gained since: nothing is written twice
    recorder.settled("k1", "m", T0 + 4, 1, 0);
    recorder.flush();
    assertThat(batches.get(1)).containsExactly(new UsageRow("k1", "m", T0, 1, 0, 1, 0));
    recorder.flush();
    assertThat(batches).hasSize(2); // nothing new, nothing written
  }

  @Test
  void aBatchTheDatabaseRefusesIsWrittenWithTheNext_notLost() {
    List<List<UsageRow>> batches = new ArrayList<>();
    AtomicBoolean down = new AtomicBoolean(true);
    UsageRecorder recorder = new UsageRecorder(store(batches, down), () -> T0, Duration.ZERO);
    recorder.settled("k1", "m", T0, 10, 20);
    assertThatThrownBy(recorder::flush).isInstanceOf(KeyStoreException.class);
    recorder.settled("k1", "m", T0, 1, 2);
    down.set(false);
    recorder.flush();
    // The kept counts and the new ones, in one row of their cell
    assertThat(batches)
        .singleElement()
        .asList()
        .containsExactly(new UsageRow("k1", "m", T0, 11, 22, 2, 0));
  }

  @Test
  void rowsOlderThanTheRetentionArePruned_onceAnHour() {
    List<Long> pruned = new ArrayList<>();
    AtomicLong now = new AtomicLong(T0 + 10);
    UsageRecorder recorder =
        new UsageRecorder(
            store(new ArrayList<>(), new AtomicBoolean(), pruned),
            now::get,
            Duration.ZERO,
            Duration.ofDays(400));
    recorder.pruneIfDue();
    recorder.pruneIfDue(); // the same hour: nothing
    now.set(T0 + 3_600_000);
    recorder.pruneIfDue();
    assertThat(pruned)
        .containsExactly(
            T0 - Duration.ofDays(400).toMillis(), T0 + 3_600_000 - Duration.ofDays(400).toMillis());
  }

  @Test
  void closingFlushes() {
    List<List<UsageRow>> batches = new ArrayList<>();
    UsageRecorder recorder =
        new UsageRecorder(store(batches, new AtomicBoolean()), () -> T0, Duration.ofHours(1));
    recorder.refused("k1", "m", T0);
    recorder.close();
    assertThat(batches).containsExactly(List.of(new UsageRow("k1", "m", T0, 0, 0, 0, 1)));
  }
}
