package dev.fairshare.gateway;

import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.ee10.proxy.ProxyServlet;
import org.eclipse.jetty.http.HttpHeader;

/**
 * Forwards the OpenAI paths to a real OpenAI-compatible server ({@code fairshare.gateway.upstream},
 * e.g. {@code https://api.openai.com/v1}) with Jetty's proxy servlet: {@code /chat/completions} and
 * {@code /v1/chat/completions} both go to {@code <upstream>/chat/completions}. The client's
 * FairShare key never leaves the gateway: the upstream gets {@code
 * fairshare.gateway.upstream-api-key} (or no credentials). Responses stream back as they arrive;
 * the upstream is asked for an uncompressed body so the filter can read its usage.
 */
public final class UpstreamProxyServlet extends ProxyServlet {

  private static final long serialVersionUID = 1L;
  private static final String[] CLIENT_KEY_HEADERS = {"x-api-key", "api-key", "x-litellm-api-key"};

  /**
   * Which of the operator's organisations and projects the upstream bills: the operator's choice
   * (its key's defaults), never a tenant's.
   */
  private static final String[] BILLING_HEADERS = {"OpenAI-Organization", "OpenAI-Project"};

  private final String upstream;
  private final transient String apiKey;

  /**
   * @param upstream base URL, without a trailing slash
   * @param apiKey the key to send upstream, or null
   */
  public UpstreamProxyServlet(String upstream, String apiKey) {
    this.upstream =
        upstream.endsWith("/") ? upstream.substring(0, upstream.length() - 1) : upstream;
    this.apiKey = apiKey;
  }

  /**
   * Only calls that spend tokens go upstream: a {@code GET} there (OpenAI lists the stored
   * completions of the operator's organisation) would let one tenant read another's.
   */
  @Override
  protected void service(
      HttpServletRequest request, jakarta.servlet.http.HttpServletResponse response)
      throws jakarta.servlet.ServletException, java.io.IOException {
    if (!"POST".equals(request.getMethod())) {
      byte[] body =
          "{\"error\":{\"message\":\"Only POST is forwarded to the upstream.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"method_not_allowed\"}}"
              .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      response.setStatus(405);
      response.setContentType("application/json");
      response.setContentLength(body.length);
      response.getOutputStream().write(body);
      return;
    }
    super.service(request, response);
  }

  /**
   * The upstream URL: the normalised path the container routed on (this servlet is mapped to the
   * exact endpoint paths, and RateLimitFilter refused any raw path not in normal form), never the
   * raw request URI.
   */
  @Override
  protected String rewriteTarget(HttpServletRequest request) {
    String path =
        request.getServletPath() + (request.getPathInfo() == null ? "" : request.getPathInfo());
    if (path.startsWith("/v1/")) {
      path = path.substring(3);
    }
    String query = request.getQueryString();
    return upstream + path + (query == null ? "" : "?" + query);
  }

  @Override
  protected void copyRequestHeaders(HttpServletRequest clientRequest, Request proxyRequest) {
    super.copyRequestHeaders(clientRequest, proxyRequest);
    proxyRequest.headers(
        headers -> {
          headers.remove(HttpHeader.ACCEPT_ENCODING);
          headers.remove(HttpHeader.AUTHORIZATION);
          for (String name : CLIENT_KEY_HEADERS) {
            headers.remove(name);
          }
          for (String name : BILLING_HEADERS) {
            headers.remove(name);
          }
          // A LiteLLM upstream reads its own controls from headers: the timeout (a call cut short
          // before fairshare.upstream-error-charge-after is released), retries, who is billed
          headers.stream()
              .map(org.eclipse.jetty.http.HttpField::getName)
              .filter(name -> name.regionMatches(true, 0, "x-litellm-", 0, 10))
              .toList()
              .forEach(headers::remove);
          if (apiKey != null) {
            headers.put(HttpHeader.AUTHORIZATION, "Bearer " + apiKey);
          }
        });
  }
}
