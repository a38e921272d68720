package dev.fairshare.servlet;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * The admin web page ({@code /ui/}): a few static files from the class path, served with a strict
 * content security policy (scripts and styles from this origin only, no inline code, no framing).
 * The page holds the master key in memory only and calls the key API, {@code /usage} and {@code
 * /usage/history} next to it. Map it at {@code /ui/*} (the gateway and the admin WAR do).
 */
public final class AdminPageServlet extends HttpServlet {

  private static final long serialVersionUID = 1L;

  /** The files, by name, with their content types; nothing else is served. */
  static final Map<String, String> FILES =
      Map.of(
          "index.html", "text/html; charset=utf-8",
          "app.js", "text/javascript; charset=utf-8",
          "app.css", "text/css; charset=utf-8",
          "favicon.svg", "image/svg+xml");

  static final String POLICY =
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
          + " img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

  @Override
  protected void doGet(HttpServletRequest request, HttpServletResponse response)
      throws IOException {
    String path = request.getPathInfo();
    if (path == null) {
      // /ui without the slash: the page's relative links need it. Built from the context and
      // servlet paths (the container's normalised view), never from the raw URI, which a
      // crafted request could make point elsewhere (//evil.example/..;/ui).
      response.sendRedirect(request.getContextPath() + request.getServletPath() + "/");
      return;
    }
    String name = path.equals("/") ? "index.html" : path.substring(1);
    String type = FILES.get(name);
    if (type == null) {
      response.sendError(404);
      return;
    }
    try (InputStream in = AdminPageServlet.class.getResourceAsStream("/dev/fairshare/ui/" + name)) {
      if (in == null) {
        response.sendError(404);
        return;
      }
      byte[] bytes = in.readAllBytes();
      response.setContentType(type);
      response.setHeader("Content-Security-Policy", POLICY);
      response.setHeader("X-Content-Type-Options", "nosniff");
      response.setHeader("Referrer-Policy", "no-referrer");
      response.setHeader("Cache-Control", "no-store");
      response.setContentLength(bytes.length);
      response.getOutputStream().write(bytes);
    }
  }
}
