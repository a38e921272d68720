package dev.fairshare.admission;

import dev.fairshare.config.FairShareConfig;
import dev.fairshare.config.UnknownModels;
import dev.fairshare.core.AdmissionRequest;
import dev.fairshare.core.Clock;
import dev.fairshare.core.Decision;
import dev.fairshare.core.KeyLimits;
import dev.fairshare.core.LimitWindow;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.core.ShareGroup;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.keys.Quotas;
import dev.fairshare.keys.Team;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.CompletionRequest;
import dev.fairshare.openai.Endpoint;
import dev.fairshare.openai.InvalidRequestException;
import dev.fairshare.openai.TokenEstimate;
import dev.fairshare.openai.TokenEstimator;
import dev.fairshare.store.UsageStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The admission policy, without a servlet in sight: from an authenticated key, a parsed request and
 * its endpoint to a refusal or an admission whose reservation the caller settles (or releases)
 * exactly once.
 *
 * <p>In order: the model is resolved (trimmed, aliases) and must be allowed for the key and
 * configured (or, with {@code fairshare.unknown-models=allow}, counted in one shared window); a
 * prompt long enough to make tokenising costly is first checked at a bound that needs none (a key
 * or model already out of room is refused before the text is looked at); then the estimate is
 * reserved, the key's own limits across models first ({@link
 * dev.fairshare.store.KeyLimitedUsageStore}).
 */
public final class Admissions {

  /**
   * Prompt text, in characters, above which a request is first checked at a bound that needs no
   * tokenising (tokenising runs at 0.1–2 µs per character).
   */
  public static final long CHEAP_CHECK_ABOVE_CHARS = 32 * 1024;

  /** The model name under which unconfigured models share one window when they are allowed. */
  public static final String UNCONFIGURED_MODELS = FairShareConfig.UNCONFIGURED_MODELS;

  private final Supplier<FairShareConfig> configuration;
  private final TokenEstimator estimator;
  private final UsageStore store;
  private final Clock clock;
  private final Teams teams;
  private final QuotaPolicy quotas;

  /**
   * @param store where admissions are decided: a store with the keys' own limits held across models
   * @param teams the teams (cached)
   * @param quotas budgets and calendar quotas
   */
  public Admissions(
      Supplier<FairShareConfig> configuration,
      TokenEstimator estimator,
      UsageStore store,
      Clock clock,
      Teams teams,
      QuotaPolicy quotas) {
    this.configuration = configuration;
    this.estimator = estimator;
    this.store = store;
    this.clock = clock;
    this.teams = teams;
    this.quotas = quotas;
  }

  /** What became of a request. */
  public sealed interface Outcome permits Refused, Admitted {}

  /**
   * Refused for want of room: answer 429 with {@code decision}'s standing.
   *
   * @param model the configured model the request resolved to
   * @param requested the tokens it was estimated at (or the bound it was refused at)
   */
  public record Refused(Decision decision, String model, long requested) implements Outcome {}

  /**
   * Admitted: run the call, then settle {@code decision.reservation()} exactly once.
   *
   * @param completion the request, its model resolved
   * @param estimate what it was estimated at
   * @param learn whether its reported usage may teach the estimator (configured models only)
   * @param key the key it was admitted for
   * @param quota what it holds of budgets and quotas, or null; settled or released with it
   */
  public record Admitted(
      Decision decision,
      CompletionRequest completion,
      TokenEstimate estimate,
      boolean learn,
      ApiKey key,
      QuotaClaim quota)
      implements Outcome {}

  /**
   * Decides on {@code request} for {@code key} on {@code endpoint}.
   *
   * @throws InvalidRequestException 403 for a model the key may not use, 404 for an unknown model
   */
  public Outcome admit(ApiKey key, CompletionRequest request, Endpoint endpoint)
      throws InvalidRequestException {
    // One configuration for the whole decision: limits may change at run time
    FairShareConfig config = configuration.get();
    String model = config.resolveModel(request.model());
    Team team = teamOf(key);
    if (team != null) {
      requireAllowed(
          team.allows(model),
          "Team '" + team.teamId() + "' of key '" + key.displayName() + "'",
          model,
          team.models());
    }
    requireAllowed(key.allows(model), "Key '" + key.displayName() + "'", model, key.models());
    ModelCapacity capacity = config.capacityOf(model);
    String window = model;
    if (capacity == null) {
      if (config.models().unknownModels() == UnknownModels.REJECT) {
        throw new InvalidRequestException(
            ApiError.invalidRequest(
                404,
                "The model '"
                    + request.model().strip()
                    + "' does not exist or you do not have access to it.",
                "model",
                "model_not_found"));
      }
      // Nothing to limit but the key's own limits: one window for all of them, however many
      // names clients make up.
      capacity = ModelCapacity.UNLIMITED_MODEL;
      window = UNCONFIGURED_MODELS;
      if (key.quotas().maxBudget() != null || (team != null && team.quotas().maxBudget() != null)) {
        // A model nobody priced costs nothing: any made-up name would walk around the budget.
        throw new InvalidRequestException(
            ApiError.permissionDenied(
                "Key '"
                    + key.displayName()
                    + "' has a budget, which holds only on configured models; '"
                    + model
                    + "' is not one."));
      }
    }
    CompletionRequest completion = request.withModel(model);
    KeyLimits limits = limitsOf(key, team, model, config::resolveModel);
    if (!window.equals(UNCONFIGURED_MODELS)) {
      if (team != null) {
        limits = limits.withGroup(ShareGroup.team(team.teamId(), config.weightOf(team.priority())));
      } else if (teams.any()) {
        limits = limits.withGroup(new ShareGroup(ShareGroup.TEAMLESS, config.weightOf(null)));
      }
    }
    double weight = config.weightOf(key.priority());
    if (TokenEstimator.promptChars(completion) > CHEAP_CHECK_ABOVE_CHARS) {
      long bound = estimator.reservation(estimator.lowerBound(completion, endpoint));
      long now = clock.millis();
      Decision probe =
          store.acquire(
              new AdmissionRequest(key.token(), window, capacity, weight, bound, limits), now);
      if (!probe.admitted()) {
        return new Refused(probe, model, bound);
      }
      store.release(probe.reservation(), now);
    }
    TokenEstimate estimate = estimator.estimate(completion, endpoint);
    long reservation = estimator.reservation(estimate);
    Long ceiling = estimator.declaredCeiling(completion, endpoint, estimate);
    if (limits.tokensPerWindow() != ModelCapacity.UNLIMITED
        && ceiling != null
        && ceiling > limits.tokensPerWindow()) {
      // What the request declares it may cost (max_tokens for each choice, as OpenAI counts it)
      // is more than the key's whole limit: asked at that figure, the store refuses it for good.
      Decision refused =
          store.acquire(
              new AdmissionRequest(key.token(), window, capacity, weight, ceiling, limits),
              clock.millis());
      if (!refused.admitted()) {
        return new Refused(refused, model, ceiling);
      }
      store.release(
          refused.reservation(),
          clock.millis()); // cannot happen: a ceiling over the limit is too large
    }
    Decision decision =
        store.acquire(
            new AdmissionRequest(key.token(), window, capacity, weight, reservation, limits),
            clock.millis());
    if (!decision.admitted()) {
      return new Refused(decision, model, reservation);
    }
    // Budgets and quotas after the rates: a call the rates turn away (and may retry) holds no
    // budget meanwhile. The cost is reserved at what the call declares it may generate
    // (max_tokens for each choice) when it declares it, so a large max_tokens cannot overshoot.
    long completionCeiling =
        ceiling != null
            ? Math.max(0, ceiling - estimate.promptTokens())
            : estimate.completionTokens();
    QuotaClaim claim;
    try {
      claim =
          quotas.reserve(
              key,
              team,
              model,
              estimate.promptTokens(),
              completionCeiling,
              reservation,
              clock.millis());
    } catch (InvalidRequestException | RuntimeException e) {
      store.release(decision.reservation(), clock.millis());
      throw e;
    }
    return new Admitted(
        decision, completion, estimate, !window.equals(UNCONFIGURED_MODELS), key, claim);
  }

  /** 403 unless {@code allowed}: {@code who} may not call {@code model}, only {@code models}. */
  private static void requireAllowed(boolean allowed, String who, String model, List<String> models)
      throws InvalidRequestException {
    if (!allowed) {
      throw new InvalidRequestException(
          ApiError.permissionDenied(
              who
                  + " is not allowed to access model '"
                  + model
                  + "'. Allowed models: "
                  + models
                  + "."));
    }
  }

  /**
   * Refuses a key whose team is blocked: for the calls that pass without an admission (GET and HEAD
   * on a limited path), which a blocked team must not make either.
   *
   * @throws InvalidRequestException 401 when the key's team is blocked
   */
  public void requireTeamNotBlocked(ApiKey key) throws InvalidRequestException {
    teamOf(key);
  }

  /**
   * The key's team, or null without one.
   *
   * @throws InvalidRequestException 401 when the team is blocked
   */
  private Team teamOf(ApiKey key) throws InvalidRequestException {
    if (key.teamId() == null) {
      return null;
    }
    // A team_id that names no team is one a key carried before teams existed (free text then):
    // the key has no team, as it had none before.
    Team team = teams.team(key.teamId()).orElse(null);
    if (team != null && team.blocked()) {
      throw new InvalidRequestException(
          ApiError.invalidApiKey(
              "Team '" + team.teamId() + "' is blocked. Unblock it with POST /team/unblock."));
    }
    return team;
  }

  /** Prefix of a team's window among the model names of the store. */
  public static final String TEAM_WINDOW = "fairshare:team-limits:";

  /**
   * The key's limits on {@code model}: its own, then its team's ({@code tpm_limit}, {@code
   * rpm_limit}: one window the team's keys share), its own per-model ones, its team's per-model
   * ones.
   *
   * <p>A per-model limit applies to {@code model} whether it is named by the model itself or by one
   * of its aliases ({@code resolve}): a limit written under an alias would otherwise never match,
   * since requests are decided on the model they resolve to, and a client could walk around it by
   * naming either. Where several names resolve to {@code model}, the smallest limit holds.
   *
   * @param model the requested model, resolved
   * @param resolve the model a name resolves to (trimmed, aliases followed)
   */
  public static KeyLimits limitsOf(
      ApiKey key, Team team, String model, UnaryOperator<String> resolve) {
    KeyLimits own = limitsOf(key);
    List<LimitWindow> windows = new ArrayList<>(3);
    if (team != null && (team.tpmLimit() != null || team.rpmLimit() != null)) {
      windows.add(
          new LimitWindow(
              TEAM_WINDOW + team.teamId(),
              new ModelCapacity(orUnlimited(team.tpmLimit()), orUnlimited(team.rpmLimit()))));
    }
    addModelWindow(
        windows, "fairshare:key-model-limits:" + key.token(), key.quotas(), model, resolve);
    if (team != null) {
      addModelWindow(windows, TEAM_WINDOW + team.teamId(), team.quotas(), model, resolve);
    }
    if (windows.isEmpty()) {
      return own;
    }
    return new KeyLimits(
        own.tokensPerWindow(), own.requestsPerWindow(), own.maxParallelRequests(), windows, null);
  }

  private static void addModelWindow(
      List<LimitWindow> windows,
      String owner,
      Quotas quotas,
      String model,
      UnaryOperator<String> resolve) {
    Long tpm = limitOn(quotas.modelTpmLimit(), model, resolve);
    Long rpm = limitOn(quotas.modelRpmLimit(), model, resolve);
    if (tpm != null || rpm != null) {
      windows.add(
          new LimitWindow(
              owner + ":" + model, new ModelCapacity(orUnlimited(tpm), orUnlimited(rpm))));
    }
  }

  /** The smallest of {@code limits} whose name resolves to {@code model}; null when none does. */
  private static Long limitOn(
      Map<String, Long> limits, String model, UnaryOperator<String> resolve) {
    if (limits.isEmpty()) {
      return null;
    }
    Long smallest = null;
    for (Map.Entry<String, Long> limit : limits.entrySet()) {
      if (limit.getKey().equals(model) || resolve.apply(limit.getKey()).equals(model)) {
        if (smallest == null || limit.getValue() < smallest) {
          smallest = limit.getValue();
        }
      }
    }
    return smallest;
  }

  /** The key's own limits, {@link KeyLimits#NONE} when it has none. */
  public static KeyLimits limitsOf(ApiKey key) {
    if (key.tpmLimit() == null && key.rpmLimit() == null && key.maxParallelRequests() == null) {
      return KeyLimits.NONE;
    }
    return new KeyLimits(
        orUnlimited(key.tpmLimit()),
        orUnlimited(key.rpmLimit()),
        orUnlimited(key.maxParallelRequests()));
  }

  private static long orUnlimited(Long value) {
    return value == null ? ModelCapacity.UNLIMITED : value;
  }
}
