//! Every rule a session obeys, checked at once: choices, counts and their plausibility, dates in
//! Vietnam time, the team's state, where it was held and who trained.

use diesel::PgConnection;
use uuid::Uuid;

use crate::{
    auth::OptionalApp,
    contract,
    domain::{today_in_vietnam, validation::FieldErrors, workflow::commune_path},
    error::AppError,
    models::{org_unit, person, team::Team, training_session::SessionFields},
    reference::TeamStatus,
};

/// Every rule of a session, as field errors (all at once).
pub(super) fn validate(
    conn: &mut PgConnection,
    fields: &SessionFields,
    team: &Team,
    team_unit: &org_unit::OrgUnit,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    fields.kind.check(&mut errors, "kind");
    fields.format.check(&mut errors, "format");
    let (shortest, longest) = contract::SESSION_MINUTES;
    if !(shortest..=longest).contains(&i64::from(fields.duration_minutes)) {
        errors.add(
            "duration_minutes",
            "out_of_range",
            format!("must be from {shortest} to {longest}"),
            format!("phải từ {shortest} đến {longest} phút"),
        );
    }
    let today = today_in_vietnam();
    if fields.held_on > today + chrono::Duration::days(1) {
        errors.add(
            "held_on",
            "in_future",
            "must not be in the future",
            "không được ở tương lai",
        );
    }
    if team
        .founded_on
        .is_some_and(|founded| fields.held_on < founded)
    {
        errors.add(
            "held_on",
            "before_team_founded",
            "must not be before the team was founded",
            "không được trước ngày thành lập tổ",
        );
    }
    if team.status != TeamStatus::Active {
        errors.add(
            "team_id",
            "team_not_active",
            "the team is not active",
            "tổ không còn hoạt động",
        );
    }
    if fields.topics.is_empty() {
        errors.add(
            "topics",
            "required",
            "must list at least one topic",
            "phải có ít nhất một chủ đề",
        );
    }
    for (index, topic) in fields.topics.iter().enumerate() {
        topic.check(&mut errors, format!("topics[{index}]"));
    }
    if fields
        .topics
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len()
        != fields.topics.len()
    {
        errors.add(
            "topics",
            "duplicate",
            "must not repeat a topic",
            "không được lặp chủ đề",
        );
    }
    let counts = [
        ("participants_total", fields.participants_total),
        ("participants_female", fields.participants_female),
        (
            "participants_ethnic_minority",
            fields.participants_ethnic_minority,
        ),
        ("participants_elderly", fields.participants_elderly),
        ("households_reached", fields.households_reached),
        ("vneid_activations", fields.vneid_activations),
        ("payment_accounts_opened", fields.payment_accounts_opened),
        (
            "public_service_accounts_created",
            fields.public_service_accounts_created,
        ),
        (
            "online_dossiers_submitted",
            fields.online_dossiers_submitted,
        ),
        ("apps_installed", fields.apps_installed),
    ];
    for (name, value) in counts {
        if value < 0 {
            errors.add(name, "negative", "must not be negative", "không được âm");
        }
    }
    let total = fields.participants_total;
    for (name, value) in [
        ("participants_female", fields.participants_female),
        (
            "participants_ethnic_minority",
            fields.participants_ethnic_minority,
        ),
        ("participants_elderly", fields.participants_elderly),
    ] {
        if value > total {
            errors.add(
                name,
                "exceeds_total",
                "must not exceed participants_total",
                "không được lớn hơn participants_total",
            );
        }
    }
    // Plausibility: each person activates one VNeID, opens a few accounts; a household has a participant.
    for (name, value, per_person) in [
        ("households_reached", fields.households_reached, 1),
        ("vneid_activations", fields.vneid_activations, 1),
        ("payment_accounts_opened", fields.payment_accounts_opened, 2),
        (
            "public_service_accounts_created",
            fields.public_service_accounts_created,
            1,
        ),
        (
            "online_dossiers_submitted",
            fields.online_dossiers_submitted,
            5,
        ),
        ("apps_installed", fields.apps_installed, 5),
    ] {
        if value > total.saturating_mul(per_person) {
            errors.add(
                name,
                "implausible",
                format!(
                    "must not exceed {per_person} per participant ({} here)",
                    total.saturating_mul(per_person)
                ),
                format!("không được vượt quá {per_person} trên mỗi người tham gia"),
            );
        }
    }
    errors.check_max_length("venue", fields.venue.as_deref(), contract::VENUE_MAX);
    errors.check_max_length("notes", fields.notes.as_deref(), contract::NOTES_MAX);
    // Where: the team's unit or a unit below the same commune.
    let commune_path = commune_path(team_unit);
    match org_unit::find(conn, fields.org_unit_id).optional_app()? {
        Some(unit) if unit.path.starts_with(&commune_path) => {}
        _ => errors.add(
            "org_unit_id",
            "outside_team_commune",
            "must be the team's unit or a unit below the same commune",
            "phải là đơn vị của tổ hoặc đơn vị thuộc cùng xã",
        ),
    }
    if !fields.trainers.is_empty() {
        let members: std::collections::HashSet<Uuid> =
            person::team_memberships(conn, team.id, true)?
                .iter()
                .map(|m| m.membership.id)
                .collect();
        for (index, trainer) in fields.trainers.iter().enumerate() {
            if !members.contains(trainer) {
                errors.add(
                    format!("trainers[{index}]"),
                    "not_a_member",
                    "is not a membership of this team",
                    "không phải thành viên của tổ",
                );
            }
        }
    }
    errors.finish()
}
