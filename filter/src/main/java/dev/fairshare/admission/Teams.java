package dev.fairshare.admission;

import dev.fairshare.keys.Team;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/** The teams as admissions see them: cached lookups, never a query per request. */
public interface Teams {

  /** No teams at all. */
  Teams NONE = of(teamId -> Optional.empty(), () -> false);

  /** The teams {@code lookup} finds; {@code any} tells whether there is one. */
  static Teams of(Function<String, Optional<Team>> lookup, BooleanSupplier any) {
    return new Teams() {
      @Override
      public Optional<Team> team(String teamId) {
        return lookup.apply(teamId);
      }

      @Override
      public boolean any() {
        return any.getAsBoolean();
      }
    };
  }

  /** The team {@code teamId}. */
  Optional<Team> team(String teamId);

  /**
   * Whether any team exists: then keys without a team share each model as one group of their own.
   */
  boolean any();
}
