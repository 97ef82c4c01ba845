//! Offline sync: the change feed phones pull to catch up in one exchange.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, web};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, Role},
    contract::PULL_LIMIT_MAX,
    db::Db,
    domain::memberships::member_response,
    domain::reach_activities::ActivityResponse,
    domain::training_sessions::TrainingSessionResponse,
    domain::workflow::commune_path,
    domain::{campaigns::CampaignResponse, org_units::OrgUnitResponse, teams::TeamResponse},
    error::{AppError, ErrorCode, Problem, Text},
    models::{
        campaign, org_unit, person, reach_activity,
        sync::{self, Audience, Change, Position},
        team, training_session,
    },
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

/// One changed record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"type": "training_session", "op": "upsert", "id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a",
    "version": 2, "data": {"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "kind": "training"}}))]
pub struct SyncItem {
    /// `org_unit`, `campaign`, `team`, `membership`, `training_session` or `reach_activity`.
    #[serde(rename = "type")]
    #[schema(value_type = crate::reference::SyncRecordType)]
    pub entity: String,
    /// `upsert` (store `data` under `id`) or `delete` (a tombstone: forget `id`).
    #[schema(value_type = crate::reference::SyncOp)]
    pub op: String,
    pub id: Uuid,
    /// The record's version (upserts of versioned records).
    pub version: Option<i32>,
    /// The record as its own endpoint returns it (upserts only).
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
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

fn audience(conn: &mut PgConnection, actor: &AuthUser) -> Result<Audience, AppError> {
    Ok(match actor.role {
        Role::Admin => Audience::All,
        Role::Officer | Role::Viewer => {
            Audience::Subtree(actor.scope_path.clone().unwrap_or_else(|| "-".to_owned()))
        }
        Role::TeamLeader => {
            let team = actor.team_id.unwrap_or_else(Uuid::nil);
            match team::unit_of(conn, team)? {
                Some(unit) => Audience::Team {
                    team,
                    commune_path: commune_path(&unit),
                    team_path: unit.path,
                },
                None => Audience::Team {
                    team,
                    team_path: "-".to_owned(),
                    commune_path: "-".to_owned(),
                },
            }
        }
    })
}

fn upsert(entity: &str, id: Uuid, version: Option<i32>, data: impl Serialize) -> SyncItem {
    SyncItem {
        entity: entity.to_owned(),
        op: "upsert".to_owned(),
        id,
        version,
        data: serde_json::to_value(data).ok(),
    }
}

fn tombstone(entity: &str, id: Uuid) -> SyncItem {
    SyncItem {
        entity: entity.to_owned(),
        op: "delete".to_owned(),
        id,
        version: None,
        data: None,
    }
}

/// The items of a page of changes, each record read as it stands now.
fn items(
    conn: &mut PgConnection,
    actor: &AuthUser,
    changes: &[Change],
) -> Result<Vec<SyncItem>, AppError> {
    let ids = |entity: &str| -> Vec<Uuid> {
        changes
            .iter()
            .filter(|c| c.entity == entity && !c.deleted)
            .map(|c| c.record_id)
            .collect()
    };
    let mut found: HashMap<(&'static str, Uuid), SyncItem> = HashMap::new();
    for unit in org_unit::find_many(conn, &ids("org_unit"))? {
        found.insert(
            ("org_unit", unit.id),
            upsert(
                "org_unit",
                unit.id,
                Some(unit.version),
                OrgUnitResponse::from(&unit),
            ),
        );
    }
    for campaign in campaign::find_many(conn, &ids("campaign"))? {
        found.insert(
            ("campaign", campaign.id),
            upsert(
                "campaign",
                campaign.id,
                Some(campaign.version),
                CampaignResponse::from(&campaign),
            ),
        );
    }
    let team_rows = team::find_many_with_unit(conn, &ids("team"))?;
    let team_ids: Vec<Uuid> = team_rows.iter().map(|(t, _, _)| t.id).collect();
    let leaders: HashMap<Uuid, person::Person> = person::current_leaders(conn, &team_ids)?
        .into_iter()
        .collect();
    for (team, unit_name, level) in &team_rows {
        let leader = leaders.get(&team.id).and_then(|p| p.full_name.clone());
        found.insert(
            ("team", team.id),
            upsert(
                "team",
                team.id,
                Some(team.version),
                TeamResponse::new(team, unit_name, *level, leader),
            ),
        );
    }
    let mut shown = Vec::new();
    for detail in person::find_memberships(conn, &ids("membership"))? {
        let full = actor.sees_phones_of(detail.membership.team_id, &detail.unit_path);
        if full && detail.person.phone.is_some() {
            shown.push(detail.person.id);
        }
        found.insert(
            ("membership", detail.membership.id),
            upsert(
                "membership",
                detail.membership.id,
                Some(detail.membership.version),
                member_response(&detail, full),
            ),
        );
    }
    person::record_reads(conn, actor.id, &shown, actor.request_id.as_deref())?;
    for session in training_session::find_many(conn, &ids("training_session"))? {
        found.insert(
            ("training_session", session.id),
            upsert(
                "training_session",
                session.id,
                Some(session.version),
                TrainingSessionResponse::from(&session),
            ),
        );
    }
    for activity in reach_activity::find_many(conn, &ids("reach_activity"))? {
        found.insert(
            ("reach_activity", activity.id),
            upsert(
                "reach_activity",
                activity.id,
                Some(activity.version),
                ActivityResponse::from(&activity),
            ),
        );
    }
    Ok(changes
        .iter()
        .map(|change| {
            let entity = match change.entity.as_str() {
                "org_unit" => "org_unit",
                "campaign" => "campaign",
                "team" => "team",
                "membership" => "membership",
                "training_session" => "training_session",
                _ => "reach_activity",
            };
            // Deleted, or gone since the change was recorded: a tombstone.
            found
                .remove(&(entity, change.record_id))
                .unwrap_or_else(|| tombstone(entity, change.record_id))
        })
        .collect())
}

/// Pull changes.
///
/// Everything you may see that changed after `cursor`: org units in your scope (and above it), campaigns,
/// teams, members of your teams, sessions and reach activities, as upserts (each record as its own endpoint
/// returns it) and deletions as tombstones, oldest first. An empty cursor starts from the beginning (the
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
    let response = db
        .run(move |conn| {
            let audience = audience(conn, &actor)?;
            let mut changes = sync::read(conn, &audience, after, limit + 1)?;
            let has_more = changes.len() > usize::try_from(limit).unwrap_or(usize::MAX);
            changes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            let last = changes.last().map_or(after, Change::position);
            Ok(PullResponse {
                items: items(conn, &actor, &changes)?,
                next_cursor: encode_cursor(&format!("{}:{}", last.txid, last.seq)),
                has_more,
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(response))
}
