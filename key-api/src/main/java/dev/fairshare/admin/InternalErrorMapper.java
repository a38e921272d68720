package dev.fairshare.admin;

import dev.fairshare.openai.ApiError;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The last resort of the key API: an error nobody foresaw is answered 500 in OpenAI's shape and
 * logged as one line naming the exception, never with the request's URL (which may carry a raw key:
 * {@code /key/<key>/regenerate}) and never by the container with a stack trace.
 */
@Provider
public final class InternalErrorMapper implements ExceptionMapper<RuntimeException> {

  private static final Logger LOG = Logger.getLogger(InternalErrorMapper.class.getName());

  @Override
  public Response toResponse(RuntimeException exception) {
    if (exception instanceof jakarta.ws.rs.WebApplicationException web) {
      return new WebErrorMapper().toResponse(web);
    }
    LOG.log(Level.SEVERE, "FairShare key API failed: {0}", exception.getClass().getName());
    return KeyResource.error(
        new ApiError(
            500,
            "The key API failed; nothing was changed by this request.",
            "api_error",
            null,
            null));
  }
}
