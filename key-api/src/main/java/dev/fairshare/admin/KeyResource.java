package dev.fairshare.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fairshare.FairShare;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.keys.DuplicateKeyException;
import dev.fairshare.keys.GeneratedKey;
import dev.fairshare.keys.KeyHashing;
import dev.fairshare.keys.KeySpec;
import dev.fairshare.keys.KeyStoreException;
import dev.fairshare.keys.SpendRow;
import dev.fairshare.keys.UsageRow;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.InvalidRequestException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * LiteLLM-compatible key management under {@code /key}: generate, info, update, delete, list,
 * regenerate, block, unblock. Admin operations need the master key ({@code Authorization: Bearer
 * <master key>}, or {@code x-api-key}, {@code api-key}); an ordinary key gets 403, except for
 * {@code GET /key/info} about itself. Keys are named raw or by their sha256 hash. Bodies are parsed
 * here (not by a JSON provider) so every error is OpenAI-shaped and names its field, on any JAX-RS
 * implementation.
 */
@Path("key")
@Produces(MediaType.APPLICATION_JSON)
@Consumes({MediaType.APPLICATION_JSON, MediaType.TEXT_PLAIN, MediaType.WILDCARD})
public final class KeyResource {

  private static final Logger LOG = Logger.getLogger(KeyResource.class.getName());
  private static final int MAX_PAGE_SIZE = 100;

  private final FairShare fairShare;

  /** On the shared instance, for a JAX-RS application that lists this class. */
  public KeyResource() {
    this(FairShare.shared());
  }

  /** On {@code fairShare}. */
  public KeyResource(FairShare fairShare) {
    this.fairShare = fairShare;
  }

  /** {@code POST /key/generate}: mints a key; the raw key is in the answer, and nowhere else. */
  @POST
  @Path("generate")
  public Response generate(@Context HttpHeaders headers, String body) {
    return respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          ObjectNode request = KeyJson.parseObject(body);
          KeySpec spec = KeyJson.spec(request);
          requireTeam(spec.teamId());
          GeneratedKey generated = fairShare.keys().generate(spec);
          return render(
              generated.stored(), generated.rawKey(), KeyFields.text(request, "duration"));
        });
  }

  /**
   * {@code GET /key/info?key=}: a key's record. Without {@code key}, the caller's own; an ordinary
   * key may only ask about itself.
   */
  @GET
  @Path("info")
  public Response info(@Context HttpHeaders headers, @QueryParam("key") String key) {
    return respond(
        () -> {
          Caller caller = Caller.of(headers, fairShare);
          ApiKey found;
          if (key == null || key.isBlank()) {
            if (caller.key() == null) {
              throw new InvalidRequestException(
                  ApiError.invalidRequest(
                      400, "Name the key: GET /key/info?key=<key or its hash>.", "key", null));
            }
            found = caller.key();
          } else {
            found = existing(key);
            if (!caller.admin() && !caller.key().token().equals(found.token())) {
              // The same answer as for a key that does not exist: an ordinary key learns nothing
              // about the keys of others.
              throw notFound(key);
            }
          }
          ObjectNode answer = KeyJson.JSON.createObjectNode();
          answer.put("key", key == null || key.isBlank() ? found.token() : key);
          ObjectNode info = render(found, null, null);
          // The history's totals per model (written every fairshare.usage.flush-interval)
          ArrayNode totals = info.putArray("usage_totals");
          for (UsageRow row : fairShare.keys().usageTotals(found.token())) {
            ObjectNode t = totals.addObject();
            t.put("model", row.model());
            t.put("input_tokens", row.inputTokens());
            t.put("output_tokens", row.outputTokens());
            t.put("calls", row.calls());
            t.put("refusals", row.refusals());
          }
          answer.set("info", info);
          return answer;
        });
  }

  /** {@code POST /key/update}: changes the fields given; the key itself stays the same. */
  @POST
  @Path("update")
  public Response update(@Context HttpHeaders headers, String body) {
    return respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          ObjectNode request = KeyJson.parseObject(body);
          ApiKey key = existing(requiredKey(request));
          ApiKey changed = KeyJson.update(key, request, fairShare.keys().now());
          if (request.has("team_id")) {
            requireTeam(changed.teamId());
          }
          if (!fairShare.keys().update(changed)) {
            throw notFound(requiredKey(request));
          }
          return render(changed, null, KeyFields.text(request, "duration"));
        });
  }

  /** {@code POST /key/delete}: by {@code keys} or {@code key_aliases}; all or none. */
  @POST
  @Path("delete")
  public Response delete(@Context HttpHeaders headers, String body) {
    return respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          ObjectNode request = KeyJson.parseObject(body);
          List<String> named;
          List<String> tokens = new ArrayList<>();
          if (request.has("keys")) {
            named = KeyFields.stringList(request, "keys");
            for (String ref : named) {
              tokens.add(existing(ref).token());
            }
          } else if (request.has("key_aliases")) {
            named = KeyFields.stringList(request, "key_aliases");
            for (String alias : named) {
              tokens.add(
                  fairShare
                      .keys()
                      .findByAlias(alias)
                      .orElseThrow(
                          () -> notFound("key_aliases", "No key has the alias '" + alias + "'."))
                      .token());
            }
          } else {
            throw KeyFields.invalid("Name the keys to delete in 'keys' or 'key_aliases'.", "keys");
          }
          fairShare.keys().delete(tokens);
          ObjectNode answer = KeyJson.JSON.createObjectNode();
          ArrayNode deleted = answer.putArray("deleted_keys");
          named.forEach(deleted::add);
          return answer;
        });
  }

  /**
   * {@code GET /key/list}: a page of keys (hashes, or full records with {@code
   * return_full_object}).
   */
  @GET
  @Path("list")
  public Response list(
      @Context HttpHeaders headers,
      @QueryParam("page") String pageText,
      @QueryParam("size") String sizeText,
      @QueryParam("key_alias") String alias,
      @QueryParam("return_full_object") String fullText) {
    return respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          int page = KeyFields.wholeNumber(pageText, "page", 1, Integer.MAX_VALUE);
          int size = KeyFields.wholeNumber(sizeText, "size", 10, MAX_PAGE_SIZE);
          boolean full = "true".equalsIgnoreCase(fullText);
          String filter = alias == null || alias.isBlank() ? null : alias;
          long total = fairShare.keys().count(filter);
          List<ApiKey> keys =
              fairShare
                  .keys()
                  .list((int) Math.min(Integer.MAX_VALUE, (long) (page - 1) * size), size, filter);
          ObjectNode answer = KeyJson.JSON.createObjectNode();
          ArrayNode array = answer.putArray("keys");
          for (ApiKey key : keys) {
            if (full) {
              array.add(render(key, null, null));
            } else {
              array.add(key.token());
            }
          }
          answer.put("total_count", total);
          answer.put("current_page", page);
          answer.put("total_pages", (total + size - 1) / size);
          return answer;
        });
  }

  /** {@code POST /key/regenerate}: {@code {"key", "new_key"?, "grace_period"?}}. */
  @POST
  @Path("regenerate")
  public Response regenerate(@Context HttpHeaders headers, String body) {
    return respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          ObjectNode request = KeyJson.parseObject(body);
          return regenerate(requiredKey(request), request);
        });
  }

  /** {@code POST /key/{key}/regenerate}: the same with the key in the path. */
  @POST
  @Path("{key}/regenerate")
  public Response regenerateByPath(
      @Context HttpHeaders headers, @PathParam("key") String key, String body) {
    return respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          return regenerate(key, KeyJson.parseObject(body));
        });
  }

  /** {@code POST /key/block}: the key gets 401 "Key is blocked" until unblocked. */
  @POST
  @Path("block")
  public Response block(@Context HttpHeaders headers, String body) {
    return setBlocked(headers, body, true);
  }

  /** {@code POST /key/unblock}. */
  @POST
  @Path("unblock")
  public Response unblock(@Context HttpHeaders headers, String body) {
    return setBlocked(headers, body, false);
  }

  private Response setBlocked(HttpHeaders headers, String body, boolean blocked) {
    return respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          ObjectNode request = KeyJson.parseObject(body);
          ApiKey key = existing(requiredKey(request));
          ApiKey changed = key.withBlocked(blocked, fairShare.keys().now());
          fairShare.keys().update(changed);
          return render(changed, null, null);
        });
  }

  private JsonNode regenerate(String ref, ObjectNode request) throws InvalidRequestException {
    ApiKey key = existing(ref);
    String newKey = KeyFields.customKey(request, "new_key");
    try {
      // What the key spent so far goes to the database first: the regenerated key is read from
      // there (only calls still in flight now are counted under the old key).
      fairShare.spend().flush();
    } catch (RuntimeException e) {
      throw new KeyStoreException("cannot persist the key's spend before regenerating it", e);
    }
    Duration grace = KeyFields.durationField(request, "grace_period");
    GeneratedKey regenerated =
        fairShare.keys().regenerate(key, newKey, grace).orElseThrow(() -> notFound(ref));
    return render(regenerated.stored(), regenerated.rawKey(), null);
  }

  // ---------------------------------------------------------------- helpers

  /** The key's record, with its budget fields and live spend. */
  private ObjectNode render(ApiKey key, String rawKey, String duration) {
    ObjectNode out = KeyJson.render(key, rawKey, duration);
    QuotaFields.render(out, key.quotas(), SpendRow.keyOwner(key.token()), fairShare);
    return out;
  }

  /** 400 when {@code teamId} names no team: a key must not join a team that is not there. */
  private void requireTeam(String teamId) throws InvalidRequestException {
    if (teamId != null && fairShare.keys().findTeam(teamId).isEmpty()) {
      throw KeyFields.invalid(
          "team_id '" + teamId + "' does not exist; create it first with POST /team/new.",
          "team_id");
    }
  }

  private static String requiredKey(ObjectNode request) throws InvalidRequestException {
    String key = KeyFields.text(request, "key");
    if (key == null || key.isBlank()) {
      throw KeyFields.invalid("'key' is required: the key or its sha256 hash.", "key");
    }
    return key;
  }

  private ApiKey existing(String ref) throws InvalidRequestException {
    Optional<ApiKey> key = fairShare.keys().find(ref);
    if (key.isEmpty()) {
      throw notFound(ref);
    }
    return key.get();
  }

  /** 404 for the key {@code ref} names, shown as its hash or masked, never raw. */
  static InvalidRequestException notFound(String ref) {
    String shown = KeyHashing.isHash(ref) ? ref : KeyHashing.maskedName(ref);
    return notFound("key", "Key not found: " + shown + ".");
  }

  static InvalidRequestException notFound(String param, String message) {
    return new InvalidRequestException(
        new ApiError(404, message, "not_found_error", param, "not_found"));
  }

  /** One admin operation: its JSON answer, or an error. */
  @FunctionalInterface
  interface Operation {
    JsonNode run() throws InvalidRequestException;
  }

  static Response respond(Operation operation) {
    try {
      return Response.ok(operation.run().toString(), MediaType.APPLICATION_JSON).build();
    } catch (InvalidRequestException e) {
      return error(e.error());
    } catch (DuplicateKeyException e) {
      return error(ApiError.invalidRequest(400, e.getMessage(), e.field(), "duplicate_key"));
    } catch (dev.fairshare.keys.TeamInUseException e) {
      return error(ApiError.invalidRequest(400, e.getMessage(), "team_ids", "team_in_use"));
    } catch (KeyStoreException e) {
      return keyStoreUnavailable(e);
    }
  }

  /** A 503 for the key database away, logged (its message only: no key is in it). */
  static Response keyStoreUnavailable(KeyStoreException e) {
    LOG.log(Level.WARNING, "FairShare key store unavailable: {0}", e.getMessage());
    return error(ApiError.unavailable("The API key store is unavailable; please retry shortly."));
  }

  static Response error(ApiError error) {
    return Response.status(error.status())
        .entity(error.toJson())
        .type(MediaType.APPLICATION_JSON)
        .build();
  }
}
