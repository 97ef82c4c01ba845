//! What the province reads about a campaign: how far it reached, each kind of count apart, and household
//! coverage that cannot be inflated by double counting.
//!
//! Coverage is computed bottom-up: a unit covers `min(households reached there + covered by its children,
//! its households)`, so two teams over-reporting one village can never push that village, its commune or
//! the province over 100%. A unit whose household count is unknown (and whose children give none) is
//! listed, not guessed, and what was reached there does not count as coverage.

use std::collections::{BTreeMap, HashMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::Datelike;
use diesel::PgConnection;
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
        org_unit::{self, OrgUnit, OrgUnitFilter},
        reach_activity::{self, ActivityFilter, ListedActivity},
        team::{self, TeamFilter},
    },
    routes::csv_export::{cell, csv_response, to_csv, wants_csv},
};

/// Options of the summary.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReachSummaryQuery {
    /// The subtree to summarise (default: your scope root; for admins the province).
    pub org_unit_id: Option<Uuid>,
    /// `channel`, `org_unit` (the children of the subtree's root), `team`, `day` or `week`.
    #[param(value_type = Option<crate::reference::ReachGroupBy>)]
    pub group_by: Option<String>,
    /// `submitted`, `verified`, `rejected` or `all` (default: submitted and verified).
    #[param(value_type = Option<crate::reference::RecordStatusFilter>)]
    pub status: Option<String>,
}

/// Counts kept apart.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ReachFigures {
    /// Activities counted.
    pub activities: i64,
    /// Person-contacts ("lượt người").
    pub contacts: i64,
    /// Sum of the unique-people estimates.
    pub unique_people_estimate: i64,
    /// Sum of households reached as reported (before the per-unit cap).
    pub households_reached: i64,
    /// Sum of broadcast audience estimates.
    pub estimated_audience: i64,
    pub materials_distributed: i64,
}

impl ReachFigures {
    fn add(&mut self, activity: &reach_activity::ReachActivity) {
        self.activities += 1;
        self.contacts += i64::from(activity.contacts);
        self.unique_people_estimate += i64::from(activity.unique_people.unwrap_or(0));
        self.households_reached += i64::from(activity.households_reached);
        self.estimated_audience += i64::from(activity.estimated_audience.unwrap_or(0));
        self.materials_distributed += i64::from(activity.materials_distributed);
    }
}

/// One group of the summary.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReachGroup {
    /// The channel, unit id, team code, day or ISO week (`2024-W42`).
    pub key: String,
    /// A readable name (unit or team name), when there is one.
    pub label: Option<String>,
    #[serde(flatten)]
    pub figures: ReachFigures,
    /// For `org_unit` groups: covered households (capped) and the households of that unit.
    pub households_covered: Option<i64>,
    pub households_total: Option<i64>,
}

/// A unit where households were reached but whose household count is unknown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnitWithoutHouseholds {
    pub unit: OrgUnitRef,
    pub households_reached: i64,
}

/// The reach of a campaign in a subtree.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReachSummaryResponse {
    pub campaign_id: Uuid,
    pub org_unit: OrgUnitRef,
    /// The statuses counted.
    pub statuses: Vec<String>,
    #[serde(flatten)]
    pub figures: ReachFigures,
    /// Households covered, capped per unit bottom-up (never above `households_total`).
    pub households_covered: i64,
    /// Households of the subtree, from unit household counts.
    pub households_total: i64,
    /// `households_covered / households_total` in percent; `null` when no household count is known.
    pub household_coverage_pct: Option<f64>,
    /// Teams with at least one counted activity.
    pub participating_teams: i64,
    /// Active teams in the subtree.
    pub active_teams: i64,
    /// Each figure by counting method.
    pub by_method: BTreeMap<String, ReachFigures>,
    /// Each figure by confidence level.
    pub by_confidence: BTreeMap<String, ReachFigures>,
    /// Units whose household count is unknown (their reach is not counted as coverage).
    pub units_without_household_count: Vec<UnitWithoutHouseholds>,
    /// The grouping asked for, if any.
    pub group_by: Option<String>,
    /// The groups; additive figures add up to the totals.
    pub groups: Vec<ReachGroup>,
}

/// Households covered and households known for every unit of the subtree, computed bottom-up.
fn coverage(units: &[OrgUnit], reached: &HashMap<Uuid, i64>) -> HashMap<Uuid, (i64, Option<i64>)> {
    let today = today_in_vietnam();
    let mut children: HashMap<Uuid, Vec<&OrgUnit>> = HashMap::new();
    for unit in units {
        if let Some(parent) = unit.parent_id {
            children.entry(parent).or_default().push(unit);
        }
    }
    let mut ordered: Vec<&OrgUnit> = units.iter().collect();
    ordered.sort_by_key(|unit| std::cmp::Reverse(unit.depth));
    let mut result: HashMap<Uuid, (i64, Option<i64>)> = HashMap::new();
    for unit in ordered {
        let in_force = unit.valid_to.is_none_or(|to| to >= today);
        let (children_covered, children_total) = children.get(&unit.id).map_or((0, None), |kids| {
            kids.iter()
                .fold((0i64, None::<i64>), |(covered, total), kid| {
                    let (kid_covered, kid_total) =
                        result.get(&kid.id).copied().unwrap_or((0, None));
                    let total = match (total, kid_total) {
                        (None, None) => None,
                        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
                    };
                    (covered + kid_covered, total)
                })
        });
        let own_total = unit.households.filter(|_| in_force).map(i64::from);
        let total = own_total.or(children_total);
        let here = reached.get(&unit.id).copied().unwrap_or(0);
        let covered = match total {
            Some(total) => (here + children_covered).min(total),
            // Unknown households: only what children could vouch for (nothing, since they know none).
            None => children_covered,
        };
        result.insert(unit.id, (covered, total));
    }
    result
}

fn iso_week(day: chrono::NaiveDate) -> String {
    let week = day.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// The reach of a campaign.
///
/// For the subtree: contacts, unique-people estimates, households reached and covered (capped per unit,
/// bottom-up, so double counting cannot exceed 100%), audience estimates, participating teams out of all
/// active teams, each split by counting method and confidence; optionally grouped by channel, child unit,
/// team, day or week (the groups add up to the totals). `Accept: text/csv` returns the groups as CSV.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "get_reach_summary",
    params(("id" = Uuid, Path, description = "Campaign id"), ReachSummaryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The summary (JSON, or its groups as CSV with `Accept: text/csv`).",
         content((ReachSummaryResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad id or query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign or unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid options.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/campaigns/{id}/reach-summary")]
pub async fn get_reach_summary(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<ReachSummaryQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::GetReachSummary)?;
    let campaign_id = id.into_inner();
    let query = query.into_inner();
    let mut errors = FieldErrors::new();
    if let Some(group_by) = &query.group_by
        && !matches!(
            group_by.as_str(),
            "channel" | "org_unit" | "team" | "day" | "week"
        )
    {
        errors.add(
            "group_by",
            "invalid_choice",
            "must be channel, org_unit, team, day or week",
            "cách nhóm không hợp lệ",
        );
    }
    let statuses: Vec<String> = match query.status.as_deref() {
        None => vec!["submitted".to_owned(), "verified".to_owned()],
        Some("all") => vec![
            "submitted".to_owned(),
            "verified".to_owned(),
            "rejected".to_owned(),
        ],
        Some(status @ ("submitted" | "verified" | "rejected")) => vec![status.to_owned()],
        Some(_) => {
            errors.add(
                "status",
                "invalid_choice",
                "must be submitted, verified, rejected or all",
                "trạng thái không hợp lệ",
            );
            Vec::new()
        }
    };
    errors.finish()?;
    let summary = db
        .run(move |conn| summarize(conn, &actor, campaign_id, query, statuses))
        .await?;
    if wants_csv(&req) {
        let header = [
            "group",
            "label",
            "activities",
            "contacts",
            "unique_people_estimate",
            "households_reached",
            "estimated_audience",
            "materials_distributed",
            "households_covered",
            "households_total",
        ];
        let total = ReachGroup {
            key: "total".to_owned(),
            label: Some(summary.org_unit.name.clone()),
            figures: summary.figures.clone(),
            households_covered: Some(summary.households_covered),
            households_total: Some(summary.households_total),
        };
        let body = to_csv(
            &header,
            summary
                .groups
                .iter()
                .chain(std::iter::once(&total))
                .map(|g| {
                    vec![
                        g.key.clone(),
                        cell(g.label.clone()),
                        g.figures.activities.to_string(),
                        g.figures.contacts.to_string(),
                        g.figures.unique_people_estimate.to_string(),
                        g.figures.households_reached.to_string(),
                        g.figures.estimated_audience.to_string(),
                        g.figures.materials_distributed.to_string(),
                        cell(g.households_covered),
                        cell(g.households_total),
                    ]
                }),
        )?;
        return Ok(csv_response("reach-summary.csv", body, None));
    }
    Ok(HttpResponse::Ok().json(summary))
}

/// The reach summary of a campaign under a unit, for `actor`.
pub fn summarize(
    conn: &mut PgConnection,
    actor: &AuthUser,
    campaign_id: Uuid,
    query: ReachSummaryQuery,
    statuses: Vec<String>,
) -> Result<ReachSummaryResponse, AppError> {
    campaign::find(conn, campaign_id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("campaign"))?;
    let root = crate::domain::reports::root_unit(conn, actor, query.org_unit_id)?;
    let units = org_unit::list(
        conn,
        &OrgUnitFilter {
            within_path: Some(root.path.clone()),
            ..OrgUnitFilter::default()
        },
        None,
        100_000,
    )?;
    let mut filter = ActivityFilter {
        campaign_id: Some(campaign_id),
        held_within_path: Some(root.path.clone()),
        team_within_path: actor
            .scope_filter()
            .filter(|_| actor.role != Role::TeamLeader),
        statuses: Some(statuses.clone()),
        ..ActivityFilter::default()
    };
    if actor.role == Role::TeamLeader {
        filter.team_id = Some(actor.team_id.unwrap_or_else(Uuid::nil));
    }
    let activities: Vec<ListedActivity> = reach_activity::list(conn, &filter, None, 0)?;

    let mut figures = ReachFigures::default();
    let mut by_method: BTreeMap<String, ReachFigures> = BTreeMap::new();
    let mut by_confidence: BTreeMap<String, ReachFigures> = BTreeMap::new();
    let mut reached: HashMap<Uuid, i64> = HashMap::new();
    let mut teams_seen = HashSet::new();
    for listed in &activities {
        let a = &listed.activity;
        figures.add(a);
        by_method.entry(a.method.clone()).or_default().add(a);
        by_confidence
            .entry(a.confidence.clone())
            .or_default()
            .add(a);
        *reached.entry(a.org_unit_id).or_default() += i64::from(a.households_reached);
        teams_seen.insert(a.team_id);
    }
    let coverage = coverage(&units, &reached);
    let (households_covered, households_total) =
        coverage.get(&root.id).copied().unwrap_or((0, None));
    let households_total = households_total.unwrap_or(0);
    let units_by_id: HashMap<Uuid, &OrgUnit> = units.iter().map(|u| (u.id, u)).collect();
    let mut units_without_household_count: Vec<UnitWithoutHouseholds> = reached
        .iter()
        .filter(|(unit, count)| {
            **count > 0 && coverage.get(unit).is_none_or(|(_, total)| total.is_none())
        })
        .filter_map(|(unit, count)| {
            units_by_id.get(unit).map(|u| UnitWithoutHouseholds {
                unit: OrgUnitRef::from(*u),
                households_reached: *count,
            })
        })
        .collect();
    units_without_household_count.sort_by(|a, b| a.unit.code.cmp(&b.unit.code));

    let active_teams = team::list(
        conn,
        &TeamFilter {
            within_path: Some(root.path.clone()),
            only_team: (actor.role == Role::TeamLeader)
                .then(|| actor.team_id.unwrap_or_else(Uuid::nil)),
            status: Some("active".to_owned()),
            ..TeamFilter::default()
        },
        None,
        1_000_000,
    )?
    .len();

    let mut groups: BTreeMap<String, ReachGroup> = BTreeMap::new();
    if let Some(group_by) = &query.group_by {
        for listed in &activities {
            let a = &listed.activity;
            let (key, label) = match group_by.as_str() {
                "channel" => (a.channel.clone(), None),
                "team" => (listed.team_code.clone(), None),
                "day" => (a.occurred_on.to_string(), None),
                "week" => (iso_week(a.occurred_on), None),
                _ => {
                    // The child of the root the activity happened under (or the root itself).
                    let child = listed
                        .unit_path
                        .strip_prefix(root.path.as_str())
                        .and_then(|rest| rest.split('/').next())
                        .and_then(|id| Uuid::parse_str(id).ok())
                        .unwrap_or(root.id);
                    let label = units_by_id.get(&child).map(|u| u.name.clone());
                    (child.to_string(), label)
                }
            };
            let group = groups.entry(key.clone()).or_insert_with(|| ReachGroup {
                key,
                label,
                figures: ReachFigures::default(),
                households_covered: None,
                households_total: None,
            });
            group.figures.add(a);
        }
        if group_by == "org_unit" {
            for group in groups.values_mut() {
                if let Ok(unit) = Uuid::parse_str(&group.key)
                    && unit != root.id
                {
                    let (covered, total) = coverage.get(&unit).copied().unwrap_or((0, None));
                    group.households_covered = Some(covered);
                    group.households_total = total;
                }
            }
        }
    }

    Ok(ReachSummaryResponse {
        campaign_id,
        org_unit: OrgUnitRef::from(&root),
        statuses,
        figures,
        households_covered,
        households_total,
        household_coverage_pct: (households_total > 0)
            .then(|| (households_covered as f64 * 1000.0 / households_total as f64).round() / 10.0),
        participating_teams: i64::try_from(teams_seen.len()).unwrap_or(0),
        active_teams: i64::try_from(active_teams).unwrap_or(0),
        by_method,
        by_confidence,
        units_without_household_count,
        group_by: query.group_by,
        groups: groups.into_values().collect(),
    })
}
