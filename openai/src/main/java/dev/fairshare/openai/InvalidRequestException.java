package dev.fairshare.openai;

/** A client request that cannot be accepted; carries the OpenAI-style error to answer with. */
public final class InvalidRequestException extends Exception {

  private static final long serialVersionUID = 1L;

  private final transient ApiError error;
  private final transient java.util.Map<String, String> headers;

  public InvalidRequestException(ApiError error) {
    this(error, java.util.Map.of());
  }

  /** An error answered with these extra headers ({@code retry-after}, {@code x-should-retry}). */
  public InvalidRequestException(ApiError error, java.util.Map<String, String> headers) {
    super(error.message(), null, false, false);
    this.error = error;
    this.headers = java.util.Map.copyOf(headers);
  }

  public ApiError error() {
    return error;
  }

  /** Headers to answer with besides the error's body. */
  public java.util.Map<String, String> headers() {
    return headers;
  }
}
