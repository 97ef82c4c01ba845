//! Reach activities of campaigns.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{org_units, reach_activities, teams};
use crate::reference::{
    Choice, Confidence, CountingMethod, FraudType, ReachChannel, RecordStatus, SkillGroup,
};

/// A reach activity row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, PartialEq)]
#[diesel(table_name = reach_activities, check_for_backend(diesel::pg::Pg))]
pub struct ReachActivity {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub team_id: Uuid,
    pub org_unit_id: Uuid,
    pub channel: ReachChannel,
    pub occurred_on: NaiveDate,
    pub contacts: i32,
    pub unique_people: Option<i32>,
    pub households_reached: i32,
    pub estimated_audience: Option<i32>,
    pub method: CountingMethod,
    pub confidence: Confidence,
    pub skill_groups: Vec<Option<SkillGroup>>,
    pub fraud_types: Vec<Option<FraudType>>,
    pub materials_distributed: i32,
    pub session_id: Option<Uuid>,
    pub notes: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
    pub status: RecordStatus,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    pub created_by: Option<Uuid>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a client reports about an activity.
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = reach_activities, treat_none_as_null = true)]
pub struct ActivityFields {
    pub campaign_id: Uuid,
    pub team_id: Uuid,
    pub org_unit_id: Uuid,
    pub channel: Choice<ReachChannel>,
    pub occurred_on: NaiveDate,
    pub contacts: i32,
    pub unique_people: Option<i32>,
    pub households_reached: i32,
    pub estimated_audience: Option<i32>,
    pub method: Choice<CountingMethod>,
    pub confidence: Choice<Confidence>,
    pub skill_groups: Vec<Option<Choice<SkillGroup>>>,
    pub fraud_types: Vec<Option<Choice<FraudType>>>,
    pub materials_distributed: i32,
    pub session_id: Option<Uuid>,
    pub notes: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
}

impl ActivityFields {
    /// The reported fields of a stored activity.
    pub fn of(a: &ReachActivity) -> Self {
        Self {
            campaign_id: a.campaign_id,
            team_id: a.team_id,
            org_unit_id: a.org_unit_id,
            channel: a.channel.into(),
            occurred_on: a.occurred_on,
            contacts: a.contacts,
            unique_people: a.unique_people,
            households_reached: a.households_reached,
            estimated_audience: a.estimated_audience,
            method: a.method.into(),
            confidence: a.confidence.into(),
            skill_groups: a.skill_groups.iter().map(|g| g.map(Choice::from)).collect(),
            fraud_types: a.fraud_types.iter().map(|t| t.map(Choice::from)).collect(),
            materials_distributed: a.materials_distributed,
            session_id: a.session_id,
            notes: a.notes.clone(),
            recorded_at: a.recorded_at,
        }
    }
}

/// An activity with its team's unit path (scope checks).
#[derive(Debug, Clone)]
pub struct ScopedActivity {
    pub activity: ReachActivity,
    pub team_unit_path: String,
}

/// The activities with these ids, deleted ones included (missing ones are left out).
pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<ReachActivity>> {
    reach_activities::table
        .filter(reach_activities::id.eq_any(ids))
        .select(ReachActivity::as_select())
        .load(conn)
}

/// One activity (deleted ones included) with its team's unit path.
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<ScopedActivity> {
    reach_activities::table
        .inner_join(
            teams::table.inner_join(org_units::table.on(org_units::id.eq(teams::org_unit_id))),
        )
        .filter(reach_activities::id.eq(id))
        .select((ReachActivity::as_select(), org_units::path))
        .first::<(ReachActivity, String)>(conn)
        .map(|(activity, team_unit_path)| ScopedActivity {
            activity,
            team_unit_path,
        })
}

/// The activities with these ids (deleted ones included) with their teams' unit paths, locked for update.
pub fn find_many_scoped_for_update(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<ScopedActivity>> {
    reach_activities::table
        .filter(reach_activities::id.eq_any(ids))
        .select(reach_activities::id)
        .for_update()
        .load::<Uuid>(conn)?;
    reach_activities::table
        .inner_join(
            teams::table.inner_join(org_units::table.on(org_units::id.eq(teams::org_unit_id))),
        )
        .filter(reach_activities::id.eq_any(ids))
        .select((ReachActivity::as_select(), org_units::path))
        .load::<(ReachActivity, String)>(conn)
        .map(|rows| {
            rows.into_iter()
                .map(|(activity, team_unit_path)| ScopedActivity {
                    activity,
                    team_unit_path,
                })
                .collect()
        })
}

/// Inserts an activity; `None` when this id exists (see `training_session::insert`).
pub fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    fields: &ActivityFields,
    created_by: Uuid,
) -> QueryResult<Option<ReachActivity>> {
    diesel::insert_into(reach_activities::table)
        .values((
            reach_activities::id.eq(id),
            fields,
            reach_activities::created_by.eq(created_by),
        ))
        .on_conflict(reach_activities::id)
        .do_nothing()
        .returning(ReachActivity::as_returning())
        .get_result(conn)
        .optional()
}

/// Inserts many activities (demo data) with their status, in batches.
pub fn insert_many(
    conn: &mut PgConnection,
    rows: &[(Uuid, ActivityFields, RecordStatus)],
) -> QueryResult<usize> {
    let mut inserted = 0;
    for chunk in rows.chunks(500) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(id, fields, status)| {
                (
                    reach_activities::id.eq(*id),
                    fields.clone(),
                    reach_activities::status.eq(*status),
                )
            })
            .collect();
        inserted += diesel::insert_into(reach_activities::table)
            .values(&values)
            .execute(conn)?;
    }
    Ok(inserted)
}

/// Replaces the reported fields at `expected_version`, with `status`.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    fields: &ActivityFields,
    status: RecordStatus,
) -> QueryResult<Option<ReachActivity>> {
    diesel::update(
        reach_activities::table
            .filter(reach_activities::id.eq(id))
            .filter(reach_activities::version.eq(expected_version)),
    )
    .set((
        fields,
        reach_activities::status.eq(status),
        reach_activities::version.eq(reach_activities::version + 1),
    ))
    .returning(ReachActivity::as_returning())
    .get_result(conn)
    .optional()
}

/// Records a review at `expected_version`.
/// Verifies or rejects the activities `ids` (locked by the caller) in one statement.
pub fn review_many(
    conn: &mut PgConnection,
    ids: &[Uuid],
    status: RecordStatus,
    reviewer: Uuid,
    reason: Option<&str>,
) -> QueryResult<Vec<ReachActivity>> {
    diesel::update(reach_activities::table.filter(reach_activities::id.eq_any(ids)))
        .set((
            reach_activities::status.eq(status),
            reach_activities::reviewed_by.eq(Some(reviewer)),
            reach_activities::reviewed_at.eq(diesel::dsl::now),
            reach_activities::rejection_reason.eq(reason),
            reach_activities::version.eq(reach_activities::version + 1),
        ))
        .returning(ReachActivity::as_returning())
        .get_results(conn)
}

pub fn review(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    status: RecordStatus,
    reviewer: Uuid,
    reason: Option<&str>,
) -> QueryResult<Option<ReachActivity>> {
    diesel::update(
        reach_activities::table
            .filter(reach_activities::id.eq(id))
            .filter(reach_activities::version.eq(expected_version)),
    )
    .set((
        reach_activities::status.eq(status),
        reach_activities::reviewed_by.eq(Some(reviewer)),
        reach_activities::reviewed_at.eq(diesel::dsl::now),
        reach_activities::rejection_reason.eq(reason),
        reach_activities::version.eq(reach_activities::version + 1),
    ))
    .returning(ReachActivity::as_returning())
    .get_result(conn)
    .optional()
}

/// Soft-deletes at `expected_version`.
pub fn soft_delete(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
) -> QueryResult<Option<ReachActivity>> {
    diesel::update(
        reach_activities::table
            .filter(reach_activities::id.eq(id))
            .filter(reach_activities::version.eq(expected_version)),
    )
    .set((
        reach_activities::deleted_at.eq(diesel::dsl::now),
        reach_activities::version.eq(reach_activities::version + 1),
    ))
    .returning(ReachActivity::as_returning())
    .get_result(conn)
    .optional()
}

/// What `list` filters on.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub campaign_id: Option<Uuid>,
    pub team_within_path: Option<String>,
    pub held_within_path: Option<String>,
    pub team_id: Option<Uuid>,
    pub channel: Option<ReachChannel>,
    pub status: Option<RecordStatus>,
    pub statuses: Option<Vec<RecordStatus>>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// A listed activity with its team's code and the path and name of the unit where it happened.
#[derive(Debug, Clone)]
pub struct ListedActivity {
    pub activity: ReachActivity,
    pub team_code: String,
    pub unit_path: String,
    pub unit_name: String,
}

/// Live activities matching `filter`, newest first, after the cursor (`limit` 0 = all).
pub fn list(
    conn: &mut PgConnection,
    filter: &ActivityFilter,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<ListedActivity>> {
    let (team_units, held_units) = diesel::alias!(org_units as team_units, org_units as held_units);
    let mut query = reach_activities::table
        .inner_join(teams::table)
        .inner_join(team_units.on(team_units.field(org_units::id).eq(teams::org_unit_id)))
        .inner_join(
            held_units.on(held_units
                .field(org_units::id)
                .eq(reach_activities::org_unit_id)),
        )
        .filter(reach_activities::deleted_at.is_null())
        .select((
            ReachActivity::as_select(),
            teams::code,
            held_units.field(org_units::path),
            held_units.field(org_units::name),
        ))
        .into_boxed();
    if let Some(campaign) = filter.campaign_id {
        query = query.filter(reach_activities::campaign_id.eq(campaign));
    }
    if let Some(path) = &filter.team_within_path {
        query = query.filter(super::in_subtree(team_units.field(org_units::path), path));
    }
    if let Some(path) = &filter.held_within_path {
        query = query.filter(super::in_subtree(held_units.field(org_units::path), path));
    }
    if let Some(team) = filter.team_id {
        query = query.filter(reach_activities::team_id.eq(team));
    }
    if let Some(channel) = filter.channel {
        query = query.filter(reach_activities::channel.eq(channel));
    }
    if let Some(status) = filter.status {
        query = query.filter(reach_activities::status.eq(status));
    }
    if let Some(statuses) = &filter.statuses {
        query = query.filter(reach_activities::status.eq_any(statuses.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(reach_activities::occurred_on.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(reach_activities::occurred_on.le(to));
    }
    if let Some((day, id)) = after {
        // A row comparison the index serves (see `training_session::list`).
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(
                "(reach_activities.occurred_on, reach_activities.id) < (",
            )
            .bind::<diesel::sql_types::Date, _>(day)
            .sql(", ")
            .bind::<diesel::sql_types::Uuid, _>(id)
            .sql(")"),
        );
    }
    query = query.order((
        reach_activities::occurred_on.desc(),
        reach_activities::id.desc(),
    ));
    if limit > 0 {
        query = query.limit(limit);
    }
    query
        .load::<(ReachActivity, String, String, String)>(conn)
        .map(|rows| {
            rows.into_iter()
                .map(
                    |(activity, team_code, unit_path, unit_name)| ListedActivity {
                        activity,
                        team_code,
                        unit_path,
                        unit_name,
                    },
                )
                .collect()
        })
}
