package dev.fairshare.admin;

import jakarta.ws.rs.core.HttpHeaders;

/** Reads the caller's key from the admin request's headers. */
final class AdminAuth {

  private AdminAuth() {}

  /** The key from {@code Authorization: Bearer}, {@code x-api-key}, {@code api-key} or {@code x-litellm-api-key}. */
  static String credentials(HttpHeaders headers) {
    String authorization = headers.getHeaderString(HttpHeaders.AUTHORIZATION);
    if (authorization != null) {
      String value = authorization.trim();
      if (value.regionMatches(true, 0, "Bearer ", 0, 7)) {
        value = value.substring(7).trim();
      }
      if (!value.isEmpty()) {
        return value;
      }
    }
    for (String header : new String[] {"x-api-key", "api-key", "x-litellm-api-key"}) {
      String value = headers.getHeaderString(header);
      if (value != null && !value.isBlank()) {
        return value.trim();
      }
    }
    return null;
  }
}
