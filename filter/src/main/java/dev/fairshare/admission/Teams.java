package dev.fairshare.admission;

import dev.fairshare.keys.Team;
import java.util.Optional;

/** The teams as admissions see them: cached lookups, never a query per request. */
public interface Teams {

  /** No teams at all. */
  Teams NONE =
      new Teams() {
        @Override
        public Optional<Team> team(String teamId) {
          return Optional.empty();
        }

        @Override
        public boolean any() {
          return false;
        }
      };

  /** The team {@code teamId}. */
  Optional<Team> team(String teamId);

  /**
   * Whether any team exists: then keys without a team share each model as one group of their own.
   */
  boolean any();
}
