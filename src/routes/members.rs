//! Team members over HTTP: list, add, change, end. The rules and operations are in
//! [`crate::domain::memberships`].

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation},
    cells,
    db::Db,
    domain::{
        memberships::{
            self as domain, AddMemberRequest, MemberResponse, MembershipOf, UpdateMemberRequest,
            member_responses,
        },
        teams,
    },
    error::{AppError, Problem, Text},
    models::person,
    reference::MembershipRole,
    routes::{
        conditional::{etag, if_match, keyset_page, page_limit},
        export::{self, Answer},
    },
    tabular::{Cell, sheets},
};

/// Filters for listing members.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MemberListQuery {
    /// Include memberships that ended (default: current only).
    pub include_past: Option<bool>,
    /// Page size, 1-500 (default 50). A file without `limit` or `cursor` holds the whole list.
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// `json` (pages), `csv` or `xlsx` (the whole list as one file); overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// A page of members, leader first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberListResponse {
    pub items: Vec<MemberResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// List a team's members.
///
/// Current members (or all with `include_past=true`), leader first. Phone numbers are masked unless you
/// manage the team. The CSV file is in the member import format.
#[utoipa::path(
    tag = "teams",
    operation_id = "list_team_members",
    params(("id" = Uuid, Path, description = "Team id"), MemberListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The members (JSON, or CSV with `Accept: text/csv`).",
         content((MemberListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad id or query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such team in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/teams/{id}/members")]
pub async fn list_team_members(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<MemberListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListTeamMembers)?;
    let id = id.into_inner();
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let include_past = query.include_past.unwrap_or(false);
    let page = {
        let actor = actor.clone();
        move |conn: &mut diesel::PgConnection, cursor: Option<String>, limit| {
            let (team, unit) = teams::find_visible(conn, &actor, id)?;
            let members = person::team_memberships(conn, team.id, include_past)?;
            let items = member_responses(conn, &actor, &team, &unit.path, &members)?;
            // Leader first, then deputies, then by joining day.
            let (items, next) = keyset_page(items, cursor.as_deref(), limit, |m| {
                let rank = match m.role {
                    MembershipRole::Leader => 0,
                    MembershipRole::Deputy => 1,
                    MembershipRole::Member => 2,
                };
                (rank, m.joined_on, m.id)
            })?;
            let rows = items
                .into_iter()
                .map(|member| (team.code.clone(), member))
                .collect();
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
                title: Text::new("Team members", "Thành viên tổ"),
                name: "members",
                sheet: &sheets::MEMBERS,
                row: member_row,
                on_primary: true,
                read_whole: true,
            },
            page,
        )
        .await;
    }
    let limit = page_limit(query.limit)?;
    let (rows, next) = db.run(move |conn| page(conn, query.cursor, limit)).await?;
    Ok(HttpResponse::Ok().json(MemberListResponse {
        items: rows.into_iter().map(|(_, member)| member).collect(),
        next_cursor: next,
    }))
}

/// A member as a row of [`sheets::MEMBERS`] (the member import format).
fn member_row((team_code, m): &(String, MemberResponse)) -> Vec<Cell> {
    cells![
        team_code,
        m.full_name.as_ref(),
        m.phone.as_ref(),
        Cell::choice(m.gender),
        m.birth_year.map(i32::from),
        m.ethnicity.map(Cell::choice),
        Cell::choice(m.affiliation),
        Cell::choice(m.role),
        m.joined_on,
        m.left_on,
    ]
}

/// Add a member.
///
/// Adds a person (new or existing) to a team. Admins, officers in scope and the team's own leader.
#[utoipa::path(
    tag = "teams",
    operation_id = "add_team_member",
    params(("id" = Uuid, Path, description = "Team id")),
    security(("bearer" = [])),
    request_body = AddMemberRequest,
    responses(
        (status = 200, description = "Already stored under this client id.", body = MemberResponse),
        (status = 201, description = "Added.", body = MemberResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such team in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a leader, already a member, client id reused, or phone of another person.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/teams/{id}/members")]
pub async fn add_team_member(
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<AddMemberRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::AddTeamMember)?;
    let team_id = id.into_inner();
    let body = body.into_inner();
    let stored = db
        .run(move |conn| conn.transaction(|conn| domain::add(conn, &actor, team_id, &body)))
        .await?;
    let mut response = if stored.is_created() {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    let member = stored.into_record();
    Ok(response
        .insert_header(("ETag", etag(member.version)))
        .insert_header((
            "Location",
            format!("/api/v1/teams/{}/members/{}", member.team_id, member.id),
        ))
        .json(member))
}

/// Path of a membership.
#[derive(Debug, Clone, Deserialize, IntoParams)]
pub struct MembershipPath {
    /// Team id.
    pub id: Uuid,
    /// Membership id.
    pub membership_id: Uuid,
}

impl MembershipPath {
    /// The membership the path names.
    fn of(&self) -> MembershipOf {
        MembershipOf {
            team_id: self.id,
            id: self.membership_id,
        }
    }
}

/// Update a member.
///
/// Changes the role, dates or the person's details. `If-Match` (the membership's `ETag`) makes the change
/// conditional. Making someone leader while another current leader exists is 409.
#[utoipa::path(
    tag = "teams",
    operation_id = "update_team_member",
    params(MembershipPath, ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = UpdateMemberRequest,
    responses(
        (status = 200, description = "Updated.", body = MemberResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such membership in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Leader taken, or team dissolved.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/teams/{id}/members/{membership_id}")]
pub async fn update_team_member(
    req: HttpRequest,
    actor: AuthUser,
    path: web::Path<MembershipPath>,
    body: web::Json<UpdateMemberRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateTeamMember)?;
    let path = path.into_inner();
    let body = body.into_inner();
    let if_match = if_match(&req);
    let member = db
        .run(move |conn| {
            conn.transaction(|conn| domain::update(conn, &actor, path.of(), &if_match, &body))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(member.version)))
        .json(member))
}

/// End a membership.
///
/// The person leaves the team today (the membership is kept as history, not deleted).
#[utoipa::path(
    tag = "teams",
    operation_id = "end_team_member",
    params(MembershipPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended (or already ended)."),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such membership in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Team dissolved.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/teams/{id}/members/{membership_id}")]
pub async fn end_team_member(
    actor: AuthUser,
    path: web::Path<MembershipPath>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::EndTeamMember)?;
    let path = path.into_inner();
    db.run(move |conn| conn.transaction(|conn| domain::end(conn, &actor, path.of()).map(|_| ())))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
