//! Bulk review: verify or reject many training sessions or reach activities in one request, by ids or by
//! unit and month (what a commune clears before submitting its month). Each record meets the checks of its
//! single-record endpoint, in the same order, and gets its own result: one refused record (outside the
//! scope, verified, in a signed-off month) does not stop the others. The records are read and locked in one
//! statement, the accepted ones written in one statement (the report aggregates follow per statement) and
//! audited in another, all in one transaction: 5,000 records cost a few statements, not 5,000 round trips.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Role},
    domain::{
        Precondition, reach_activities,
        sign_offs::{Period, frozen_for},
        training_sessions,
        validation::FieldErrors,
        workflow::{Decision, review_guard},
    },
    error::{AppError, Lang, Problem},
    models::{
        audit, org_unit,
        reach_activity::{self, ActivityFilter},
        sign_off,
        training_session::{self, SessionFilter},
    },
    reference::{BulkOutcome, Choice, RecordStatus, ReviewDecision, SignOffState},
};

/// The most records one request reviews.
pub const MAX_RECORDS: usize = 5_000;

/// Which records: those awaiting verification of a unit's subtree in one month.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkReviewFilter {
    /// Records held in this unit's subtree.
    pub org_unit_id: Uuid,
    /// The month, `YYYY-MM`.
    #[schema(value_type = String, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: Period,
}

/// Verify or reject many records: `ids`, or every record awaiting verification that `filter` selects
/// (at most 5,000 either way).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "verify", "filter": {"org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000002", "period": "2026-10"}}))]
pub struct BulkReviewRequest {
    #[schema(value_type = ReviewDecision)]
    pub decision: Choice<ReviewDecision>,
    /// Required to reject (1-500 characters); the team leaders see it.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// The records, 1-5,000 (repeats count once); or give `filter`.
    #[schema(min_items = 1, max_items = 5000)]
    pub ids: Option<Vec<Uuid>>,
    pub filter: Option<BulkReviewFilter>,
}

/// One record's result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BulkReviewResult {
    pub id: Uuid,
    /// `applied` (the record is now in `status`; deciding what it already was writes nothing) or
    /// `refused` (see `problem`, as the single-record endpoint answers).
    pub outcome: BulkOutcome,
    pub status: Option<RecordStatus>,
    pub version: Option<i32>,
    pub problem: Option<Problem>,
}

/// Every record's result, in the order of `ids` (or newest first for a filter).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"results": [
    {"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "outcome": "applied", "status": "verified", "version": 2, "problem": null},
    {"id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9b", "outcome": "refused", "status": null, "version": null,
     "problem": {"type": "/problems/not_found", "title": "Not found", "status": 404, "code": "not_found"}}],
    "applied": 1, "refused": 1}))]
pub struct BulkReviewResponse {
    pub results: Vec<BulkReviewResult>,
    pub applied: usize,
    pub refused: usize,
}

/// What is reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    TrainingSession,
    ReachActivity,
}

/// The ids the request names: its `ids` (repeats once) or what its filter selects; 422 unless exactly
/// one of the two is given and the decision and reason hold.
fn targets(
    conn: &mut PgConnection,
    actor: &AuthUser,
    kind: RecordKind,
    request: &BulkReviewRequest,
) -> Result<(Vec<Uuid>, Decision), AppError> {
    let mut errors = FieldErrors::new();
    let decision = request.decision.check(&mut errors, "decision");
    if request.ids.is_some() == request.filter.is_some() {
        errors.add(
            "ids",
            "exactly_one",
            "give either ids or filter",
            "hãy gửi ids hoặc filter",
        );
    }
    if request
        .ids
        .as_ref()
        .is_some_and(|ids| ids.is_empty() || ids.len() > MAX_RECORDS)
    {
        errors.add(
            "ids",
            "out_of_range",
            format!("must hold 1 to {MAX_RECORDS} ids"),
            format!("phải có từ 1 đến {MAX_RECORDS} id"),
        );
    }
    if decision == Some(ReviewDecision::Reject) && request.reason.is_none() {
        errors.add(
            "reason",
            "required",
            "give the reason for rejecting (the team leaders see it)",
            "hãy ghi lý do từ chối (tổ trưởng sẽ thấy)",
        );
    }
    errors.finish()?;
    let decision = match decision {
        Some(ReviewDecision::Verify) => Decision::Verify,
        _ => Decision::Reject(request.reason.clone().unwrap_or_default()),
    };
    // The reason is checked once for the whole request.
    decision.clone().outcome()?;
    if let Some(ids) = &request.ids {
        let mut seen = std::collections::HashSet::new();
        return Ok((
            ids.iter().copied().filter(|id| seen.insert(*id)).collect(),
            decision,
        ));
    }
    let Some(filter) = &request.filter else {
        return Ok((Vec::new(), decision));
    };
    let unit = org_unit::find(conn, filter.org_unit_id)
        .ok()
        .filter(|unit| actor.sees_path(&unit.path))
        .ok_or_else(|| AppError::not_found("org unit"))?;
    let team_within_path = actor
        .scope_filter()
        .filter(|_| actor.role != Role::TeamLeader);
    let (from, to) = (filter.period.first_day(), filter.period.last_day());
    let limit = i64::try_from(MAX_RECORDS).unwrap_or(i64::MAX);
    let ids = match kind {
        RecordKind::TrainingSession => training_session::list(
            conn,
            &SessionFilter {
                team_within_path,
                held_within_path: Some(unit.path),
                from: Some(from),
                to: Some(to),
                status: Some(RecordStatus::Submitted),
                ..SessionFilter::default()
            },
            None,
            limit,
        )?
        .into_iter()
        .map(|(session, _, _)| session.id)
        .collect(),
        RecordKind::ReachActivity => reach_activity::list(
            conn,
            &ActivityFilter {
                campaign_id: None,
                team_within_path,
                held_within_path: Some(unit.path),
                team_id: None,
                channel: None,
                status: Some(RecordStatus::Submitted),
                statuses: None,
                from: Some(from),
                to: Some(to),
            },
            None,
            limit,
        )?
        .into_iter()
        .map(|listed| listed.activity.id)
        .collect(),
    };
    Ok((ids, decision))
}

/// A stored record as the review rules see it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub team_id: Uuid,
    pub day: NaiveDate,
    pub status: RecordStatus,
    pub version: i32,
    pub team_unit_path: String,
    pub deleted: bool,
}

/// Each record's fate under a review to `target`, with the checks of the single-record review in its order
/// (visible, not in a frozen month, the reviewer's rules): `Ok((status, version))` for a record already in
/// `target` (nothing to write) or an error, by id; and the ids to write.
pub fn judge(
    conn: &mut PgConnection,
    actor: &AuthUser,
    what: &'static str,
    ids: &[Uuid],
    candidates: &HashMap<Uuid, Candidate>,
    target: RecordStatus,
) -> Result<(Decided, Vec<Uuid>), AppError> {
    let pairs: Vec<(Uuid, NaiveDate)> = candidates.values().map(|c| (c.team_id, c.day)).collect();
    let states = sign_off::states_for_team_days(conn, &pairs)?;
    let mut decided = Decided::new();
    let mut writes = Vec::new();
    for id in ids {
        let verdict = candidates
            .get(id)
            .filter(|c| !c.deleted && actor.sees_team(c.team_id, &c.team_unit_path))
            .ok_or_else(|| AppError::not_found(what))
            .and_then(|c| {
                let state = states
                    .get(&(c.team_id, c.day))
                    .copied()
                    .unwrap_or(SignOffState::Open);
                frozen_for(actor, state, c.day)?;
                let write = review_guard(
                    actor,
                    &c.team_unit_path,
                    c.status,
                    c.version,
                    &Precondition::Any,
                    target,
                )?;
                Ok((c, write.is_some()))
            });
        match verdict {
            Ok((_, true)) => writes.push(*id),
            Ok((c, false)) => {
                decided.insert(*id, Ok((c.status, c.version)));
            }
            Err(error) => {
                decided.insert(*id, Err(error));
            }
        }
    }
    Ok((decided, writes))
}

/// Reviews records of one kind at once (inside the caller's transaction): `found` holds each stored
/// record (read and locked by the caller) with what the rules need; each is judged with [`judge`], the
/// accepted ones written by `write` in one statement and audited in one more, as `shown` renders them.
#[expect(
    clippy::too_many_arguments,
    reason = "one flat call per record kind reads better than a trait for two kinds"
)]
pub fn review_records<R, S: Serialize>(
    conn: &mut PgConnection,
    actor: &AuthUser,
    (what, entity): (&'static str, &'static str),
    ids: &[Uuid],
    found: HashMap<Uuid, (R, Candidate)>,
    target: RecordStatus,
    write: impl FnOnce(&mut PgConnection, &[Uuid]) -> diesel::QueryResult<Vec<R>>,
    shown: impl Fn(&R) -> (Uuid, RecordStatus, i32, S),
) -> Result<Decided, AppError> {
    let candidates: HashMap<Uuid, Candidate> = found
        .iter()
        .map(|(id, (_, candidate))| (*id, candidate.clone()))
        .collect();
    let (mut decided, writes) = judge(conn, actor, what, ids, &candidates, target)?;
    let updated = write(conn, &writes)?;
    let action = match target {
        RecordStatus::Verified => format!("{entity}_verified"),
        _ => format!("{entity}_rejected"),
    };
    let mut events = Vec::with_capacity(updated.len());
    for after in &updated {
        let (id, status, version, after) = shown(after);
        decided.insert(id, Ok((status, version)));
        if let Some((before, candidate)) = found.get(&id) {
            events.push(audit::change_event(
                &action,
                entity,
                id,
                Some(candidate.team_unit_path.clone()),
                &shown(before).3,
                &after,
            ));
        }
    }
    audit::record_many(conn, &actor.audit_context(), events)?;
    Ok(decided)
}

/// Each record's outcome by id: its status and version after the review, or why it was refused.
pub type Decided = HashMap<Uuid, Result<(RecordStatus, i32), AppError>>;

/// Reviews every record the request names in one transaction and returns one result per record; a
/// refused record carries its problem in `lang`. A database failure fails the whole request (nothing is
/// written; a retry starts afresh).
pub fn review_many(
    conn: &mut PgConnection,
    actor: &AuthUser,
    kind: RecordKind,
    request: &BulkReviewRequest,
    lang: Lang,
) -> Result<BulkReviewResponse, AppError> {
    let (ids, decision) = targets(conn, actor, kind, request)?;
    let (target, reason) = decision.outcome()?;
    let mut decided = conn.transaction(|conn| match kind {
        RecordKind::TrainingSession => {
            training_sessions::review_set(conn, actor, &ids, target, reason.as_deref())
        }
        RecordKind::ReachActivity => {
            reach_activities::review_set(conn, actor, &ids, target, reason.as_deref())
        }
    })?;
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        results.push(match decided.remove(&id) {
            Some(Ok((status, version))) => BulkReviewResult {
                id,
                outcome: BulkOutcome::Applied,
                status: Some(status),
                version: Some(version),
                problem: None,
            },
            Some(Err(error)) => BulkReviewResult {
                id,
                outcome: BulkOutcome::Refused,
                status: None,
                version: None,
                problem: Some(error.problem(lang, actor.request_id.as_deref())),
            },
            None => {
                return Err(AppError::internal(anyhow::anyhow!(
                    "record {id} was not judged"
                )));
            }
        });
    }
    let applied = results
        .iter()
        .filter(|r| r.outcome == BulkOutcome::Applied)
        .count();
    Ok(BulkReviewResponse {
        refused: results.len() - applied,
        applied,
        results,
    })
}
