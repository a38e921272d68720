package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fairshare.core.ManualClock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A seeded fuzz run against the gateway: no 5xx, no raw key and no stack trace logged. */
class FuzzIT {

  @TempDir Path dir;

  @Test
  void threeThousandHostileRequests() throws Exception {
    try (LogCapture log = LogCapture.start();
        TestGateway gateway =
            TestGateway.start(
                dir,
                new ManualClock(1_800_000_000_000L),
                Map.of("fairshare.models.my-fake-model.tpm", "100000000"))) {
      String key = gateway.mintKey("{\"tpm_limit\":100000000}");
      String plain = gateway.mintKey("{}");
      Fuzz.Summary summary =
          Fuzz.run(
              gateway.base(),
              "",
              List.of(key, plain, TestGateway.MASTER_KEY),
              20261202L,
              3_000,
              Duration.ofSeconds(120));
      System.out.println(
          "Fuzz on the gateway: " + summary.sent() + " requests, statuses " + summary.statuses());
      assertThat(summary.sent()).isGreaterThanOrEqualTo(1_000);
      assertThat(summary.failures()).as("5xx or no answer").isEmpty();
      assertThat(summary.statuses()).containsKeys(200, 400, 401);
      for (LogRecord record : log.records()) {
        String text = record.getMessage() + java.util.Arrays.toString(record.getParameters());
        assertThat(text).doesNotContain(key.substring(3)).doesNotContain(plain.substring(3));
        assertThat(record.getThrown()).as("stack trace in the log: %s", text).isNull();
        assertThat(record.getLevel().intValue()).as(text).isLessThan(Level.SEVERE.intValue());
      }
    }
  }
}
