package dev.fairshare.admin;

import static dev.fairshare.admin.KeyFields.bool;
import static dev.fairshare.admin.KeyFields.metadata;
import static dev.fairshare.admin.KeyFields.models;
import static dev.fairshare.admin.KeyFields.name;
import static dev.fairshare.admin.KeyFields.nonNegative;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fairshare.FairShare;
import dev.fairshare.keys.ApiKey;
import dev.fairshare.keys.Quotas;
import dev.fairshare.keys.SpendRow;
import dev.fairshare.keys.Team;
import dev.fairshare.openai.InvalidRequestException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * LiteLLM-compatible team management under {@code /team}: new, info, update, delete, list, block,
 * unblock, with LiteLLM's field names ({@code team_id}, {@code team_alias}, {@code models}, {@code
 * tpm_limit}, {@code rpm_limit}, {@code max_budget}, {@code soft_budget}, {@code budget_duration},
 * {@code metadata}, {@code blocked}, …). Master key only, except {@code GET /team/info} about the
 * caller's own team. A key joins a team with {@code team_id} on {@code /key/generate} or {@code
 * /key/update}; a team with keys cannot be deleted.
 */
@Path("team")
@Produces(MediaType.APPLICATION_JSON)
@Consumes({MediaType.APPLICATION_JSON, MediaType.TEXT_PLAIN, MediaType.WILDCARD})
public final class TeamResource {

  /** The most keys {@code /team/info} lists. */
  static final int MAX_KEYS_SHOWN = 1_000;

  private static final int MAX_PAGE_SIZE = 100;

  private final FairShare fairShare;

  /** On the shared instance, for a JAX-RS application that lists this class. */
  public TeamResource() {
    this(FairShare.shared());
  }

  /** On {@code fairShare}. */
  public TeamResource(FairShare fairShare) {
    this.fairShare = fairShare;
  }

  /** {@code POST /team/new}: a team, with a generated UUID when {@code team_id} is not given. */
  @POST
  @Path("new")
  public Response create(@Context HttpHeaders headers, String body) {
    return KeyResource.respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          ObjectNode request = KeyJson.parseObject(body);
          String id = KeyFields.teamId(request);
          Instant now = fairShare.keys().now();
          Team empty =
              new Team(
                  id == null ? UUID.randomUUID().toString() : id,
                  null,
                  List.of(),
                  null,
                  null,
                  Quotas.NONE,
                  Map.of(),
                  false,
                  now,
                  now);
          Team team = withFields(empty, request, now);
          fairShare.keys().insertTeam(team);
          return render(team);
        });
  }

  /**
   * {@code GET /team/info?team_id=}: {@code {"team_id", "team_info", "keys"}}. An ordinary key may
   * ask about its own team only.
   */
  @GET
  @Path("info")
  public Response info(@Context HttpHeaders headers, @QueryParam("team_id") String teamId) {
    return KeyResource.respond(
        () -> {
          Caller caller = Caller.of(headers, fairShare);
          if (teamId == null || teamId.isBlank()) {
            throw KeyFields.invalid("Name the team: GET /team/info?team_id=<id>.", "team_id");
          }
          if (!caller.admin() && !teamId.equals(caller.key().teamId())) {
            throw notFound(teamId); // an ordinary key learns nothing of other teams
          }
          Team team = existing(teamId);
          ObjectNode answer = KeyJson.JSON.createObjectNode();
          answer.put("team_id", team.teamId());
          answer.set("team_info", render(team));
          if (!caller.admin()) {
            return answer; // a member learns its team, not its teammates' keys
          }
          ArrayNode keys = answer.putArray("keys");
          for (ApiKey key : fairShare.keys().keysOfTeam(team.teamId(), MAX_KEYS_SHOWN)) {
            ObjectNode k = keys.addObject();
            k.put("token", key.token());
            k.put("key_name", key.keyName());
            k.put("key_alias", key.keyAlias());
          }
          return answer;
        });
  }

  /** {@code POST /team/update}: {@code team_id} and the fields to change; null clears a limit. */
  @POST
  @Path("update")
  public Response update(@Context HttpHeaders headers, String body) {
    return KeyResource.respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          ObjectNode request = KeyJson.parseObject(body);
          Team team = existing(requiredId(request));
          Team changed = withFields(team, request, fairShare.keys().now());
          if (!fairShare.keys().updateTeam(changed)) {
            throw notFound(team.teamId());
          }
          return render(changed);
        });
  }

  /** {@code POST /team/delete} {@code {"team_ids": [...]}}: all or none; not a team with keys. */
  @POST
  @Path("delete")
  public Response delete(@Context HttpHeaders headers, String body) {
    return KeyResource.respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          ObjectNode request = KeyJson.parseObject(body);
          List<String> ids = KeyFields.stringList(request, "team_ids");
          for (String id : ids) {
            existing(id);
          }
          fairShare.keys().deleteTeams(ids);
          ObjectNode answer = KeyJson.JSON.createObjectNode();
          ArrayNode deleted = answer.putArray("deleted_teams");
          ids.forEach(deleted::add);
          return answer;
        });
  }

  /** {@code GET /team/list}: the teams, as an array (LiteLLM's shape), by creation. */
  @GET
  @Path("list")
  public Response list(
      @Context HttpHeaders headers,
      @QueryParam("page") String pageText,
      @QueryParam("size") String sizeText) {
    return KeyResource.respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          int page = KeyFields.wholeNumber(pageText, "page", 1, Integer.MAX_VALUE);
          int size = KeyFields.wholeNumber(sizeText, "size", MAX_PAGE_SIZE, MAX_PAGE_SIZE);
          ArrayNode teams = KeyJson.JSON.createArrayNode();
          for (Team team :
              fairShare
                  .keys()
                  .listTeams((int) Math.min(Integer.MAX_VALUE, (long) (page - 1) * size), size)) {
            teams.add(render(team));
          }
          return teams;
        });
  }

  /** {@code POST /team/block} {@code {"team_id"}}: its keys get 401 until it is unblocked. */
  @POST
  @Path("block")
  public Response block(@Context HttpHeaders headers, String body) {
    return setBlocked(headers, body, true);
  }

  /** {@code POST /team/unblock}. */
  @POST
  @Path("unblock")
  public Response unblock(@Context HttpHeaders headers, String body) {
    return setBlocked(headers, body, false);
  }

  private Response setBlocked(HttpHeaders headers, String body, boolean blocked) {
    return KeyResource.respond(
        () -> {
          Caller.requireAdmin(headers, fairShare);
          Team team = existing(requiredId(KeyJson.parseObject(body)));
          Team changed = team.withBlocked(blocked, fairShare.keys().now());
          if (!fairShare.keys().updateTeam(changed)) {
            throw notFound(team.teamId());
          }
          return render(changed);
        });
  }

  /**
   * {@code team} with the fields {@code request} gives ({@code null} clears a limit; a {@code
   * blocked} of null keeps the team's), updated at {@code now}.
   */
  private static Team withFields(Team team, ObjectNode request, Instant now)
      throws InvalidRequestException {
    Boolean blocked = request.has("blocked") ? bool(request, "blocked") : null;
    return new Team(
        team.teamId(),
        request.has("team_alias") ? name(request, "team_alias") : team.teamAlias(),
        request.has("models") ? models(request) : team.models(),
        request.has("tpm_limit") ? nonNegative(request, "tpm_limit") : team.tpmLimit(),
        request.has("rpm_limit") ? nonNegative(request, "rpm_limit") : team.rpmLimit(),
        QuotaFields.read(request, team.quotas()),
        request.has("metadata") ? metadata(request) : team.metadata(),
        blocked == null ? team.blocked() : blocked,
        team.createdAt(),
        now);
  }

  private static String requiredId(ObjectNode request) throws InvalidRequestException {
    String id = KeyFields.text(request, "team_id");
    if (id == null || id.isBlank()) {
      throw KeyFields.invalid("'team_id' is required.", "team_id");
    }
    return id;
  }

  private Team existing(String teamId) throws InvalidRequestException {
    return fairShare.keys().findTeam(teamId).orElseThrow(() -> notFound(teamId));
  }

  private static InvalidRequestException notFound(String teamId) {
    return KeyResource.notFound("team_id", "Team not found: '" + teamId + "'.");
  }

  /** The team as LiteLLM shows it, with its live spend. */
  private ObjectNode render(Team team) {
    ObjectNode out = KeyJson.JSON.createObjectNode();
    out.put("team_id", team.teamId());
    out.put("team_alias", team.teamAlias());
    ArrayNode models = out.putArray("models");
    team.models().forEach(models::add);
    KeyJson.putLong(out, "tpm_limit", team.tpmLimit());
    KeyJson.putLong(out, "rpm_limit", team.rpmLimit());
    out.set("metadata", KeyJson.JSON.valueToTree(team.metadata()));
    out.put("blocked", team.blocked());
    out.put("created_at", team.createdAt().toString());
    out.put("updated_at", team.updatedAt().toString());
    QuotaFields.render(out, team.quotas(), SpendRow.teamOwner(team.teamId()), fairShare);
    return out;
  }
}
