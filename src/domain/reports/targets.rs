//! The targets report: each target in scope with its actual, achievement and pro-rated expectation.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::{PgConnection, QueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Reader, ReportScope, resolve_scope, team_counts};
use crate::{
    auth::{AuthUser, Role},
    domain::{org_units::OrgUnitRef, targets::visible, today_in_vietnam},
    error::AppError,
    models::{
        indicator_value::{self, IndicatorValue},
        org_unit,
        stats::{self, Bucket},
        target::{self, ScopedTarget},
        team,
    },
    reference::{Indicator, RecordStatusFilter, TargetHolderKind, TargetStatus},
};

/// A target's holder.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TargetHolder {
    /// `org_unit` or `team`.
    pub kind: TargetHolderKind,
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

/// Progress against one target.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TargetProgress {
    pub target_id: Uuid,
    pub indicator: Indicator,
    pub holder: TargetHolder,
    pub campaign_id: Option<Uuid>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The target value.
    pub value: f64,
    /// Counts (sessions, people, accounts...) accumulate over the period and are pro-rated; rates and
    /// scores are compared as they stand.
    pub cumulative: bool,
    /// What was achieved from the period's start to `evaluated_on` (`null`: no value known yet, e.g. no
    /// external value recorded).
    pub actual: Option<f64>,
    /// `actual / value` in percent.
    pub achievement_pct: Option<f64>,
    /// Cumulative targets: the share of the period elapsed by `evaluated_on`, in percent (what "on track"
    /// is measured against). Rates and scores: 100.
    pub expected_pct: f64,
    /// `value * expected_pct / 100`.
    pub expected_value: f64,
    /// `achieved` (actual >= value), `on_track` (actual >= expected value), `behind`, or `not_started`
    /// (the period has not begun, or nothing has been recorded against it yet).
    pub status: TargetStatus,
    /// The last day counted: today, or the period's end when it is over.
    pub evaluated_on: NaiveDate,
    /// External indicators: where the value came from and how current it is.
    pub source: Option<String>,
    pub source_as_of: Option<NaiveDate>,
}

/// The targets report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"org_unit": {"id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "code": "son-la",
    "name": "Tỉnh Sơn La", "level": "province"}, "from": "2026-01-01", "to": "2026-11-29", "today": "2026-11-29",
    "signed_off_only": false, "sign_offs": {"accepted": 700, "submitted": 60, "returned": 3, "open": 62},
    "items": [{"target_id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "indicator": "people_trained",
    "holder": {"kind": "org_unit", "id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "code": "son-la", "name": "Tỉnh Sơn La"},
    "campaign_id": null, "period_start": "2026-01-01", "period_end": "2026-12-31", "value": 120000.0,
    "cumulative": true, "actual": 98000.0, "achievement_pct": 81.67, "expected_pct": 90.96,
    "expected_value": 109150.68, "status": "behind", "evaluated_on": "2026-11-29", "source": null,
    "source_as_of": null}]}))]
pub struct TargetsReportResponse {
    pub org_unit: OrgUnitRef,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub today: NaiveDate,
    /// Actuals count only unit-months accepted by a sign-off.
    pub signed_off_only: bool,
    /// The sign-off states of the unit-months under the unit in the period.
    pub sign_offs: crate::domain::sign_offs::SignOffCounts,
    /// By indicator, then holder code, then period.
    pub items: Vec<TargetProgress>,
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The share of `[start, end]` elapsed by `day` (inclusive), from 0 to 1.
pub fn elapsed_share(start: NaiveDate, end: NaiveDate, day: NaiveDate) -> f64 {
    if day < start {
        return 0.0;
    }
    let total = (end - start).num_days() + 1;
    let done = ((day.min(end) - start).num_days() + 1).min(total);
    done as f64 / total as f64
}

/// Status of a target from its figures.
pub fn status_of(
    value: f64,
    actual: Option<f64>,
    expected_value: f64,
    started: bool,
) -> TargetStatus {
    match actual {
        _ if !started => TargetStatus::NotStarted,
        None => TargetStatus::NotStarted,
        Some(actual) if actual >= value => TargetStatus::Achieved,
        Some(actual) if actual <= 0.0 => TargetStatus::NotStarted,
        Some(actual) if actual >= expected_value => TargetStatus::OnTrack,
        Some(_) => TargetStatus::Behind,
    }
}

/// The actual of a computed indicator for a scope over `[scope.from, scope.to]`.
fn computed_actual(
    conn: &mut PgConnection,
    reader: &Reader<'_>,
    actor: &AuthUser,
    scope: &ReportScope,
    t: &target::Target,
) -> Result<Option<f64>, AppError> {
    let indicator = t.indicator;
    if indicator == Indicator::ActiveTeamsPct {
        let counts = team_counts(&reader.teams(conn, scope)?);
        return Ok((counts.total > 0).then(|| counts.active as f64 * 100.0 / counts.total as f64));
    }
    if indicator == Indicator::CampaignHouseholdCoveragePct {
        let Some(campaign) = t.campaign_id else {
            return Ok(None);
        };
        let Some(unit) = t.org_unit_id else {
            return Ok(None);
        };
        let summary = super::reach::summarize(
            conn,
            actor,
            campaign,
            Some(unit),
            None,
            RecordStatusFilter::statuses(None),
        )?;
        return Ok(summary.household_coverage_pct);
    }
    let (dim, key) = match (indicator, t.campaign_id) {
        (Indicator::CampaignContacts, Some(campaign)) => ("campaign", Some(campaign.to_string())),
        _ => ("all", None),
    };
    let rows = scope.figures(conn, &reader.graph, dim, Bucket::None)?;
    let mut sum = stats::Figures::default();
    for row in rows {
        if scope.counts(&row.status) && key.as_ref().is_none_or(|k| *k == row.key) {
            sum += row.figures;
        }
    }
    let actual = match indicator {
        Indicator::SessionsHeld => sum.sessions,
        Indicator::PeopleTrained => sum.trained_total,
        Indicator::FemaleTrained => sum.trained_female,
        Indicator::EthnicMinorityTrained => sum.trained_ethnic_minority,
        Indicator::HouseholdsReached => sum.households_reached,
        Indicator::VneidActivations => sum.vneid_activations,
        Indicator::PaymentAccountsOpened => sum.payment_accounts_opened,
        Indicator::OnlineDossiersSubmitted => sum.online_dossiers_submitted,
        Indicator::CampaignContacts => sum.contacts,
        Indicator::CampaignHouseholdCoveragePct
        | Indicator::ActiveTeamsPct
        | Indicator::OnlineDossierRatePct
        | Indicator::VneidLevel2RatePct
        | Indicator::DtiScore => return Ok(None),
    };
    Ok(Some(actual as f64))
}

/// The latest external value for a unit and indicator whose period overlaps the target's.
fn external_actual(
    conn: &mut PgConnection,
    t: &target::Target,
) -> QueryResult<Option<IndicatorValue>> {
    let Some(unit) = t.org_unit_id else {
        return Ok(None);
    };
    indicator_value::latest_overlapping(conn, unit, t.indicator, (t.period_start, t.period_end))
}

/// How a target is evaluated: the structure day asked for, today, and whether only signed-off months count.
#[derive(Debug, Clone, Copy)]
struct Evaluation {
    as_of: Option<NaiveDate>,
    today: NaiveDate,
    signed_off_only: bool,
}

fn progress(
    conn: &mut PgConnection,
    reader: &Reader<'_>,
    actor: &AuthUser,
    scoped: &ScopedTarget,
    holder: TargetHolder,
    on: Evaluation,
) -> Result<TargetProgress, AppError> {
    let Evaluation {
        as_of,
        today,
        signed_off_only,
    } = on;
    let t = &scoped.target;
    let evaluated_on = today.min(t.period_end);
    let started = today >= t.period_start;
    let external = t.indicator.is_external();
    let cumulative = t.indicator.is_additive();
    let (actual, source, source_as_of) = if external {
        let value = external_actual(conn, t)?;
        (
            value.as_ref().map(|v| v.value),
            value.as_ref().map(|v| v.source.clone()),
            value.map(|v| v.as_of),
        )
    } else if !started {
        (None, None, None)
    } else {
        // The holder's actual: a unit (under the structure of `as_of` when it existed then, else of the day
        // evaluated), or one team wherever its activity was attributed.
        let unit_id = match (t.org_unit_id, t.team_id) {
            (Some(unit), _) => unit,
            (None, team) => team::find(conn, team.unwrap_or_else(Uuid::nil))?.org_unit_id,
        };
        let unit = org_unit::find(conn, unit_id)?;
        let as_of = as_of
            .filter(|day| unit.valid_from <= *day && unit.valid_to.is_none_or(|end| end >= *day));
        let mut scope = resolve_scope(
            &reader.graph,
            &unit,
            as_of,
            t.period_start,
            evaluated_on,
            t.team_id,
            false,
        )?;
        if t.team_id.is_some() {
            scope.rows.communes = reader.graph.communes().map(|c| c.id).collect();
            scope.rows.unit = None;
        }
        if signed_off_only {
            scope.sign_off_only(conn, &reader.graph)?;
        }
        (computed_actual(conn, reader, actor, &scope, t)?, None, None)
    };
    let expected_pct = if cumulative {
        elapsed_share(t.period_start, t.period_end, evaluated_on) * 100.0
    } else {
        100.0
    };
    let expected_value = t.value * expected_pct / 100.0;
    Ok(TargetProgress {
        target_id: t.id,
        indicator: t.indicator,
        holder,
        campaign_id: t.campaign_id,
        period_start: t.period_start,
        period_end: t.period_end,
        value: t.value,
        cumulative,
        actual: actual.map(round2),
        achievement_pct: actual
            .filter(|_| t.value > 0.0)
            .map(|a| round2(a * 100.0 / t.value)),
        expected_pct: round2(expected_pct),
        expected_value: round2(expected_value),
        status: status_of(t.value, actual, expected_value, started),
        evaluated_on,
        source,
        source_as_of,
    })
}

/// The targets report for `scope`: every target of its root and of the units and teams below it whose
/// period overlaps `from..=to` (team leaders: their own team's), with its progress.
pub fn report(
    conn: &mut PgConnection,
    reader: &Reader<'_>,
    actor: &AuthUser,
    scope: &ReportScope,
    indicator: Option<Indicator>,
    (from, to): (NaiveDate, NaiveDate),
    as_of: Option<NaiveDate>,
) -> Result<TargetsReportResponse, AppError> {
    let today = today_in_vietnam();
    let chosen: Vec<ScopedTarget> = target::all(conn, indicator)?
        .into_iter()
        .filter(|t| visible(actor, t))
        .filter(|t| actor.role != Role::TeamLeader || t.target.team_id == actor.team_id)
        .filter(|t| t.holder_path.starts_with(&scope.root.path))
        .filter(|t| t.target.period_end >= from && t.target.period_start <= to)
        .collect();
    let unit_ids: Vec<Uuid> = chosen.iter().filter_map(|t| t.target.org_unit_id).collect();
    let team_ids: Vec<Uuid> = chosen.iter().filter_map(|t| t.target.team_id).collect();
    let units: HashMap<Uuid, (String, String)> = org_unit::codes_and_names(conn, &unit_ids)?
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect();
    let named_teams: HashMap<Uuid, (String, String)> = team::codes_and_names(conn, &team_ids)?
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect();
    let mut items = Vec::with_capacity(chosen.len());
    for scoped in &chosen {
        let holder = match (scoped.target.org_unit_id, scoped.target.team_id) {
            (Some(id), _) => {
                let (code, name) = units.get(&id).cloned().unwrap_or_default();
                TargetHolder {
                    kind: TargetHolderKind::OrgUnit,
                    id,
                    code,
                    name,
                }
            }
            (None, Some(id)) => {
                let (code, name) = named_teams.get(&id).cloned().unwrap_or_default();
                TargetHolder {
                    kind: TargetHolderKind::Team,
                    id,
                    code,
                    name,
                }
            }
            (None, None) => continue,
        };
        let on = Evaluation {
            as_of,
            today,
            signed_off_only: scope.signed_off_only(),
        };
        items.push(progress(conn, reader, actor, scoped, holder, on)?);
    }
    items.sort_by(|a, b| {
        a.indicator
            .cmp(&b.indicator)
            .then_with(|| a.holder.code.cmp(&b.holder.code))
            .then_with(|| a.period_start.cmp(&b.period_start))
    });
    Ok(TargetsReportResponse {
        org_unit: OrgUnitRef {
            id: scope.root.id,
            code: scope.root.code.clone(),
            name: scope.root.name.clone(),
            level: scope.root.level,
        },
        from,
        to,
        today,
        signed_off_only: scope.signed_off_only(),
        sign_offs: scope.sign_offs(conn, &reader.graph)?,
        items,
    })
}
