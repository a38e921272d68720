package dev.fairshare.bench;

import dev.fairshare.openai.CompletionRequest;
import dev.fairshare.openai.Endpoint;
import dev.fairshare.openai.RequestReader;
import dev.fairshare.openai.TokenCount;
import dev.fairshare.openai.TokenEstimate;
import dev.fairshare.openai.TokenEstimator;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Reading and estimating a chat request whose prompt is about 100,000 tokens (o200k_base). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class EstimatorBenchmark {

  byte[] body;
  TokenEstimator estimator;
  long promptTokens;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    String[] words = {
      "rate", "limit", "fair", "share", "token", "window", "bucket", "key", "model", "servlet"
    };
    Random random = new Random(42);
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 100_000; i++) {
      text.append(words[random.nextInt(words.length)]).append(' ');
    }
    body =
        ("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}")
            .getBytes(StandardCharsets.UTF_8);
    estimator = new TokenEstimator(256, TokenCount.TOTAL);
    promptTokens = estimate().promptTokens();
    if (promptTokens < 90_000 || promptTokens > 110_000) {
      throw new IllegalStateException("expected about 100k prompt tokens, got " + promptTokens);
    }
  }

  @Benchmark
  public TokenEstimate estimate() throws Exception {
    CompletionRequest request = RequestReader.read(body);
    return estimator.estimate(request, Endpoint.CHAT_COMPLETIONS);
  }
}
