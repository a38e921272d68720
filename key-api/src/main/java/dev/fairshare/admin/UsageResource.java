package dev.fairshare.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fairshare.FairShare;
import dev.fairshare.core.Allowance;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.keys.KeyStoreException;
import dev.fairshare.keys.UsageRow;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.InvalidRequestException;
import dev.fairshare.usage.LiveUsage;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * {@code GET /usage[?model=]} (master key): the live share table ({@link LiveUsage}) as JSON. For
 * each model its capacity and use in the window; for each key active in it: alias, weight, share,
 * used (reservations included), reserved (by its calls in flight), remaining, calls in flight,
 * calls waiting in this instance's waiting room, and calls the model refused it in the window.
 * Limits that do not apply are null.
 */
@Path("usage")
@Produces(MediaType.APPLICATION_JSON)
public final class UsageResource {

  private final FairShare fairShare;

  /** On the shared instance, for a JAX-RS application that lists this class. */
  public UsageResource() {
    this(FairShare.shared());
  }

  /** On {@code fairShare}. */
  public UsageResource(FairShare fairShare) {
    this.fairShare = fairShare;
  }

  @GET
  public Response usage(@Context HttpHeaders headers, @QueryParam("model") String model) {
    try {
      Caller.requireAdmin(headers, fairShare);
      ObjectNode body = KeyJson.JSON.createObjectNode();
      body.put("window_seconds", fairShare.config().engine().effectiveWindowMillis() / 1000.0);
      ArrayNode models = body.putArray("models");
      for (LiveUsage.ModelUsage m : LiveUsage.of(fairShare, model)) {
        models.add(model(m));
      }
      return Response.ok(body.toString(), MediaType.APPLICATION_JSON).build();
    } catch (InvalidRequestException e) {
      return KeyResource.error(e.error());
    } catch (KeyStoreException e) {
      return KeyResource.keyStoreUnavailable(e);
    }
  }

  /** The longest range {@code /usage/history} answers at once. */
  static final Duration MAX_HISTORY_RANGE = Duration.ofDays(92);

  /**
   * {@code GET /usage/history?key=&model=&from=&to=}: a key's hourly rows (tokens in and out,
   * calls, refusals), as written every {@code fairshare.usage.flush-interval}. {@code key}: the
   * key, its hash or its alias (the master key without it: every key's rows, each with its token
   * and alias); the master key may ask about any key, an ordinary key about itself only (others are
   * "not found"). {@code from} and {@code to}: ISO-8601 instants or epoch milliseconds; by default
   * the last 24 hours; at most 92 days.
   */
  @GET
  @Path("history")
  public Response history(
      @Context HttpHeaders headers,
      @QueryParam("key") String key,
      @QueryParam("model") String model,
      @QueryParam("from") String from,
      @QueryParam("to") String to) {
    try {
      Caller caller = Caller.of(headers, fairShare);
      // The master key without a key: every key's rows
      ApiKey found =
          caller.admin() && (key == null || key.isBlank()) ? null : keyNamed(key, caller);
      long now = fairShare.clock().millis();
      // By default up to the end of the current hour: its row is counting now
      long toMillis =
          to == null || to.isBlank()
              ? UsageRow.hourOf(now) + UsageRow.HOUR_MILLIS
              : instant(to, "to");
      long fromMillis =
          from == null || from.isBlank()
              ? toMillis - Duration.ofDays(1).toMillis()
              : instant(from, "from");
      if (fromMillis > toMillis) {
        throw new InvalidRequestException(
            ApiError.invalidRequest(400, "'from' is after 'to'.", "from", null));
      }
      // Each bound checked on its own: their difference could overflow
      if (fromMillis < toMillis - MAX_HISTORY_RANGE.toMillis()
          || toMillis > Instant.parse("9999-12-31T00:00:00Z").toEpochMilli()
          || fromMillis < 0) {
        throw new InvalidRequestException(
            ApiError.invalidRequest(
                400, "Ask for at most 92 days at once, from 1970 to 9999.", "from", null));
      }
      String counted =
          model == null || model.isBlank()
              ? null
              : fairShare.config().countedAs(fairShare.config().resolveModel(model));
      ObjectNode body = KeyJson.JSON.createObjectNode();
      if (found != null) {
        body.put("token", found.token());
        body.put("key_alias", found.keyAlias());
      }
      body.put("from", Instant.ofEpochMilli(fromMillis).toString());
      body.put("to", Instant.ofEpochMilli(toMillis).toString());
      ArrayNode rows = body.putArray("rows");
      Map<String, Optional<ApiKey>> keys = new HashMap<>();
      for (UsageRow row :
          fairShare
              .keys()
              .usageHistory(
                  found == null ? null : found.token(),
                  counted,
                  UsageRow.hourOf(fromMillis),
                  toMillis)) {
        ObjectNode r = rows.addObject();
        if (found == null) {
          Optional<ApiKey> k = keys.computeIfAbsent(row.token(), t -> fairShare.keys().find(t));
          r.put("token", row.token());
          r.put("key_alias", k.map(ApiKey::keyAlias).orElse(null));
          r.put("key_name", k.map(ApiKey::keyName).orElse(null));
        }
        r.put("hour", Instant.ofEpochMilli(row.hourStartMillis()).toString());
        r.put("model", row.model());
        r.put("input_tokens", row.inputTokens());
        r.put("output_tokens", row.outputTokens());
        r.put("calls", row.calls());
        r.put("refusals", row.refusals());
      }
      return Response.ok(body.toString(), MediaType.APPLICATION_JSON).build();
    } catch (InvalidRequestException e) {
      return KeyResource.error(e.error());
    } catch (KeyStoreException e) {
      return KeyResource.keyStoreUnavailable(e);
    }
  }

  /** The key {@code ref} names (key, hash or alias), as {@code caller} may see it. */
  private ApiKey keyNamed(String ref, Caller caller) throws InvalidRequestException {
    if (ref == null || ref.isBlank()) {
      if (caller.key() == null) {
        throw new InvalidRequestException(
            ApiError.invalidRequest(
                400,
                "Name the key: GET /usage/history?key=<key, its hash or its alias>.",
                "key",
                null));
      }
      return caller.key();
    }
    Optional<ApiKey> key = fairShare.keys().find(ref);
    if (key.isEmpty()) {
      key = fairShare.keys().findByAlias(ref);
    }
    if (key.isEmpty() || (!caller.admin() && !caller.key().token().equals(key.get().token()))) {
      // The same answer for a key that does not exist: an ordinary key learns nothing of others.
      throw KeyResource.notFound(ref);
    }
    return key.get();
  }

  /** An ISO-8601 instant or epoch milliseconds. */
  private static long instant(String text, String param) throws InvalidRequestException {
    String t = text.strip();
    try {
      if (t.matches("-?\\d{1,15}")) {
        return Long.parseLong(t);
      }
      return Instant.parse(t).toEpochMilli();
    } catch (DateTimeParseException | NumberFormatException | ArithmeticException e) {
      throw new InvalidRequestException(
          ApiError.invalidRequest(
              400,
              "'"
                  + param
                  + "' must be an ISO-8601 instant (2026-12-06T10:00:00Z) or epoch milliseconds.",
              param,
              null));
    }
  }

  private static ObjectNode model(LiveUsage.ModelUsage m) {
    ObjectNode node = KeyJson.JSON.createObjectNode();
    node.put("model", m.model());
    limit(node, "tpm", m.capacity().tokens());
    limit(node, "rpm", m.capacity().requests());
    node.put("used_tokens", m.usedTokens());
    node.put("used_requests", m.usedRequests());
    node.put("active_keys", m.keys().size());
    node.put("waiting", m.waiting());
    ArrayNode keys = node.putArray("keys");
    for (LiveUsage.KeyUsage k : m.keys()) {
      keys.add(row(k));
    }
    return node;
  }

  private static ObjectNode row(LiveUsage.KeyUsage k) {
    ObjectNode row = KeyJson.JSON.createObjectNode();
    row.put("token", k.token());
    row.put("key_alias", k.key().map(ApiKey::keyAlias).orElse(null));
    row.put("key_name", k.key().map(ApiKey::keyName).orElse(null));
    if (LiveUsage.isGroup(k.token())) {
      row.put("group", true); // a team (or the keys without one) as the model's user
    } else if (k.key().isEmpty()) {
      row.put("deleted", true);
    }
    row.put("weight", k.weight());
    Allowance tokens = k.standing().usage().tokens();
    Allowance requests = k.standing().usage().requests();
    limit(row, "share_tokens", tokens.limit());
    row.put("used_tokens", tokens.used());
    row.put("reserved_tokens", k.standing().reservedTokens());
    limit(row, "remaining_tokens", tokens.remaining());
    limit(row, "share_requests", requests.limit());
    row.put("used_requests", requests.used());
    limit(row, "remaining_requests", requests.remaining());
    row.put("in_flight", k.standing().inFlight());
    row.put("waiting", k.waiting());
    row.put("refusals", k.standing().refusals());
    return row;
  }

  /** A limit, or null when unlimited. */
  private static void limit(ObjectNode node, String field, long value) {
    if (value == ModelCapacity.UNLIMITED) {
      node.putNull(field);
    } else {
      node.put(field, value);
    }
  }
}
