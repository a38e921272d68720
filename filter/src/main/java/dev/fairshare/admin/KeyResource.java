package dev.fairshare.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fairshare.FairShare;
import dev.fairshare.keys.DuplicateKeyException;
import dev.fairshare.keys.GeneratedKey;
import dev.fairshare.keys.KeyCheck;
import dev.fairshare.keys.KeyHashing;
import dev.fairshare.keys.KeySpec;
import dev.fairshare.keys.KeyStoreException;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.InvalidRequestException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * LiteLLM-compatible key management under {@code /key}. Admin operations need the master key
 * ({@code Authorization: Bearer <master key>}, or {@code x-api-key}, {@code api-key}). Bodies are
 * parsed here (not by a JSON provider) so every error is OpenAI-shaped and names its field, on
 * any JAX-RS implementation.
 */
@Path("key")
@Produces(MediaType.APPLICATION_JSON)
public final class KeyResource {

  private static final Logger LOG = Logger.getLogger(KeyResource.class.getName());

  private final FairShare fairShare;

  public KeyResource(FairShare fairShare) {
    this.fairShare = fairShare;
  }

  /** {@code POST /key/generate}: mints a key; the raw key is in the answer, and nowhere else. */
  @POST
  @Path("generate")
  @Consumes({MediaType.APPLICATION_JSON, MediaType.TEXT_PLAIN, MediaType.WILDCARD})
  public Response generate(@Context HttpHeaders headers, String body) {
    try {
      requireMaster(headers);
      ObjectNode request = KeyJson.parseObject(body);
      KeySpec spec = KeyJson.spec(request);
      GeneratedKey generated = fairShare.keys().generate(spec);
      ObjectNode answer =
          KeyJson.render(generated.stored(), generated.rawKey(), KeyJson.text(request, "duration"));
      return Response.ok(answer.toString(), MediaType.APPLICATION_JSON).build();
    } catch (InvalidRequestException e) {
      return error(e.error());
    } catch (DuplicateKeyException e) {
      return error(ApiError.invalidRequest(400, e.getMessage(), e.field(), "duplicate_key"));
    } catch (KeyStoreException e) {
      LOG.log(Level.WARNING, "FairShare key store unavailable: {0}", e.getMessage());
      return error(ApiError.unavailable("The API key store is unavailable; please retry shortly."));
    }
  }

  /**
   * Checks the caller is the admin: 401 without a key or with an unknown one, 403 with a valid
   * ordinary key.
   */
  private void requireMaster(HttpHeaders headers) throws InvalidRequestException {
    String presented = AdminAuth.credentials(headers);
    if (presented == null) {
      throw new InvalidRequestException(
          ApiError.invalidApiKey("You didn't provide the master key. Send it as Authorization: Bearer <master key>."));
    }
    String master = fairShare.config().masterKey().orElse(null);
    if (master != null && KeyHashing.constantTimeEquals(presented, master)) {
      return;
    }
    KeyCheck check = fairShare.keys().authenticate(presented);
    if (check.valid()) {
      throw new InvalidRequestException(
          ApiError.permissionDenied("Key '" + check.key().displayName() + "' is not the master key; only the admin may manage keys."));
    }
    throw new InvalidRequestException(ApiError.invalidApiKey("Invalid master key."));
  }

  static Response error(ApiError error) {
    return Response.status(error.status()).entity(error.toJson()).type(MediaType.APPLICATION_JSON).build();
  }
}
