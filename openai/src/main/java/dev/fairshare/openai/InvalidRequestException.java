package dev.fairshare.openai;

/** A client request that cannot be accepted; carries the OpenAI-style error to answer with. */
public final class InvalidRequestException extends Exception {

  private static final long serialVersionUID = 1L;

  private final transient ApiError error;

  public InvalidRequestException(ApiError error) {
    super(error.message(), null, false, false);
    this.error = error;
  }

  public ApiError error() {
    return error;
  }
}
