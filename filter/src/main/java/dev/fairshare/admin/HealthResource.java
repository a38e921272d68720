package dev.fairshare.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fairshare.FairShare;
import dev.fairshare.config.ConfigValues;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/** {@code GET /health}: 200 when the key store answers, 503 when it does not. No secrets. */
@Path("health")
@Produces(MediaType.APPLICATION_JSON)
public final class HealthResource {

  private final FairShare fairShare;

  public HealthResource(FairShare fairShare) {
    this.fairShare = fairShare;
  }

  @GET
  public Response health() {
    boolean keys = fairShare.keys().isReachable();
    ObjectNode body = KeyJson.JSON.createObjectNode();
    body.put("status", keys ? "healthy" : "unhealthy");
    body.put("key_store", keys ? "reachable" : "unreachable");
    body.put("usage_store", ConfigValues.configName(fairShare.config().store()));
    return Response.status(keys ? 200 : 503)
        .entity(body.toString())
        .type(MediaType.APPLICATION_JSON)
        .build();
  }
}
