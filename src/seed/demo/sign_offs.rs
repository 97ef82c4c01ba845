//! The demo's signed-off history (báo cáo tháng), relative to the day it is loaded: every commune-level
//! unit's months from the 2025 reorganisation up to two months ago were submitted and accepted, except one
//! commune's month two months ago, left open past its due day (overdue). Last month a few communes have
//! submitted and wait for the province, one was returned with a reason, and the rest are open, the demo
//! officer's among them (it still has records to verify before submitting).
//!
//! A month is submitted only once its records are reviewed, so [`verify_pending`] verifies what still
//! waited in those unit-months before the aggregates are derived; [`load`] then writes the sign-offs
//! through the same model function as the endpoints, with the figures of each month, at plausible past
//! times (submitted in the first days of the next month, decided a few days later).

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, PgConnection, QueryDsl, RunQueryDsl, sql_query,
    sql_types::{Array, Date, Uuid as SqlUuid},
};
use uuid::Uuid;

use super::Sequence;
use crate::{
    db::schema::{org_units, users},
    domain::sign_offs::{Period, SignOffFigures},
    error::AppError,
    models::sign_off::{self, Change},
    reference::{OrgUnitLevel, SignOffAction, SignOffState},
};

/// How many communes submitted last month and wait for the province.
const SUBMITTED_LAST_MONTH: usize = 6;
const SEED: u64 = 0x5167_0FF5;
const RETURN_REASON: &str = "Thiếu danh sách ký của 2 buổi tập huấn VNeID; bổ sung và gửi lại.";
const NOTE: &str = "Đã rà soát, xác nhận đủ các buổi của tháng.";

/// Which unit-months the demo signs off.
pub(super) struct Plan {
    /// Submitted then accepted.
    accepted: Vec<(Uuid, NaiveDate)>,
    /// Submitted last month, waiting.
    submitted: Vec<(Uuid, NaiveDate)>,
    /// Submitted last month, then returned.
    returned: Option<(Uuid, NaiveDate)>,
    /// The demo officer's commune-level unit (submits its own months).
    officer_unit: Option<Uuid>,
}

/// What was signed off.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SignOffReport {
    pub accepted: usize,
    pub submitted: usize,
    pub returned: usize,
}

impl Plan {
    /// The months submitted at some point (their records must be reviewed first).
    fn submitted_ever(&self) -> impl Iterator<Item = &(Uuid, NaiveDate)> {
        self.accepted
            .iter()
            .chain(&self.submitted)
            .chain(self.returned.iter())
    }
}

/// The plan for a load on `today`: the current commune-level units in code order.
pub(super) fn plan(
    conn: &mut PgConnection,
    today: NaiveDate,
    reorganized: NaiveDate,
) -> Result<Plan, AppError> {
    let communes: Vec<Uuid> = org_units::table
        .filter(org_units::level.eq(OrgUnitLevel::Commune))
        .filter(org_units::valid_to.is_null())
        .order(org_units::code)
        .select(org_units::id)
        .load(conn)?;
    let officer_unit: Option<Uuid> = users::table
        .filter(users::username.eq("demo.officer"))
        .select(users::org_unit_id)
        .first::<Option<Uuid>>(conn)
        .optional()?
        .flatten();
    let this_month = today.with_day(1).unwrap_or(today);
    let last_month = this_month - Months::new(1);
    let two_months_ago = this_month - Months::new(2);
    // The communes other than the officer's, in code order: the first leaves its month two months ago
    // open (overdue), the next ones submitted last month, the one after was returned.
    let others: Vec<Uuid> = communes
        .iter()
        .copied()
        .filter(|c| Some(*c) != officer_unit)
        .collect();
    let overdue = others.first().copied();
    let mut accepted = Vec::new();
    let mut month = reorganized.with_day(1).unwrap_or(reorganized);
    while month <= two_months_ago {
        for commune in &communes {
            if !(month == two_months_ago && Some(*commune) == overdue) {
                accepted.push((*commune, month));
            }
        }
        month = month + Months::new(1);
    }
    let after_reorganisation = last_month >= reorganized;
    let submitted = others
        .iter()
        .skip(1)
        .take(SUBMITTED_LAST_MONTH)
        .filter(|_| after_reorganisation)
        .map(|c| (*c, last_month))
        .collect();
    let returned = others
        .get(1 + SUBMITTED_LAST_MONTH)
        .filter(|_| after_reorganisation)
        .map(|c| (*c, last_month));
    Ok(Plan {
        accepted,
        submitted,
        returned,
        officer_unit,
    })
}

/// Verifies the sessions and reach activities still waiting in the unit-months the plan submits (call
/// with the row triggers off, before the aggregates are derived), as reviewed by `reviewer` on the third
/// day after.
pub(super) fn verify_pending(
    conn: &mut PgConnection,
    plan: &Plan,
    reviewer: Uuid,
) -> Result<(), AppError> {
    let (units, months): (Vec<Uuid>, Vec<NaiveDate>) = plan.submitted_ever().copied().unzip();
    for (table, day) in [
        ("training_sessions", "held_on"),
        ("reach_activities", "occurred_on"),
    ] {
        sql_query(format!(
            "UPDATE {table} r SET status = 'verified', reviewed_by = $3, \
                    reviewed_at = least(r.{day} + interval '3 days 02:00', now()) \
             FROM teams t JOIN org_units u ON u.id = t.org_unit_id \
             WHERE r.team_id = t.id AND r.status = 'submitted' AND r.deleted_at IS NULL \
               AND (CASE WHEN u.level = 'village' THEN u.parent_id ELSE u.id END, \
                    date_trunc('month', r.{day})::date) \
                   IN (SELECT * FROM unnest($1::uuid[], $2::date[]))"
        ))
        .bind::<Array<SqlUuid>, _>(&units)
        .bind::<Array<Date>, _>(&months)
        .bind::<SqlUuid, _>(reviewer)
        .execute(conn)?;
    }
    Ok(())
}

/// 09:00 in Vietnam (02:00 UTC) on day `days` of the month after `month`, or now if that is later.
fn after_month(month: NaiveDate, days: usize) -> DateTime<Utc> {
    let day = month + Months::new(1) + Days::new(days as u64 - 1);
    day.and_hms_opt(2, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .min(Utc::now())
}

/// Writes the plan's sign-offs (after the aggregates are derived: each carries its month's figures).
pub(super) fn load(
    conn: &mut PgConnection,
    plan: &Plan,
    officer: Option<Uuid>,
    admin: Uuid,
) -> Result<SignOffReport, AppError> {
    let mut sequence = Sequence(SEED);
    let mut report = SignOffReport::default();
    let steps = plan
        .accepted
        .iter()
        .map(|m| (m, Some(SignOffAction::Accept)))
        .chain(plan.submitted.iter().map(|m| (m, None)))
        .chain(
            plan.returned
                .iter()
                .map(|m| (m, Some(SignOffAction::Return))),
        );
    for ((unit, month), decision) in steps {
        let (figures, _, _) = SignOffFigures::of(conn, *unit, Period::of(*month))?;
        let figures = serde_json::to_value(figures).map_err(AppError::internal)?;
        let submitter = match officer {
            Some(officer) if plan.officer_unit == Some(*unit) => officer,
            _ => admin,
        };
        let submitted_at = after_month(*month, sequence.between(2, 7));
        let submitted = sign_off::apply(
            conn,
            None,
            *unit,
            *month,
            &Change {
                action: SignOffAction::Submit,
                to: SignOffState::Submitted,
                actor: submitter,
                comment: Some(NOTE),
                figures: &figures,
                at: submitted_at,
            },
        )?;
        let Some(submitted) = submitted else {
            continue;
        };
        let decided_at =
            (submitted_at + chrono::Duration::days(sequence.between(1, 4) as i64)).min(Utc::now());
        match decision {
            Some(SignOffAction::Accept) => {
                sign_off::apply(
                    conn,
                    Some(&submitted),
                    *unit,
                    *month,
                    &Change {
                        action: SignOffAction::Accept,
                        to: SignOffState::Accepted,
                        actor: admin,
                        comment: None,
                        figures: &figures,
                        at: decided_at,
                    },
                )?;
                report.accepted += 1;
            }
            Some(_) => {
                sign_off::apply(
                    conn,
                    Some(&submitted),
                    *unit,
                    *month,
                    &Change {
                        action: SignOffAction::Return,
                        to: SignOffState::Returned,
                        actor: admin,
                        comment: Some(RETURN_REASON),
                        figures: &figures,
                        at: decided_at,
                    },
                )?;
                report.returned += 1;
            }
            None => report.submitted += 1,
        }
    }
    Ok(report)
}
