//! The summary and breakdown reports, the HTTP face: options, CSV and JSON. What they compute is
//! `domain::reports`.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::reports::{
    BreakdownResponse, PeriodOptions, SummaryResponse, check_period, read_report,
};
use crate::{
    auth::{AuthUser, Operation},
    db::Db,
    domain::{
        reports::{break_down, summarize},
        validation::FieldErrors,
    },
    error::{AppError, Problem},
    models::stats::{MEASURES, ReportCache},
    routes::csv_export::{csv_response, to_csv, wants_csv},
};

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
    /// Count only the unit-months a sign-off accepted (the official figures).
    pub signed_off_only: Option<bool>,
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
        signed_off_only: query.signed_off_only,
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
            ("signed_off_only", s.signed_off_only.to_string()),
            ("sign_offs.accepted", s.sign_offs.accepted.to_string()),
            ("sign_offs.submitted", s.sign_offs.submitted.to_string()),
            ("sign_offs.returned", s.sign_offs.returned.to_string()),
            ("sign_offs.open", s.sign_offs.open.to_string()),
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
    pub by: crate::reference::Choice<crate::reference::BreakdownBy>,
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
    /// Count only the unit-months a sign-off accepted (the official figures).
    pub signed_off_only: Option<bool>,
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
        signed_off_only: query.signed_off_only,
    };
    let mut errors = FieldErrors::new();
    let by = query.by.check(&mut errors, "by");
    let (from, to) = check_period(&options, &mut errors);
    if by == Some(crate::reference::BreakdownBy::Week) && (to - from).num_days() > 3 * 366 {
        errors.add(
            "from",
            "too_long",
            "weekly breakdowns cover at most 3 years",
            "chia theo tuần tối đa 3 năm",
        );
    }
    errors.finish()?;
    let by = query.by.checked()?;
    let breakdown = db
        .read(actor.id, move |conn| {
            read_report(
                conn,
                &cache,
                &actor,
                &options,
                (from, to),
                |conn, reader, scope| break_down(conn, reader, scope, by),
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
