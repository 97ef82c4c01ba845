//! Offline sync: the change feed phones pull to catch up in one exchange ([`crate::domain::sync::pull`]).

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::{AuthUser, Operation},
    config::Settings,
    contract::PULL_LIMIT_MAX,
    db::Db,
    domain::sync::pull::{SyncItem, pull},
    error::{AppError, ErrorCode, Problem, Text},
    models::sync::Position,
    routes::conditional::{decode_cursor, encode_cursor},
};

/// Options of a pull.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    /// `next_cursor` of the previous pull; empty or absent starts from the beginning (the bootstrap).
    pub cursor: Option<String>,
    /// Items per reply, 1-1000 (default 500).
    pub limit: Option<i64>,
}

/// A page of the change feed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"items": [
    {"type": "training_session", "op": "upsert", "id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "version": 2,
     "data": {"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "team_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
              "kind": "training", "held_on": "2025-10-10", "participants_total": 42, "status": "verified", "version": 2}},
    {"type": "reach_activity", "op": "delete", "id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9c", "version": null,
     "data": null}],
    "next_cursor": "MTIzNDU6Njc4", "has_more": false}))]
pub struct PullResponse {
    /// Oldest change first.
    pub items: Vec<SyncItem>,
    /// Send it back as `cursor` next time (also when `items` is empty).
    pub next_cursor: String,
    /// More changes wait: pull again now.
    pub has_more: bool,
}

fn invalid_cursor() -> AppError {
    AppError::new(ErrorCode::InvalidQuery)
        .with_detail(Text::new("cursor is not valid", "cursor không hợp lệ"))
}

fn parse_cursor(cursor: Option<&str>) -> Result<Position, AppError> {
    match decode_cursor(cursor.filter(|c| !c.is_empty()))? {
        None => Ok(Position::default()),
        Some(text) => {
            let (txid, seq) = text.split_once(':').ok_or_else(invalid_cursor)?;
            Ok(Position {
                txid: txid.parse().map_err(|_| invalid_cursor())?,
                seq: seq.parse().map_err(|_| invalid_cursor())?,
            })
        }
    }
}

/// Pull changes.
///
/// Everything you may see that changed after `cursor`: org units in your scope (and above it), campaigns,
/// teams, members of your teams, sessions and reach activities, and the monthly sign-offs of the
/// commune-level units you see (a team leader's commune included: a `sign_off` item in state `submitted` or
/// `accepted` means that unit's month is closed to team leaders, so a phone can warn before logging into it),
/// as upserts (each record as its own endpoint returns it) and deletions as tombstones, oldest first. An empty cursor starts from the beginning (the
/// bootstrap). The order follows a server-side change sequence that never skips a commit: changes of a
/// transaction still running are withheld until it ends, and nothing older can appear behind your cursor.
/// Phone numbers follow the personal-data rules (full reads are logged). Ask with `Accept-Encoding: gzip`;
/// the reference lists have their own `ETag` at `/api/v1/reference`.
#[utoipa::path(
    tag = "sync",
    operation_id = "sync_pull",
    params(PullQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of changes.", body = PullResponse),
        (status = 400, description = "Bad cursor or query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` out of range.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/pull")]
pub async fn sync_pull(
    actor: AuthUser,
    query: web::Query<PullQuery>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::SyncPull)?;
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(500);
    if !(1..=PULL_LIMIT_MAX).contains(&limit) {
        let mut errors = crate::domain::validation::FieldErrors::new();
        errors.add(
            "limit",
            "out_of_range",
            format!("must be from 1 to {PULL_LIMIT_MAX}"),
            format!("phải từ 1 đến {PULL_LIMIT_MAX}"),
        );
        errors.finish()?;
    }
    let after = parse_cursor(query.cursor.as_deref())?;
    let due_days = settings.sign_off_due_days;
    let (items, last, has_more) = db
        .run(move |conn| pull(conn, &actor, after, limit, due_days))
        .await?;
    let response = PullResponse {
        items,
        next_cursor: encode_cursor(&format!("{}:{}", last.txid, last.seq)),
        has_more,
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(response))
}
