package dev.fairshare.usage;

import dev.fairshare.FairShare;
import dev.fairshare.admission.Admissions;
import dev.fairshare.core.ActiveKey;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.KeyStanding;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.ShareGroup;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.InvalidRequestException;
import dev.fairshare.store.KeyLimitedUsageStore;
import dev.fairshare.store.UsageStore;
import dev.fairshare.store.UsageStoreUnavailableException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The live share table of {@code GET /usage}: for each configured model, its use in the window and
 * each active key's standing, as the engine holds them (not a recount). With the Redis store, every
 * instance's; the waiting counts are this instance's.
 */
public final class LiveUsage {

  /**
   * One model.
   *
   * @param capacity its configured capacity
   * @param usedTokens tokens counted in the window, reservations included
   * @param usedRequests requests counted in the window
   * @param keys the keys active in the window, most tokens used first
   */
  public record ModelUsage(
      String model,
      ModelCapacity capacity,
      long usedTokens,
      long usedRequests,
      List<KeyUsage> keys) {

    /** Calls held in this instance's waiting rooms for the model. */
    public int waiting() {
      return keys.stream().mapToInt(KeyUsage::waiting).sum();
    }
  }

  /**
   * One active key on a model.
   *
   * @param token the key's id (sha256 of the raw key)
   * @param key its record, empty when it was deleted meanwhile
   * @param weight the weight it was last seen with
   * @param standing what the engine holds of it
   * @param waiting its calls held in this instance's waiting rooms
   */
  public record KeyUsage(
      String token, Optional<ApiKey> key, double weight, KeyStanding standing, int waiting) {}

  private LiveUsage() {}

  /**
   * The table for {@code model} (resolved through aliases), or for every configured model when it
   * is null or blank.
   *
   * @throws InvalidRequestException 404 for a model not configured, 503 when the shared store is
   *     away
   */
  public static List<ModelUsage> of(FairShare fairShare, String model)
      throws InvalidRequestException {
    List<String> models = models(fairShare, model);
    long now = fairShare.clock().millis();
    try {
      List<ModelUsage> table = new ArrayList<>();
      for (String m : models) {
        table.add(model(fairShare, m, now));
      }
      return table;
    } catch (UsageStoreUnavailableException e) {
      throw new InvalidRequestException(
          ApiError.unavailable("The shared usage store is unavailable; please retry shortly."));
    }
  }

  private static List<String> models(FairShare fairShare, String model)
      throws InvalidRequestException {
    if (model == null || model.isBlank()) {
      return List.copyOf(new TreeSet<>(fairShare.config().models().capacities().keySet()));
    }
    String resolved = fairShare.config().resolveModel(model);
    if (fairShare.config().capacityOf(resolved) == null) {
      throw new InvalidRequestException(
          ApiError.invalidRequest(
              404,
              "The model '" + model.strip() + "' is not configured.",
              "model",
              "model_not_found"));
    }
    return List.of(resolved);
  }

  private static ModelUsage model(FairShare fairShare, String model, long now) {
    UsageStore store = fairShare.usageStore();
    ModelCapacity capacity = fairShare.config().capacityOf(model);
    // The model's own standing: a probe for no key
    KeyStanding whole =
        store.standing(new AdmissionRequest("", model, capacity, 1.0, 0, KeyLimits.NONE), now);
    List<KeyUsage> keys = new ArrayList<>();
    for (ActiveKey user : store.activeKeys(model, now)) {
      addRow(fairShare, store, keys, user, model, model, capacity, now);
      if (isGroup(user.keyId())) {
        // Once teams exist the model's users are groups; their keys are in the group's window.
        String group = KeyLimitedUsageStore.GROUP_WINDOW + user.keyId() + ":" + model;
        for (ActiveKey member : store.activeKeys(group, now)) {
          addRow(fairShare, store, keys, member, group, model, capacity, now);
        }
      }
    }
    keys.sort(
        Comparator.comparingLong((KeyUsage k) -> k.standing().usage().tokens().used())
            .reversed()
            .thenComparing(KeyUsage::token));
    return new ModelUsage(
        model,
        capacity,
        whole.usage().tokens().modelUsed(),
        whole.usage().requests().modelUsed(),
        List.copyOf(keys));
  }

  /** A group's id among a model's users: {@code team:<id>} or {@link ShareGroup#TEAMLESS}. */
  public static boolean isGroup(String userId) {
    return userId.startsWith("team:") || userId.equals(ShareGroup.TEAMLESS);
  }

  /** A row for {@code active}, its standing read in {@code window}. */
  private static void addRow(
      FairShare fairShare,
      UsageStore store,
      List<KeyUsage> keys,
      ActiveKey active,
      String window,
      String model,
      ModelCapacity capacity,
      long now) {
    Optional<ApiKey> key =
        isGroup(active.keyId()) ? Optional.empty() : fairShare.keys().find(active.keyId());
    KeyLimits limits = key.map(Admissions::limitsOf).orElse(KeyLimits.NONE);
    KeyStanding standing =
        store.standing(
            new AdmissionRequest(active.keyId(), window, capacity, active.weight(), 0, limits),
            now);
    keys.add(
        new KeyUsage(
            active.keyId(),
            key,
            active.weight(),
            standing,
            fairShare.waiting(model, active.keyId())));
  }
}
