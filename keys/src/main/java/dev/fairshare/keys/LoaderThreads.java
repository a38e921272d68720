package dev.fairshare.keys;

import java.util.function.Predicate;

/**
 * Waiting for the threads a closed pool or database leaves to end. A container checks for threads
 * of an application's class loader right after the application stops, and warns about each one
 * still running (Tomcat's {@code clearReferencesThreads}): HikariCP's and H2's end shortly after
 * their close, but not always before that check.
 */
final class LoaderThreads {

  private LoaderThreads() {}

  /**
   * Waits until no live thread whose context class loader is this class's and whose name {@code
   * named} accepts is left, five seconds at most. The threads are listed anew on each round: one
   * may have started after the first look.
   */
  static void awaitEnd(Predicate<String> named) {
    long deadline = System.nanoTime() + 5_000_000_000L;
    for (Thread t = anyLeft(named); t != null; t = anyLeft(named)) {
      long leftMillis = (deadline - System.nanoTime()) / 1_000_000;
      if (leftMillis <= 0) {
        return;
      }
      try {
        t.join(Math.min(leftMillis, 100));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static Thread anyLeft(Predicate<String> named) {
    ClassLoader ours = LoaderThreads.class.getClassLoader();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive()
          && t != Thread.currentThread()
          && t.getContextClassLoader() == ours
          && named.test(t.getName())) {
        return t;
      }
    }
    return null;
  }
}
