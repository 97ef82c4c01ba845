//! Reorganisations: units merged into a successor that starts the day the predecessors close, the
//! succession links kept, and the predecessors' teams following the successor from its first day.

use chrono::NaiveDate;
use diesel::PgConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    CreateOrgUnitRequest, OrgUnitDetailResponse, checked_above, find_detail, in_force, insert_unit,
    snapshot, validate_new_unit,
};
use crate::{
    auth::{AuthUser, OptionalApp},
    contract,
    domain::validation::FieldErrors,
    error::{AppError, FieldError, Text},
    models::{
        audit::{self, NewAuditEvent},
        org_unit, team,
    },
    reference::{Choice, OrgUnitKind, OrgUnitLevel},
};

/// A merge of units into a successor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"effective_on": "2025-07-01",
    "successor": {"code": "son-la.xa-van-ho", "name": "Vân Hồ", "level": "commune", "kind": "xa",
                  "parent_id": "0193a0f4-7b1e-7c53-a8e1-000000000001"},
    "predecessor_ids": ["0193a0f4-7b1e-7c53-a8e1-000000000011", "0193a0f4-7b1e-7c53-a8e1-000000000012"]}))]
pub struct ReorganizationRequest {
    /// The first day of the successor; the predecessors close the day before.
    pub effective_on: NaiveDate,
    /// The new unit (`valid_from` is `effective_on`).
    pub successor: SuccessorRequest,
    /// The units merged into it (1-50, of the successor's level, each in force the day before and on
    /// `effective_on`).
    pub predecessor_ids: Vec<Uuid>,
}

/// The successor of a reorganisation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessorRequest {
    pub code: String,
    pub name: String,
    #[schema(value_type = OrgUnitLevel)]
    pub level: Choice<OrgUnitLevel>,
    #[schema(value_type = OrgUnitKind)]
    pub kind: Choice<OrgUnitKind>,
    pub parent_id: Option<Uuid>,
    pub households: Option<i32>,
    pub population: Option<i32>,
}

/// A reorganisation whose own fields are checked.
#[derive(Debug, Clone)]
pub struct Reorganization {
    successor: CreateOrgUnitRequest,
    placement: (OrgUnitLevel, OrgUnitKind),
    predecessor_ids: Vec<Uuid>,
    effective_on: NaiveDate,
    day_before: NaiveDate,
}

impl ReorganizationRequest {
    /// The reorganisation, its own fields checked (every invalid field at once); the predecessors are
    /// checked when it is recorded.
    pub fn parse(self) -> Result<Reorganization, AppError> {
        let successor = CreateOrgUnitRequest {
            code: self.successor.code,
            name: self.successor.name,
            level: self.successor.level,
            kind: self.successor.kind,
            parent_id: self.successor.parent_id,
            valid_from: Some(self.effective_on),
            households: self.successor.households,
            population: self.successor.population,
        };
        let mut errors = FieldErrors::new();
        let placement = validate_new_unit(&successor, &mut errors, "successor.");
        let mut unique = self.predecessor_ids.clone();
        unique.sort();
        unique.dedup();
        if !(contract::PREDECESSORS.0..=contract::PREDECESSORS.1)
            .contains(&self.predecessor_ids.len())
        {
            errors.add(
                "predecessor_ids",
                "count",
                "must list 1 to 50 units",
                "phải có từ 1 đến 50 đơn vị",
            );
        } else if unique.len() != self.predecessor_ids.len() {
            errors.add(
                "predecessor_ids",
                "duplicate",
                "must not repeat a unit",
                "không được lặp lại đơn vị",
            );
        }
        errors.finish()?;
        let Some(day_before) = self.effective_on.pred_opt() else {
            return Err(AppError::validation(vec![FieldError::new(
                "effective_on",
                "out_of_range",
                Text::new("is out of range", "ngoài phạm vi"),
            )]));
        };
        Ok(Reorganization {
            placement: placement.ok_or_else(checked_above)?,
            successor,
            predecessor_ids: self.predecessor_ids,
            effective_on: self.effective_on,
            day_before,
        })
    }
}

/// Records a reorganisation (call inside a transaction): the predecessors close the day before
/// `effective_on`, the successor starts on it, the links are kept, and the predecessors' teams move
/// to the successor from that day. The successor, with its predecessors.
pub fn reorganize(
    conn: &mut PgConnection,
    actor: &AuthUser,
    change: &Reorganization,
) -> Result<OrgUnitDetailResponse, AppError> {
    let (effective_on, day_before) = (change.effective_on, change.day_before);
    let mut errors = FieldErrors::new();
    let mut predecessors = Vec::new();
    for (index, id) in change.predecessor_ids.iter().enumerate() {
        let field = format!("predecessor_ids[{index}]");
        match org_unit::find(conn, *id).optional_app()? {
            None => errors.add(
                field,
                "not_found",
                "no such org unit",
                "không có đơn vị này",
            ),
            // It must exist before the change and still be in force when the change takes effect.
            Some(unit) if !in_force(&unit, day_before) || !in_force(&unit, effective_on) => errors
                .add(
                    field,
                    "not_in_force",
                    "must be in force both the day before and on effective_on",
                    "phải còn hiệu lực vào ngày trước và vào ngày effective_on",
                ),
            Some(unit) if unit.level != change.placement.0 => errors.add(
                field,
                "level_mismatch",
                "must be of the successor's level",
                "phải cùng cấp với đơn vị mới",
            ),
            Some(unit) => predecessors.push(unit),
        }
    }
    errors.finish()?;
    let created = insert_unit(
        conn,
        &change.successor,
        change.placement,
        effective_on,
        "successor.",
    )?;
    let context = actor.audit_context();
    for predecessor in &predecessors {
        let closed = org_unit::close(conn, predecessor.id, day_before)?;
        org_unit::link_succession(conn, predecessor.id, created.id, effective_on)?;
        audit::record_change(
            conn,
            &context,
            "org_unit_closed",
            "org_unit",
            closed.id,
            Some(closed.path.clone()),
            Some(&snapshot(predecessor)),
            &snapshot(&closed),
        )?;
    }
    let predecessor_ids: Vec<Uuid> = predecessors.iter().map(|p| p.id).collect();
    let teams_moved =
        team::follow_reorganization(conn, &predecessor_ids, created.id, effective_on)?;
    audit::record(
        conn,
        &context,
        NewAuditEvent {
            action: "org_units_reorganized",
            entity_type: "org_unit",
            entity_id: Some(created.id),
            org_unit_path: Some(created.path.clone()),
            changes: serde_json::json!({
                "effective_on": effective_on,
                "predecessor_ids": predecessor_ids,
                "successor": snapshot(&created),
                "teams_moved": teams_moved,
            }),
        },
    )?;
    find_detail(conn, created.id)
}
