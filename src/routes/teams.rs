//! Teams: the HTTP face of the registry (list, find, create, update, dissolve). The rules and
//! operations are `domain::teams`.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use crate::domain::teams::{
    CreateTeamRequest, DissolveTeamRequest, TeamDetailResponse, TeamResponse, TeamUnitPeriod,
    UpdateTeamRequest,
};
use crate::{
    auth::{AuthUser, Operation},
    cells,
    db::Db,
    domain::teams::{self as teams_domain, TeamQuery},
    error::{AppError, Problem, Text},
    models::{search::ranked_position, team::TeamListed},
    routes::{
        conditional::{decode_search_cursor, etag, if_match, next_cursor, page_limit},
        export::{self, Answer},
    },
    tabular::{Cell, sheets},
};

/// A page of teams.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamListResponse {
    pub items: Vec<TeamResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters for listing teams.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TeamListQuery {
    /// Teams of this unit and its whole subtree.
    pub org_unit_id: Option<Uuid>,
    /// `commune` or `village`.
    #[param(value_type = Option<crate::reference::OrgUnitLevel>)]
    pub level: Option<crate::reference::Choice<crate::reference::OrgUnitLevel>>,
    /// `active`, `inactive` or `dissolved`.
    #[param(value_type = Option<crate::reference::TeamStatus>)]
    pub status: Option<crate::reference::Choice<crate::reference::TeamStatus>>,
    /// Only teams with (`true`) or without (`false`) a current leader.
    pub has_leader: Option<bool>,
    /// Matches team name, unit name and leader name, ignoring case and Vietnamese diacritics. Three characters or more match anywhere in the text; one or two match the start of it. Results come exact matches first, then those starting with the term, then the rest.
    #[serde(default, deserialize_with = "crate::domain::validation::search_term")]
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Page size, 1-500 (default 50). A file without `limit` or `cursor` holds the whole list.
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// `json` (pages), `csv` or `xlsx` (the whole list as one file); overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// List teams.
///
/// Teams in your scope (admins: all; officers and viewers: their subtree; team leaders: their team),
/// ordered by code with keyset pagination.
#[utoipa::path(
    tag = "teams",
    operation_id = "list_teams",
    params(TeamListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of teams, or the whole list as a file.",
         content((TeamListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`org_unit_id` does not exist.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/teams")]
pub async fn list_teams(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<TeamListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListTeams)?;
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let team_query = TeamQuery {
        org_unit_id: query.org_unit_id,
        level: query.level,
        status: query.status,
        has_leader: query.has_leader,
        q: query.q,
    };
    let page = {
        let actor = actor.clone();
        move |conn: &mut diesel::PgConnection, cursor: Option<String>, limit| {
            let after = decode_search_cursor(cursor.as_deref(), team_query.q.is_some())?;
            let rows =
                teams_domain::list(conn, &actor, team_query.clone(), after.as_deref(), limit)?;
            let next = next_cursor(&rows, limit, |row| match &team_query.q {
                Some(_) => ranked_position(row.rank, &row.team.code),
                None => row.team.code.clone(),
            });
            Ok((rows, next))
        }
    };
    if answer.is_file() {
        return export::list(
            &req,
            &db,
            &actor,
            answer,
            (query.limit, query.cursor),
            export::ListFile {
                title: Text::new("Teams", "Danh sách tổ công nghệ số cộng đồng"),
                name: "teams",
                sheet: &sheets::TEAMS,
                row: team_row,
                on_primary: false,
                read_whole: false,
            },
            page,
        )
        .await;
    }
    let limit = page_limit(query.limit)?;
    let (rows, next) = db
        .read(actor.id, move |conn| page(conn, query.cursor, limit))
        .await?;
    Ok(HttpResponse::Ok().json(TeamListResponse {
        items: rows
            .iter()
            .map(|row| {
                TeamResponse::new(
                    &row.team,
                    &row.unit_name,
                    row.unit_level,
                    row.leader_name.clone(),
                )
            })
            .collect(),
        next_cursor: next,
    }))
}

/// A team as a row of [`sheets::TEAMS`].
fn team_row(row: &TeamListed) -> Vec<Cell> {
    let t = &row.team;
    cells![
        &t.code,
        &t.name,
        &row.unit_name,
        &row.unit_code,
        Cell::choice(row.unit_level),
        Cell::choice(t.status),
        t.founded_on,
        t.dissolved_on,
        t.establishment_decision.as_ref(),
        t.zalo_group_members,
        t.zalo_group_members_as_of,
        row.leader_name.as_ref(),
        t.notes.as_ref(),
    ]
}

/// Find a team.
///
/// One team with its current members (phone numbers masked unless you manage the team), its unit's path
/// and its unit history, with `ETag`.
#[utoipa::path(
    tag = "teams",
    operation_id = "find_team",
    params(("id" = Uuid, Path, description = "Team id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The team.", body = TeamDetailResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such team in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/teams/{id}")]
pub async fn find_team(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindTeam)?;
    let id = id.into_inner();
    let detail = db
        .run(move |conn| teams_domain::find_detail(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(detail.team.version)))
        .json(detail))
}

/// Create a team.
///
/// Registers a team serving a commune or village (admins anywhere, officers in their subtree).
#[utoipa::path(
    tag = "teams",
    operation_id = "create_team",
    security(("bearer" = [])),
    request_body = CreateTeamRequest,
    responses(
        (status = 201, description = "Created.", body = TeamDetailResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed here.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/teams")]
pub async fn create_team(
    actor: AuthUser,
    body: web::Json<CreateTeamRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateTeam)?;
    let fields = body.into_inner().parse()?;
    let detail = db
        .run(move |conn| conn.transaction(|conn| teams_domain::create(conn, &actor, &fields)))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(detail.team.version)))
        .insert_header(("Location", format!("/api/v1/teams/{}", detail.team.id)))
        .json(detail))
}

/// Update a team.
///
/// Admins and officers in scope. `If-Match` makes the change conditional (412 when stale). A dissolved
/// team cannot be changed (409).
#[utoipa::path(
    tag = "teams",
    operation_id = "update_team",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Team id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    request_body = UpdateTeamRequest,
    responses(
        (status = 200, description = "Updated.", body = TeamDetailResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such team in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken or team dissolved.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/teams/{id}")]
pub async fn update_team(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateTeamRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateTeam)?;
    let id = id.into_inner();
    let changes = body.into_inner();
    let expected = if_match(&req);
    let detail = db
        .run(move |conn| {
            conn.transaction(|conn| teams_domain::update(conn, &actor, id, &expected, changes))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(detail.team.version)))
        .json(detail))
}

/// Dissolve a team.
///
/// Ends the team and every current membership on `dissolved_on`. Nothing is deleted: the team and its
/// history stay readable and keep reporting for the time it existed.
#[utoipa::path(
    tag = "teams",
    operation_id = "dissolve_team",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Team id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    request_body = DissolveTeamRequest,
    responses(
        (status = 200, description = "Dissolved.", body = TeamDetailResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such team in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already dissolved.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/teams/{id}/dissolve")]
pub async fn dissolve_team(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<DissolveTeamRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::DissolveTeam)?;
    let id = id.into_inner();
    let dissolution = body.into_inner().parse()?;
    let expected = if_match(&req);
    let detail = db
        .run(move |conn| {
            conn.transaction(|conn| {
                teams_domain::dissolve(conn, &actor, id, &expected, &dissolution)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(detail.team.version)))
        .json(detail))
}
