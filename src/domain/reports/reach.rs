//! What the province reads about a campaign: how far it reached, each kind of count apart, and household
//! coverage that cannot be inflated by double counting.
//!
//! Coverage is computed bottom-up: a unit covers `min(households reached there + covered by its children,
//! its households)`, so two teams over-reporting one village can never push that village, its commune or
//! the province over 100%. A unit whose household count is unknown (and whose children give none) is
//! listed, not guessed, and what was reached there does not count as coverage.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Datelike;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, OptionalApp, Role},
    domain::org_units::OrgUnitRef,
    domain::today_in_vietnam,
    error::AppError,
    models::{
        campaign,
        org_unit::{self, OrgUnit, OrgUnitFilter},
        reach_activity::{self, ActivityFilter, ListedActivity},
        team::{self, TeamFilter},
    },
    reference::{Confidence, CountingMethod, ReachGroupBy, RecordStatus, TeamStatus},
};

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
    pub statuses: Vec<RecordStatus>,
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
    pub by_method: BTreeMap<CountingMethod, ReachFigures>,
    /// Each figure by confidence level.
    pub by_confidence: BTreeMap<Confidence, ReachFigures>,
    /// Units whose household count is unknown (their reach is not counted as coverage).
    pub units_without_household_count: Vec<UnitWithoutHouseholds>,
    /// The grouping asked for, if any.
    pub group_by: Option<ReachGroupBy>,
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

/// The reach summary of a campaign under a unit, for `actor`.
pub fn summarize(
    conn: &mut PgConnection,
    actor: &AuthUser,
    campaign_id: Uuid,
    org_unit_id: Option<Uuid>,
    group_by: Option<ReachGroupBy>,
    statuses: Vec<RecordStatus>,
) -> Result<ReachSummaryResponse, AppError> {
    campaign::find(conn, campaign_id)
        .optional_app()?
        .ok_or_else(|| AppError::not_found("campaign"))?;
    let root = crate::domain::reports::root_unit(conn, actor, org_unit_id)?;
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
    let mut by_method: BTreeMap<CountingMethod, ReachFigures> = BTreeMap::new();
    let mut by_confidence: BTreeMap<Confidence, ReachFigures> = BTreeMap::new();
    let mut reached: HashMap<Uuid, i64> = HashMap::new();
    let mut teams_seen = HashSet::new();
    for listed in &activities {
        let a = &listed.activity;
        figures.add(a);
        by_method.entry(a.method).or_default().add(a);
        by_confidence.entry(a.confidence).or_default().add(a);
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
            status: Some(TeamStatus::Active),
            ..TeamFilter::default()
        },
        None,
        1_000_000,
    )?
    .len();

    let mut groups: BTreeMap<String, ReachGroup> = BTreeMap::new();
    if let Some(group_by) = group_by {
        for listed in &activities {
            let a = &listed.activity;
            let (key, label) = match group_by {
                ReachGroupBy::Channel => (a.channel.to_string(), None),
                ReachGroupBy::Team => (listed.team_code.clone(), None),
                ReachGroupBy::Day => (a.occurred_on.to_string(), None),
                ReachGroupBy::Week => (iso_week(a.occurred_on), None),
                ReachGroupBy::OrgUnit => {
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
        if group_by == ReachGroupBy::OrgUnit {
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
        group_by,
        groups: groups.into_values().collect(),
    })
}
