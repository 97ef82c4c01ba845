//! Monthly sign-off up the tree (báo cáo tháng): a commune-level unit's officer submits its month once
//! every record of it is verified or rejected, the province (an officer whose scope holds the unit's
//! parent, or an admin) accepts it or returns it with a reason, and an admin may reopen an accepted month
//! with a reason. Accepted months are frozen for everyone, submitted ones for team leaders
//! ([`check_record_month`]). Every transition keeps who, when, why and the month's figures at that moment.

mod bulk;
mod period;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use bulk::{
    BulkSignOffFilter, BulkSignOffRequest, BulkSignOffResponse, BulkSignOffResult, UnitMonthRef,
    transition_many,
};
pub use period::Period;

use crate::{
    auth::{AuthUser, OptionalApp, Role, policy::forbidden},
    domain::{Precondition, org_units::OrgUnitRef, today_in_vietnam, validation::FieldErrors},
    error::{AppError, ErrorCode, PendingLinks, PendingRecords, Text},
    models::{
        audit,
        org_unit::{self, OrgUnit},
        sign_off::{self, Change, SignOff},
        stats,
    },
    reference::{OrgUnitLevel, SignOffAction, SignOffState},
};

/// The longest note or reason.
pub const COMMENT_MAX: usize = 500;

/// A unit-month's figures: what reports count (verified and pending records), and its records by review
/// status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"sessions": 41, "participants_total": 1230, "trained_total": 480,
    "vneid_activations": 96, "payment_accounts_opened": 40, "online_dossiers_submitted": 12,
    "households_reached": 610, "reach_activities": 18, "contacts": 700,
    "records_verified": 57, "records_pending": 0, "records_rejected": 2}))]
pub struct SignOffFigures {
    pub sessions: i64,
    pub participants_total: i64,
    /// Participants of training sessions.
    pub trained_total: i64,
    pub vneid_activations: i64,
    pub payment_accounts_opened: i64,
    pub online_dossiers_submitted: i64,
    /// Households reached by sessions.
    pub households_reached: i64,
    pub reach_activities: i64,
    /// Campaign person-contacts.
    pub contacts: i64,
    /// Sessions and reach activities verified.
    pub records_verified: i64,
    /// Sessions and reach activities awaiting verification.
    pub records_pending: i64,
    /// Sessions and reach activities rejected (counted nowhere).
    pub records_rejected: i64,
}

impl SignOffFigures {
    /// The figures of `unit`'s month from the report aggregates, and the pending records per kind.
    pub fn of(
        conn: &mut PgConnection,
        unit: Uuid,
        period: Period,
    ) -> Result<(Self, i64, i64), AppError> {
        let mut figures = Self::default();
        let (mut pending_sessions, mut pending_reach) = (0, 0);
        for (status, f) in stats::commune_month(conn, unit, period.first_day())? {
            let records = f.sessions + f.reach_activities;
            match status.as_str() {
                "verified" => figures.records_verified += records,
                "submitted" => {
                    figures.records_pending += records;
                    pending_sessions += f.sessions;
                    pending_reach += f.reach_activities;
                }
                _ => {
                    figures.records_rejected += records;
                    continue;
                }
            }
            figures.sessions += f.sessions;
            figures.participants_total += f.participants_total;
            figures.trained_total += f.trained_total;
            figures.vneid_activations += f.vneid_activations;
            figures.payment_accounts_opened += f.payment_accounts_opened;
            figures.online_dossiers_submitted += f.online_dossiers_submitted;
            figures.households_reached += f.households_reached;
            figures.reach_activities += f.reach_activities;
            figures.contacts += f.contacts;
        }
        Ok((figures, pending_sessions, pending_reach))
    }
}

/// How many of the unit-months a report covers are in each sign-off state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"accepted": 60, "submitted": 10, "returned": 1, "open": 4}))]
pub struct SignOffCounts {
    pub accepted: i64,
    pub submitted: i64,
    pub returned: i64,
    pub open: i64,
}

impl SignOffCounts {
    /// The counts of the months overlapping `[from, to]` of the commune-level units `communes`, of which
    /// `unit_months` are in force (a unit counts in a month it existed on any day of).
    pub fn of(
        conn: &mut PgConnection,
        communes: &[Uuid],
        (from, to): (NaiveDate, NaiveDate),
        unit_months: i64,
    ) -> Result<Self, AppError> {
        let mut counts = Self::default();
        for (state, count) in sign_off::state_counts(conn, communes, from, to)? {
            match state {
                SignOffState::Accepted => counts.accepted += count,
                SignOffState::Submitted => counts.submitted += count,
                SignOffState::Returned => counts.returned += count,
                SignOffState::Open => {}
            }
        }
        counts.open = (unit_months - counts.accepted - counts.submitted - counts.returned).max(0);
        Ok(counts)
    }
}

/// Who made a transition.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ActorRef {
    pub id: Uuid,
    pub username: Option<String>,
}

/// One transition of a month's sign-off.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignOffTransition {
    pub action: SignOffAction,
    pub from: SignOffState,
    pub to: SignOffState,
    pub by: Option<ActorRef>,
    pub at: DateTime<Utc>,
    /// The submitter's note, or why the month was returned or reopened.
    pub comment: Option<String>,
    /// The month's figures at that moment.
    pub figures: SignOffFigures,
}

/// A unit-month's sign-off.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"org_unit": {"id": "0193a0f4-7b1e-7c53-a8e1-000000000002", "code": "son-la.chieng-an",
    "name": "Chiềng An", "level": "commune"}, "period": "2026-10", "state": "submitted", "due_on": "2026-11-10",
    "overdue": false, "note": "Đủ số liệu tháng 10", "reason": null,
    "submitted_by": {"id": "0193a0f4-7b1e-7c53-a8e1-000000000010", "username": "canbo.chiengan"},
    "submitted_at": "2026-11-03T02:15:00Z", "decided_by": null, "decided_at": null,
    "figures": {"sessions": 41, "participants_total": 1230, "trained_total": 480, "vneid_activations": 96,
                "payment_accounts_opened": 40, "online_dossiers_submitted": 12, "households_reached": 610,
                "reach_activities": 18, "contacts": 700, "records_verified": 57, "records_pending": 0,
                "records_rejected": 2},
    "version": 1, "history": []}))]
pub struct SignOffResponse {
    pub org_unit: OrgUnitRef,
    /// The month, `YYYY-MM`.
    #[schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: Period,
    pub state: SignOffState,
    /// The last day to submit the month (`SIGN_OFF_DUE_DAYS` after it ends).
    pub due_on: NaiveDate,
    /// Not submitted (open or returned) after `due_on`.
    pub overdue: bool,
    pub note: Option<String>,
    /// Why the month was last returned or reopened.
    pub reason: Option<String>,
    pub submitted_by: Option<ActorRef>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// Who last accepted, returned or reopened it.
    pub decided_by: Option<ActorRef>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The figures at the last transition; for a month never submitted, its figures now.
    pub figures: SignOffFigures,
    /// `ETag` version; 0 before the first transition.
    pub version: i32,
    /// Every transition, oldest first (only when one sign-off is read).
    pub history: Vec<SignOffTransition>,
}

/// The last day to submit `period`.
pub fn due_on(period: Period, due_days: u32) -> NaiveDate {
    period.last_day() + chrono::Duration::days(i64::from(due_days))
}

fn actor_ref(id: Option<Uuid>, conn: &mut PgConnection) -> Result<Option<ActorRef>, AppError> {
    let Some(id) = id else { return Ok(None) };
    let username = crate::models::user::find_with_scope(conn, id)
        .optional_app()?
        .map(|u| u.user.username);
    Ok(Some(ActorRef { id, username }))
}

fn stored_figures(value: &serde_json::Value) -> SignOffFigures {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

/// The response for `unit`'s month, with its history when `history`.
fn response(
    conn: &mut PgConnection,
    unit: &OrgUnit,
    period: Period,
    stored: Option<&SignOff>,
    history: bool,
    due_days: u32,
) -> Result<SignOffResponse, AppError> {
    let state = stored.map_or(SignOffState::Open, |s| s.state);
    let due = due_on(period, due_days);
    let figures = match stored {
        Some(s) => stored_figures(&s.figures),
        None => SignOffFigures::of(conn, unit.id, period)?.0,
    };
    let transitions = match (stored, history) {
        (Some(s), true) => sign_off::transitions(conn, s.id)?
            .into_iter()
            .map(|t| SignOffTransition {
                action: t.action,
                from: t.from_state,
                to: t.to_state,
                by: t.actor_id.map(|id| ActorRef {
                    id,
                    username: t.actor_username,
                }),
                at: t.at,
                comment: t.comment,
                figures: stored_figures(&t.figures),
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(SignOffResponse {
        org_unit: OrgUnitRef::from(unit),
        period,
        state,
        due_on: due,
        overdue: matches!(state, SignOffState::Open | SignOffState::Returned)
            && today_in_vietnam() > due,
        note: stored.and_then(|s| s.note.clone()),
        reason: stored.and_then(|s| s.reason.clone()),
        submitted_by: actor_ref(stored.and_then(|s| s.submitted_by), conn)?,
        submitted_at: stored.and_then(|s| s.submitted_at),
        decided_by: actor_ref(stored.and_then(|s| s.decided_by), conn)?,
        decided_at: stored.and_then(|s| s.decided_at),
        figures,
        version: stored.map_or(0, |s| s.version),
        history: transitions,
    })
}

/// May `actor` read the sign-offs of `unit`? Those whose scope holds it, and those inside it (a team
/// leader sees their commune's months).
fn sees(actor: &AuthUser, unit: &OrgUnit) -> bool {
    actor.sees_path(&unit.path)
        || actor
            .scope_path
            .as_deref()
            .is_some_and(|scope| scope.starts_with(unit.path.as_str()))
}

/// A commune-level unit the actor may read, in force at some day of `period`; 404 or 422 otherwise.
fn load_unit(
    conn: &mut PgConnection,
    actor: &AuthUser,
    unit_id: Uuid,
    period: Period,
) -> Result<OrgUnit, AppError> {
    let unit = org_unit::find(conn, unit_id)
        .optional_app()?
        .filter(|unit| sees(actor, unit))
        .ok_or_else(|| AppError::not_found("org unit"))?;
    let mut errors = FieldErrors::new();
    if unit.level != OrgUnitLevel::Commune {
        errors.add(
            "org_unit_id",
            "invalid_level",
            "months are signed off by commune-level units (communes and wards)",
            "chỉ đơn vị cấp xã chốt số liệu tháng",
        );
    } else if unit.valid_from > period.last_day()
        || unit.valid_to.is_some_and(|end| end < period.first_day())
    {
        errors.add(
            "period",
            "not_in_force",
            "the unit was not in force in this month (its predecessors or successor sign it off)",
            "đơn vị không tồn tại trong tháng này",
        );
    }
    errors.finish()?;
    Ok(unit)
}

/// One unit-month's sign-off with its history.
pub fn read(
    conn: &mut PgConnection,
    actor: &AuthUser,
    unit_id: Uuid,
    period: Period,
    due_days: u32,
) -> Result<SignOffResponse, AppError> {
    let unit = load_unit(conn, actor, unit_id, period)?;
    let stored = sign_off::find(conn, unit.id, period.first_day())?;
    response(conn, &unit, period, stored.as_ref(), true, due_days)
}

/// A stored sign-off as its list shows it (the change feed's items, a webhook event's data).
pub fn event_view(
    conn: &mut PgConnection,
    stored: &SignOff,
    due_days: u32,
) -> Result<SignOffResponse, AppError> {
    let unit = org_unit::find(conn, stored.org_unit_id)?;
    response(
        conn,
        &unit,
        Period::of(stored.period),
        Some(stored),
        false,
        due_days,
    )
}

/// The stored sign-offs with these ids as their list shows them (the change feed's items), by id.
pub fn find_many(
    conn: &mut PgConnection,
    ids: &[Uuid],
    due_days: u32,
) -> Result<Vec<(Uuid, i32, SignOffResponse)>, AppError> {
    let mut found = Vec::new();
    for stored in sign_off::find_many(conn, ids)? {
        let shown = event_view(conn, &stored, due_days)?;
        found.push((stored.id, stored.version, shown));
    }
    Ok(found)
}

/// A requested transition.
#[derive(Debug, Clone)]
pub struct Request {
    pub action: SignOffAction,
    /// The note (`submit`, `accept`) or the reason (`return`, `reopen`).
    pub comment: Option<String>,
}

/// The states a transition leaves from, and where it goes.
fn edges(action: SignOffAction) -> (&'static [SignOffState], SignOffState) {
    match action {
        SignOffAction::Submit => (
            &[SignOffState::Open, SignOffState::Returned],
            SignOffState::Submitted,
        ),
        SignOffAction::Accept => (&[SignOffState::Submitted], SignOffState::Accepted),
        SignOffAction::Return => (&[SignOffState::Submitted], SignOffState::Returned),
        SignOffAction::Reopen => (&[SignOffState::Accepted], SignOffState::Open),
    }
}

/// May `actor` make `action` on `unit`'s months? Submitting: officers whose scope holds the unit;
/// accepting and returning: officers whose scope holds its parent (the province); reopening: admins only.
fn may(
    conn: &mut PgConnection,
    actor: &AuthUser,
    unit: &OrgUnit,
    action: SignOffAction,
) -> Result<bool, AppError> {
    Ok(match (actor.role, action) {
        (Role::Admin, _) => true,
        (Role::Officer, SignOffAction::Submit) => actor.sees_path(&unit.path),
        (Role::Officer, SignOffAction::Accept | SignOffAction::Return) => match unit.parent_id {
            Some(parent) => actor.sees_path(&org_unit::find(conn, parent)?.path),
            None => false,
        },
        _ => false,
    })
}

/// Makes `request` on `unit_id`'s month (call inside a transaction): every rule, then the write, the
/// transition record and the audit event. Repeating a transition that already happened changes nothing.
/// The answer carries the history when `with_history`.
#[expect(clippy::too_many_arguments, reason = "one flat call per transition")]
pub fn transition(
    conn: &mut PgConnection,
    actor: &AuthUser,
    unit_id: Uuid,
    period: Period,
    request: &Request,
    if_match: &Precondition,
    due_days: u32,
    with_history: bool,
) -> Result<SignOffResponse, AppError> {
    let unit = load_unit(conn, actor, unit_id, period)?;
    if !may(conn, actor, &unit, request.action)? {
        return Err(forbidden());
    }
    let current = sign_off::find(conn, unit.id, period.first_day())?;
    let state = current.as_ref().map_or(SignOffState::Open, |s| s.state);
    if_match.check(current.as_ref().map_or(0, |s| s.version))?;
    let (from, to) = edges(request.action);
    if state == to {
        return response(
            conn,
            &unit,
            period,
            current.as_ref(),
            with_history,
            due_days,
        );
    }
    if !from.contains(&state) {
        return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
            format!(
                "The month is {state}; {} needs it {}",
                request.action,
                from.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            format!(
                "Tháng đang ở trạng thái {state}; không thể {}",
                request.action
            ),
        )));
    }
    let mut errors = FieldErrors::new();
    let comment = request
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if matches!(
        request.action,
        SignOffAction::Return | SignOffAction::Reopen
    ) && comment.is_none()
    {
        errors.add("reason", "required", "say why", "hãy nêu lý do");
    }
    if comment.is_some_and(|c| c.chars().count() > COMMENT_MAX) {
        errors.add(
            if matches!(
                request.action,
                SignOffAction::Return | SignOffAction::Reopen
            ) {
                "reason"
            } else {
                "note"
            },
            "too_long",
            format!("must be at most {COMMENT_MAX} characters"),
            format!("tối đa {COMMENT_MAX} ký tự"),
        );
    }
    let today = today_in_vietnam();
    if request.action == SignOffAction::Submit && period.last_day() >= today {
        errors.add(
            "period",
            "not_ended",
            "a month is submitted once it has ended",
            "chỉ gửi báo cáo khi tháng đã kết thúc",
        );
    }
    errors.finish()?;
    let (figures, pending_sessions, pending_reach) = SignOffFigures::of(conn, unit.id, period)?;
    if request.action == SignOffAction::Submit && pending_sessions + pending_reach > 0 {
        return Err(incomplete(unit.id, period, pending_sessions, pending_reach));
    }
    let figures_json = serde_json::to_value(figures).map_err(AppError::internal)?;
    let stored = sign_off::apply(
        conn,
        current.as_ref(),
        unit.id,
        period.first_day(),
        &Change {
            action: request.action,
            to,
            actor: actor.id,
            comment,
            figures: &figures_json,
            at: chrono::Utc::now(),
        },
    )?
    .ok_or_else(|| AppError::new(ErrorCode::PreconditionFailed))?;
    audit::record(
        conn,
        &actor.audit_context(),
        audit::NewAuditEvent {
            action: match request.action {
                SignOffAction::Submit => "sign_off_submitted",
                SignOffAction::Accept => "sign_off_accepted",
                SignOffAction::Return => "sign_off_returned",
                SignOffAction::Reopen => "sign_off_reopened",
            },
            entity_type: "sign_off",
            entity_id: Some(stored.id),
            org_unit_path: Some(unit.path.clone()),
            changes: serde_json::json!({
                "period": period.to_string(),
                "state": {"from": state, "to": to},
                "comment": comment,
                "figures": figures_json,
            }),
        },
    )?;
    response(conn, &unit, period, Some(&stored), with_history, due_days)
}

/// 409 `sign_off_incomplete` naming the records still awaiting verification and their lists.
fn incomplete(unit: Uuid, period: Period, sessions: i64, reach: i64) -> AppError {
    let filter = format!(
        "org_unit_id={unit}&from={}&to={}&status=submitted",
        period.first_day(),
        period.last_day()
    );
    AppError::new(ErrorCode::SignOffIncomplete)
        .with_detail(Text::new(
            format!(
                "{sessions} sessions and {reach} reach activities of {period} await verification; verify or \
                 reject them first"
            ),
            format!(
                "Còn {sessions} buổi và {reach} hoạt động tuyên truyền tháng {period} chờ xác minh; hãy xác \
                 minh hoặc từ chối trước"
            ),
        ))
        .with_pending(PendingRecords {
            training_sessions: sessions,
            reach_activities: reach,
            links: PendingLinks {
                training_sessions: format!("/api/v1/training-sessions?{filter}"),
                reach_activities: format!("/api/v1/reach-activities?{filter}"),
            },
        })
}

/// 409 `period_signed_off` unless `actor` may still write or review a record of `team` dated `day`:
/// accepted months are frozen for everyone, submitted ones for team leaders.
pub fn check_record_month(
    conn: &mut PgConnection,
    actor: &AuthUser,
    team: Uuid,
    day: NaiveDate,
) -> Result<(), AppError> {
    let state = sign_off::state_for_team_day(conn, team, day)?;
    frozen_for(actor, state, day)
}

/// 409 `period_signed_off` when a record of `day` in a month in `state` is frozen for `actor`.
pub fn frozen_for(actor: &AuthUser, state: SignOffState, day: NaiveDate) -> Result<(), AppError> {
    let frozen = match state {
        SignOffState::Accepted => true,
        SignOffState::Submitted => actor.role == Role::TeamLeader,
        SignOffState::Open | SignOffState::Returned => false,
    };
    if !frozen {
        return Ok(());
    }
    let month = format!("{:04}-{:02}", day.year(), day.month());
    Err(AppError::new(ErrorCode::PeriodSignedOff).with_detail(match state {
        SignOffState::Accepted => Text::new(
            format!("The commune's month {month} is accepted by the province; an admin must reopen it first"),
            format!("Tháng {month} của xã đã được tỉnh duyệt; cần quản trị mở lại trước"),
        ),
        _ => Text::new(
            format!("The commune's month {month} is submitted to the province; ask your commune officer"),
            format!("Tháng {month} của xã đã gửi tỉnh; hãy liên hệ cán bộ xã"),
        ),
    }))
}

/// Filters of the sign-off list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Units of this subtree.
    pub org_unit_id: Option<Uuid>,
    /// First and last month (default: the twelve months before this one).
    pub from: Option<Period>,
    pub to: Option<Period>,
    pub state: Option<SignOffState>,
    /// Only the overdue months (`true`), or only the others (`false`).
    pub overdue: Option<bool>,
}

/// The most months one list spans.
pub const MAX_MONTHS: i64 = 120;

/// A page of unit-months (latest month first) of the actor's scope; the keyset is (period, unit id).
pub fn list(
    conn: &mut PgConnection,
    actor: &AuthUser,
    filter: &ListFilter,
    after: Option<(Period, Uuid)>,
    limit: i64,
    due_days: u32,
) -> Result<Vec<SignOffResponse>, AppError> {
    let this_month = Period::of(today_in_vietnam());
    let to = filter
        .to
        .unwrap_or_else(|| Period::of(this_month.first_day() - chrono::Duration::days(1)));
    let from = filter
        .from
        .unwrap_or_else(|| Period::of(to.first_day() - chrono::Months::new(11)));
    let mut errors = FieldErrors::new();
    let months = (to.first_day().year() - from.first_day().year()) * 12
        + to.first_day().month0() as i32
        - from.first_day().month0() as i32;
    if months < 0 {
        errors.add(
            "to",
            "before_from",
            "must not be before from",
            "không được trước from",
        );
    } else if i64::from(months) >= MAX_MONTHS {
        errors.add(
            "to",
            "too_long",
            format!("a list spans at most {MAX_MONTHS} months"),
            format!("tối đa {MAX_MONTHS} tháng"),
        );
    }
    errors.finish()?;
    let within_path = match filter.org_unit_id {
        Some(id) => Some(
            org_unit::find(conn, id)
                .optional_app()?
                .filter(|unit| sees(actor, unit))
                .ok_or_else(|| AppError::not_found("org unit"))?
                .path,
        ),
        None => None,
    };
    let rows = sign_off::unit_months(
        conn,
        &sign_off::MonthFilter {
            within_path,
            scope: actor.scope_filter(),
            from: from.first_day(),
            to: to.first_day(),
            state: filter.state,
            // Overdue: its month ended more than `due_days` before today.
            overdue: filter.overdue.map(|overdue| {
                (
                    overdue,
                    today_in_vietnam() - chrono::Duration::days(i64::from(due_days)),
                )
            }),
        },
        after.map(|(period, unit)| (period.first_day(), unit)),
        limit,
    )?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let unit = org_unit::find(conn, row.org_unit_id)?;
        let period = Period::of(row.period);
        let stored = sign_off::find(conn, unit.id, row.period)?;
        items.push(response(
            conn,
            &unit,
            period,
            stored.as_ref(),
            false,
            due_days,
        )?);
    }
    Ok(items)
}
