package dev.fairshare.servlet;

import dev.fairshare.openai.ApiError;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Writes an {@link ApiError} as the response, unless the response is already committed. */
final class ErrorResponses {

  private ErrorResponses() {}

  static void write(HttpServletResponse response, ApiError error) throws IOException {
    if (response.isCommitted()) {
      return;
    }
    byte[] body = error.toJson().getBytes(StandardCharsets.UTF_8);
    response.setStatus(error.status());
    response.setContentType("application/json");
    response.setCharacterEncoding("UTF-8");
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
  }
}
