package dev.fairshare.admission;

import dev.fairshare.config.FairShareConfig;
import dev.fairshare.config.ModelPrice;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.keys.Quotas;
import dev.fairshare.keys.SpendRow;
import dev.fairshare.keys.Team;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.InvalidRequestException;
import dev.fairshare.quota.QuotaCharge;
import dev.fairshare.quota.QuotaCounter;
import dev.fairshare.quota.QuotaDecision;
import dev.fairshare.quota.QuotaLedger;
import dev.fairshare.quota.QuotaPeriod;
import dev.fairshare.quota.QuotaStanding;
import dev.fairshare.store.UsageStoreUnavailableException;
import dev.fairshare.usage.AlertSender;
import dev.fairshare.usage.SpendRecorder;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Budgets and calendar quotas of keys and teams, on the reserve-then-settle path: before a call,
 * its estimated cost, tokens and one request are reserved on every counter it counts towards (the
 * key's and its team's spend; tokens and requests per day and per month), all or none; after it,
 * the actual amounts replace the estimates, are persisted ({@link SpendRecorder}) and may raise an
 * alert ({@link AlertSender}).
 *
 * <p>Counters are named by the key's sha256 or the team's id ({@code key:<sha256>:spend}, {@code
 * team:<id>:requests:day}); spend is in nano-USD. A key's spend is tracked whenever its model has a
 * price, with or without a budget, so {@code /key/info} can show it.
 */
public final class QuotaPolicy {

  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(QuotaPolicy.class.getName());

  private final Supplier<FairShareConfig> configuration;
  private final QuotaLedger ledger;
  private final SpendRecorder recorder;
  private final AlertSender alerts;
  private final boolean failOpen;

  public QuotaPolicy(
      Supplier<FairShareConfig> configuration,
      QuotaLedger ledger,
      SpendRecorder recorder,
      AlertSender alerts,
      boolean failOpen) {
    this.failOpen = failOpen;
    this.configuration = configuration;
    this.ledger = ledger;
    this.recorder = recorder;
    this.alerts = alerts;
  }

  /** The counter kinds, by the suffix of their ids. */
  private static final String SPEND = ":spend";

  private static final String TOKENS = ":tokens:";
  private static final String REQUESTS = ":requests:";

  /**
   * Reserves a call's estimate on its counters; null when it counts towards none.
   *
   * @throws InvalidRequestException a budget spent ({@code budget_exceeded}, 400) or a quota used
   *     up (429 with {@code retry-after} at its reset)
   */
  public QuotaClaim reserve(
      ApiKey key,
      Team team,
      String model,
      long promptTokens,
      long completionTokens,
      long tokens,
      long nowMillis)
      throws InvalidRequestException {
    FairShareConfig config = configuration.get();
    ModelPrice price = config.models().priceOf(model);
    if (price.isFree() && key.quotas().isEmpty() && (team == null || team.quotas().isEmpty())) {
      return null; // nothing to count: the common case costs two lookups
    }
    ZoneId zone = config.operations().quotaZone();
    long cost = price.nanos(Math.max(0, promptTokens), Math.max(0, completionTokens));
    List<QuotaCharge> charges = new ArrayList<>();
    addCharges(
        charges,
        SpendRow.keyOwner(key.token()),
        key.quotas(),
        !price.isFree(),
        cost,
        tokens,
        zone,
        nowMillis);
    if (team != null) {
      addCharges(
          charges,
          SpendRow.teamOwner(team.teamId()),
          team.quotas(),
          !price.isFree(),
          cost,
          tokens,
          zone,
          nowMillis);
    }
    if (charges.isEmpty()) {
      return null;
    }
    long until = nowMillis + config.operations().quotaHoldTimeout().toMillis();
    QuotaDecision decision;
    try {
      decision = ledger.reserve(charges, UUID.randomUUID().toString(), until, nowMillis);
    } catch (UsageStoreUnavailableException e) {
      if (!failOpen) {
        throw e; // 503, as for the usage store
      }
      // Failing open: admitted without the shared ledger; what it costs is still persisted.
      return new QuotaClaim(null, charges, price, key.displayName());
    }
    if (!decision.admitted()) {
      throw refusal(decision, key, team, nowMillis);
    }
    return new QuotaClaim(decision.hold(), charges, price, key.displayName());
  }

  private void addCharges(
      List<QuotaCharge> charges,
      String owner,
      Quotas quotas,
      boolean priced,
      long cost,
      long tokens,
      ZoneId zone,
      long now) {
    if (quotas.maxBudget() != null || quotas.softBudget() != null || priced) {
      charges.add(new QuotaCharge(spendCounter(owner, quotas, zone, now), cost));
    }
    double fraction = configuration.get().operations().quotaAlertFraction();
    addQuota(
        charges,
        owner + TOKENS + "day",
        quotas.tokensPerDay(),
        () -> QuotaPeriod.day(zone, now),
        tokens,
        fraction);
    addQuota(
        charges,
        owner + TOKENS + "month",
        quotas.tokensPerMonth(),
        () -> QuotaPeriod.month(zone, now),
        tokens,
        fraction);
    addQuota(
        charges,
        owner + REQUESTS + "day",
        quotas.requestsPerDay(),
        () -> QuotaPeriod.day(zone, now),
        1,
        fraction);
    addQuota(
        charges,
        owner + REQUESTS + "month",
        quotas.requestsPerMonth(),
        () -> QuotaPeriod.month(zone, now),
        1,
        fraction);
  }

  private static void addQuota(
      List<QuotaCharge> charges,
      String id,
      Long limit,
      java.util.function.Supplier<QuotaPeriod> periodOf,
      long amount,
      double fraction) {
    if (limit == null) {
      return;
    }
    QuotaPeriod period = periodOf.get();
    long alertAt = Math.max(1, (long) Math.ceil(limit * fraction));
    charges.add(new QuotaCharge(new QuotaCounter(id, period, limit, alertAt), Math.max(0, amount)));
  }

  /** USD as whole nano-USD. */
  public static long nanos(double usd) {
    return Math.round(usd * ModelPrice.NANOS_PER_USD);
  }

  /** Nano-USD as USD. */
  public static double usd(long nanos) {
    return nanos / ModelPrice.NANOS_PER_USD;
  }

  /**
   * Settles {@code claim} with the call's actual usage: {@code input} and {@code output} tokens
   * (priced), {@code counted} tokens for token quotas; persisted, and alerts raised.
   */
  public void settle(QuotaClaim claim, long input, long output, long counted, long nowMillis) {
    List<QuotaCharge> charges = claim.charges();
    long[] actual = new long[charges.size()];
    for (int i = 0; i < actual.length; i++) {
      String id = charges.get(i).counter().id();
      actual[i] =
          id.endsWith(SPEND)
              ? claim.price().nanos(Math.max(0, input), Math.max(0, output))
              : id.contains(TOKENS) ? Math.max(0, counted) : 1;
    }
    // Persisted first: a ledger that is away does not lose the charge.
    for (int i = 0; i < actual.length; i++) {
      QuotaCounter counter = charges.get(i).counter();
      recorder.charged(counter.id(), counter.period().startMillis(), actual[i]);
    }
    if (claim.hold() == null) {
      return; // admitted while the shared ledger was away: persisted only
    }
    List<QuotaCounter> crossed = ledger.settle(claim.hold(), actual, nowMillis);
    for (QuotaCounter counter : crossed) {
      alert(counter, claim.keyAlias(), nowMillis);
    }
  }

  /**
   * {@link #settle}, never throwing into the request's path: a ledger that is away (Redis) is
   * logged; the charge is persisted all the same, and a ledger that lost the hold lets it lapse.
   */
  public void settleQuietly(
      QuotaClaim claim, long input, long output, long counted, long nowMillis) {
    try {
      settle(claim, input, output, counted, nowMillis);
    } catch (RuntimeException e) {
      LOG.log(
          java.util.logging.Level.WARNING,
          "FairShare: a call's budget and quota charge could not be settled: {0}",
          e.getMessage());
    }
  }

  /** {@link #release}, never throwing (logged). */
  public void releaseQuietly(QuotaClaim claim, long nowMillis) {
    try {
      release(claim, nowMillis);
    } catch (RuntimeException e) {
      LOG.log(
          java.util.logging.Level.WARNING,
          "FairShare: a call's budget and quota hold could not be released: {0}",
          e.getMessage());
    }
  }

  /** Takes back {@code claim}: its call did not happen. */
  public void release(QuotaClaim claim, long nowMillis) {
    if (claim.hold() != null) {
      ledger.release(claim.hold(), nowMillis);
    }
  }

  /** What {@code counter} holds now (settled, and reserved by calls in flight). */
  public QuotaStanding standing(QuotaCounter counter, long nowMillis) {
    return ledger.standing(counter, nowMillis);
  }

  /**
   * The spend counter of {@code owner} ({@code key:<sha256>} or {@code team:<id>}) with {@code
   * quotas}, in its period now.
   */
  public QuotaCounter spendCounter(String owner, Quotas quotas, long nowMillis) {
    return spendCounter(owner, quotas, configuration.get().operations().quotaZone(), nowMillis);
  }

  private static QuotaCounter spendCounter(
      String owner, Quotas quotas, ZoneId zone, long nowMillis) {
    return new QuotaCounter(
        owner + SPEND,
        QuotaPeriod.of(quotas.budgetDuration(), zone, nowMillis),
        quotas.maxBudget() == null ? QuotaCounter.UNLIMITED : nanos(quotas.maxBudget()),
        quotas.softBudget() == null ? QuotaCounter.NO_ALERT : nanos(quotas.softBudget()));
  }

  private void alert(QuotaCounter counter, String keyAlias, long nowMillis) {
    var body = AlertSender.body();
    String id = counter.id();
    boolean team = id.startsWith("team:");
    boolean spend = id.endsWith(SPEND);
    // key:<sha256>:<kind> or team:<id>:<kind>; neither id has a ':' (KeyFields.teamId)
    int ownerEnd = id.indexOf(':', id.indexOf(':') + 1);
    String owner = id.substring(id.indexOf(':') + 1, ownerEnd);
    long used = ledger.standing(counter, nowMillis).used();
    body.put("event", spend ? "soft_budget_crossed" : "threshold_crossed");
    body.put("event_group", team ? "team" : "key");
    if (team) {
      body.put("team_id", owner);
    } else {
      body.put("token", owner);
      body.put("key_alias", keyAlias);
    }
    body.put("counter", id.substring(ownerEnd + 1));
    body.put("period_start", Instant.ofEpochMilli(counter.period().startMillis()).toString());
    body.put("reset_at", resetAt(counter.period()));
    String who = team ? "Team '" + owner + "'" : "Key '" + keyAlias + "'";
    if (spend) {
      body.put("spend", usd(used));
      body.put("soft_budget", usd(counter.alertAt()));
      if (counter.limit() != QuotaCounter.UNLIMITED) {
        body.put("max_budget", usd(counter.limit()));
      }
      body.put(
          "event_message",
          who
              + " crossed its soft budget: spend "
              + dollars(used)
              + " of soft budget "
              + dollars(counter.alertAt())
              + ".");
    } else {
      body.put("used", used);
      body.put("limit", counter.limit());
      body.put("threshold", counter.alertAt());
      body.put(
          "event_message",
          who + " used " + used + " of its " + describe(id) + " quota of " + counter.limit() + ".");
    }
    alerts.send(body);
  }

  private InvalidRequestException refusal(
      QuotaDecision decision, ApiKey key, Team team, long nowMillis) {
    QuotaCounter counter = decision.refusedBy().counter();
    String id = counter.id();
    boolean byTeam = id.startsWith("team:");
    String who = byTeam ? "Team '" + team.teamId() + "'" : "Key '" + key.displayName() + "'";
    long resetMillis = counter.period().endMillis();
    if (id.endsWith(SPEND)) {
      String resets =
          resetMillis == Long.MAX_VALUE
              ? " It has no budget_duration: raise max_budget to spend more."
              : " It resets at " + Instant.ofEpochMilli(resetMillis) + ".";
      ApiError error =
          new ApiError(
              400,
              "Budget has been exceeded! "
                  + who
                  + ": Current cost: "
                  + dollars(decision.counted())
                  + " (calls in flight included), this call: "
                  + dollars(decision.refusedBy().amount())
                  + ", Max budget: "
                  + dollars(counter.limit())
                  + "."
                  + resets,
              "budget_exceeded",
              null,
              "400");
      return new InvalidRequestException(error, Map.of("x-should-retry", "false"));
    }
    long waitMillis = resetMillis - nowMillis;
    long waitSeconds = RetryAdvice.seconds(waitMillis);
    boolean tokens = id.contains(TOKENS);
    ApiError error =
        new ApiError(
            429,
            who
                + " reached its "
                + describe(id)
                + " quota: "
                + decision.counted()
                + " of "
                + counter.limit()
                + " used"
                + (tokens ? ", this call needs " + decision.refusedBy().amount() : "")
                + ". It resets at "
                + Instant.ofEpochMilli(resetMillis)
                + " (in "
                + waitSeconds
                + "s).",
            tokens ? "tokens" : "requests",
            null,
            "quota_exceeded");
    return new InvalidRequestException(
        error, RetryAdvice.headers(waitMillis, configuration.get().filter().clientRetryMaxWait()));
  }

  private static String describe(String id) {
    String kind = id.contains(TOKENS) ? "tokens" : "requests";
    return (id.endsWith(":day") ? "daily " : "monthly ") + kind;
  }

  private static String resetAt(QuotaPeriod period) {
    return period.endMillis() == Long.MAX_VALUE
        ? null
        : Instant.ofEpochMilli(period.endMillis()).toString();
  }

  /** Nano-USD as {@code $0.000400}. */
  static String dollars(long nanos) {
    return String.format(Locale.ROOT, "$%.6f", usd(nanos));
  }
}
