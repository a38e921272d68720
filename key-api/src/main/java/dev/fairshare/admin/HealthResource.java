package dev.fairshare.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fairshare.FairShare;
import dev.fairshare.config.ConfigValues;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/**
 * {@code GET /health}: a real query on the key database and a round trip to the usage store (a
 * {@code PING} for Redis); 200 when both answer, 503 naming the part that does not. No secrets.
 */
@Path("health")
@Produces(MediaType.APPLICATION_JSON)
public final class HealthResource {

  private final FairShare fairShare;

  /** On the shared instance, for a JAX-RS application that lists this class. */
  public HealthResource() {
    this(FairShare.shared());
  }

  /** On {@code fairShare}. */
  public HealthResource(FairShare fairShare) {
    this.fairShare = fairShare;
  }

  @GET
  public Response health() {
    FairShare.Health health = fairShare.health();
    boolean keys = health.keyStore();
    boolean usage = health.usageStore();
    ObjectNode body = KeyJson.JSON.createObjectNode();
    body.put("status", keys && usage ? "healthy" : "unhealthy");
    body.put("key_store", keys ? "reachable" : "unreachable");
    body.put("usage_store", usage ? "reachable" : "unreachable");
    body.put("usage_store_kind", ConfigValues.configName(fairShare.config().store()));
    return Response.status(keys && usage ? 200 : 503)
        .entity(body.toString())
        .type(MediaType.APPLICATION_JSON)
        .build();
  }
}
