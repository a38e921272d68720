package dev.fairshare.admin;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import jakarta.ws.rs.container.ContainerResponseFilter;
import jakarta.ws.rs.ext.Provider;

/**
 * Marks every answer of the admin API as not to be stored ({@code Cache-Control: no-store}) and not
 * to be sniffed ({@code X-Content-Type-Options: nosniff}). Answers carry raw keys ({@code
 * /key/generate}, {@code /key/regenerate}) and usage: a cache in front of the application that
 * ignores {@code Authorization} would otherwise serve them to whoever asks for the same URL.
 */
@Provider
public final class NoStoreHeaders implements ContainerResponseFilter {

  @Override
  public void filter(ContainerRequestContext request, ContainerResponseContext response) {
    response.getHeaders().putSingle("Cache-Control", "no-store");
    response.getHeaders().putSingle("X-Content-Type-Options", "nosniff");
  }
}
