package dev.fairshare.store;

import dev.fairshare.core.EngineSettings;

class MemoryUsageStoreContractTest extends UsageStoreContract {

  @Override
  UsageStore newStore(EngineSettings settings) {
    return new MemoryUsageStore(settings);
  }
}
