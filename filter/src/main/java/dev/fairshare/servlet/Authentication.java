package dev.fairshare.servlet;

import dev.fairshare.FairShare;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.keys.Credentials;
import dev.fairshare.keys.KeyCheck;
import dev.fairshare.keys.KeyHashing;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.InvalidRequestException;
import jakarta.servlet.http.HttpServletRequest;

/** The key a request presents in its headers, checked before any of its body is read. */
final class Authentication {

  private Authentication() {}

  /**
   * The valid key of {@code request}.
   *
   * @throws InvalidRequestException 401 without a key, or with an unknown, blocked or expired one
   */
  static ApiKey require(FairShare fairShare, HttpServletRequest request)
      throws InvalidRequestException {
    String raw = Credentials.from(request::getHeader);
    if (raw == null) {
      throw new InvalidRequestException(
          ApiError.invalidApiKey(
              "You didn't provide an API key. You need to provide your API key in an Authorization"
                  + " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."));
    }
    KeyCheck check = fairShare.keys().authenticate(raw);
    return switch (check.status()) {
      case VALID -> check.key();
      case UNKNOWN ->
          throw new InvalidRequestException(
              ApiError.invalidApiKey(
                  "Incorrect API key provided: " + KeyHashing.maskedName(raw) + "."));
      case BLOCKED ->
          throw new InvalidRequestException(
              ApiError.invalidApiKey("Key is blocked: '" + check.key().displayName() + "'."));
      case EXPIRED ->
          throw new InvalidRequestException(
              ApiError.invalidApiKey(
                  "Key '"
                      + check.key().displayName()
                      + "' expired at "
                      + check.key().expires()
                      + "."));
    };
  }
}
