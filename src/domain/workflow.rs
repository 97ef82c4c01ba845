//! The review workflow shared by everything teams report (training sessions, reach activities): who may
//! change a record while `submitted` or `rejected`, who reviews it, the reporting lock, client-made ids.

use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

pub use crate::domain::sign_offs::check_record_month;

use crate::{
    auth::{AuthUser, Role, policy::forbidden},
    domain::Precondition,
    domain::today_in_vietnam,
    domain::validation::{FieldErrors, normalized},
    error::{AppError, ErrorCode, Text},
    reference::RecordStatus,
};

/// The last day a team leader may still create or change a record dated `day`: the end of its month plus
/// `lock_days`.
pub fn lock_date(day: NaiveDate, lock_days: u32) -> NaiveDate {
    let (year, month) = if day.month() == 12 {
        (day.year() + 1, 1)
    } else {
        (day.year(), day.month() + 1)
    };
    let month_end = NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(day);
    month_end + chrono::Duration::days(i64::from(lock_days))
}

/// 409 `period_locked` for a team leader once the month of `day` is locked; officers and admins pass.
pub fn check_lock(actor: &AuthUser, day: NaiveDate, lock_days: u32) -> Result<(), AppError> {
    if actor.role == Role::TeamLeader && today_in_vietnam() > lock_date(day, lock_days) {
        return Err(
            AppError::new(ErrorCode::PeriodLocked).with_detail(Text::new(
                format!(
                    "Records of {} closed for team leaders on {}; ask a commune officer",
                    day.format("%Y-%m"),
                    lock_date(day, lock_days)
                ),
                format!(
                    "Số liệu tháng {} đã khoá với tổ trưởng từ {}; hãy liên hệ cán bộ xã",
                    day.format("%m/%Y"),
                    lock_date(day, lock_days)
                ),
            )),
        );
    }
    Ok(())
}

/// May `actor` change a record of `team_id` (unit at `team_unit_path`) in `status`, dated `day`? The
/// team's leader and officers in scope while it is not verified; verified records only admins; team
/// leaders not once the month is locked.
pub fn check_editable(
    actor: &AuthUser,
    team_id: Uuid,
    team_unit_path: &str,
    status: RecordStatus,
    day: NaiveDate,
    lock_days: u32,
) -> Result<(), AppError> {
    if !actor.manages_members_of(team_id, team_unit_path) {
        return Err(forbidden());
    }
    if status == RecordStatus::Verified && actor.role != Role::Admin {
        return Err(
            AppError::new(ErrorCode::SessionVerified).with_detail(Text::new(
                "A verified record is frozen; ask an administrator",
                "Số liệu đã xác nhận không thể sửa; hãy liên hệ quản trị",
            )),
        );
    }
    check_lock(actor, day, lock_days)
}

/// May `actor` verify or reject a record of a team whose unit is at `team_unit_path`? Officers in scope
/// and admins.
pub fn check_reviewer(actor: &AuthUser, team_unit_path: &str) -> Result<(), AppError> {
    if actor.role == Role::Admin || (actor.role == Role::Officer && actor.sees_path(team_unit_path))
    {
        Ok(())
    } else {
        Err(forbidden())
    }
}

/// The checks before a review moves a record from `current` to `target` status: the actor may review
/// it, `If-Match` holds, and a verified record changes only by an admin. `Ok(None)`: it is in that status
/// already (nothing to write); `Ok(Some(version))`: write at that version.
pub fn review_guard(
    actor: &AuthUser,
    team_unit_path: &str,
    current: RecordStatus,
    version: i32,
    if_match: &Precondition,
    target: RecordStatus,
) -> Result<Option<i32>, AppError> {
    check_reviewer(actor, team_unit_path)?;
    let version = if_match.check(version)?;
    if current == target {
        return Ok(None);
    }
    if current == RecordStatus::Verified && actor.role != Role::Admin {
        return Err(AppError::new(ErrorCode::SessionVerified));
    }
    Ok(Some(version))
}

/// What a reviewer decides about a session or reach activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The record is confirmed; it is then frozen for everyone but admins.
    Verify,
    /// The record goes back to its team with this reason (1-500 characters once normalised).
    Reject(String),
}

impl Decision {
    /// The status the record moves to and the normalised reason; 422 for a reason out of bounds.
    pub fn outcome(self) -> Result<(RecordStatus, Option<String>), AppError> {
        match self {
            Self::Verify => Ok((RecordStatus::Verified, None)),
            Self::Reject(reason) => {
                let reason = normalized(&reason);
                let mut errors = FieldErrors::new();
                let (shortest, longest) = crate::contract::REASON_LENGTH;
                errors.check_length("reason", &reason, shortest, longest);
                errors.finish()?;
                Ok((RecordStatus::Rejected, Some(reason)))
            }
        }
    }
}

/// 409 for a client-made id sent again with other content.
pub fn client_id_reused() -> AppError {
    AppError::new(ErrorCode::Conflict).with_detail(Text::new(
        "This id is already used with other content",
        "Mã này đã được dùng với nội dung khác",
    ))
}

/// Status after an edit: an admin's correction keeps a verified record verified; anything else goes back
/// to `submitted` for review.
pub fn status_after_edit(current: RecordStatus) -> RecordStatus {
    if current == RecordStatus::Verified {
        RecordStatus::Verified
    } else {
        RecordStatus::Submitted
    }
}

/// The path of the commune a team's unit belongs to (the unit itself for a commune-level team).
pub fn commune_path(team_unit: &crate::models::org_unit::OrgUnit) -> String {
    if team_unit.level == crate::reference::OrgUnitLevel::Village {
        team_unit
            .path
            .rsplitn(3, '/')
            .nth(2)
            .map(|prefix| format!("{prefix}/"))
            .unwrap_or_default()
    } else {
        team_unit.path.clone()
    }
}

/// The team a record is reported for, checked against the actor: team leaders report for their own team,
/// officers for teams in scope, admins for any. Anything else reads as an unknown `team_id` (422).
pub fn load_reporting_team(
    conn: &mut diesel::PgConnection,
    actor: &AuthUser,
    team_id: Uuid,
) -> Result<(crate::models::team::Team, crate::models::org_unit::OrgUnit), AppError> {
    use crate::auth::OptionalApp;
    let not_found = || {
        AppError::validation(vec![crate::error::FieldError::new(
            "team_id",
            "not_found",
            Text::new(
                "no such team in your scope",
                "không có tổ này trong phạm vi của bạn",
            ),
        )])
    };
    let team = crate::models::team::find(conn, team_id)
        .optional_app()?
        .ok_or_else(not_found)?;
    let unit = crate::models::org_unit::find(conn, team.org_unit_id)?;
    if actor.manages_members_of(team.id, &unit.path) {
        Ok((team, unit))
    } else {
        Err(not_found())
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use uuid::Uuid;

    use super::{commune_path, lock_date, status_after_edit};
    use crate::models::org_unit::OrgUnit;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn a_month_locks_lock_days_after_its_last_day() {
        assert_eq!(lock_date(day("2025-10-10"), 5), day("2025-11-05"));
        assert_eq!(lock_date(day("2025-10-31"), 0), day("2025-10-31"));
        // December runs into the next year; February knows leap years.
        assert_eq!(lock_date(day("2025-12-01"), 10), day("2026-01-10"));
        assert_eq!(lock_date(day("2024-02-03"), 1), day("2024-03-01"));
        assert_eq!(lock_date(day("2025-02-03"), 1), day("2025-03-01"));
    }

    fn unit(level: &str, path: &str) -> OrgUnit {
        let now = chrono::Utc::now();
        OrgUnit {
            id: Uuid::nil(),
            code: "x".to_owned(),
            name: "x".to_owned(),
            level: level.parse().unwrap(),
            kind: crate::reference::OrgUnitKind::Xa,
            parent_id: None,
            path: path.to_owned(),
            depth: 0,
            valid_from: day("2025-07-01"),
            valid_to: None,
            households: None,
            population: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_village_teams_commune_is_its_parent_and_a_commune_team_its_own_unit() {
        assert_eq!(
            commune_path(&unit("village", "p/c/v/")),
            "p/c/",
            "a village's commune is one step up"
        );
        assert_eq!(commune_path(&unit("commune", "p/c/")), "p/c/");
    }

    #[test]
    fn an_edit_sends_a_record_back_to_review_unless_an_admin_corrected_a_verified_one() {
        use crate::reference::RecordStatus::{Rejected, Submitted, Verified};
        assert_eq!(status_after_edit(Rejected), Submitted);
        assert_eq!(status_after_edit(Submitted), Submitted);
        assert_eq!(status_after_edit(Verified), Verified);
    }
}
