package dev.fairshare.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * An error in OpenAI's shape: {@code {"error":{"message","type","param","code"}}} with its HTTP
 * status. Messages are for people and logs; they never contain a raw key or the master key.
 *
 * @param status HTTP status
 * @param message human-readable explanation
 * @param type OpenAI's error type ({@code invalid_request_error}, {@code tokens}, ...)
 * @param param the request field at fault, or null
 * @param code machine-readable code ({@code invalid_api_key}, {@code rate_limit_exceeded}, ...), or
 *     null
 */
public record ApiError(int status, String message, String type, String param, String code) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public static ApiError invalidRequest(int status, String message, String param, String code) {
    return new ApiError(status, message, "invalid_request_error", param, code);
  }

  public static ApiError invalidApiKey(String message) {
    return new ApiError(401, message, "invalid_request_error", null, "invalid_api_key");
  }

  public static ApiError permissionDenied(String message) {
    return new ApiError(403, message, "permission_error", null, "permission_denied");
  }

  public static ApiError unavailable(String message) {
    return new ApiError(503, message, "server_error", null, "service_unavailable");
  }

  /** The JSON body. */
  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode error = root.putObject("error");
    error.put("message", message);
    error.put("type", type);
    error.put("param", param);
    error.put("code", code);
    return root.toString();
  }
}
