//! Monthly sign-offs of commune-level units and their transitions.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{sign_off_transitions, sign_offs, users};
use crate::reference::{SignOffAction, SignOffState};

/// A stored sign-off (a unit-month without one is open).
#[derive(Debug, Clone, Queryable, Selectable, PartialEq, serde::Deserialize)]
#[diesel(table_name = sign_offs, check_for_backend(diesel::pg::Pg))]
pub struct SignOff {
    pub id: Uuid,
    pub org_unit_id: Uuid,
    pub period: NaiveDate,
    pub state: SignOffState,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub submitted_by: Option<Uuid>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub figures: serde_json::Value,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One transition of a sign-off, with the username of who made it.
#[derive(Debug, Clone, Queryable)]
pub struct Transition {
    pub action: SignOffAction,
    pub from_state: SignOffState,
    pub to_state: SignOffState,
    pub actor_id: Option<Uuid>,
    pub actor_username: Option<String>,
    pub at: DateTime<Utc>,
    pub comment: Option<String>,
    pub figures: serde_json::Value,
}

/// The sign-off of `unit` for the month starting `period`, if one was ever written.
pub fn find(
    conn: &mut PgConnection,
    unit: Uuid,
    period: NaiveDate,
) -> QueryResult<Option<SignOff>> {
    sign_offs::table
        .filter(sign_offs::org_unit_id.eq(unit))
        .filter(sign_offs::period.eq(period))
        .select(SignOff::as_select())
        .first(conn)
        .optional()
}

/// The stored sign-offs with these ids (any order).
pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<SignOff>> {
    sign_offs::table
        .filter(sign_offs::id.eq_any(ids))
        .select(SignOff::as_select())
        .load(conn)
}

/// The transitions of a sign-off, oldest first.
pub fn transitions(conn: &mut PgConnection, sign_off: Uuid) -> QueryResult<Vec<Transition>> {
    sign_off_transitions::table
        .left_join(users::table.on(users::id.nullable().eq(sign_off_transitions::actor_id)))
        .filter(sign_off_transitions::sign_off_id.eq(sign_off))
        .order((
            sign_off_transitions::at.asc(),
            sign_off_transitions::id.asc(),
        ))
        .select((
            sign_off_transitions::action,
            sign_off_transitions::from_state,
            sign_off_transitions::to_state,
            sign_off_transitions::actor_id,
            users::username.nullable(),
            sign_off_transitions::at,
            sign_off_transitions::comment,
            sign_off_transitions::figures,
        ))
        .load(conn)
}

/// What a transition writes.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub action: SignOffAction,
    pub to: SignOffState,
    pub actor: Uuid,
    /// The submitter's note (`submit`) or the reason (`return`, `reopen`); `accept` keeps both.
    pub comment: Option<&'a str>,
    pub figures: &'a serde_json::Value,
    /// When it happens (now, but for loaded history).
    pub at: DateTime<Utc>,
}

/// Applies `change` to the unit-month: creates its row on the first transition, otherwise updates it at
/// `expected_version` (`None` when that version moved). Records the transition.
pub fn apply(
    conn: &mut PgConnection,
    current: Option<&SignOff>,
    unit: Uuid,
    period: NaiveDate,
    change: &Change<'_>,
) -> QueryResult<Option<SignOff>> {
    let now = change.at;
    let submitting = change.action == SignOffAction::Submit;
    let deciding = !submitting;
    let stored = match current {
        None => diesel::insert_into(sign_offs::table)
            .values((
                sign_offs::id.eq(Uuid::now_v7()),
                sign_offs::org_unit_id.eq(unit),
                sign_offs::period.eq(period),
                sign_offs::state.eq(change.to),
                sign_offs::note.eq(change.comment.filter(|_| submitting)),
                sign_offs::submitted_by.eq(Some(change.actor).filter(|_| submitting)),
                sign_offs::submitted_at.eq(Some(now).filter(|_| submitting)),
                sign_offs::figures.eq(change.figures),
            ))
            .on_conflict((sign_offs::org_unit_id, sign_offs::period))
            .do_nothing()
            .returning(SignOff::as_returning())
            .get_result(conn)
            .optional()?,
        Some(row) => {
            let note = if submitting {
                change.comment.map(str::to_owned)
            } else {
                row.note.clone()
            };
            let reason = match change.action {
                SignOffAction::Return | SignOffAction::Reopen => change.comment.map(str::to_owned),
                _ => row.reason.clone(),
            };
            diesel::update(
                sign_offs::table
                    .filter(sign_offs::id.eq(row.id))
                    .filter(sign_offs::version.eq(row.version)),
            )
            .set((
                sign_offs::state.eq(change.to),
                sign_offs::note.eq(note),
                sign_offs::reason.eq(reason),
                sign_offs::submitted_by.eq(if submitting {
                    Some(change.actor)
                } else {
                    row.submitted_by
                }),
                sign_offs::submitted_at.eq(if submitting {
                    Some(now)
                } else {
                    row.submitted_at
                }),
                sign_offs::decided_by.eq(if deciding {
                    Some(change.actor)
                } else {
                    row.decided_by
                }),
                sign_offs::decided_at.eq(if deciding { Some(now) } else { row.decided_at }),
                sign_offs::figures.eq(change.figures),
                sign_offs::version.eq(sign_offs::version + 1),
            ))
            .returning(SignOff::as_returning())
            .get_result(conn)
            .optional()?
        }
    };
    if let Some(stored) = &stored {
        diesel::insert_into(sign_off_transitions::table)
            .values((
                sign_off_transitions::id.eq(Uuid::now_v7()),
                sign_off_transitions::sign_off_id.eq(stored.id),
                sign_off_transitions::action.eq(change.action),
                sign_off_transitions::from_state
                    .eq(current.map_or(SignOffState::Open, |row| row.state)),
                sign_off_transitions::to_state.eq(change.to),
                sign_off_transitions::actor_id.eq(change.actor),
                sign_off_transitions::at.eq(now),
                sign_off_transitions::comment.eq(change.comment),
                sign_off_transitions::figures.eq(change.figures),
            ))
            .execute(conn)?;
    }
    Ok(stored)
}

/// The state of the month of `day` for the commune-level unit `team` served that day (`Open` without a
/// row).
pub fn state_for_team_day(
    conn: &mut PgConnection,
    team: Uuid,
    day: NaiveDate,
) -> QueryResult<SignOffState> {
    #[derive(QueryableByName)]
    struct State {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        state: Option<String>,
    }
    let row: State = diesel::sql_query("SELECT cdt_sign_off_state($1, $2) AS state")
        .bind::<diesel::sql_types::Uuid, _>(team)
        .bind::<diesel::sql_types::Date, _>(day)
        .get_result(conn)?;
    Ok(row
        .state
        .as_deref()
        .and_then(<SignOffState as crate::reference::Vocabulary>::parse)
        .unwrap_or(SignOffState::Open))
}

/// The sign-off state of the month of each (team, day) pair, for the commune the team served that day
/// (pairs left out are open).
pub fn states_for_team_days(
    conn: &mut PgConnection,
    pairs: &[(Uuid, NaiveDate)],
) -> QueryResult<std::collections::HashMap<(Uuid, NaiveDate), SignOffState>> {
    use diesel::sql_types::{Array, Date, Nullable, Text, Uuid as SqlUuid};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        team: Uuid,
        #[diesel(sql_type = Date)]
        day: NaiveDate,
        #[diesel(sql_type = Nullable<Text>)]
        state: Option<String>,
    }
    let (teams, days): (Vec<Uuid>, Vec<NaiveDate>) = pairs.iter().copied().unzip();
    let rows: Vec<Row> = diesel::sql_query(
        // Only days of months some unit has submitted or accepted need the team's unit that day.
        "SELECT p.team, p.day, cdt_sign_off_state(p.team, p.day) AS state \
         FROM (SELECT DISTINCT team, day FROM unnest($1::uuid[], $2::date[]) AS x (team, day)) p \
         WHERE date_trunc('month', p.day)::date IN \
               (SELECT period FROM sign_offs WHERE state IN ('submitted', 'accepted'))",
    )
    .bind::<Array<SqlUuid>, _>(teams)
    .bind::<Array<Date>, _>(days)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let state = row
                .state
                .as_deref()
                .and_then(<SignOffState as crate::reference::Vocabulary>::parse)
                .unwrap_or(SignOffState::Open);
            ((row.team, row.day), state)
        })
        .collect())
}

/// Which unit-months a list covers.
#[derive(Debug, Clone, Default)]
pub struct MonthFilter {
    /// Units at or below this path (`None`: all).
    pub within_path: Option<String>,
    /// A scoped reader's own scope: units inside it, and the units it lies inside (a team leader's
    /// commune). `None` for admins.
    pub scope: Option<String>,
    /// First days of the first and last month.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub state: Option<SignOffState>,
    /// Overdue (`true`) or not (`false`): open or returned with the month ended before this day.
    pub overdue: Option<(bool, NaiveDate)>,
}

/// A commune-level unit in force in a month, with its sign-off if one was written.
#[derive(Debug, Clone, QueryableByName)]
pub struct UnitMonth {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub org_unit_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Date)]
    pub period: NaiveDate,
}

/// Every commune-level unit-month of `filter` in force (a unit counts in a month it existed on any day
/// of), latest month first, then by unit id, after the keyset `after` (period, unit id).
pub fn unit_months(
    conn: &mut PgConnection,
    filter: &MonthFilter,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<UnitMonth>> {
    use diesel::sql_types::{Date, Nullable, Text, Uuid as SqlUuid};
    diesel::sql_query(
        "SELECT u.id AS org_unit_id, m.period \
         FROM generate_series($1::date, $2::date, interval '1 month') AS g (at) \
         CROSS JOIN LATERAL (SELECT g.at::date AS period) m \
         JOIN org_units u ON u.level = 'commune' \
              AND u.valid_from <= (m.period + interval '1 month' - interval '1 day')::date \
              AND (u.valid_to IS NULL OR u.valid_to >= m.period) \
         LEFT JOIN sign_offs s ON s.org_unit_id = u.id AND s.period = m.period \
         WHERE ($3::text IS NULL OR u.path LIKE $3 || '%') \
           AND ($4::text IS NULL OR u.path LIKE $4 || '%' OR $4 LIKE u.path || '%') \
           AND ($5::text IS NULL OR coalesce(s.state, 'open') = $5) \
           AND ($6::date IS NULL OR (m.period, u.id) < ($6, $7)) \
           AND ($9::boolean IS NULL OR $9 = (coalesce(s.state, 'open') IN ('open', 'returned') \
                AND (m.period + interval '1 month')::date <= $10)) \
         ORDER BY m.period DESC, u.id DESC LIMIT $8",
    )
    .bind::<Date, _>(filter.from)
    .bind::<Date, _>(filter.to)
    .bind::<Nullable<Text>, _>(filter.within_path.as_deref())
    .bind::<Nullable<Text>, _>(filter.scope.as_deref())
    .bind::<Nullable<Text>, _>(filter.state.map(|s| s.to_string()))
    .bind::<Nullable<Date>, _>(after.map(|(period, _)| period))
    .bind::<Nullable<SqlUuid>, _>(after.map(|(_, unit)| unit))
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .bind::<Nullable<diesel::sql_types::Bool>, _>(filter.overdue.map(|(overdue, _)| overdue))
    .bind::<Nullable<Date>, _>(filter.overdue.map(|(_, ended_before)| ended_before))
    .load(conn)
}

/// How many stored sign-offs of `communes` for months overlapping `[from, to]` are in each state, as
/// `(state, count)` (a unit-month without a row is open; the caller counts those).
pub fn state_counts(
    conn: &mut PgConnection,
    communes: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(SignOffState, i64)>> {
    sign_offs::table
        .filter(sign_offs::org_unit_id.eq_any(communes))
        .filter(sign_offs::period.ge(from.with_day(1).unwrap_or(from)))
        .filter(sign_offs::period.le(to))
        .group_by(sign_offs::state)
        .select((sign_offs::state, diesel::dsl::count_star()))
        .load(conn)
}

/// How many stored sign-offs are in `state`.
pub fn count_in_state(conn: &mut PgConnection, state: SignOffState) -> QueryResult<i64> {
    sign_offs::table
        .filter(sign_offs::state.eq(state))
        .count()
        .get_result(conn)
}

/// The accepted unit-months of `communes` whose months overlap `[from, to]`, as `(unit, first day)`.
pub fn accepted_months(
    conn: &mut PgConnection,
    communes: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(Uuid, NaiveDate)>> {
    sign_offs::table
        .filter(sign_offs::org_unit_id.eq_any(communes))
        .filter(sign_offs::state.eq(SignOffState::Accepted))
        .filter(sign_offs::period.ge(from.with_day(1).unwrap_or(from)))
        .filter(sign_offs::period.le(to))
        .select((sign_offs::org_unit_id, sign_offs::period))
        .load(conn)
}
