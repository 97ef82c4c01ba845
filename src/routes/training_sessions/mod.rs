//! Training and outreach sessions: team leaders log them (often offline, retrying), officers verify or
//! reject them, and a reporting lock keeps closed months stable.
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
        training_sessions::{self as domain, TrainingSessionResponse},
        validation::FieldErrors,
    },
    error::{AppError, Problem, Text},
    models::{
        org_unit,
        training_session::{self, SessionFilter, TrainingSession},
    },
    reference::{Choice, RecordStatus, SessionKind, SessionTopic, check_choice},
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

/// Filters for listing sessions.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SessionListQuery {
    pub team_id: Option<Uuid>,
    /// Sessions held in this unit and its whole subtree.
    pub org_unit_id: Option<Uuid>,
    /// Held on or after.
    pub from: Option<NaiveDate>,
    /// Held on or before.
    pub to: Option<NaiveDate>,
    /// `training` or `outreach`.
    #[param(value_type = Option<SessionKind>)]
    pub kind: Option<Choice<SessionKind>>,
    /// Sessions covering this topic.
    #[param(value_type = Option<SessionTopic>)]
    pub topic: Option<Choice<SessionTopic>>,
    /// `submitted`, `verified` or `rejected`.
    #[param(value_type = Option<RecordStatus>)]
    pub status: Option<Choice<RecordStatus>>,
    /// Page size, 1-500 (default 50). A file without `limit` or `cursor` holds the whole list.
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// `json` (pages), `csv` or `xlsx` (the whole list as one file); overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// A page of sessions, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionListResponse {
    pub items: Vec<TrainingSessionResponse>,
    pub next_cursor: Option<String>,
}

/// List sessions.
///
/// Sessions of the teams in your scope, newest first, with keyset pagination.
#[utoipa::path(
    tag = "training-sessions",
    operation_id = "list_training_sessions",
    params(SessionListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of sessions, or the whole list as a file.",
         content((SessionListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`org_unit_id` does not exist.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/training-sessions")]
pub async fn list_training_sessions(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<SessionListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListTrainingSessions)?;
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let mut errors = FieldErrors::new();
    let kind = check_choice(&mut errors, "kind", query.kind.as_ref());
    let topic = check_choice(&mut errors, "topic", query.topic.as_ref());
    let status = check_choice(&mut errors, "status", query.status.as_ref());
    errors.finish()?;
    let mut filter = SessionFilter {
        team_within_path: actor
            .scope_filter()
            .filter(|_| actor.role != Role::TeamLeader),
        held_within_path: None,
        team_id: query.team_id,
        from: query.from,
        to: query.to,
        kind,
        topic,
        status,
    };
    if actor.role == Role::TeamLeader {
        // A leader sees their own team only, whatever else was asked.
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
        if let Some(root) = root {
            let unit = org_unit::find(conn, root)
                .optional_app()?
                .ok_or_else(|| AppError::not_found("org unit"))?;
            filter.held_within_path = Some(unit.path);
        }
        let rows = training_session::list(conn, &filter, after, limit)?;
        let next = if rows.len() as i64 == limit {
            rows.last()
                .map(|(s, _, _)| encode_keyset(&s.held_on.to_string(), s.id))
        } else {
            None
        };
        Ok((rows, next))
    };
    if answer.is_file() {
        return export::list(
            &req,
            &db,
            &actor,
            answer,
            (query.limit, query.cursor),
            export::ListFile {
                title: Text::new("Sessions", "Buổi sinh hoạt, tập huấn"),
                name: "training-sessions",
                sheet: &sheets::SESSIONS,
                row: session_row,
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
            let ids: Vec<Uuid> = rows.iter().map(|(s, _, _)| s.id).collect();
            let counts = attachment::count_sessions(conn, &ids)?;
            Ok((rows, next, counts))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SessionListResponse {
        items: rows
            .iter()
            .map(|(s, _, _)| {
                TrainingSessionResponse::from(s)
                    .with_attachment_count(counts.get(&s.id).copied().unwrap_or(0))
            })
            .collect(),
        next_cursor: next,
    }))
}

/// A session as a row of [`sheets::SESSIONS`].
fn session_row((s, team_code, unit_name): &(TrainingSession, String, String)) -> Vec<Cell> {
    cells![
        s.id.to_string(),
        team_code,
        s.held_on,
        Cell::choice(s.kind),
        Cell::choice(s.format),
        s.venue.as_ref(),
        unit_name,
        Cell::choices(&s.topic_list()),
        s.duration_minutes,
        s.participants_total,
        s.participants_female,
        s.participants_ethnic_minority,
        s.participants_elderly,
        s.households_reached,
        s.vneid_activations,
        s.payment_accounts_opened,
        s.public_service_accounts_created,
        s.online_dossiers_submitted,
        s.apps_installed,
        Cell::choice(s.status),
        s.reviewed_at,
        s.rejection_reason.as_ref(),
        s.notes.as_ref(),
        s.version,
    ]
}

/// Find a session.
///
/// One session with `ETag`. Deleted sessions and sessions outside your scope are 404.
#[utoipa::path(
    tag = "training-sessions",
    operation_id = "find_training_session",
    params(("id" = Uuid, Path, description = "Session id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session.", body = TrainingSessionResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/training-sessions/{id}")]
pub async fn find_training_session(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindTrainingSession)?;
    let id = id.into_inner();
    let (found, attachments) = db
        .run(move |conn| {
            let found = domain::find_visible(conn, &actor, id)?;
            Ok((found, attachment::count(conn, Owner::Session(id))?))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.session.version)))
        .json(TrainingSessionResponse::from(&found.session).with_attachment_count(attachments)))
}
