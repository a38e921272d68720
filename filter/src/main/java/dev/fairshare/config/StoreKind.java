package dev.fairshare.config;

/** Where usage is counted ({@code fairshare.store}). */
public enum StoreKind {
  /** In this JVM: one instance's budget. The default. */
  MEMORY,
  /** In Redis: one budget across every instance (needs {@code fairshare-redis}). */
  REDIS
}
