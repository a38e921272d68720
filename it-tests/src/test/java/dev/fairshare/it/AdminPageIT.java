package dev.fairshare.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.errors.UnauthorizedException;
import dev.fairshare.core.Clock;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * The admin page ({@code /ui/}) in a real browser (Debian's chromium under chromedriver, headless):
 * sign in with the master key, generate a key and see it once, block, unblock, edit, see a wrong
 * value's and the API's errors, watch the live share table and the last hour's tokens, delete.
 * Fails, does not skip, without chromium and chromedriver ({@code .ci/run} installs them).
 */
class AdminPageIT {

  @TempDir Path dir;
  TestGateway gateway;
  WebDriver browser;

  @BeforeEach
  void start() throws Exception {
    gateway =
        TestGateway.start(
            dir,
            Clock.system(),
            Map.of("fairshare.priority.prod", "2", "fairshare.usage.flush-interval", "1h"));
    ChromeOptions options = new ChromeOptions();
    options.setBinary("/usr/bin/chromium");
    options.addArguments(
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000");
    // The browser's console, read after each test: an error there fails it
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(Path.of("/usr/bin/chromedriver").toFile())
            .usingAnyFreePort()
            .build();
    browser = new ChromeDriver(service, options);
  }

  @AfterEach
  void stop() {
    if (browser != null) {
      browser.quit();
    }
    if (gateway != null) {
      gateway.close();
    }
  }

  /** Saves what the browser shows as {@code target/ui-screenshots/<name>.png}. */
  void screenshot(String name) throws Exception {
    Path folder = Path.of("target", "ui-screenshots");
    Files.createDirectories(folder);
    Files.write(
        folder.resolve(name + ".png"),
        ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
  }

  /** The console's errors since the last call. */
  List<String> consoleErrors() {
    return browser.manage().logs().get(LogType.BROWSER).getAll().stream()
        .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
        .map(LogEntry::getMessage)
        .toList();
  }

  WebElement id(String id) {
    return browser.findElement(By.id(id));
  }

  String statusSays(String text) {
    return await("status: " + text)
        .atMost(Duration.ofSeconds(5))
        .until(() -> id("status").getText(), s -> s.contains(text));
  }

  /** The keys table's row of {@code alias}, once it shows. */
  WebElement row(String alias) {
    return await("row of " + alias)
        .ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                browser.findElements(By.cssSelector("#keys-table tbody tr")).stream()
                    .filter(r -> r.findElements(By.tagName("td")).get(0).getText().equals(alias))
                    .findFirst()
                    .orElse(null),
            r -> r != null);
  }

  JsonNode info(String key) throws Exception {
    HttpResponse<String> response =
        gateway.http.send(
            HttpRequest.newBuilder(gateway.base().resolve("/key/info?key=" + key))
                .header("Authorization", "Bearer " + TestGateway.MASTER_KEY)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return TestGateway.JSON.readTree(response.body()).get("info");
  }

  /**
   * Issue 15's acceptance, as an operator does it: sign in, mint a key, see it listed, call the
   * model with it through the API, see its use in the live view within 5 s, block it and see the
   * next call refused. Screenshots of each step; no error in the browser's console.
   */
  @Test
  void signIn_mint_call_watch_block() throws Exception {
    browser.get(gateway.base().resolve("/ui/").toString());
    screenshot("1-sign-in");
    id("master-key").sendKeys(TestGateway.MASTER_KEY, Keys.ENTER);
    await().atMost(Duration.ofSeconds(5)).until(() -> id("app").isDisplayed());

    id("f-alias").sendKeys("alice");
    id("key-form-submit").click();
    statusSays("Generated alice.");
    String raw = id("new-key-value").getText();
    assertThat(raw).startsWith("sk-").hasSize(25);
    screenshot("2-minted");
    id("new-key-done").click();
    WebElement listed = row("alice");
    assertThat(listed.findElement(By.className("blocked")).getText()).isEqualTo("no");
    screenshot("3-listed");

    gateway.client(raw).chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
    long called = System.nanoTime();
    id("app").findElement(By.cssSelector("[data-tab='live']")).click();
    await()
        .ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                browser
                    .findElements(
                        By.cssSelector("section[data-model='my-fake-model'] .bar-row .figures"))
                    .stream()
                    .anyMatch(f -> f.getText().startsWith("used 30 / share 60")));
    assertThat(Duration.ofNanos(System.nanoTime() - called)).isLessThan(Duration.ofSeconds(5));
    screenshot("4-live");

    id("app").findElement(By.cssSelector("[data-tab='keys']")).click();
    row("alice").findElement(By.xpath(".//button[text()='Block']")).click();
    statusSays("Blocked alice.");
    await()
        .ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
        .atMost(Duration.ofSeconds(5))
        .until(() -> row("alice").findElement(By.className("blocked")).getText().equals("yes"));
    screenshot("5-blocked");
    try {
      gateway.client(raw).chat().completions().create(ReferenceScenarioIT.hello("Hi"));
      throw new AssertionError("a blocked key must be refused");
    } catch (UnauthorizedException expected) {
      assertThat(expected.getMessage()).contains("blocked");
    }
    assertThat(consoleErrors()).as("the browser console's errors").isEmpty();
  }

  /**
   * The rest of the page: a wrong master key, the API's errors shown, unblock, edit (a bad value
   * named first), the last hour's tokens, delete, sign out. The console shows only the refused
   * requests this test makes on purpose.
   */
  @Test
  void anOperatorManagesKeysAndWatchesTheShares() throws Exception {
    browser.get(gateway.base().resolve("/ui/").toString());
    assertThat(browser.getTitle()).isEqualTo("FairShare admin");

    // A wrong key is refused, and says why; the right one, typed and sent with Enter, signs in
    id("master-key").sendKeys("sk-wrong", Keys.ENTER);
    statusSays("Sign-in failed: 401");
    assertThat(id("app").isDisplayed()).isFalse();
    id("master-key").sendKeys(TestGateway.MASTER_KEY, Keys.ENTER);
    await().atMost(Duration.ofSeconds(5)).until(() -> id("app").isDisplayed());
    await()
        .ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
        .atMost(Duration.ofSeconds(5))
        .until(() -> id("page-info").getText(), t -> t.equals("Page 1 of 1 (0 keys)"));
    // The key is nowhere in the page's storage
    assertThat(
            ((org.openqa.selenium.JavascriptExecutor) browser)
                .executeScript(
                    "return JSON.stringify(localStorage) + JSON.stringify(sessionStorage)"
                        + " + document.cookie"))
        .isEqualTo("{}{}");

    // Generate: the raw key is shown once, and works
    id("f-alias").sendKeys("alice");
    id("key-form-submit").click();
    statusSays("Generated alice.");
    String raw = id("new-key-value").getText();
    assertThat(raw).startsWith("sk-").hasSize(25);
    id("new-key-done").click();
    assertThat(id("new-key").isDisplayed()).isFalse();
    assertThat(
            gateway
                .client(raw)
                .chat()
                .completions()
                .create(ReferenceScenarioIT.hello("Hello world!"))
                .usage()
                .orElseThrow()
                .totalTokens())
        .isEqualTo(30);

    // The API's own errors are shown: the alias is taken
    id("f-alias").sendKeys("alice");
    id("key-form-submit").click();
    statusSays("400: ");
    assertThat(id("status").getText()).contains("already in use");
    id("key-form").findElement(By.cssSelector("#f-alias")).clear();

    // Block: its calls get 401; unblock
    row("alice").findElement(By.xpath(".//button[text()='Block']")).click();
    statusSays("Blocked alice.");
    await()
        .ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
        .atMost(Duration.ofSeconds(5))
        .until(() -> row("alice").findElement(By.className("blocked")).getText().equals("yes"));
    try {
      gateway.client(raw).chat().completions().create(ReferenceScenarioIT.hello("Hi"));
      throw new AssertionError("a blocked key must be refused");
    } catch (UnauthorizedException expected) {
      // 401
    }
    row("alice").findElement(By.xpath(".//button[text()='Unblock']")).click();
    statusSays("Unblocked alice.");
    await()
        .ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
        .atMost(Duration.ofSeconds(5))
        .until(() -> row("alice").findElement(By.className("blocked")).getText().equals("no"));

    // Edit: a wrong value is named and changes nothing; limits and priority are saved
    row("alice").findElement(By.xpath(".//button[text()='Edit']")).click();
    assertThat(id("key-form-title").getText()).isEqualTo("Edit alice");
    id("f-tpm").sendKeys("lots");
    id("key-form-submit").click();
    statusSays("TPM limit must be a whole number");
    assertThat(info(raw).get("tpm_limit").isNull()).isTrue();
    id("f-tpm").clear();
    id("f-tpm").sendKeys("5000");
    id("f-priority").sendKeys("prod");
    id("key-form-submit").click();
    statusSays("Saved alice.");
    JsonNode saved = info(raw);
    assertThat(saved.get("tpm_limit").asLong()).isEqualTo(5000);
    assertThat(saved.get("metadata").get("priority").asText()).isEqualTo("prod");

    // The live share table: alice's bar, refreshed every 2 s (her weight is now 2)
    id("app").findElement(By.cssSelector("[data-tab='live']")).click();
    await()
        .ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                browser.findElements(
                    By.cssSelector("section[data-model='my-fake-model'] .bar-row")),
            rows -> rows.size() == 1);
    await()
        .ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                browser
                    .findElement(
                        By.cssSelector("section[data-model='my-fake-model'] .bar-row .figures"))
                    .getText(),
            t -> t.startsWith("used 30 / share"));
    gateway.client(raw).chat().completions().create(ReferenceScenarioIT.hello("Hello world!"));
    await()
        .ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                browser
                    .findElement(
                        By.cssSelector("section[data-model='my-fake-model'] .bar-row .figures"))
                    .getText(),
            t -> t.startsWith("used 60 / share"));

    // The last hour's tokens per key, from the history
    gateway.gateway.fairShare().history().flush();
    id("app").findElement(By.cssSelector("[data-tab='history']")).click();
    List<WebElement> values =
        await()
            .ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
            .atMost(Duration.ofSeconds(5))
            .until(
                () -> browser.findElements(By.cssSelector("#history text[data-key='alice']")),
                v -> v.size() == 1);
    assertThat(values.get(0).getText()).isEqualTo("60 tokens");

    // Delete, confirmed: gone
    id("app").findElement(By.cssSelector("[data-tab='keys']")).click();
    row("alice").findElement(By.xpath(".//button[text()='Delete']")).click();
    browser.switchTo().alert().accept();
    statusSays("Deleted alice.");
    await()
        .ignoreException(org.openqa.selenium.StaleElementReferenceException.class)
        .atMost(Duration.ofSeconds(5))
        .until(() -> id("page-info").getText(), t -> t.equals("Page 1 of 1 (0 keys)"));

    // Signing out forgets the key
    id("sign-out").click();
    statusSays("Signed out.");
    assertThat(id("sign-in").isDisplayed()).isTrue();
    // ... and everything the session saw: the raw key shown once, the live usage, the history
    for (String shown : new String[] {"new-key-value", "live", "history"}) {
      assertThat(id(shown).getAttribute("textContent")).as(shown).isEmpty();
    }
    screenshot("6-signed-out");
    // Only the two refusals asked for: the wrong master key (401) and the alias taken (400)
    assertThat(consoleErrors())
        .hasSize(2)
        .allSatisfy(e -> assertThat(e).containsPattern("status of (401|400)"));
  }

  @Test
  void thePageIsServedWithAStrictPolicy_andNothingElseUnderIt() throws Exception {
    HttpResponse<String> page =
        gateway.http.send(
            HttpRequest.newBuilder(gateway.base().resolve("/ui/")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("content-security-policy").orElseThrow())
        .contains("script-src 'self'")
        .contains("frame-ancestors 'none'");
    assertThat(page.headers().firstValue("x-content-type-options")).hasValue("nosniff");
    assertThat(page.body()).doesNotContain("<script>").doesNotContain("http://").contains("app.js");
    // /ui goes to /ui/, built from the container's paths, not the raw URI
    HttpResponse<String> bare =
        gateway.http.send(
            HttpRequest.newBuilder(gateway.base().resolve("/ui")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(bare.statusCode()).isEqualTo(302);
    assertThat(java.net.URI.create(bare.headers().firstValue("location").orElseThrow()).getPath())
        .isEqualTo("/ui/");
    for (String path : List.of("/ui/../key/list", "/ui/WEB-INF/web.xml", "/ui/nope.js")) {
      HttpResponse<String> other =
          gateway.http.send(
              HttpRequest.newBuilder(gateway.base().resolve(path)).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(other.statusCode()).as(path).isIn(400, 401, 404);
    }
  }
}
