//! The summary report: teams, members, sessions, participants, outcomes, campaign reach and
//! verification of a unit over a period.

use chrono::NaiveDate;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    domain::org_units::OrgUnitRef,
    error::AppError,
    models::stats::{Bucket, CountedTeam, Figures, MemberCounts, UnitNode},
};

use super::scope::{Reader, ReportScope};

/// Teams of the unit over the period.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
pub struct TeamCounts {
    /// Teams that existed during the period and served the unit on its last day.
    pub total: i64,
    /// Of those, teams with at least one session or reach activity in the period.
    pub active: i64,
    /// Teams without any.
    pub dormant: i64,
}

/// Sessions held.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct SessionCounts {
    pub total: i64,
    pub training: i64,
    pub outreach: i64,
    pub duration_minutes: i64,
    /// Sessions of the teams in scope, held in the period and counted by its status rule, that carry a
    /// signed attendance sheet (an attachment of kind `attendance_sheet`): how much of the figures
    /// rests on evidence. Absent with `signed_off_only` (attachments are not part of the signed-off
    /// aggregates).
    pub with_attendance_sheet: Option<i64>,
}

/// Session participants (attendances).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct ParticipantCounts {
    pub total: i64,
    pub female: i64,
    pub ethnic_minority: i64,
    pub elderly: i64,
    /// Participants of training sessions.
    pub trained: i64,
}

/// What sessions achieved.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct OutcomeCounts {
    pub households_reached: i64,
    pub vneid_activations: i64,
    pub payment_accounts_opened: i64,
    pub public_service_accounts_created: i64,
    pub online_dossiers_submitted: i64,
    pub apps_installed: i64,
}

/// Campaign reach, every campaign together (per campaign: the reach summary).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct CampaignReachCounts {
    pub activities: i64,
    /// Person-contacts (lượt người), not unique people.
    pub contacts: i64,
    pub unique_people: i64,
    /// Households reached as reported (not capped; the reach summary caps per unit).
    pub households_reached: i64,
    pub estimated_audience: i64,
    pub materials_distributed: i64,
}

/// Records (sessions and reach activities) by review status.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct VerificationCounts {
    pub verified: i64,
    /// Submitted, not yet reviewed.
    pub pending: i64,
    /// Rejected (never counted in the figures).
    pub rejected: i64,
    /// `verified / (verified + pending)` in percent; `null` without records.
    pub verified_pct: Option<f64>,
}

/// The summary report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"org_unit": {"id": "0193a0f4-7b1e-7c53-a8e1-000000000001", "code": "son-la",
    "name": "Tỉnh Sơn La", "level": "province"}, "team_id": null, "from": "2026-01-01", "to": "2026-11-29",
    "as_of": "2026-11-29", "verified_only": false, "signed_off_only": false,
    "sign_offs": {"accepted": 700, "submitted": 60, "returned": 3, "open": 62},
    "teams": {"total": 2448, "active": 2101, "dormant": 347},
    "members": {"total": 12240, "leaders": 2448, "female": 5508},
    "sessions": {"total": 21340, "training": 9120, "outreach": 12220, "duration_minutes": 2560800, "with_attendance_sheet": 15872},
    "participants": {"total": 512300, "female": 261273, "ethnic_minority": 419000, "elderly": 61476, "trained": 200110},
    "outcomes": {"households_reached": 150220, "vneid_activations": 40110, "payment_accounts_opened": 20550,
                 "public_service_accounts_created": 18200, "online_dossiers_submitted": 30990, "apps_installed": 60210},
    "campaign_reach": {"activities": 8900, "contacts": 640000, "unique_people": 410000, "households_reached": 160000,
                       "estimated_audience": 900000, "materials_distributed": 35000},
    "verification": {"verified": 20000, "pending": 10100, "rejected": 140, "verified_pct": 66.45}}))]
pub struct SummaryResponse {
    pub org_unit: OrgUnitRef,
    /// Team leaders: the summary covers their own team's part of the unit.
    pub team_id: Option<Uuid>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The day whose administrative structure the report uses.
    pub as_of: NaiveDate,
    pub verified_only: bool,
    /// Only unit-months accepted by a sign-off were counted.
    pub signed_off_only: bool,
    /// The sign-off states of the unit-months the summary covers.
    pub sign_offs: crate::domain::sign_offs::SignOffCounts,
    pub teams: TeamCounts,
    /// Members of those teams on the period's last day.
    pub members: MemberCounts,
    pub sessions: SessionCounts,
    pub participants: ParticipantCounts,
    pub outcomes: OutcomeCounts,
    pub campaign_reach: CampaignReachCounts,
    pub verification: VerificationCounts,
}

pub(super) fn unit_ref(node: &UnitNode) -> OrgUnitRef {
    OrgUnitRef {
        id: node.id,
        code: node.code.clone(),
        name: node.name.clone(),
        level: node.level,
    }
}

/// Teams counted by a scope (the team counts of the summary and of targets).
pub fn team_counts(teams: &[CountedTeam]) -> TeamCounts {
    let total = i64::try_from(teams.len()).unwrap_or(i64::MAX);
    let active = i64::try_from(teams.iter().filter(|t| t.active).count()).unwrap_or(0);
    TeamCounts {
        total,
        active,
        dormant: total - active,
    }
}

/// Computes the summary of a scope.
pub fn summarize(
    conn: &mut PgConnection,
    reader: &Reader<'_>,
    scope: &ReportScope,
) -> Result<SummaryResponse, AppError> {
    let mut figures = Figures::default();
    let (mut verified, mut pending, mut rejected) = (0, 0, 0);
    for row in scope.figures(conn, &reader.graph, "all", Bucket::None)? {
        match row.status.as_str() {
            "verified" => verified += row.figures.records(),
            "submitted" => pending += row.figures.records(),
            _ => rejected += row.figures.records(),
        }
        if scope.counts(&row.status) {
            figures += row.figures;
        }
    }
    let teams = reader.teams(conn, scope)?;
    let members = MemberCounts::of(&teams);
    let with_attendance_sheet = if scope.signed_off_only() {
        None
    } else {
        let ids: Vec<Uuid> = teams.iter().map(|t| t.team.team_id).collect();
        let statuses: &[&str] = if scope.verified_only {
            &["verified"]
        } else {
            &["verified", "submitted"]
        };
        Some(crate::models::attachment::sessions_with_attendance_sheet(
            conn, &ids, scope.from, scope.to, statuses,
        )?)
    };
    Ok(SummaryResponse {
        org_unit: unit_ref(&scope.root),
        team_id: scope.rows.team,
        from: scope.from,
        to: scope.to,
        as_of: scope.as_of,
        verified_only: scope.verified_only,
        signed_off_only: scope.signed_off_only(),
        sign_offs: scope.sign_offs(conn, &reader.graph)?,
        teams: team_counts(&teams),
        members,
        sessions: SessionCounts {
            total: figures.sessions,
            training: figures.sessions_training,
            outreach: figures.sessions_outreach,
            duration_minutes: figures.duration_minutes,
            with_attendance_sheet,
        },
        participants: ParticipantCounts {
            total: figures.participants_total,
            female: figures.participants_female,
            ethnic_minority: figures.participants_ethnic_minority,
            elderly: figures.participants_elderly,
            trained: figures.trained_total,
        },
        outcomes: OutcomeCounts {
            households_reached: figures.households_reached,
            vneid_activations: figures.vneid_activations,
            payment_accounts_opened: figures.payment_accounts_opened,
            public_service_accounts_created: figures.public_service_accounts_created,
            online_dossiers_submitted: figures.online_dossiers_submitted,
            apps_installed: figures.apps_installed,
        },
        campaign_reach: CampaignReachCounts {
            activities: figures.reach_activities,
            contacts: figures.contacts,
            unique_people: figures.unique_people,
            households_reached: figures.reach_households,
            estimated_audience: figures.estimated_audience,
            materials_distributed: figures.materials_distributed,
        },
        verification: VerificationCounts {
            verified,
            pending,
            rejected,
            verified_pct: (verified + pending > 0).then(|| {
                (verified as f64 * 10_000.0 / (verified + pending) as f64).round() / 100.0
            }),
        },
    })
}
