package dev.fairshare.openai;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import dev.fairshare.config.TokenCount;
import java.util.Locale;

/**
 * Estimates the tokens a request will use before it runs, with jtokkit (offline BPE).
 *
 * <p>Prompt: the tokens of every prompt string in the model's encoding (o200k_base for gpt-4o,
 * gpt-4.1, gpt-5 and the o-series; cl100k_base otherwise), plus OpenAI's chat format overhead of
 * 3 tokens per message, 1 per {@code name} and 3 to prime the reply. Image parts count {@value
 * #TOKENS_PER_IMAGE} tokens each (OpenAI's high-detail cost of a 1024×1024 image; the real size is
 * not known before the call). Completion: {@code min(max_tokens, completion reserve)}, or the
 * reserve when the request sets no cap; the reserve starts at the configured value and then
 * follows what the model's completions really came to ({@link CompletionHistory}).
 */
public final class TokenEstimator {

  /** Tokens charged per image part in the estimate. */
  public static final int TOKENS_PER_IMAGE = 765;

  private static final int TOKENS_PER_MESSAGE = 3;
  private static final int TOKENS_PER_NAME = 1;
  private static final int REPLY_PRIMING = 3;

  private final EncodingRegistry registry = Encodings.newLazyEncodingRegistry();
  private final CompletionHistory completions;
  private final TokenCount tokenCount;

  private final java.util.Map<String, EncodingType> encodingOverrides;

  public TokenEstimator(long completionReserve, TokenCount tokenCount) {
    this(completionReserve, tokenCount, java.util.Map.of());
  }

  /**
   * @param encodingOverrides encoding per model name, for models whose name does not tell
   *     ({@code fairshare.models.<model>.encoding})
   */
  public TokenEstimator(
      long completionReserve, TokenCount tokenCount, java.util.Map<String, EncodingType> encodingOverrides) {
    this.completions = new CompletionHistory(completionReserve);
    this.tokenCount = tokenCount;
    this.encodingOverrides = java.util.Map.copyOf(encodingOverrides);
  }

  /** The estimate for {@code request} on {@code endpoint}: prompt and completion tokens. */
  public TokenEstimate estimate(CompletionRequest request, Endpoint endpoint) {
    long prompt = promptTokens(request);
    long completion = 0;
    if (endpoint.generates()) {
      long reserve = completions.reserve(request.model());
      completion = request.maxTokens() == null ? reserve : Math.min(request.maxTokens(), reserve);
    }
    return new TokenEstimate(prompt, completion);
  }

  /**
   * Records the usage an answered call reported, so later estimates for the model follow its real
   * completions. Ignored for endpoints that do not generate text.
   */
  public void observe(CompletionRequest request, Endpoint endpoint, TokenUsage usage) {
    if (endpoint.generates()) {
      completions.observe(request.model(), usage.output());
    }
  }

  /** The tokens to reserve for an estimate, per the token-count mode. */
  public long reservation(TokenEstimate estimate) {
    return estimate.asUsage().counted(tokenCount);
  }

  /** The token-count mode. */
  public TokenCount tokenCount() {
    return tokenCount;
  }

  /** Prompt tokens of {@code request}, chat overhead included. */
  public long promptTokens(CompletionRequest request) {
    Encoding encoding = encodingFor(request.model());
    long tokens = 0;
    for (String text : request.promptTexts()) {
      tokens += encoding.countTokensOrdinary(text);
    }
    if (request.messageCount() > 0) {
      tokens +=
          (long) request.messageCount() * TOKENS_PER_MESSAGE
              + (long) request.nameCount() * TOKENS_PER_NAME
              + REPLY_PRIMING;
    }
    tokens += (long) request.imageCount() * TOKENS_PER_IMAGE;
    return tokens;
  }

  /** Tokens of a plain text in {@code model}'s encoding (for streamed deltas without usage). */
  public long countText(String model, String text) {
    return encodingFor(model).countTokensOrdinary(text);
  }

  private Encoding encodingFor(String model) {
    EncodingType override = encodingOverrides.get(model);
    return registry.getEncoding(override != null ? override : encodingTypeFor(model));
  }

  /** o200k_base for gpt-4o, gpt-4.1, gpt-5 and o-series models; cl100k_base otherwise. */
  static EncodingType encodingTypeFor(String model) {
    String m = model.toLowerCase(Locale.ROOT);
    int slash = m.lastIndexOf('/');
    if (slash >= 0) {
      m = m.substring(slash + 1); // "openai/gpt-4o" and similar provider prefixes
    }
    if (m.startsWith("gpt-4o")
        || m.startsWith("chatgpt-4o")
        || m.startsWith("gpt-4.1")
        || m.startsWith("gpt-4.5")
        || m.startsWith("gpt-5")
        || m.startsWith("o1")
        || m.startsWith("o3")
        || m.startsWith("o4")) {
      return EncodingType.O200K_BASE;
    }
    return EncodingType.CL100K_BASE;
  }
}
