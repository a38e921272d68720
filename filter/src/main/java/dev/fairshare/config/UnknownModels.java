package dev.fairshare.config;

/**
 * What happens to a request for a model without configured capacity ({@code
 * fairshare.unknown-models}).
 */
public enum UnknownModels {
  /** Refused with 400 {@code model_not_found}; the default. */
  REJECT,
  /** Passed, counted in one shared window of unconfigured models. */
  ALLOW
}
