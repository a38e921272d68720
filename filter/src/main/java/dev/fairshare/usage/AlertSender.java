package dev.fairshare.usage;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Sends budget and quota alerts: one log line, and one POST of a JSON body to {@code
 * fairshare.alerts.webhook-url} when it is set, from a thread of its own (never on a request's
 * path), tried again with back-off (1 s, 2 s, 4 s, 8 s, 16 s) while the receiver fails or answers
 * 5xx. Each alert is raised once per threshold and period by the ledger, across instances.
 */
public final class AlertSender implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(AlertSender.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Tries per alert. */
  static final int ATTEMPTS = 6;

  private final URI webhook;
  private final HttpClient http;
  private final BackgroundThread thread = new BackgroundThread("fairshare-alerts");
  private final ScheduledExecutorService sender = thread.executor();

  /**
   * @param webhook where alerts are POSTed; null to log them only
   */
  public AlertSender(URI webhook) {
    this.webhook = webhook;
    this.http =
        webhook == null
            ? null
            : HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  /**
   * One alert: logged now, POSTed soon.
   *
   * @param body the alert, LiteLLM's webhook fields ({@code event}, {@code event_group}, {@code
   *     event_message}, …); never a raw key
   */
  public void send(ObjectNode body) {
    LOG.warning("FairShare alert: " + body.path("event_message").asText(body.toString()));
    if (webhook == null) {
      return;
    }
    try {
      sender.execute(() -> post(body.toString(), 1));
    } catch (java.util.concurrent.RejectedExecutionException stopped) {
      // Stopping: the alert was logged.
    }
  }

  private void post(String body, int attempt) {
    boolean delivered;
    try {
      HttpResponse<Void> response =
          http.send(
              HttpRequest.newBuilder(webhook)
                  .timeout(Duration.ofSeconds(10))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.discarding());
      delivered = response.statusCode() < 500;
      if (response.statusCode() >= 400 && delivered) {
        LOG.warning(
            "FairShare: the alert webhook refused an alert (HTTP " + response.statusCode() + ")");
      }
    } catch (java.io.IOException e) {
      delivered = false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    if (!delivered) {
      if (attempt >= ATTEMPTS) {
        LOG.warning("FairShare: an alert could not be delivered to the webhook; it was logged");
        return;
      }
      long delay = 1_000L << (attempt - 1);
      try {
        sender.schedule(() -> post(body, attempt + 1), delay, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException stopped) {
        // Stopping.
      }
    }
  }

  /** A JSON object to fill. */
  public static ObjectNode body() {
    return JSON.createObjectNode();
  }

  /** Stops; alerts still being retried are dropped (they were logged). */
  @Override
  public void close() {
    thread.stop(5, true);
  }
}
