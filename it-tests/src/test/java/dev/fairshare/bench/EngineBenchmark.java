package dev.fairshare.bench;

import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Decision;
import dev.fairshare.core.EngineSettings;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.ModelWindow;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One admission decision plus its settlement on a model with N active keys (DESIGN target: median
 * at most 2 µs with 10,000 active keys). Time advances 1 ms per operation so buckets roll.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class EngineBenchmark {

  @Param({"10000"})
  int activeKeys;

  ModelWindow window;
  AdmissionRequest[] requests;
  long now = 1_800_000_000_000L;
  int next;

  @Setup(Level.Trial)
  public void setUp() {
    window = new ModelWindow(EngineSettings.DEFAULTS);
    ModelCapacity capacity = new ModelCapacity(1_000_000_000L, 100_000_000L);
    requests = new AdmissionRequest[activeKeys];
    for (int i = 0; i < activeKeys; i++) {
      requests[i] = new AdmissionRequest("key-" + i, "gpt-4o", capacity, 1.0, 300, KeyLimits.NONE);
      Decision d = window.decide(requests[i], now);
      window.settle(d.reservation(), 250, now);
    }
  }

  @Benchmark
  public Decision decideAndSettle() {
    AdmissionRequest r = requests[next];
    next = next + 1 == requests.length ? 0 : next + 1;
    now += 1; // 10,000 keys cycle in 10 s: all stay active in the 60 s window
    Decision d = window.decide(r, now);
    if (d.admitted()) {
      window.settle(d.reservation(), 250, now);
    }
    return d;
  }
}
