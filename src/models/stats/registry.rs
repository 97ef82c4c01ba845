//! The teams a report counts: who served which unit on the reference day, with members and activity.

use super::*;

/// A team counted by a report: the unit it served on the reference day and its members then.
#[derive(Debug, Clone, QueryableByName)]
pub struct RegistryTeam {
    #[diesel(sql_type = SqlUuid)]
    pub team_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub unit_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub commune_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub members: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub leaders: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub female_members: i64,
}

/// The teams that existed during `[from, to]` and served, on `to`, a unit of `rows.communes` (the commune or
/// one of its villages), with their members on `to`. One statement; the unit list is joined through
/// `unnest`, which keeps planning cheap.
pub fn registry_teams(
    conn: &mut PgConnection,
    rows: &TeamRows,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<RegistryTeam>> {
    prepared(diesel::sql_query(
        "WITH c AS (SELECT DISTINCT unnest($1::uuid[]) AS commune_id), \
         u AS (SELECT o.id, o.id AS commune_id FROM c JOIN org_units o ON o.id = c.commune_id \
               UNION ALL SELECT o.id, o.parent_id FROM c JOIN org_units o ON o.parent_id = c.commune_id \
               WHERE o.level = 'village'), \
         counted AS ( \
           SELECT tu.team_id, tu.org_unit_id AS unit_id, u.commune_id FROM u \
           JOIN team_units tu ON tu.org_unit_id = u.id \
             AND tu.valid_from <= $3 AND (tu.valid_to IS NULL OR tu.valid_to >= $3) \
           JOIN teams t ON t.id = tu.team_id \
           WHERE (t.founded_on IS NULL OR t.founded_on <= $3) AND (t.dissolved_on IS NULL OR t.dissolved_on >= $2) \
             AND ($4::uuid IS NULL OR t.id = $4) AND ($5::uuid IS NULL OR tu.org_unit_id = $5)), \
         members AS ( \
           SELECT m.team_id, count(*) AS total, count(*) FILTER (WHERE m.role = 'leader') AS leaders, \
                  count(*) FILTER (WHERE p.gender = 'female') AS female \
           FROM counted JOIN memberships m USING (team_id) JOIN people p ON p.id = m.person_id \
           WHERE m.joined_on <= $3 AND (m.left_on IS NULL OR m.left_on > $3) GROUP BY m.team_id) \
         SELECT c.team_id, c.unit_id, c.commune_id, coalesce(mb.total, 0) AS members, \
                coalesce(mb.leaders, 0) AS leaders, coalesce(mb.female, 0) AS female_members \
         FROM counted c LEFT JOIN members mb USING (team_id)",
    )
    .bind::<Array<SqlUuid>, _>(&rows.communes)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Nullable<SqlUuid>, _>(rows.team)
    .bind::<Nullable<SqlUuid>, _>(rows.unit))
    .load(conn)
}

#[derive(QueryableByName)]
struct TeamId {
    #[diesel(sql_type = SqlUuid)]
    team_id: Uuid,
}

/// Which of `teams` had a counted (submitted or verified) session or reach activity in `[from, to]`, from the
/// activity bits of `stat_team_years`.
pub fn active_teams(
    conn: &mut PgConnection,
    teams: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<HashSet<Uuid>> {
    let rows: Vec<TeamId> = prepared(
        diesel::sql_query(
            // One index probe per team (LATERAL ... LIMIT 1): with all of a country's teams in the table, a
            // join would be planned as a hash join over every team's row of the year (40 ms instead of 5 for
            // a province at national scale).
            "SELECT t.team_id FROM unnest($1::uuid[]) AS t (team_id) \
         CROSS JOIN LATERAL ( \
             SELECT 1 FROM stat_team_years y \
             WHERE y.team_id = t.team_id AND y.year BETWEEN $2 AND $3 \
               AND position(B'1' IN substring(y.days FROM \
                   (CASE WHEN y.year = $2 THEN $4 ELSE 1 END) \
                   FOR (CASE WHEN y.year = $3 THEN $5 ELSE 366 END) \
                       - (CASE WHEN y.year = $2 THEN $4 ELSE 1 END) + 1)) > 0 \
             LIMIT 1) active",
        )
        .bind::<Array<SqlUuid>, _>(teams)
        .bind::<Integer, _>(from.year())
        .bind::<Integer, _>(to.year())
        .bind::<Integer, _>(i32::try_from(from.ordinal()).unwrap_or(1))
        .bind::<Integer, _>(i32::try_from(to.ordinal()).unwrap_or(366)),
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.team_id).collect())
}

/// A counted team with its activity flag.
#[derive(Debug, Clone)]
pub struct CountedTeam {
    pub team: RegistryTeam,
    pub active: bool,
}

/// The last day with a counted (submitted or verified) session or reach activity of each of `teams` that
/// has one.
pub fn last_active(conn: &mut PgConnection, teams: &[Uuid]) -> QueryResult<Vec<LastActive>> {
    prepared(
        diesel::sql_query(
            "SELECT DISTINCT ON (team_id) team_id, \
                make_date(year, 1, 1) + length(rtrim(days::text, '0')) - 1 AS day \
         FROM stat_team_years WHERE team_id = ANY($1) ORDER BY team_id, year DESC",
        )
        .bind::<Array<SqlUuid>, _>(teams),
    )
    .load(conn)
}

/// A team's last active day.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct LastActive {
    #[diesel(sql_type = SqlUuid)]
    pub team_id: Uuid,
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
}

/// Members of teams on a day.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
pub struct MemberCounts {
    pub total: i64,
    pub leaders: i64,
    pub female: i64,
}

impl MemberCounts {
    /// The members of counted teams.
    pub fn of(teams: &[CountedTeam]) -> Self {
        teams.iter().fold(Self::default(), |sum, t| Self {
            total: sum.total + t.team.members,
            leaders: sum.leaders + t.team.leaders,
            female: sum.female + t.team.female_members,
        })
    }
}
