package dev.fairshare.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fairshare.FairShare;
import dev.fairshare.core.Allowance;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.keys.KeyStoreException;
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
import java.util.logging.Level;
import java.util.logging.Logger;

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

  private static final Logger LOG = Logger.getLogger(UsageResource.class.getName());

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
      LOG.log(Level.WARNING, "FairShare key store unavailable: {0}", e.getMessage());
      return KeyResource.error(
          ApiError.unavailable("The API key store is unavailable; please retry shortly."));
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
    if (k.key().isEmpty()) {
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
