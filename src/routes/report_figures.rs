//! The summary and breakdown reports, read from the report aggregates ([`crate::models::stats`]) under the
//! administrative structure of any day (`as_of`).

use std::collections::{BTreeMap, HashMap};

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{Datelike, NaiveDate};
use diesel::{PgConnection, QueryResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role},
    db::Db,
    domain::org_units::OrgUnitRef,
    domain::{today_in_vietnam, validation::FieldErrors},
    error::{AppError, Problem},
    models::{
        campaign,
        org_unit::{self, OrgUnitFilter},
        stats::{
            self, Bucket, CountedTeam, Cut, FigureRow, Figures, MEASURES, MemberCounts,
            ReportCache, Selection, TeamGroup, TeamRows, UnitGraph, UnitNode, Versions,
        },
        team,
    },
    reference,
    routes::csv_export::{csv_response, to_csv, wants_csv},
};

/// The unit, period and structure a report covers, resolved for the caller.
#[derive(Debug, Clone)]
pub struct ReportScope {
    pub root: UnitNode,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: NaiveDate,
    /// Every commune-level unit whose activity falls under `root` on `as_of`, with the child of `root` it
    /// falls under (or `root` itself).
    pub communes: Vec<(Uuid, Uuid)>,
    /// The roots (provinces) all of whose commune-level units are in `communes`: ungrouped reads take their
    /// figures from the root grain.
    pub whole_roots: Vec<Uuid>,
    /// The same selection for team-level reads, narrowed to the caller's team (team leaders) or to a village.
    pub rows: TeamRows,
    /// Verified records only (else verified and submitted).
    pub verified_only: bool,
}

impl ReportScope {
    /// The record statuses whose figures count.
    pub fn counts(&self, status: &str) -> bool {
        status == "verified" || (status == "submitted" && !self.verified_only)
    }

    /// True when the aggregates must be read per team (a team or a village), not per commune.
    pub fn narrowed(&self) -> bool {
        self.rows.team.is_some() || self.rows.unit.is_some()
    }

    /// The selection grouped by child unit.
    fn by_child(&self) -> Selection {
        Selection {
            roots: Vec::new(),
            communes: self
                .communes
                .iter()
                .map(|(commune, child)| (*commune, child.to_string()))
                .collect(),
        }
    }

    /// The ungrouped selection: whole roots from the root grain, the other units one by one.
    fn whole(&self, graph: &UnitGraph) -> Selection {
        Selection {
            roots: self.whole_roots.clone(),
            communes: self
                .communes
                .iter()
                .filter(|(commune, _)| {
                    graph
                        .units
                        .get(commune)
                        .and_then(UnitNode::root)
                        .is_none_or(|root| !self.whole_roots.contains(&root))
                })
                .map(|(commune, _)| (*commune, String::new()))
                .collect(),
        }
    }

    /// The scope's figures for one dimension, ungrouped (by status and key, and by time bucket if asked):
    /// from the team grain for a team or a village, else from the root and commune grains.
    pub fn figures(
        &self,
        conn: &mut PgConnection,
        graph: &UnitGraph,
        dim: &str,
        bucket: Bucket,
    ) -> QueryResult<Vec<FigureRow>> {
        let cut = Cut {
            dim,
            from: self.from,
            to: self.to,
            bucket,
        };
        if self.narrowed() {
            stats::by_team(conn, &self.rows, TeamGroup::None, cut)
        } else {
            stats::by_commune(conn, &self.whole(graph), cut)
        }
    }
}

/// The options every figure report shares.
#[derive(Debug, Clone, Default)]
pub struct PeriodOptions {
    pub org_unit_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub as_of: Option<NaiveDate>,
    pub verified_only: Option<bool>,
}

/// Checks the period: `from <= to` and both within a sane range.
pub fn check_period(options: &PeriodOptions, errors: &mut FieldErrors) -> (NaiveDate, NaiveDate) {
    let today = today_in_vietnam();
    let to = options.to.unwrap_or(today);
    let from = options
        .from
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(from);
    let latest = NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or(to);
    for (field, day) in [("from", from), ("to", to)] {
        if !(earliest..=latest).contains(&day) {
            errors.add(
                field,
                "out_of_range",
                "must be between 2000-01-01 and 2100-12-31",
                "phải trong khoảng 2000-01-01 đến 2100-12-31",
            );
        }
    }
    if from > to {
        errors.add(
            "from",
            "after_to",
            "must not be after `to`",
            "không được sau ngày `to`",
        );
    }
    (from, to)
}

/// The root unit of a report or summary: asked for, else the caller's own unit (their scope root, or their
/// team's unit), else the province; 404 when officers or viewers ask outside their subtree (team leaders
/// read their own team's part of any unit).
pub fn root_unit(
    conn: &mut PgConnection,
    actor: &AuthUser,
    asked: Option<Uuid>,
) -> Result<org_unit::OrgUnit, AppError> {
    let root_id = match (asked, actor.org_unit_id) {
        (Some(id), _) => id,
        (None, Some(id)) if actor.role != Role::Admin => id,
        _ => org_unit::list(
            conn,
            &OrgUnitFilter {
                level: Some("province".to_owned()),
                ..OrgUnitFilter::default()
            },
            None,
            1,
        )?
        .first()
        .map(|u| u.id)
        .ok_or_else(|| AppError::not_found("org unit"))?,
    };
    let root = org_unit::find(conn, root_id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("org unit"))?;
    // Officers and viewers read their subtree; team leaders their own team's part of any subtree.
    let visible =
        actor.role == Role::Admin || actor.role == Role::TeamLeader || actor.sees_path(&root.path);
    if visible {
        Ok(root)
    } else {
        Err(AppError::not_found("org unit"))
    }
}

/// Resolves a report's scope under `unit`: period, structure day (`as_of`, else the period's last day, or
/// the last day the unit existed), and the commune-level units it covers, narrowed to one `team` if given.
pub fn resolve_scope(
    graph: &UnitGraph,
    unit: &org_unit::OrgUnit,
    as_of: Option<NaiveDate>,
    from: NaiveDate,
    to: NaiveDate,
    team: Option<Uuid>,
    verified_only: bool,
) -> Result<ReportScope, AppError> {
    let root = UnitNode {
        id: unit.id,
        parent_id: unit.parent_id,
        code: unit.code.clone(),
        name: unit.name.clone(),
        level: unit.level.clone(),
        path: unit.path.clone(),
        valid_from: unit.valid_from,
        valid_to: unit.valid_to,
        households: unit.households,
    };
    let as_of = match as_of {
        Some(day) if !root.valid_on(day) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "as_of",
                "not_in_force",
                format!(
                    "{} was not in force on {day} (it was from {} to {})",
                    root.name,
                    root.valid_from,
                    root.valid_to.map_or("today".to_owned(), |d| d.to_string())
                ),
                format!("{} không tồn tại vào ngày {day}", root.name),
            );
            return Err(errors
                .finish()
                .err()
                .unwrap_or_else(|| AppError::not_found("org unit")));
        }
        Some(day) => day,
        // The structure of the period's last day, or the last (first) day the unit existed.
        None if root.valid_on(to) => to,
        None => match root.valid_to {
            Some(end) if end < to => end,
            _ => root.valid_from,
        },
    };
    let mut communes = Vec::new();
    if root.level == "village" {
        // A village: the activity of the teams serving it, under its commune.
        for commune in graph.communes() {
            if graph
                .resolve(commune.id, as_of)
                .is_some_and(|m| Some(m.id) == root.parent_id)
            {
                communes.push((commune.id, root.id));
            }
        }
    } else {
        for commune in graph.communes() {
            let Some(mapped) = graph.resolve(commune.id, as_of) else {
                continue;
            };
            let Some(rest) = mapped.path.strip_prefix(root.path.as_str()) else {
                continue;
            };
            let child = rest
                .split('/')
                .next()
                .and_then(|id| id.parse::<Uuid>().ok())
                .unwrap_or(root.id);
            communes.push((commune.id, child));
        }
    }
    // A root is whole when every commune-level unit of its tree is in the scope.
    let mut in_scope: HashMap<Uuid, usize> = HashMap::new();
    for (commune, _) in &communes {
        if let Some(root) = graph.units.get(commune).and_then(UnitNode::root) {
            *in_scope.entry(root).or_default() += 1;
        }
    }
    let mut whole_roots: Vec<Uuid> = in_scope
        .into_iter()
        .filter(|(root, count)| {
            graph.communes().filter(|c| c.root() == Some(*root)).count() == *count
        })
        .map(|(root, _)| root)
        .collect();
    whole_roots.sort();
    let rows = TeamRows {
        communes: communes.iter().map(|(commune, _)| *commune).collect(),
        team,
        unit: (root.level == "village").then_some(root.id),
    };
    Ok(ReportScope {
        root,
        from,
        to,
        as_of,
        communes,
        whole_roots,
        rows,
        verified_only,
    })
}

/// Options of the summary report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// The unit reported on (default: your scope root, or the province).
    pub org_unit_id: Option<Uuid>,
    /// First day of the period (default: 1 January of `to`'s year).
    pub from: Option<NaiveDate>,
    /// Last day of the period (default: today, Vietnam time).
    pub to: Option<NaiveDate>,
    /// Read the administrative structure as it stood on this day (default: `to`, or the last day the unit
    /// existed). `2025-06-30` shows Sơn La's 12 old districts; a later day its 75 communes and wards.
    pub as_of: Option<NaiveDate>,
    /// Count verified records only (default: verified and submitted; rejected never count).
    pub verified_only: Option<bool>,
}

/// Teams of the unit over the period.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
pub struct TeamCounts {
    /// Teams that existed during the period and served the unit on its last day.
    pub total: i64,
    /// Of those, teams with at least one session or reach activity in the period.
    pub active: i64,
    /// Teams without any.
    pub dormant: i64,
}

/// Sessions held.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct SessionCounts {
    pub total: i64,
    pub training: i64,
    pub outreach: i64,
    pub duration_minutes: i64,
}

/// Session participants (attendances).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct ParticipantCounts {
    pub total: i64,
    pub female: i64,
    pub ethnic_minority: i64,
    pub elderly: i64,
    /// Participants of training sessions.
    pub trained: i64,
}

/// What sessions achieved.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct OutcomeCounts {
    pub households_reached: i64,
    pub vneid_activations: i64,
    pub payment_accounts_opened: i64,
    pub public_service_accounts_created: i64,
    pub online_dossiers_submitted: i64,
    pub apps_installed: i64,
}

/// Campaign reach, every campaign together (per campaign: the reach summary).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct CampaignReachCounts {
    pub activities: i64,
    /// Person-contacts (lượt người), not unique people.
    pub contacts: i64,
    pub unique_people: i64,
    /// Households reached as reported (not capped; the reach summary caps per unit).
    pub households_reached: i64,
    pub estimated_audience: i64,
    pub materials_distributed: i64,
}

/// Records (sessions and reach activities) by review status.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct VerificationCounts {
    pub verified: i64,
    /// Submitted, not yet reviewed.
    pub pending: i64,
    /// Rejected (never counted in the figures).
    pub rejected: i64,
    /// `verified / (verified + pending)` in percent; `null` without records.
    pub verified_pct: Option<f64>,
}

/// The summary report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"org_unit": {"id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "code": "son-la",
    "name": "Tỉnh Sơn La", "level": "province"}, "team_id": null, "from": "2026-01-01", "to": "2026-11-29",
    "as_of": "2026-11-29", "verified_only": false,
    "teams": {"total": 2448, "active": 2101, "dormant": 347},
    "members": {"total": 12240, "leaders": 2448, "female": 5508},
    "sessions": {"total": 21340, "training": 9120, "outreach": 12220, "duration_minutes": 2560800},
    "participants": {"total": 512300, "female": 261273, "ethnic_minority": 419000, "elderly": 61476, "trained": 200110},
    "outcomes": {"households_reached": 150220, "vneid_activations": 40110, "payment_accounts_opened": 20550,
                 "public_service_accounts_created": 18200, "online_dossiers_submitted": 30990, "apps_installed": 60210},
    "campaign_reach": {"activities": 8900, "contacts": 640000, "unique_people": 410000, "households_reached": 160000,
                       "estimated_audience": 900000, "materials_distributed": 35000},
    "verification": {"verified": 20000, "pending": 10100, "rejected": 140, "verified_pct": 66.45}}))]
pub struct SummaryResponse {
    pub org_unit: OrgUnitRef,
    /// Team leaders: the summary covers their own team's part of the unit.
    pub team_id: Option<Uuid>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The day whose administrative structure the report uses.
    pub as_of: NaiveDate,
    pub verified_only: bool,
    pub teams: TeamCounts,
    /// Members of those teams on the period's last day.
    pub members: MemberCounts,
    pub sessions: SessionCounts,
    pub participants: ParticipantCounts,
    pub outcomes: OutcomeCounts,
    pub campaign_reach: CampaignReachCounts,
    pub verification: VerificationCounts,
}

fn unit_ref(node: &UnitNode) -> OrgUnitRef {
    OrgUnitRef {
        id: node.id,
        code: node.code.clone(),
        name: node.name.clone(),
        level: node.level.clone(),
    }
}

/// Teams counted by a scope (the team counts of the summary and of targets).
pub fn team_counts(teams: &[CountedTeam]) -> TeamCounts {
    let total = i64::try_from(teams.len()).unwrap_or(i64::MAX);
    let active = i64::try_from(teams.iter().filter(|t| t.active).count()).unwrap_or(0);
    TeamCounts {
        total,
        active,
        dormant: total - active,
    }
}

/// Computes the summary of a scope.
pub fn summarize(
    conn: &mut PgConnection,
    reader: &Reader<'_>,
    scope: &ReportScope,
) -> Result<SummaryResponse, AppError> {
    let mut figures = Figures::default();
    let (mut verified, mut pending, mut rejected) = (0, 0, 0);
    for row in scope.figures(conn, &reader.graph, "all", Bucket::None)? {
        match row.status.as_str() {
            "verified" => verified += row.figures.records(),
            "submitted" => pending += row.figures.records(),
            _ => rejected += row.figures.records(),
        }
        if scope.counts(&row.status) {
            figures += row.figures;
        }
    }
    let teams = reader.teams(conn, scope)?;
    let members = MemberCounts::of(&teams);
    Ok(SummaryResponse {
        org_unit: unit_ref(&scope.root),
        team_id: scope.rows.team,
        from: scope.from,
        to: scope.to,
        as_of: scope.as_of,
        verified_only: scope.verified_only,
        teams: team_counts(&teams),
        members,
        sessions: SessionCounts {
            total: figures.sessions,
            training: figures.sessions_training,
            outreach: figures.sessions_outreach,
            duration_minutes: figures.duration_minutes,
        },
        participants: ParticipantCounts {
            total: figures.participants_total,
            female: figures.participants_female,
            ethnic_minority: figures.participants_ethnic_minority,
            elderly: figures.participants_elderly,
            trained: figures.trained_total,
        },
        outcomes: OutcomeCounts {
            households_reached: figures.households_reached,
            vneid_activations: figures.vneid_activations,
            payment_accounts_opened: figures.payment_accounts_opened,
            public_service_accounts_created: figures.public_service_accounts_created,
            online_dossiers_submitted: figures.online_dossiers_submitted,
            apps_installed: figures.apps_installed,
        },
        campaign_reach: CampaignReachCounts {
            activities: figures.reach_activities,
            contacts: figures.contacts,
            unique_people: figures.unique_people,
            households_reached: figures.reach_households,
            estimated_audience: figures.estimated_audience,
            materials_distributed: figures.materials_distributed,
        },
        verification: VerificationCounts {
            verified,
            pending,
            rejected,
            verified_pct: (verified + pending > 0).then(|| {
                (verified as f64 * 10_000.0 / (verified + pending) as f64).round() / 100.0
            }),
        },
    })
}

/// What a report reads besides the aggregates: the cache, and the graph and versions it stands at.
#[derive(Debug)]
pub struct Reader<'a> {
    pub cache: &'a ReportCache,
    pub graph: std::sync::Arc<UnitGraph>,
    pub versions: Versions,
}

impl Reader<'_> {
    /// The teams a scope counts, with their activity in its period.
    pub fn teams(
        &self,
        conn: &mut PgConnection,
        scope: &ReportScope,
    ) -> QueryResult<Vec<CountedTeam>> {
        self.cache.teams(
            conn,
            self.versions,
            scope.root.id,
            scope.as_of,
            &scope.rows,
            scope.from,
            scope.to,
        )
    }
}

/// Runs `work` on the caller's report scope (see [`prepare`]), what every figure report does, in one
/// read-only, repeatable-read transaction. Every statement then sees the same snapshot (the cache
/// versions, the team list, the activity and the figures agree with each other), and the hand-written
/// aggregate queries run on their cached generic plans: PostgreSQL's cost model estimates the generic plan
/// of the figures query at ten times its custom plan (unknown array sizes and date ranges), so by default
/// it planned that query again on every report, 1.2 ms of planning for 0.2 ms of execution, although the
/// generic plan runs as fast (measured with `pg_stat_statements` and `EXPLAIN ANALYZE`, bench/RESULTS.md).
pub fn read_report<T>(
    conn: &mut PgConnection,
    cache: &ReportCache,
    actor: &AuthUser,
    options: &PeriodOptions,
    (from, to): (NaiveDate, NaiveDate),
    work: impl FnOnce(&mut PgConnection, &Reader<'_>, &ReportScope) -> Result<T, AppError>,
) -> Result<T, AppError> {
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run(|conn| {
            crate::db::prepared::force_generic_plans(conn)?;
            let (reader, scope) = prepare(conn, cache, actor, options, from, to)?;
            work(conn, &reader, &scope)
        })
}

/// Reads the graph and resolves the caller's scope in one go (what every figure report starts with).
fn prepare<'a>(
    conn: &mut PgConnection,
    cache: &'a ReportCache,
    actor: &AuthUser,
    options: &PeriodOptions,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Reader<'a>, ReportScope), AppError> {
    let (graph, versions) = cache.current(conn)?;
    let unit = root_unit(conn, actor, options.org_unit_id)?;
    // Team leaders read their own team's part.
    let team = (actor.role == Role::TeamLeader).then(|| actor.team_id.unwrap_or_else(Uuid::nil));
    let scope = resolve_scope(
        &graph,
        &unit,
        options.as_of,
        from,
        to,
        team,
        options.verified_only.unwrap_or(false),
    )?;
    Ok((
        Reader {
            cache,
            graph,
            versions,
        },
        scope,
    ))
}

/// Summary report.
///
/// For a unit (default: your scope root) and a period (default: this year to today): teams (total, active,
/// dormant), members, sessions by kind, participants (total, female, ethnic minority, elderly), outcomes,
/// campaign reach and the share of records verified vs pending. Read from aggregates kept exact in the same
/// transaction as every write. `as_of` reads the administrative structure of that day: activity is
/// attributed through each team's unit history and the succession links, so totals agree under the old and
/// the new structure. Team leaders get their own team's part. `Accept: text/csv` gives `figure,value` rows.
#[utoipa::path(
    tag = "reports",
    operation_id = "report_summary",
    params(SummaryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The summary (JSON, or CSV with `Accept: text/csv`).",
         content((SummaryResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid period, or the unit was not in force on `as_of`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/summary")]
pub async fn report_summary(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<SummaryQuery>,
    db: web::Data<Db>,
    cache: web::Data<ReportCache>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReportSummary)?;
    let query = query.into_inner();
    let options = PeriodOptions {
        org_unit_id: query.org_unit_id,
        from: query.from,
        to: query.to,
        as_of: query.as_of,
        verified_only: query.verified_only,
    };
    let mut errors = FieldErrors::new();
    let (from, to) = check_period(&options, &mut errors);
    errors.finish()?;
    let summary = db
        .read(actor.id, move |conn| {
            read_report(conn, &cache, &actor, &options, (from, to), summarize)
        })
        .await?;
    if wants_csv(&req) {
        let s = &summary;
        let rows: Vec<(&str, String)> = vec![
            ("org_unit_code", s.org_unit.code.clone()),
            ("org_unit_name", s.org_unit.name.clone()),
            ("from", s.from.to_string()),
            ("to", s.to.to_string()),
            ("as_of", s.as_of.to_string()),
            ("teams.total", s.teams.total.to_string()),
            ("teams.active", s.teams.active.to_string()),
            ("teams.dormant", s.teams.dormant.to_string()),
            ("members.total", s.members.total.to_string()),
            ("members.leaders", s.members.leaders.to_string()),
            ("members.female", s.members.female.to_string()),
            ("sessions.total", s.sessions.total.to_string()),
            ("sessions.training", s.sessions.training.to_string()),
            ("sessions.outreach", s.sessions.outreach.to_string()),
            (
                "sessions.duration_minutes",
                s.sessions.duration_minutes.to_string(),
            ),
            ("participants.total", s.participants.total.to_string()),
            ("participants.female", s.participants.female.to_string()),
            (
                "participants.ethnic_minority",
                s.participants.ethnic_minority.to_string(),
            ),
            ("participants.elderly", s.participants.elderly.to_string()),
            ("participants.trained", s.participants.trained.to_string()),
            (
                "outcomes.households_reached",
                s.outcomes.households_reached.to_string(),
            ),
            (
                "outcomes.vneid_activations",
                s.outcomes.vneid_activations.to_string(),
            ),
            (
                "outcomes.payment_accounts_opened",
                s.outcomes.payment_accounts_opened.to_string(),
            ),
            (
                "outcomes.public_service_accounts_created",
                s.outcomes.public_service_accounts_created.to_string(),
            ),
            (
                "outcomes.online_dossiers_submitted",
                s.outcomes.online_dossiers_submitted.to_string(),
            ),
            (
                "outcomes.apps_installed",
                s.outcomes.apps_installed.to_string(),
            ),
            (
                "campaign_reach.activities",
                s.campaign_reach.activities.to_string(),
            ),
            (
                "campaign_reach.contacts",
                s.campaign_reach.contacts.to_string(),
            ),
            (
                "campaign_reach.unique_people",
                s.campaign_reach.unique_people.to_string(),
            ),
            (
                "campaign_reach.households_reached",
                s.campaign_reach.households_reached.to_string(),
            ),
            (
                "campaign_reach.estimated_audience",
                s.campaign_reach.estimated_audience.to_string(),
            ),
            (
                "campaign_reach.materials_distributed",
                s.campaign_reach.materials_distributed.to_string(),
            ),
            ("verification.verified", s.verification.verified.to_string()),
            ("verification.pending", s.verification.pending.to_string()),
            ("verification.rejected", s.verification.rejected.to_string()),
            (
                "verification.verified_pct",
                s.verification
                    .verified_pct
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
            ),
        ];
        let body = to_csv(
            &["figure", "value"],
            rows.into_iter().map(|(k, v)| vec![k.to_owned(), v]),
        )?;
        return Ok(csv_response("summary.csv", body, None));
    }
    Ok(HttpResponse::Ok().json(summary))
}

/// Options of the breakdown report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BreakdownQuery {
    /// `child_unit` (the unit's children under the structure of `as_of`: districts or communes, or a
    /// commune's villages), `team`, `topic` (session figures by each session's first topic), `channel`
    /// (campaign reach by channel), `campaign`, `month` or `week` (ISO weeks).
    #[param(value_type = crate::reference::BreakdownBy)]
    pub by: String,
    /// The unit reported on (default: your scope root, or the province).
    pub org_unit_id: Option<Uuid>,
    /// First day of the period (default: 1 January of `to`'s year).
    pub from: Option<NaiveDate>,
    /// Last day of the period (default: today, Vietnam time).
    pub to: Option<NaiveDate>,
    /// Read the administrative structure as it stood on this day (default: `to`).
    pub as_of: Option<NaiveDate>,
    /// Count verified records only (default: verified and submitted).
    pub verified_only: Option<bool>,
}

/// One row of a breakdown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BreakdownRow {
    /// The unit or team id, topic, channel or campaign code, `YYYY-MM` or `YYYY-Www`.
    pub key: String,
    /// Its name (Vietnamese).
    pub label: String,
    /// For units and teams: their code.
    pub code: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A breakdown: rows that add up to `totals`, which equal the summary's figures (for `topic`, every figure
/// but `topic_mentions`; `channel` and `campaign` rows carry campaign reach only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"org_unit": {"id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "code": "son-la",
    "name": "Tỉnh Sơn La", "level": "province"}, "by": "child_unit", "from": "2026-01-01", "to": "2026-11-29",
    "as_of": "2025-06-30", "verified_only": false,
    "rows": [{"key": "0193a0f4-7b1e-7c53-a8e1-000000000002", "label": "Huyện Mộc Châu", "code": "son-la.moc-chau",
              "sessions": 120, "sessions_training": 50, "sessions_outreach": 70, "duration_minutes": 14400,
              "participants_total": 3100, "participants_female": 1600, "participants_ethnic_minority": 2500,
              "participants_elderly": 300, "trained_total": 1300, "trained_female": 700, "trained_ethnic_minority": 1000,
              "households_reached": 900, "vneid_activations": 240, "payment_accounts_opened": 130,
              "public_service_accounts_created": 110, "online_dossiers_submitted": 180, "apps_installed": 400,
              "topic_mentions": 0, "reach_activities": 60, "contacts": 4200, "unique_people": 2900,
              "reach_households": 1100, "estimated_audience": 6000, "materials_distributed": 250}],
    "totals": {"sessions": 120, "sessions_training": 50, "sessions_outreach": 70, "duration_minutes": 14400,
              "participants_total": 3100, "participants_female": 1600, "participants_ethnic_minority": 2500,
              "participants_elderly": 300, "trained_total": 1300, "trained_female": 700, "trained_ethnic_minority": 1000,
              "households_reached": 900, "vneid_activations": 240, "payment_accounts_opened": 130,
              "public_service_accounts_created": 110, "online_dossiers_submitted": 180, "apps_installed": 400,
              "topic_mentions": 0, "reach_activities": 60, "contacts": 4200, "unique_people": 2900,
              "reach_households": 1100, "estimated_audience": 6000, "materials_distributed": 250}}))]
pub struct BreakdownResponse {
    pub org_unit: OrgUnitRef,
    pub team_id: Option<Uuid>,
    #[schema(value_type = crate::reference::BreakdownBy)]
    pub by: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: NaiveDate,
    pub verified_only: bool,
    pub rows: Vec<BreakdownRow>,
    pub totals: Figures,
}

const BREAKDOWNS: [&str; 7] = [
    "child_unit",
    "team",
    "topic",
    "channel",
    "campaign",
    "month",
    "week",
];

/// Builds a breakdown of a scope.
pub fn break_down(
    conn: &mut PgConnection,
    reader: &Reader<'_>,
    scope: &ReportScope,
    by: &str,
) -> Result<BreakdownResponse, AppError> {
    let dim = match by {
        "topic" | "channel" | "campaign" => by,
        _ => "all",
    };
    let bucket = match by {
        "month" => Bucket::Month,
        "week" => Bucket::Week,
        _ => Bucket::None,
    };
    let cut = Cut {
        dim,
        from: scope.from,
        to: scope.to,
        bucket,
    };
    let village_level = matches!(scope.root.level.as_str(), "commune" | "village");
    // (row key, figures) pairs before labelling.
    let mut sums: BTreeMap<String, Figures> = BTreeMap::new();
    let mut add = |key: String, status: &str, figures: Figures| {
        if scope.counts(status) {
            *sums.entry(key).or_default() += figures;
        }
    };
    let mut rows_in_order: Vec<(String, String, Option<String>)> = Vec::new();
    match by {
        "child_unit" if village_level => {
            // A commune's villages: from the team grain, by the unit each team served.
            let villages = org_unit::children_in_force(conn, scope.root.id, scope.as_of)?;
            let known: HashMap<String, ()> = villages
                .iter()
                .map(|(id, _, _)| (id.to_string(), ()))
                .collect();
            for row in stats::by_team(conn, &scope.rows, TeamGroup::Unit, cut)? {
                let key = if known.contains_key(&row.grp) {
                    row.grp
                } else {
                    scope.root.id.to_string()
                };
                add(key, &row.status, row.figures);
            }
            rows_in_order.push((
                scope.root.id.to_string(),
                format!("{} (trực tiếp)", scope.root.name),
                Some(scope.root.code.clone()),
            ));
            rows_in_order.extend(
                villages
                    .into_iter()
                    .map(|(id, code, name)| (id.to_string(), name, Some(code))),
            );
        }
        "child_unit" => {
            let groups = scope.by_child();
            let rows = if scope.narrowed() {
                let by_commune: HashMap<String, String> = groups
                    .communes
                    .iter()
                    .map(|(c, g)| (c.to_string(), g.clone()))
                    .collect();
                stats::by_team(conn, &scope.rows, TeamGroup::Commune, cut)?
                    .into_iter()
                    .map(|mut row| {
                        row.grp = by_commune.get(&row.grp).cloned().unwrap_or_default();
                        row
                    })
                    .collect()
            } else {
                stats::by_commune(conn, &groups, cut)?
            };
            for row in rows {
                add(row.grp, &row.status, row.figures);
            }
            let graph_children: Vec<Uuid> = {
                let mut ids: Vec<Uuid> = scope.communes.iter().map(|(_, child)| *child).collect();
                ids.sort();
                ids.dedup();
                ids
            };
            let mut children = org_unit::codes_and_names(conn, &graph_children)?;
            children.sort_by(|a, b| a.2.cmp(&b.2));
            rows_in_order.extend(children.into_iter().map(|(id, code, name)| {
                let label = if id == scope.root.id {
                    format!("{name} (trực tiếp)")
                } else {
                    name
                };
                (id.to_string(), label, Some(code))
            }));
        }
        "team" => {
            for row in stats::by_team(conn, &scope.rows, TeamGroup::Team, cut)? {
                add(row.grp, &row.status, row.figures);
            }
            let counted = reader.teams(conn, scope)?;
            let mut ids: Vec<Uuid> = counted.iter().map(|t| t.team.team_id).collect();
            ids.extend(sums.keys().filter_map(|k| k.parse::<Uuid>().ok()));
            ids.sort();
            ids.dedup();
            let mut named = team::codes_and_names(conn, &ids)?;
            named.sort_by(|a, b| a.1.cmp(&b.1));
            rows_in_order.extend(
                named
                    .into_iter()
                    .map(|(id, code, name)| (id.to_string(), name, Some(code))),
            );
        }
        "topic" | "channel" | "campaign" => {
            for row in scope.figures(conn, &reader.graph, dim, Bucket::None)? {
                add(row.key, &row.status, row.figures);
            }
            match by {
                "topic" => rows_in_order.extend(
                    reference::SESSION_TOPICS
                        .iter()
                        .map(|l| (l.code.to_owned(), l.name_vi.to_owned(), None)),
                ),
                "channel" => rows_in_order.extend(
                    reference::REACH_CHANNELS
                        .iter()
                        .map(|l| (l.code.to_owned(), l.name_vi.to_owned(), None)),
                ),
                _ => {
                    let ids: Vec<Uuid> = sums.keys().filter_map(|k| k.parse().ok()).collect();
                    let mut named = campaign::codes_and_names(conn, &ids)?;
                    named.sort_by(|a, b| a.1.cmp(&b.1));
                    rows_in_order.extend(
                        named
                            .into_iter()
                            .map(|(id, code, name)| (id.to_string(), name, Some(code))),
                    );
                }
            }
        }
        _ => {
            for row in scope.figures(conn, &reader.graph, dim, bucket)? {
                add(row.bucket, &row.status, row.figures);
            }
            let mut day = scope.from;
            let mut buckets = Vec::new();
            while day <= scope.to {
                let key = match bucket {
                    Bucket::Week => {
                        let week = day.iso_week();
                        format!("{}-W{:02}", week.year(), week.week())
                    }
                    _ => format!("{}-{:02}", day.year(), day.month()),
                };
                if buckets.last() != Some(&key) {
                    buckets.push(key);
                }
                day = match day.succ_opt() {
                    Some(next) => next,
                    None => break,
                };
            }
            rows_in_order.extend(buckets.into_iter().map(|k| (k.clone(), k, None)));
        }
    }
    // Every known key in order, then anything the aggregates had that the lists did not (a topic or channel
    // retired from the reference lists, a team that moved away).
    let mut rows = Vec::new();
    let mut totals = Figures::default();
    let mut seen = std::collections::HashSet::new();
    for (key, label, code) in rows_in_order {
        if !seen.insert(key.clone()) {
            continue;
        }
        let figures = sums.get(&key).copied().unwrap_or_default();
        totals += figures;
        rows.push(BreakdownRow {
            key,
            label,
            code,
            figures,
        });
    }
    for (key, figures) in &sums {
        if !seen.contains(key) {
            totals += *figures;
            rows.push(BreakdownRow {
                key: key.clone(),
                label: key.clone(),
                code: None,
                figures: *figures,
            });
        }
    }
    Ok(BreakdownResponse {
        org_unit: unit_ref(&scope.root),
        team_id: scope.rows.team,
        by: by.to_owned(),
        from: scope.from,
        to: scope.to,
        as_of: scope.as_of,
        verified_only: scope.verified_only,
        rows,
        totals,
    })
}

/// Breakdown report.
///
/// The summary's activity figures split `by` child unit (under the structure of `as_of`: with
/// `as_of=2025-06-30` Sơn La splits into its 12 old districts, with a later day into its 75 communes and
/// wards; a commune into its villages), team, topic, channel, campaign, month or ISO week. The rows add up to
/// `totals`, which equal the summary for the same options. Every child unit, team, topic, channel and period
/// appears, with zeros when nothing happened. `Accept: text/csv` returns the rows.
#[utoipa::path(
    tag = "reports",
    operation_id = "report_breakdown",
    params(BreakdownQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The breakdown (JSON, or CSV with `Accept: text/csv`).",
         content((BreakdownResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `by` or period, or the unit was not in force on `as_of`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/breakdown")]
pub async fn report_breakdown(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<BreakdownQuery>,
    db: web::Data<Db>,
    cache: web::Data<ReportCache>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReportBreakdown)?;
    let query = query.into_inner();
    let options = PeriodOptions {
        org_unit_id: query.org_unit_id,
        from: query.from,
        to: query.to,
        as_of: query.as_of,
        verified_only: query.verified_only,
    };
    let mut errors = FieldErrors::new();
    if !BREAKDOWNS.contains(&query.by.as_str()) {
        errors.add(
            "by",
            "invalid_choice",
            "must be child_unit, team, topic, channel, campaign, month or week",
            "cách chia không hợp lệ",
        );
    }
    let (from, to) = check_period(&options, &mut errors);
    if query.by == "week" && (to - from).num_days() > 3 * 366 {
        errors.add(
            "from",
            "too_long",
            "weekly breakdowns cover at most 3 years",
            "chia theo tuần tối đa 3 năm",
        );
    }
    errors.finish()?;
    let by = query.by;
    let breakdown = db
        .read(actor.id, move |conn| {
            read_report(
                conn,
                &cache,
                &actor,
                &options,
                (from, to),
                |conn, reader, scope| break_down(conn, reader, scope, &by),
            )
        })
        .await?;
    if wants_csv(&req) {
        let mut header = vec!["key", "label", "code"];
        header.extend(MEASURES);
        let body = to_csv(
            &header,
            breakdown.rows.iter().map(|row| {
                let mut cells = vec![
                    row.key.clone(),
                    row.label.clone(),
                    row.code.clone().unwrap_or_default(),
                ];
                cells.extend(row.figures.values().iter().map(ToString::to_string));
                cells
            }),
        )?;
        return Ok(csv_response(
            &format!("breakdown-{}.csv", breakdown.by),
            body,
            None,
        ));
    }
    Ok(HttpResponse::Ok().json(breakdown))
}
