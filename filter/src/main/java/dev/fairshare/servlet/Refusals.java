package dev.fairshare.servlet;

import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.InvalidRequestException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/** Writes a refusal made before or after the body was read, without ever waiting on the body. */
final class Refusals {

  private Refusals() {}

  /**
   * Answers {@code error}. What is left of the body is read only as far as it has already arrived
   * (at most {@link UnreadBody#SMALL_BODY} bytes); a body that is larger, or still on its way, is
   * not waited for: the answer says {@code Connection: close} instead, so a slow or large body from
   * a caller without a key holds no thread.
   */
  /**
   * Answers {@code refusal}'s error with its headers ({@code retry-after}, {@code x-should-retry}).
   */
  static void write(
      HttpServletRequest request, HttpServletResponse response, InvalidRequestException refusal)
      throws IOException {
    refusal.headers().forEach(response::setHeader);
    write(request, response, refusal.error());
  }

  static void write(HttpServletRequest request, HttpServletResponse response, ApiError error)
      throws IOException {
    if (error.status() == 413) {
      response.setHeader("Connection", "close"); // the rest of the body is not worth reading
    } else {
      UnreadBody.discard(request, response);
    }
    ErrorResponses.write(response, error);
  }
}
