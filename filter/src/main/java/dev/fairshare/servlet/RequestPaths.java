package dev.fairshare.servlet;

import dev.fairshare.openai.Endpoint;
import jakarta.servlet.http.HttpServletRequest;
import java.util.List;

/**
 * The filter's one view of a request's path: the container's decoded, normalised path ({@code
 * getServletPath() + getPathInfo()}), which is what the container routes on, never the raw URI.
 *
 * <p>A raw URI that is not in normal form ({@code ;} parameters, {@code %} escapes, dot segments,
 * {@code //}, a backslash, an absolute-form target) is refused when its normalised path is on a
 * limited prefix: containers normalise such forms differently (Jetty drops {@code ;x}, Undertow
 * collapses {@code //}), and an upstream behind a proxy may normalise them again, so the only safe
 * answer is a 400 that no client of a real OpenAI API ever needs to see.
 */
final class RequestPaths {

  private RequestPaths() {}

  /** The path within the application, decoded and normalised by the container. */
  static String canonical(HttpServletRequest request) {
    String servletPath = request.getServletPath();
    String pathInfo = request.getPathInfo();
    String path = (servletPath == null ? "" : servletPath) + (pathInfo == null ? "" : pathInfo);
    return path.isEmpty() ? "/" : path;
  }

  /**
   * True when the raw request URI is exactly the context path followed by {@code canonical} and
   * carries none of the forms containers rewrite.
   */
  static boolean isNormalForm(HttpServletRequest request, String canonical) {
    String raw = request.getRequestURI();
    if (raw == null) {
      return false;
    }
    if (!isPlain(raw)) {
      return false;
    }
    String context = request.getContextPath() == null ? "" : request.getContextPath();
    return raw.equals(context + canonical) || (canonical.equals("/") && raw.equals(context));
  }

  /** No parameters, escapes, backslashes, empty or dot segments, and only a path. */
  static boolean isPlain(String raw) {
    if (raw.isEmpty() || raw.charAt(0) != '/') {
      return false; // absolute-form ("http://host/...") or worse
    }
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c == ';' || c == '%' || c == '\\' || c < 0x21 || c > 0x7e) {
        return false;
      }
    }
    if (raw.contains("//")) {
      return false;
    }
    for (String segment : raw.split("/", -1)) {
      if (segment.equals(".") || segment.equals("..")) {
        return false;
      }
    }
    return true;
  }

  /**
   * True when {@code canonical} lies beneath a limited endpoint ({@code
   * /v1/chat/completions/chatcmpl-1/messages}, {@code /responses/resp_1/cancel}), with or without
   * {@code /v1}.
   */
  static boolean beneathEndpoint(String canonical, List<String> configuredPaths) {
    for (String configured : configuredPaths) {
      if (canonical.startsWith(configured + "/")
          || canonical.startsWith("/v1" + configured + "/")) {
        return true;
      }
    }
    return false;
  }

  /**
   * True when {@code method} on {@code canonical}, a path beneath a limited endpoint, is one of the
   * calls there that generate nothing: reading or deleting a stored completion or response (GET,
   * HEAD, DELETE), updating a stored chat completion's metadata ({@code POST
   * /chat/completions/{id}}), cancelling a response ({@code POST /responses/{id}/cancel}). Any
   * other (OpenAI's {@code POST /responses/compact} generates) cannot be classified, so it is not.
   */
  static boolean generatesNothing(String canonical, String method, List<String> configuredPaths) {
    if (method.equals("GET") || method.equals("HEAD") || method.equals("DELETE")) {
      return true;
    }
    if (!method.equals("POST")) {
      return false;
    }
    for (String configured : configuredPaths) {
      String rest = null;
      if (canonical.startsWith(configured + "/")) {
        rest = canonical.substring(configured.length() + 1);
      } else if (canonical.startsWith("/v1" + configured + "/")) {
        rest = canonical.substring(configured.length() + 4);
      }
      if (rest != null
          && (configured.endsWith("/chat/completions") && rest.matches("[^/]+")
              || rest.matches("[^/]+/cancel"))) {
        return true;
      }
    }
    return false;
  }

  /**
   * True when {@code canonical} is a limited endpoint or lies under one of the limited prefixes:
   * {@code /v1} and each configured path (with or without {@code /v1}).
   */
  static boolean onLimitedPrefix(String canonical, List<String> configuredPaths) {
    if (canonical.equals("/v1") || canonical.startsWith("/v1/")) {
      return true;
    }
    for (String configured : configuredPaths) {
      if (canonical.equals(configured) || canonical.startsWith(configured + "/")) {
        return true;
      }
    }
    return Endpoint.match(canonical, configuredPaths) != null;
  }
}
