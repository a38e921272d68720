package dev.fairshare.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fairshare.FairShare;
import dev.fairshare.config.FairShareConfig;
import dev.fairshare.config.ModelPrice;
import dev.fairshare.config.RuntimeLimits;
import dev.fairshare.core.ModelCapacity;
import dev.fairshare.keys.KeyStoreException;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.InvalidRequestException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /config/models} and {@code POST /config/models} (master key): the models' limits and
 * the priorities' weights in force, and changing them without a restart.
 *
 * <p>{@code POST} takes {@code {"models": [{"model": "gpt-4o", "tpm": 100000, "rpm": null}],
 * "priorities": {"prod": 2}}}: a number (or {@code "unlimited"}) sets the value, {@code null} goes
 * back to the configured one, a field left out stays as it is. The values are checked first: one
 * bad value is a 400 naming it, and nothing changes. They are stored in the key database (every
 * instance reads them at its next {@code fairshare.config-refresh}, a restart keeps them) and apply
 * here at once: requests decided from now on get the new shares; reservations already made stay.
 */
@Path("config")
@Produces(MediaType.APPLICATION_JSON)
public final class ConfigResource {

  /** The most models and priorities one request may set. */
  static final int MAX_ENTRIES = 1_000;

  private final FairShare fairShare;

  /** On the shared instance, for a JAX-RS application that lists this class. */
  public ConfigResource() {
    this(FairShare.shared());
  }

  /** On {@code fairShare}. */
  public ConfigResource(FairShare fairShare) {
    this.fairShare = fairShare;
  }

  @GET
  @Path("models")
  public Response models(@Context HttpHeaders headers) {
    try {
      Caller.requireAdmin(headers, fairShare);
      return Response.ok(current().toString(), MediaType.APPLICATION_JSON).build();
    } catch (InvalidRequestException e) {
      return KeyResource.error(e.error());
    } catch (KeyStoreException e) {
      return KeyResource.keyStoreUnavailable(e);
    }
  }

  @POST
  @Path("models")
  @Consumes(MediaType.WILDCARD)
  public Response set(@Context HttpHeaders headers, String body) {
    try {
      Caller.requireAdmin(headers, fairShare);
      ObjectNode request = KeyJson.parseObject(body);
      Map<String, String> set = new LinkedHashMap<>();
      List<String> remove = new ArrayList<>();
      read(request, set, remove);
      fairShare.setRuntimeLimits(set, remove);
      return Response.ok(current().toString(), MediaType.APPLICATION_JSON).build();
    } catch (InvalidRequestException e) {
      return KeyResource.error(e.error());
    } catch (KeyStoreException e) {
      return KeyResource.keyStoreUnavailable(e);
    }
  }

  /** Checks the whole request into {@code set} and {@code remove}; the first bad value is a 400. */
  private void read(ObjectNode request, Map<String, String> set, List<String> remove)
      throws InvalidRequestException {
    for (Iterator<String> fields = request.fieldNames(); fields.hasNext(); ) {
      String field = fields.next();
      if (!List.of("models", "priorities", "saturation_threshold").contains(field)) {
        throw invalid(
            field,
            "Unknown field '"
                + field
                + "': set 'models', 'priorities' and 'saturation_threshold' only.");
      }
    }
    JsonNode models = request.get("models");
    JsonNode priorities = request.get("priorities");
    if ((models == null || models.isNull())
        && (priorities == null || priorities.isNull())
        && !request.has("saturation_threshold")) {
      throw invalid(
          "models", "Nothing to change: give 'models', 'priorities' or 'saturation_threshold'.");
    }
    if (request.has("saturation_threshold")) {
      JsonNode t = request.get("saturation_threshold");
      if (t.isNull()) {
        remove.add(RuntimeLimits.THRESHOLD);
      } else if (!t.isNumber() || RuntimeLimits.threshold(t.asText()) == null) {
        throw invalid(
            "saturation_threshold",
            "saturation_threshold must be above 0 and at most 1, or null to go back to the"
                + " configured one; was "
                + t
                + ".");
      } else {
        set.put(RuntimeLimits.THRESHOLD, Double.toString(t.asDouble()));
      }
    }
    FairShareConfig config = fairShare.config();
    if (models != null && !models.isNull()) {
      if (!models.isArray()) {
        throw invalid("models", "'models' must be a list of {\"model\", \"tpm\", \"rpm\"}.");
      }
      if (models.size() > MAX_ENTRIES) {
        throw invalid("models", "At most " + MAX_ENTRIES + " models at once.");
      }
      for (int i = 0; i < models.size(); i++) {
        String at = "models[" + i + "]";
        JsonNode entry = models.get(i);
        if (!entry.isObject()) {
          throw invalid(at, at + " must be an object {\"model\", \"tpm\", \"rpm\"}.");
        }
        for (Iterator<String> fields = entry.fieldNames(); fields.hasNext(); ) {
          String field = fields.next();
          if (!List.of("model", "tpm", "rpm", "input_cost_per_token", "output_cost_per_token")
              .contains(field)) {
            throw invalid(at + "." + field, "Unknown field " + at + "." + field + ".");
          }
        }
        JsonNode name = entry.get("model");
        if (name == null || !name.isTextual() || !RuntimeLimits.validName(name.asText())) {
          throw invalid(
              at + ".model",
              at
                  + ".model must name the model: 1 to "
                  + RuntimeLimits.MAX_NAME
                  + " letters, digits and . _ : / @ + - (not a fairshare: name).");
        }
        String model = config.resolveModel(name.asText());
        if (!entry.has("tpm")
            && !entry.has("rpm")
            && !entry.has("input_cost_per_token")
            && !entry.has("output_cost_per_token")) {
          throw invalid(
              at,
              at + " sets none of 'tpm', 'rpm', 'input_cost_per_token', 'output_cost_per_token'.");
        }
        for (String kind : List.of("input", "output")) {
          String field = kind + "_cost_per_token";
          if (!entry.has(field)) {
            continue;
          }
          String key = RuntimeLimits.priceKey(model, kind);
          JsonNode value = entry.get(field);
          if (value.isNull()) {
            remove.add(key);
          } else if (!value.isNumber() || ModelPrice.perToken(value.asText()) == null) {
            throw invalid(
                at + "." + field,
                at
                    + "."
                    + field
                    + " must be USD per token from 0 to "
                    + ModelPrice.MAX_PER_TOKEN
                    + ", or null to go back to the configured price; was "
                    + value
                    + ".");
          } else {
            set.put(key, value.asText());
          }
        }
        for (String dimension : List.of("tpm", "rpm")) {
          if (!entry.has(dimension)) {
            continue;
          }
          String key = RuntimeLimits.modelKey(model, dimension);
          JsonNode value = entry.get(dimension);
          if (value.isNull()) {
            remove.add(key);
          } else {
            String text = value.isIntegralNumber() || value.isTextual() ? value.asText() : "";
            if (RuntimeLimits.capacity(text) == null) {
              throw invalid(
                  at + "." + dimension,
                  at
                      + "."
                      + dimension
                      + " must be a whole number from 0 to "
                      + RuntimeLimits.MAX_CAPACITY
                      + ", \"unlimited\", or null to go back to the configured value; was "
                      + value
                      + ".");
            }
            set.put(key, text);
          }
        }
      }
    }
    if (priorities != null && !priorities.isNull()) {
      if (!priorities.isObject()) {
        throw invalid("priorities", "'priorities' must be an object {\"name\": weight}.");
      }
      if (priorities.size() > MAX_ENTRIES) {
        throw invalid("priorities", "At most " + MAX_ENTRIES + " priorities at once.");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = priorities.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String at = "priorities." + e.getKey();
        if (!RuntimeLimits.validName(e.getKey())) {
          throw invalid(
              at, "Priority names are 1 to 255 letters, digits and . _ : / @ + - characters.");
        }
        String key = RuntimeLimits.priorityKey(e.getKey());
        if (e.getValue().isNull()) {
          remove.add(key);
        } else if (!e.getValue().isNumber()
            || RuntimeLimits.weight(e.getValue().asText()) == null) {
          throw invalid(
              at,
              at
                  + " must be a weight from 0.000001 to 1000000, or null to go back to the"
                  + " configured one; was "
                  + e.getValue()
                  + ".");
        } else {
          set.put(key, Double.toString(e.getValue().asDouble()));
        }
      }
    }
  }

  private static InvalidRequestException invalid(String param, String message) {
    return new InvalidRequestException(
        ApiError.invalidRequest(400, message, param, "invalid_limits"));
  }

  /** The limits in force, and which were set at run time. */
  private ObjectNode current() {
    FairShareConfig config = fairShare.config();
    Map<String, String> runtime = fairShare.keys().runtimeLimits();
    ObjectNode body = KeyJson.JSON.createObjectNode();
    ArrayNode models = body.putArray("models");
    for (Map.Entry<String, ModelCapacity> e :
        new TreeMap<>(config.models().capacities()).entrySet()) {
      ObjectNode m = models.addObject();
      m.put("model", e.getKey());
      limit(m, "tpm", e.getValue().tokens());
      limit(m, "rpm", e.getValue().requests());
      ModelPrice price = config.models().priceOf(e.getKey());
      m.put("input_cost_per_token", price.inputPerToken());
      m.put("output_cost_per_token", price.outputPerToken());
      ArrayNode fromRuntime = m.putArray("set_at_run_time");
      for (String dimension : List.of("tpm", "rpm")) {
        if (runtime.containsKey(RuntimeLimits.modelKey(e.getKey(), dimension))) {
          fromRuntime.add(dimension);
        }
      }
      for (String kind : List.of("input", "output")) {
        if (runtime.containsKey(RuntimeLimits.priceKey(e.getKey(), kind))) {
          fromRuntime.add(kind + "_cost_per_token");
        }
      }
    }
    ObjectNode priorities = body.putObject("priorities");
    new TreeMap<>(config.priorities().weights()).forEach(priorities::put);
    body.put("default_priority_weight", config.priorities().defaultWeight());
    body.put("saturation_threshold", config.engine().saturationThreshold());
    body.put("saturation_threshold_set_at_run_time", runtime.containsKey(RuntimeLimits.THRESHOLD));
    return body;
  }

  private static void limit(ObjectNode node, String field, long value) {
    if (value == ModelCapacity.UNLIMITED) {
      node.put(field, "unlimited");
    } else {
      node.put(field, value);
    }
  }
}
