package dev.fairshare.usage;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One named daemon thread that runs FairShare's background work (flushes, alerts), and that is gone
 * when {@link #stop} returns: a servlet container warns of (and may leak the class loader through)
 * a thread an application left running after its undeploy, even one whose pool has just terminated.
 */
final class BackgroundThread {

  private final ScheduledExecutorService executor;
  private volatile Thread thread;

  BackgroundThread(String name) {
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, name);
              t.setDaemon(true);
              thread = t;
              return t;
            });
  }

  /** Where to schedule the work. */
  ScheduledExecutorService executor() {
    return executor;
  }

  /**
   * Stops the thread: lets a task under way end (or, with {@code interrupt}, interrupts it), and
   * waits up to {@code seconds} for the pool, then for the thread itself.
   */
  void stop(long seconds, boolean interrupt) {
    if (interrupt) {
      executor.shutdownNow();
    } else {
      executor.shutdown();
    }
    try {
      if (!executor.awaitTermination(seconds, TimeUnit.SECONDS)) {
        executor.shutdownNow();
      }
      // A terminated pool's worker may still be winding down.
      Thread t = thread;
      if (t != null) {
        t.join(TimeUnit.SECONDS.toMillis(seconds));
      }
    } catch (InterruptedException e) {
      executor.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
