//! Many unit-months at once: the province accepting every commune of a month, a commune submitting a year
//! of older months. Each unit-month goes through [`super::transition`] in its own transaction and gets its
//! own result.

use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListFilter, Period, Request, SignOffResponse, transition};
use crate::{
    auth::AuthUser,
    domain::{Precondition, validation::FieldErrors},
    error::{AppError, Lang, Problem},
    reference::{BulkOutcome, Choice, SignOffAction, SignOffState},
};

/// The most unit-months one request moves.
pub const MAX_ITEMS: usize = 500;

/// One unit-month.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct UnitMonthRef {
    pub org_unit_id: Uuid,
    /// `YYYY-MM`.
    #[schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: Period,
}

/// Every commune-level unit-month of a subtree and range (in a state).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkSignOffFilter {
    /// Commune-level units of this unit's subtree (default: your scope).
    pub org_unit_id: Option<Uuid>,
    /// First and last month, `YYYY-MM`.
    #[schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub from: Period,
    #[schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub to: Period,
    /// Only unit-months in this state (accepting: `submitted`).
    #[schema(value_type = Option<SignOffState>)]
    pub state: Option<Choice<SignOffState>>,
}

/// One transition on many unit-months: `items`, or what `filter` selects (at most 500 either way).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "accept", "filter": {"from": "2026-10", "to": "2026-10", "state": "submitted"}}))]
pub struct BulkSignOffRequest {
    #[schema(value_type = SignOffAction)]
    pub action: Choice<SignOffAction>,
    /// For `submit` and `accept`, at most 500 characters.
    #[schema(max_length = 500)]
    pub note: Option<String>,
    /// Required for `return` and `reopen`, at most 500 characters.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    #[schema(min_items = 1, max_items = 500)]
    pub items: Option<Vec<UnitMonthRef>>,
    pub filter: Option<BulkSignOffFilter>,
}

/// One unit-month's result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BulkSignOffResult {
    pub org_unit_id: Uuid,
    #[schema(value_type = String)]
    pub period: Period,
    /// `applied` (now in `state`; repeating a transition that happened changes nothing) or `refused`
    /// (see `problem`, as the single endpoint answers).
    pub outcome: BulkOutcome,
    pub state: Option<SignOffState>,
    pub version: Option<i32>,
    pub problem: Option<Problem>,
}

/// Every unit-month's result, in the order of `items` (or latest month first for a filter).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"results": [
    {"org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000002", "period": "2026-10", "outcome": "applied",
     "state": "accepted", "version": 2, "problem": null}], "applied": 1, "refused": 0}))]
pub struct BulkSignOffResponse {
    pub results: Vec<BulkSignOffResult>,
    pub applied: usize,
    pub refused: usize,
}

/// The unit-months the request names, and the transition; 422 unless exactly one of `items` and
/// `filter` is given, the action is known and the selection holds at most 500.
fn targets(
    conn: &mut PgConnection,
    actor: &AuthUser,
    body: &BulkSignOffRequest,
    due_days: u32,
) -> Result<(Vec<UnitMonthRef>, Request), AppError> {
    let mut errors = FieldErrors::new();
    let action = body.action.check(&mut errors, "action");
    let state = body
        .filter
        .as_ref()
        .and_then(|f| f.state.as_ref())
        .and_then(|s| s.check(&mut errors, "filter.state"));
    if body.items.is_some() == body.filter.is_some() {
        errors.add(
            "items",
            "exactly_one",
            "give either items or filter",
            "hãy gửi items hoặc filter",
        );
    }
    if body
        .items
        .as_ref()
        .is_some_and(|items| items.is_empty() || items.len() > MAX_ITEMS)
    {
        errors.add(
            "items",
            "out_of_range",
            format!("must hold 1 to {MAX_ITEMS} unit-months"),
            format!("phải có từ 1 đến {MAX_ITEMS} mục"),
        );
    }
    errors.finish()?;
    let action = action.unwrap_or(SignOffAction::Submit);
    let comment = match action {
        SignOffAction::Return | SignOffAction::Reopen => body.reason.clone(),
        SignOffAction::Submit | SignOffAction::Accept => body.note.clone(),
    };
    let request = Request { action, comment };
    if let Some(items) = &body.items {
        let mut seen = std::collections::HashSet::new();
        return Ok((
            items
                .iter()
                .copied()
                .filter(|item| seen.insert(*item))
                .collect(),
            request,
        ));
    }
    let Some(filter) = &body.filter else {
        return Ok((Vec::new(), request));
    };
    let limit = i64::try_from(MAX_ITEMS + 1).unwrap_or(i64::MAX);
    let selected = super::list(
        conn,
        actor,
        &ListFilter {
            org_unit_id: filter.org_unit_id,
            from: Some(filter.from),
            to: Some(filter.to),
            state,
            overdue: None,
        },
        None,
        limit,
        due_days,
    )?;
    if selected.len() > MAX_ITEMS {
        let mut errors = FieldErrors::new();
        errors.add(
            "filter",
            "too_many",
            format!("selects over {MAX_ITEMS} unit-months; narrow it"),
            format!("chọn quá {MAX_ITEMS} mục; hãy thu hẹp"),
        );
        errors.finish()?;
    }
    Ok((
        selected
            .iter()
            .map(|s| UnitMonthRef {
                org_unit_id: s.org_unit.id,
                period: s.period,
            })
            .collect(),
        request,
    ))
}

/// Makes one transition on every unit-month the request names, each in its own transaction, and returns
/// one result per unit-month; a refused one carries its problem in `lang`. A database failure fails the
/// whole request (a retry finds the applied ones already moved).
pub fn transition_many(
    conn: &mut PgConnection,
    actor: &AuthUser,
    body: &BulkSignOffRequest,
    due_days: u32,
    lang: Lang,
) -> Result<BulkSignOffResponse, AppError> {
    let (items, request) = targets(conn, actor, body, due_days)?;
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let moved: Result<SignOffResponse, AppError> = conn.transaction(|conn| {
            transition(
                conn,
                actor,
                item.org_unit_id,
                item.period,
                &request,
                &Precondition::Any,
                due_days,
                false,
            )
        });
        results.push(match moved {
            Ok(sign_off) => BulkSignOffResult {
                org_unit_id: item.org_unit_id,
                period: item.period,
                outcome: BulkOutcome::Applied,
                state: Some(sign_off.state),
                version: Some(sign_off.version),
                problem: None,
            },
            Err(error) if error.is_server_error() => return Err(error),
            Err(error) => BulkSignOffResult {
                org_unit_id: item.org_unit_id,
                period: item.period,
                outcome: BulkOutcome::Refused,
                state: None,
                version: None,
                problem: Some(error.problem(lang, actor.request_id.as_deref())),
            },
        });
    }
    let applied = results
        .iter()
        .filter(|r| r.outcome == BulkOutcome::Applied)
        .count();
    Ok(BulkSignOffResponse {
        refused: results.len() - applied,
        applied,
        results,
    })
}
