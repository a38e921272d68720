package dev.fairshare.admin;

import dev.fairshare.openai.ApiError;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;

/** Answers JAX-RS's own errors (unknown path, wrong method, bad media type) in OpenAI's shape. */
@Provider
public final class WebErrorMapper implements ExceptionMapper<WebApplicationException> {

  @Override
  public Response toResponse(WebApplicationException exception) {
    int status = exception.getResponse().getStatus();
    String message =
        exception instanceof NotFoundException
            ? "Unknown path."
            : "The request was not accepted (HTTP " + status + ").";
    String code = status == 404 ? "not_found" : status == 405 ? "method_not_allowed" : null;
    return KeyResource.error(new ApiError(status, message, "invalid_request_error", null, code));
  }
}
