//! Reach activities: what teams did for a campaign, each kind of count kept apart with how it was counted
//! and how sure the team is. Same retry safety, workflow, lock, scoping, audit and CSV as sessions.
//!
//! Reads here; writes in [`writes`], review in [`review`].

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::models::attachment::{self, Owner};
use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role},
    cells,
    db::Db,
    domain::{
        reach_activities::{self as domain, ActivityResponse},
        validation::FieldErrors,
    },
    error::{AppError, Problem, Text},
    models::{
        from_array, org_unit,
        reach_activity::{self, ActivityFilter, ListedActivity},
    },
    reference::{Choice, ReachChannel, RecordStatus, check_choice},
    routes::{
        conditional::{decode_keyset, encode_keyset, etag, page_limit},
        export::{self, Answer},
    },
    tabular::{Cell, sheets},
};

mod review;
mod writes;

pub use review::*;
pub use writes::*;

/// Filters for listing activities.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ActivityListQuery {
    pub team_id: Option<Uuid>,
    /// Activities in this unit's subtree.
    pub org_unit_id: Option<Uuid>,
    #[param(value_type = Option<ReachChannel>)]
    pub channel: Option<Choice<ReachChannel>>,
    /// `submitted`, `verified` or `rejected`.
    #[param(value_type = Option<RecordStatus>)]
    pub status: Option<Choice<RecordStatus>>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Page size, 1-500 (default 50). A file without `limit` or `cursor` holds the whole list.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `json` (pages), `csv` or `xlsx` (the whole list as one file); overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// A page of activities, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivityListResponse {
    pub items: Vec<ActivityResponse>,
    pub next_cursor: Option<String>,
}

/// List a campaign's reach activities.
///
/// Activities of the teams in your scope, newest first.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "list_reach_activities",
    params(("id" = Uuid, Path, description = "Campaign id"), ActivityListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of activities, or the whole list as a file.",
         content((ActivityListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad id or query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign or unit.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/campaigns/{id}/reach-activities")]
pub async fn list_reach_activities(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<ActivityListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListReachActivities)?;
    list(&req, actor, Some(id.into_inner()), query.into_inner(), &db).await
}

/// List reach activities of every campaign.
///
/// The activities of every campaign edition by the teams in your scope, newest first, with the same
/// filters as a campaign's list (the pending records of a month's sign-off link here).
#[utoipa::path(
    tag = "campaigns",
    operation_id = "list_all_reach_activities",
    params(ActivityListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of activities, or the whole list as a file.",
         content((ActivityListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV acceptable.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reach-activities")]
pub async fn list_all_reach_activities(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<ActivityListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListAllReachActivities)?;
    list(&req, actor, None, query.into_inner(), &db).await
}

/// The activities of `campaign` (`None`: every campaign) the actor may see, as JSON or CSV.
async fn list(
    req: &HttpRequest,
    actor: AuthUser,
    campaign_id: Option<Uuid>,
    query: ActivityListQuery,
    db: &Db,
) -> Result<HttpResponse, AppError> {
    let answer = Answer::of(req, query.format.as_ref())?;
    let mut errors = FieldErrors::new();
    let channel = check_choice(&mut errors, "channel", query.channel.as_ref());
    let status = check_choice(&mut errors, "status", query.status.as_ref());
    errors.finish()?;
    let mut filter = ActivityFilter {
        campaign_id,
        team_within_path: actor
            .scope_filter()
            .filter(|_| actor.role != Role::TeamLeader),
        held_within_path: None,
        team_id: query.team_id,
        channel,
        status,
        statuses: None,
        from: query.from,
        to: query.to,
    };
    if actor.role == Role::TeamLeader {
        let own = actor.team_id.unwrap_or_else(Uuid::nil);
        filter.team_id = Some(if query.team_id.is_some_and(|t| t != own) {
            Uuid::nil()
        } else {
            own
        });
    }
    let root = query.org_unit_id;
    let page = move |conn: &mut diesel::PgConnection, cursor: Option<String>, limit| {
        let after = decode_keyset::<NaiveDate>(cursor.as_deref())?;
        let mut filter = filter.clone();
        if let Some(campaign) = campaign_id {
            crate::domain::campaigns::find(conn, campaign)?;
        }
        if let Some(root) = root {
            let unit = org_unit::find(conn, root)
                .optional_app()?
                .ok_or_else(|| AppError::not_found("org unit"))?;
            filter.held_within_path = Some(unit.path);
        }
        let rows = reach_activity::list(conn, &filter, after, limit)?;
        let next = if rows.len() as i64 == limit {
            rows.last()
                .map(|r| encode_keyset(&r.activity.occurred_on.to_string(), r.activity.id))
        } else {
            None
        };
        Ok((rows, next))
    };
    if answer.is_file() {
        return export::list(
            req,
            db,
            &actor,
            answer,
            (query.limit, query.cursor),
            export::ListFile {
                title: Text::new(
                    "Campaign reach activities",
                    "Hoạt động tuyên truyền của chiến dịch",
                ),
                name: "reach-activities",
                sheet: &sheets::REACH_ACTIVITIES,
                row: activity_row,
                on_primary: false,
                read_whole: false,
            },
            page,
        )
        .await;
    }
    let limit = page_limit(query.limit)?;
    let (rows, next, counts) = db
        .read(actor.id, move |conn| {
            let (rows, next) = page(conn, query.cursor, limit)?;
            let ids: Vec<Uuid> = rows.iter().map(|r| r.activity.id).collect();
            let counts = attachment::count_activities(conn, &ids)?;
            Ok((rows, next, counts))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ActivityListResponse {
        items: rows
            .iter()
            .map(|r| {
                ActivityResponse::from(&r.activity)
                    .with_attachment_count(counts.get(&r.activity.id).copied().unwrap_or(0))
            })
            .collect(),
        next_cursor: next,
    }))
}

/// Find a reach activity.
///
/// One activity with `ETag`; deleted ones and those outside your scope are 404.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "find_reach_activity",
    params(("id" = Uuid, Path, description = "Activity id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The activity.", body = ActivityResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reach-activities/{id}")]
pub async fn find_reach_activity(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindReachActivity)?;
    let id = id.into_inner();
    let (found, attachments) = db
        .run(move |conn| {
            let found = domain::find_visible(conn, &actor, id)?;
            Ok((found, attachment::count(conn, Owner::Activity(id))?))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.activity.version)))
        .json(ActivityResponse::from(&found.activity).with_attachment_count(attachments)))
}

/// An activity as a row of [`sheets::REACH_ACTIVITIES`].
fn activity_row(r: &ListedActivity) -> Vec<Cell> {
    let a = &r.activity;
    cells![
        a.id.to_string(),
        &r.team_code,
        a.occurred_on,
        Cell::choice(a.channel),
        &r.unit_name,
        a.contacts,
        a.unique_people,
        a.households_reached,
        a.estimated_audience,
        Cell::choice(a.method),
        Cell::choice(a.confidence),
        Cell::choices(&from_array(&a.skill_groups)),
        Cell::choices(&from_array(&a.fraud_types)),
        a.materials_distributed,
        Cell::choice(a.status),
        a.notes.as_ref(),
    ]
}
