package dev.fairshare.admin;

import dev.fairshare.FairShare;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.keys.Credentials;
import dev.fairshare.keys.KeyCheck;
import dev.fairshare.openai.ApiError;
import dev.fairshare.openai.InvalidRequestException;
import jakarta.ws.rs.core.HttpHeaders;

/**
 * Who calls the key API: the admin (the master key, compared in constant time) or an ordinary key.
 *
 * @param admin true for the master key
 * @param key the ordinary key, or null for the admin
 */
record Caller(boolean admin, ApiKey key) {

  /** The caller the headers name: 401 without a key, with an unknown or a blocked one. */
  static Caller of(HttpHeaders headers, FairShare fairShare) throws InvalidRequestException {
    String presented = Credentials.from(headers::getHeaderString);
    if (presented == null) {
      throw new InvalidRequestException(
          ApiError.invalidApiKey(
              "You didn't provide a key. Send the master key as Authorization: Bearer <master key>."));
    }
    if (fairShare.config().isMasterKey(presented)) {
      return new Caller(true, null);
    }
    KeyCheck check = fairShare.keys().authenticate(presented);
    if (check.valid()) {
      // A blocked team's keys are refused here as at the filter (401), reads of their own included
      fairShare.admissionPolicy().requireTeamNotBlocked(check.key());
      return new Caller(false, check.key());
    }
    if (check.status() == KeyCheck.Status.BLOCKED) {
      throw new InvalidRequestException(
          ApiError.invalidApiKey("Key is blocked: '" + check.key().displayName() + "'."));
    }
    throw new InvalidRequestException(ApiError.invalidApiKey("Invalid master key or API key."));
  }

  /** 401 without a key or with an unknown one, 403 with a valid ordinary key. */
  static void requireAdmin(HttpHeaders headers, FairShare fairShare)
      throws InvalidRequestException {
    Caller caller = of(headers, fairShare);
    if (!caller.admin()) {
      throw new InvalidRequestException(
          ApiError.permissionDenied(
              "Key '"
                  + caller.key().displayName()
                  + "' is not the master key; only the admin may do this."));
    }
  }
}
