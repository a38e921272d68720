package dev.fairshare.openai;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.Locale;

/**
 * Estimates the tokens a request will use before it runs, with jtokkit (offline BPE).
 *
 * <p>Prompt: the tokens of every prompt string in the model's encoding (o200k_base for gpt-4o,
 * gpt-4.1, gpt-5 and the o-series; cl100k_base otherwise), plus OpenAI's chat format overhead of 3
 * tokens per message, 1 per {@code name} and 3 to prime the reply. Image parts count {@value
 * #TOKENS_PER_IMAGE} tokens each (OpenAI's high-detail cost of a 1024×1024 image; the real size is
 * not known before the call). Completion: {@code min(max_tokens, completion reserve)}, or the
 * reserve when the request sets no cap; the reserve starts at the configured value and then follows
 * what the model's completions really came to ({@link CompletionHistory}).
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

  /**
   * Completion allowance of a reasoning request without a cap, in completion reserves: its hidden
   * reasoning is charged as output.
   */
  static final int REASONING_RESERVES = 4;

  /** Prompts up to this many characters are tokenised whole; longer ones by samples. */
  static final long EXACT_PROMPT_CHARS = 256 * 1024;

  /** The length of one sample of a longer prompt. */
  static final int SAMPLE_PIECE_CHARS = 4096;

  /** Whitespace runs longer than this are counted by a sample of their length (see below). */
  static final int LONG_WHITESPACE_RUN = 256;

  private final java.util.Map<String, EncodingType> encodingOverrides;
  private final long minRequestTokens;

  public TokenEstimator(long completionReserve, TokenCount tokenCount) {
    this(completionReserve, tokenCount, java.util.Map.of(), 1);
  }

  /**
   * /**
   *
   * @param encodingOverrides encoding per model name, for models whose name does not tell ({@code
   *     fairshare.models.<model>.encoding})
   * @param minRequestTokens the least any request reserves ({@code fairshare.min-request-tokens})
   */
  public TokenEstimator(
      long completionReserve,
      TokenCount tokenCount,
      java.util.Map<String, EncodingType> encodingOverrides,
      long minRequestTokens) {
    if (minRequestTokens < 1) {
      throw new IllegalArgumentException(
          "minRequestTokens must be at least 1, was " + minRequestTokens);
    }
    this.completions = new CompletionHistory(completionReserve);
    this.tokenCount = tokenCount;
    this.encodingOverrides = java.util.Map.copyOf(encodingOverrides);
    this.minRequestTokens = minRequestTokens;
  }

  /** The estimate for {@code request} on {@code endpoint}: prompt and completion tokens. */
  public TokenEstimate estimate(CompletionRequest request, Endpoint endpoint) {
    long prompt = promptTokens(request);
    return new TokenEstimate(prompt, completionAllowance(request, endpoint));
  }

  /**
   * The completion tokens a request is expected to generate: {@code min(max_tokens, reserve)} for
   * each of its {@code n} choices; a reasoning request without a cap allows {@value
   * #REASONING_RESERVES} reserves, since its hidden reasoning is output too.
   */
  long completionAllowance(CompletionRequest request, Endpoint endpoint) {
    if (!endpoint.generates()) {
      return 0;
    }
    long reserve = completions.reserve(request.model());
    if (request.reasoning()) {
      reserve = Math.multiplyExact(reserve, REASONING_RESERVES);
    }
    long each = request.maxTokens() == null ? reserve : Math.min(request.maxTokens(), reserve);
    return Math.multiplyExact(each, (long) request.choices());
  }

  /**
   * A bound below the estimate that costs no tokenising: the format overhead, the completion
   * allowance, and no prompt text. A request refused at this bound is refused at its estimate.
   */
  public TokenEstimate lowerBound(CompletionRequest request, Endpoint endpoint) {
    return new TokenEstimate(overhead(request), completionAllowance(request, endpoint));
  }

  /**
   * The most the request can cost as it declares itself: its prompt estimate plus {@code
   * max_tokens} for each choice; null when it sets no cap (then only its estimate is known).
   */
  public Long declaredCeiling(
      CompletionRequest request, Endpoint endpoint, TokenEstimate estimate) {
    if (!endpoint.generates()) {
      return estimate.promptTokens();
    }
    if (request.maxTokens() == null) {
      return null;
    }
    try {
      return Math.addExact(
          estimate.promptTokens(),
          Math.multiplyExact(request.maxTokens(), (long) request.choices()));
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE; // more than anything can hold: refused as too large, or capped
    }
  }

  /** Characters of prompt text, a measure of what tokenising the request costs. */
  public static long promptChars(CompletionRequest request) {
    long chars = 0;
    for (String text : request.promptTexts()) {
      chars += text.length();
    }
    return chars;
  }

  /**
   * Records the usage an answered call reported, so later estimates for the model follow its real
   * completions. Ignored for endpoints that do not generate text and for calls that set a cap.
   */
  public void observe(CompletionRequest request, Endpoint endpoint, TokenUsage usage) {
    // Only calls without a cap teach the reserve of calls without a cap: otherwise one key sending
    // max_tokens: 1 would drive everyone's uncapped reservations towards nothing.
    if (endpoint.generates() && request.maxTokens() == null) {
      completions.observe(request.model(), usage.output());
    }
  }

  /**
   * The tokens to reserve for an estimate, per the token-count mode, and never fewer than {@code
   * fairshare.min-request-tokens}: a request that estimates to nothing still costs something.
   */
  public long reservation(TokenEstimate estimate) {
    return Math.max(minRequestTokens, estimate.asUsage().counted(tokenCount));
  }

  /** The least a request is reserved or charged. */
  public long minRequestTokens() {
    return minRequestTokens;
  }

  /** The token-count mode. */
  public TokenCount tokenCount() {
    return tokenCount;
  }

  /** Prompt tokens of {@code request}, chat overhead included. */
  public long promptTokens(CompletionRequest request) {
    Encoding encoding = encodingFor(request.model());
    long tokens = overhead(request);
    long chars = promptChars(request);
    if (chars <= EXACT_PROMPT_CHARS) {
      for (String text : request.promptTexts()) {
        tokens += count(encoding, text);
      }
      return tokens;
    }
    return tokens + sampled(encoding, request, chars);
  }

  /**
   * Tokens of a prompt longer than {@value #EXACT_PROMPT_CHARS} characters, estimated from evenly
   * spread pieces of it that add up to about that many characters, scaled by length. Tokenising
   * costs up to 1.3 µs per character for some text (13 s for 10 MB of 'é'), so a large prompt is
   * not tokenised whole before the call; its real usage settles the difference afterwards.
   */
  private static long sampled(Encoding encoding, CompletionRequest request, long chars) {
    double share = (double) EXACT_PROMPT_CHARS / chars;
    long stride = Math.max(SAMPLE_PIECE_CHARS, (long) (SAMPLE_PIECE_CHARS / share));
    long sampledChars = 0;
    long sampledTokens = 0;
    double credit = 0;
    for (String text : request.promptTexts()) {
      if (text.length() <= SAMPLE_PIECE_CHARS) {
        // Short texts: every so many of them, in proportion to their length.
        credit += text.length() * share;
        if (credit >= text.length()) {
          credit -= text.length();
          sampledTokens += count(encoding, text);
          sampledChars += text.length();
        }
        continue;
      }
      for (long at = 0; at < text.length(); at += stride) {
        int from = (int) at;
        int to = (int) Math.min(text.length(), at + SAMPLE_PIECE_CHARS);
        sampledTokens += count(encoding, text.substring(from, to));
        sampledChars += to - from;
      }
    }
    if (sampledChars == 0) {
      return chars; // cannot happen with the budget above; at most one token per character
    }
    return (long) Math.ceil((double) sampledTokens * chars / sampledChars);
  }

  private static long overhead(CompletionRequest request) {
    long tokens = 0;
    if (request.messageCount() > 0) {
      tokens +=
          (long) request.messageCount() * TOKENS_PER_MESSAGE
              + (long) request.nameCount() * TOKENS_PER_NAME
              + REPLY_PRIMING;
    }
    return tokens + (long) request.imageCount() * TOKENS_PER_IMAGE + request.promptTokenIds();
  }

  /** Tokens of a plain text in {@code model}'s encoding (for streamed deltas without usage). */
  public long countText(String model, String text) {
    return count(encodingFor(model), text);
  }

  /**
   * Tokens of {@code text}. jtokkit spends about 2 µs per character inside long whitespace runs (18
   * s for 10 MB of spaces), so a run longer than {@value #LONG_WHITESPACE_RUN} characters is
   * counted as that many characters' tokens times the number of such pieces it holds, rounded up:
   * BPE splits such a run into equal tokens, and the count stays within a token per piece.
   */
  static long count(Encoding encoding, String text) {
    int runStart = -1;
    long tokens = 0;
    int from = 0;
    int n = text.length();
    for (int i = 0; i <= n; i++) {
      boolean space = i < n && Character.isWhitespace(text.charAt(i));
      if (space && runStart < 0) {
        runStart = i;
      } else if (!space && runStart >= 0) {
        int length = i - runStart;
        if (length > LONG_WHITESPACE_RUN) {
          tokens += encoding.countTokensOrdinary(text.substring(from, runStart));
          String piece = text.substring(runStart, runStart + LONG_WHITESPACE_RUN);
          long pieces = (length + LONG_WHITESPACE_RUN - 1) / LONG_WHITESPACE_RUN;
          tokens += encoding.countTokensOrdinary(piece) * pieces;
          from = i;
        }
        runStart = -1;
      }
    }
    if (from == 0) {
      return encoding.countTokensOrdinary(text);
    }
    return tokens + (from < n ? encoding.countTokensOrdinary(text.substring(from)) : 0);
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
