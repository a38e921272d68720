package dev.fairshare.keys;

/** A team that still has keys cannot be deleted: the keys would lose their limits silently. */
public final class TeamInUseException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final String teamId;
  private final long keys;

  public TeamInUseException(String teamId, long keys) {
    super(
        "Team '"
            + teamId
            + "' still has "
            + keys
            + (keys == 1 ? " key" : " keys")
            + "; move or delete them first (POST /key/update with another team_id, or"
            + " /key/delete).",
        null,
        false,
        false);
    this.teamId = teamId;
    this.keys = keys;
  }

  /** The team. */
  public String teamId() {
    return teamId;
  }

  /** How many keys it still has. */
  public long keys() {
    return keys;
  }
}
