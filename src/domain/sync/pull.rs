//! Offline sync, pull side: the change feed a phone reads to catch up in one exchange, each record as
//! its own endpoint shows it (phones masked as the reader may see them; full reads logged).

use std::collections::HashMap;

use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Role},
    domain::attachments::AttachmentResponse,
    domain::memberships::member_response,
    domain::reach_activities::ActivityResponse,
    domain::training_sessions::TrainingSessionResponse,
    domain::workflow::commune_path,
    domain::{campaigns::CampaignResponse, org_units::OrgUnitResponse, teams::TeamResponse},
    error::AppError,
    models::attachment::{self, Owner},
    models::{
        campaign, org_unit, person, reach_activity,
        sync::{self, Audience, Change, Position},
        team, training_session,
    },
    reference::{SyncOp, SyncRecordType},
};

/// One changed record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"type": "training_session", "op": "upsert", "id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a",
    "version": 2, "data": {"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "kind": "training"}}))]
pub struct SyncItem {
    /// `org_unit`, `campaign`, `team`, `membership`, `training_session`, `reach_activity` or `sign_off`.
    #[serde(rename = "type")]
    pub entity: SyncRecordType,
    /// `upsert` (store `data` under `id`) or `delete` (a tombstone: forget `id`).
    pub op: SyncOp,
    pub id: Uuid,
    /// The record's version (upserts of versioned records).
    pub version: Option<i32>,
    /// The record as its own endpoint returns it (upserts only). Sessions and reach activities also
    /// carry `attachments`: their attachments' metadata (as `GET .../attachments` lists them, never the
    /// bytes), so a phone knows what evidence is on the server.
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

/// Which changes `actor` may see.
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

fn upsert(
    entity: SyncRecordType,
    id: Uuid,
    version: Option<i32>,
    data: impl Serialize,
) -> SyncItem {
    SyncItem {
        entity,
        op: SyncOp::Upsert,
        id,
        version,
        data: serde_json::to_value(data).ok(),
    }
}

fn tombstone(entity: SyncRecordType, id: Uuid) -> SyncItem {
    SyncItem {
        entity,
        op: SyncOp::Delete,
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
    due_days: u32,
) -> Result<Vec<SyncItem>, AppError> {
    let ids = |entity: SyncRecordType| -> Vec<Uuid> {
        changes
            .iter()
            .filter(|c| c.entity == entity && !c.deleted)
            .map(|c| c.record_id)
            .collect()
    };
    let mut found: HashMap<(SyncRecordType, Uuid), SyncItem> = HashMap::new();
    for unit in org_unit::find_many(conn, &ids(SyncRecordType::OrgUnit))? {
        found.insert(
            (SyncRecordType::OrgUnit, unit.id),
            upsert(
                SyncRecordType::OrgUnit,
                unit.id,
                Some(unit.version),
                OrgUnitResponse::from(&unit),
            ),
        );
    }
    for campaign in campaign::find_many(conn, &ids(SyncRecordType::Campaign))? {
        found.insert(
            (SyncRecordType::Campaign, campaign.id),
            upsert(
                SyncRecordType::Campaign,
                campaign.id,
                Some(campaign.version),
                CampaignResponse::from(&campaign),
            ),
        );
    }
    let team_rows = team::find_many_with_unit(conn, &ids(SyncRecordType::Team))?;
    let team_ids: Vec<Uuid> = team_rows.iter().map(|(t, _, _)| t.id).collect();
    let leaders: HashMap<Uuid, person::Person> = person::current_leaders(conn, &team_ids)?
        .into_iter()
        .collect();
    for (team, unit_name, level) in &team_rows {
        let leader = leaders.get(&team.id).and_then(|p| p.full_name.clone());
        found.insert(
            (SyncRecordType::Team, team.id),
            upsert(
                SyncRecordType::Team,
                team.id,
                Some(team.version),
                TeamResponse::new(team, unit_name, *level, leader),
            ),
        );
    }
    let mut shown = Vec::new();
    for detail in person::find_memberships(conn, &ids(SyncRecordType::Membership))? {
        let full = actor.sees_phones_of(detail.membership.team_id, &detail.unit_path);
        if full && detail.person.phone.is_some() {
            shown.push(detail.person.id);
        }
        found.insert(
            (SyncRecordType::Membership, detail.membership.id),
            upsert(
                SyncRecordType::Membership,
                detail.membership.id,
                Some(detail.membership.version),
                member_response(&detail, full),
            ),
        );
    }
    person::record_reads(conn, actor.id, &shown, actor.request_id.as_deref())?;
    // Sessions and activities carry their attachments' metadata (never the bytes); links to the bytes
    // for those who may see them (everyone here is in scope: all but viewers).
    let session_ids = ids(SyncRecordType::TrainingSession);
    let activity_ids = ids(SyncRecordType::ReachActivity);
    let mut attachments = attachment::list_many(conn, &session_ids, &activity_ids)?;
    let visible = actor.role != Role::Viewer;
    let mut with_attachments = |data: serde_json::Value, owner: Owner| {
        let listed = attachments.remove(&owner).unwrap_or_default();
        let mut data = data;
        data["attachment_count"] = listed.len().into();
        data["attachments"] = serde_json::to_value(
            listed
                .iter()
                .map(|(a, b)| AttachmentResponse::new(a, b, visible))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default();
        data
    };
    for session in training_session::find_many(conn, &session_ids)? {
        let mut item = upsert(
            SyncRecordType::TrainingSession,
            session.id,
            Some(session.version),
            TrainingSessionResponse::from(&session),
        );
        item.data = item
            .data
            .map(|data| with_attachments(data, Owner::Session(session.id)));
        found.insert((SyncRecordType::TrainingSession, session.id), item);
    }
    for activity in reach_activity::find_many(conn, &activity_ids)? {
        let mut item = upsert(
            SyncRecordType::ReachActivity,
            activity.id,
            Some(activity.version),
            ActivityResponse::from(&activity),
        );
        item.data = item
            .data
            .map(|data| with_attachments(data, Owner::Activity(activity.id)));
        found.insert((SyncRecordType::ReachActivity, activity.id), item);
    }
    for (id, version, shown) in
        crate::domain::sign_offs::find_many(conn, &ids(SyncRecordType::SignOff), due_days)?
    {
        found.insert(
            (SyncRecordType::SignOff, id),
            upsert(SyncRecordType::SignOff, id, Some(version), shown),
        );
    }
    Ok(changes
        .iter()
        .map(|change| {
            let entity = change.entity;
            // Deleted, or gone since the change was recorded: a tombstone.
            found
                .remove(&(entity, change.record_id))
                .unwrap_or_else(|| tombstone(entity, change.record_id))
        })
        .collect())
}

/// The changes `actor` may see after `after`, at most `limit`, each record read as it stands now: the
/// items, the position of the last one (`after` when there is none) and whether more wait. Sign-offs
/// show their `due_on` `due_days` after their month.
pub fn pull(
    conn: &mut PgConnection,
    actor: &AuthUser,
    after: Position,
    limit: i64,
    due_days: u32,
) -> Result<(Vec<SyncItem>, Position, bool), AppError> {
    let audience = audience(conn, actor)?;
    let mut changes = sync::read(conn, &audience, after, limit + 1)?;
    let has_more = changes.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    changes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let last = changes.last().map_or(after, Change::position);
    Ok((items(conn, actor, &changes, due_days)?, last, has_more))
}
