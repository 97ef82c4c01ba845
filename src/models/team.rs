//! Teams and the history of the unit each served.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{memberships, org_units, people, team_units, teams};
use crate::models::org_unit::OrgUnit;
use crate::reference::{Choice, OrgUnitLevel, TeamStatus};

/// A team row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, PartialEq, serde::Deserialize)]
#[diesel(table_name = teams, check_for_backend(diesel::pg::Pg))]
pub struct Team {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub org_unit_id: Uuid,
    pub status: TeamStatus,
    pub founded_on: Option<NaiveDate>,
    pub dissolved_on: Option<NaiveDate>,
    pub dissolution_reason: Option<String>,
    pub establishment_decision: Option<String>,
    pub zalo_group_members: Option<i32>,
    pub zalo_group_members_as_of: Option<NaiveDate>,
    pub notes: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A team to insert.
#[derive(Debug, Clone, Insertable, AsChangeset, PartialEq, serde::Serialize)]
#[diesel(table_name = teams, treat_none_as_null = true)]
pub struct TeamFields {
    pub code: String,
    pub name: String,
    pub org_unit_id: Uuid,
    pub status: Choice<TeamStatus>,
    pub founded_on: Option<NaiveDate>,
    pub establishment_decision: Option<String>,
    pub zalo_group_members: Option<i32>,
    pub zalo_group_members_as_of: Option<NaiveDate>,
    pub notes: Option<String>,
}

impl TeamFields {
    /// The editable fields of an existing team.
    pub fn of(team: &Team) -> Self {
        Self {
            code: team.code.clone(),
            name: team.name.clone(),
            org_unit_id: team.org_unit_id,
            status: team.status.into(),
            founded_on: team.founded_on,
            establishment_decision: team.establishment_decision.clone(),
            zalo_group_members: team.zalo_group_members,
            zalo_group_members_as_of: team.zalo_group_members_as_of,
            notes: team.notes.clone(),
        }
    }
}

/// A team with its unit's path and its current leader's name.
#[derive(Debug, Clone)]
pub struct TeamListed {
    pub team: Team,
    pub unit_code: String,
    pub unit_name: String,
    pub unit_level: OrgUnitLevel,
    pub unit_path: String,
    pub leader_name: Option<String>,
    /// The search rank (0 without a search; see [`super::search`]).
    pub rank: i32,
}

/// What `list` filters on.
#[derive(Debug, Clone, Default)]
pub struct TeamFilter {
    /// Teams of units inside this path.
    pub within_path: Option<String>,
    /// Only this team (team leaders).
    pub only_team: Option<Uuid>,
    pub level: Option<OrgUnitLevel>,
    pub status: Option<TeamStatus>,
    pub has_leader: Option<bool>,
    /// Matched (folded) against team name, unit name and leader name.
    pub query: Option<String>,
}

/// Teams whose name, unit name or current leader's name matches `term`: one indexed source per text.
pub fn matching(term: &super::search::Term) -> super::search::InAnyOf {
    super::search::InAnyOf::new(
        "teams.id",
        vec![
            ("SELECT s.id FROM teams s WHERE", term.matches("s.name")),
            (
                "SELECT s.id FROM teams s JOIN org_units u ON u.id = s.org_unit_id WHERE",
                term.matches("u.name"),
            ),
            (
                "SELECT m.team_id FROM memberships m JOIN people p ON p.id = m.person_id \
                 WHERE m.role = 'leader' AND m.left_on IS NULL AND",
                term.matches("p.full_name"),
            ),
        ],
    )
}

/// Teams matching `filter`, ordered by code after `after` (a code); with a search, by rank then code
/// after a [`super::search::ranked_position`].
pub fn list(
    conn: &mut PgConnection,
    filter: &TeamFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<TeamListed>> {
    let (leaders, leader_people) = diesel::alias!(memberships as leaders, people as leader_people);
    let term = filter.query.as_deref().map(super::search::Term::new);
    let rank = match &term {
        Some(term) => term.rank(&["teams.name", "org_units.name", "leader_people.full_name"]),
        None => super::search::no_rank(),
    };
    let mut query = teams::table
        .inner_join(org_units::table.on(org_units::id.eq(teams::org_unit_id)))
        .left_join(
            leaders.on(leaders
                .field(memberships::team_id)
                .eq(teams::id)
                .and(leaders.field(memberships::role).eq("leader"))
                .and(leaders.field(memberships::left_on).is_null())),
        )
        .left_join(
            leader_people.on(leader_people
                .field(people::id)
                .eq(leaders.field(memberships::person_id))),
        )
        .select((
            Team::as_select(),
            org_units::code,
            org_units::name,
            org_units::level,
            org_units::path,
            leader_people.field(people::full_name).nullable(),
            rank.clone(),
        ))
        .into_boxed();
    if let Some(path) = &filter.within_path {
        query = query.filter(super::in_subtree(org_units::path, path));
    }
    if let Some(team) = filter.only_team {
        query = query.filter(teams::id.eq(team));
    }
    if let Some(level) = filter.level {
        query = query.filter(org_units::level.eq(level));
    }
    if let Some(status) = filter.status {
        query = query.filter(teams::status.eq(status));
    }
    match filter.has_leader {
        Some(true) => query = query.filter(leaders.field(memberships::id).nullable().is_not_null()),
        Some(false) => query = query.filter(leaders.field(memberships::id).nullable().is_null()),
        None => {}
    }
    if let Some(term) = &term {
        query = query.filter(matching(term));
        if let Some((after_rank, after_code)) = after.and_then(super::search::parse_ranked_position)
        {
            query = query.filter(
                rank.clone().gt(after_rank).or(rank
                    .clone()
                    .eq(after_rank)
                    .and(teams::code.gt(after_code.to_owned()))),
            );
        }
        query = query.order((rank.asc(), teams::code.asc()));
    } else {
        if let Some(after) = after {
            query = query.filter(teams::code.gt(after.to_owned()));
        }
        query = query.order(teams::code.asc());
    }
    query
        .limit(limit)
        .load::<(
            Team,
            String,
            String,
            OrgUnitLevel,
            String,
            Option<String>,
            i32,
        )>(conn)
        .map(|rows| {
            rows.into_iter()
                .map(
                    |(team, unit_code, unit_name, unit_level, unit_path, leader_name, rank)| {
                        TeamListed {
                            team,
                            unit_code,
                            unit_name,
                            unit_level,
                            unit_path,
                            leader_name,
                            rank,
                        }
                    },
                )
                .collect()
        })
}

/// Every team.
pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<Team>> {
    teams::table.select(Team::as_select()).load(conn)
}

/// Inserts many teams (with their unit history from `since`) in batches.
pub fn insert_many(
    conn: &mut PgConnection,
    rows: &[(Uuid, TeamFields)],
    since: NaiveDate,
) -> QueryResult<usize> {
    let mut inserted = 0;
    for chunk in rows.chunks(1000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(id, fields)| (teams::id.eq(*id), fields.clone()))
            .collect();
        inserted += diesel::insert_into(teams::table)
            .values(&values)
            .execute(conn)?;
        let periods: Vec<_> = chunk
            .iter()
            .map(|(id, fields)| {
                (
                    team_units::team_id.eq(*id),
                    team_units::org_unit_id.eq(fields.org_unit_id),
                    team_units::valid_from.eq(fields.founded_on.unwrap_or(since)),
                )
            })
            .collect();
        diesel::insert_into(team_units::table)
            .values(&periods)
            .execute(conn)?;
    }
    Ok(inserted)
}

/// The teams with these ids, each with its unit's name and level (missing ones are left out).
pub fn find_many_with_unit(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Team, String, OrgUnitLevel)>> {
    teams::table
        .inner_join(org_units::table.on(org_units::id.eq(teams::org_unit_id)))
        .filter(teams::id.eq_any(ids))
        .select((Team::as_select(), org_units::name, org_units::level))
        .load(conn)
}

/// The unit team `id` serves, if the team exists.
pub fn unit_of(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<OrgUnit>> {
    teams::table
        .inner_join(org_units::table.on(org_units::id.eq(teams::org_unit_id)))
        .filter(teams::id.eq(id))
        .select(OrgUnit::as_select())
        .first(conn)
        .optional()
}

/// One team by id.
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Team> {
    teams::table.find(id).select(Team::as_select()).first(conn)
}

/// One team by code, ignoring case.
pub fn find_by_code(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Team>> {
    teams::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(code) = lower(")
                .bind::<diesel::sql_types::Text, _>(code.to_owned())
                .sql(")"),
        )
        .select(Team::as_select())
        .first(conn)
        .optional()
}

/// Inserts a team and opens its unit history on `since`.
pub fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    fields: &TeamFields,
    since: NaiveDate,
) -> QueryResult<Team> {
    let team = diesel::insert_into(teams::table)
        .values((teams::id.eq(id), fields))
        .returning(Team::as_returning())
        .get_result(conn)?;
    open_unit_period(conn, team.id, team.org_unit_id, since)?;
    Ok(team)
}

/// Writes `fields` at `expected_version`; when the unit changes, the unit history moves on `since`.
pub fn update(
    conn: &mut PgConnection,
    current: &Team,
    expected_version: i32,
    fields: &TeamFields,
    since: NaiveDate,
) -> QueryResult<Option<Team>> {
    let updated = diesel::update(
        teams::table
            .filter(teams::id.eq(current.id))
            .filter(teams::version.eq(expected_version)),
    )
    .set((fields, teams::version.eq(teams::version + 1)))
    .returning(Team::as_returning())
    .get_result(conn)
    .optional()?;
    if let Some(team) = &updated
        && team.org_unit_id != current.org_unit_id
    {
        move_unit(conn, team.id, team.org_unit_id, since)?;
    }
    Ok(updated)
}

/// Dissolves a team on `on`.
pub fn dissolve(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    on: NaiveDate,
    reason: &str,
) -> QueryResult<Option<Team>> {
    diesel::update(
        teams::table
            .filter(teams::id.eq(id))
            .filter(teams::version.eq(expected_version)),
    )
    .set((
        teams::status.eq(TeamStatus::Dissolved),
        teams::dissolved_on.eq(Some(on)),
        teams::dissolution_reason.eq(Some(reason)),
        teams::version.eq(teams::version + 1),
    ))
    .returning(Team::as_returning())
    .get_result(conn)
    .optional()
}

fn open_unit_period(
    conn: &mut PgConnection,
    team: Uuid,
    unit: Uuid,
    since: NaiveDate,
) -> QueryResult<usize> {
    diesel::insert_into(team_units::table)
        .values((
            team_units::team_id.eq(team),
            team_units::org_unit_id.eq(unit),
            team_units::valid_from.eq(since),
        ))
        .on_conflict((team_units::team_id, team_units::valid_from))
        .do_update()
        .set((
            team_units::org_unit_id.eq(unit),
            team_units::valid_to.eq(None::<NaiveDate>),
        ))
        .execute(conn)
}

/// Closes the team's current unit period the day before `since` and opens one at `unit`.
pub fn move_unit(
    conn: &mut PgConnection,
    team: Uuid,
    unit: Uuid,
    since: NaiveDate,
) -> QueryResult<()> {
    // Activity after `since` now belongs to the new unit: take the team's figures out of the aggregates
    // under the old history and put them back under the new one.
    crate::models::stats::reattribute_team(conn, team, -1)?;
    let day_before = since.pred_opt().unwrap_or(since);
    // A period that would end before it starts (moved twice on one day) is replaced instead.
    diesel::delete(
        team_units::table
            .filter(team_units::team_id.eq(team))
            .filter(team_units::valid_to.is_null())
            .filter(team_units::valid_from.ge(since)),
    )
    .execute(conn)?;
    diesel::update(
        team_units::table
            .filter(team_units::team_id.eq(team))
            .filter(team_units::valid_to.is_null()),
    )
    .set(team_units::valid_to.eq(Some(day_before)))
    .execute(conn)?;
    open_unit_period(conn, team, unit, since)?;
    crate::models::stats::reattribute_team(conn, team, 1)
}

/// Moves every team of the `from` units to `to` from `since` (a reorganisation). Returns the teams moved.
pub fn follow_reorganization(
    conn: &mut PgConnection,
    from: &[Uuid],
    to: Uuid,
    since: NaiveDate,
) -> QueryResult<Vec<Uuid>> {
    let moved: Vec<Uuid> = teams::table
        .filter(teams::org_unit_id.eq_any(from))
        .select(teams::id)
        .load(conn)?;
    for team in &moved {
        move_unit(conn, *team, to, since)?;
    }
    diesel::update(teams::table.filter(teams::id.eq_any(&moved)))
        .set((
            teams::org_unit_id.eq(to),
            teams::version.eq(teams::version + 1),
        ))
        .execute(conn)?;
    Ok(moved)
}

/// One period of a team's unit history.
#[derive(Debug, Clone, Queryable)]
pub struct UnitPeriod {
    pub org_unit_id: Uuid,
    pub code: String,
    pub name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

/// The units the team served, oldest first.
pub fn unit_history(conn: &mut PgConnection, team: Uuid) -> QueryResult<Vec<UnitPeriod>> {
    team_units::table
        .inner_join(org_units::table.on(org_units::id.eq(team_units::org_unit_id)))
        .filter(team_units::team_id.eq(team))
        .order(team_units::valid_from.asc())
        .select((
            team_units::org_unit_id,
            org_units::code,
            org_units::name,
            team_units::valid_from,
            team_units::valid_to,
        ))
        .load(conn)
}

/// `(id, code, name)` of the teams with these ids, for labelling report rows.
pub fn codes_and_names(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, String, String)>> {
    teams::table
        .filter(teams::id.eq_any(ids))
        .select((teams::id, teams::code, teams::name))
        .load(conn)
}
