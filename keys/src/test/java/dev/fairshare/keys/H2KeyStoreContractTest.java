package dev.fairshare.keys;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The key store contract on an H2 file in a temporary folder. */
class H2KeyStoreContractTest extends KeyStoreContract {

  @TempDir Path dir;

  @Override
  KeyStore newStore() {
    return JdbcKeyStore.open("jdbc:h2:file:" + dir.resolve("keys").toAbsolutePath(), "", "");
  }

  @Override
  KeyStore sameDatabase() {
    return newStore();
  }
}
