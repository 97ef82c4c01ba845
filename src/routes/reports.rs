//! Reports for officials, scoped to the caller, all with `Accept: text/csv`.

use std::collections::{HashMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, Role},
    cells,
    db::Db,
    domain::memberships::mask_phone,
    domain::reports::{PeriodOptions, read_report},
    domain::{today_in_vietnam, validation::FieldErrors},
    error::{AppError, Problem, Text},
    models::{
        person,
        stats::{self, ReportCache},
        team::{self, TeamFilter},
    },
    reference::TeamStatus,
    routes::export::{self, Answer},
    tabular::sheets,
};

/// Options of the dormant-teams report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DormantTeamsQuery {
    /// Teams of this unit's subtree (default: your scope).
    pub org_unit_id: Option<Uuid>,
    /// Days without a session or reach activity (1-3650, default 30).
    pub days: Option<i64>,
    /// Read `org_unit_id` under the administrative structure of this day (default: today, or the last day
    /// the unit existed): `as_of=2025-06-30` with an old district lists today's teams of its area.
    pub as_of: Option<NaiveDate>,
    /// `json`, `csv` or `xlsx`; overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// A team that has been quiet.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"team_id": "0193a0f4-7b1e-7c53-a8e1-5f0d3f1c2b9a", "team_code": "SL-01-004",
    "team_name": "Tổ công nghệ số cộng đồng bản Nà Pát", "org_unit_id": "0193a0f4-7b1e-7c53-a8e1-000000000001",
    "org_unit_name": "Bản Nà Pát", "last_activity_on": "2025-08-14", "days_since": 107, "leader_name": "Lò Văn Minh",
    "leader_phone": "09******78", "leader_phone_masked": true}))]
pub struct DormantTeam {
    pub team_id: Uuid,
    pub team_code: String,
    pub team_name: String,
    pub org_unit_id: Uuid,
    pub org_unit_name: String,
    /// The last session or reach activity (`null`: never).
    pub last_activity_on: Option<NaiveDate>,
    /// Days since then (`null`: never).
    pub days_since: Option<i64>,
    pub leader_name: Option<String>,
    /// In full for admins, officers in scope and the team's leader; masked otherwise.
    pub leader_phone: Option<String>,
    pub leader_phone_masked: bool,
}

/// Dormant teams.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DormantTeamsResponse {
    pub days: i64,
    /// Quietest first (never active first).
    pub items: Vec<DormantTeam>,
}

/// Dormant teams.
///
/// Active teams in your scope with no session or reach activity for `days` days, with their last
/// activity date and leader (phone masked per the personal-data rules; full numbers shown are logged).
/// `as_of` reads `org_unit_id` under the structure of that day (an old district lists today's teams of its
/// area).
/// `Accept: text/csv` returns the same rows.
#[utoipa::path(
    tag = "reports",
    operation_id = "report_dormant_teams",
    params(DormantTeamsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The dormant teams (JSON, or CSV with `Accept: text/csv`).",
         content((DormantTeamsResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid options, or the unit was not in force on `as_of`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/dormant-teams")]
pub async fn report_dormant_teams(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<DormantTeamsQuery>,
    db: web::Data<Db>,
    cache: web::Data<ReportCache>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReportDormantTeams)?;
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let about = export::about(
        &req,
        &actor,
        Text::new("Dormant teams", "Tổ chưa hoạt động"),
    );
    let days = query.days.unwrap_or(30);
    let mut errors = FieldErrors::new();
    let (fewest, most) = crate::contract::DORMANT_DAYS;
    if !(fewest..=most).contains(&days) {
        errors.add(
            "days",
            "out_of_range",
            format!("must be from {fewest} to {most}"),
            format!("phải từ {fewest} đến {most}"),
        );
    }
    errors.finish()?;
    let (reader_id, request_id) = (actor.id, actor.request_id.clone());
    let items = db
        .read(actor.id, move |conn| {
            // The teams serving the unit's area today, read as the other reports read it.
            let today = today_in_vietnam();
            let options = PeriodOptions {
                org_unit_id: query.org_unit_id,
                as_of: query.as_of,
                ..PeriodOptions::default()
            };
            let in_scope: HashSet<Uuid> = read_report(
                conn,
                &cache,
                &actor,
                &options,
                (today, today),
                |conn, reader, scope| Ok(reader.teams(conn, scope)?),
            )?
            .into_iter()
            .map(|t| t.team.team_id)
            .collect();
            let filter = TeamFilter {
                within_path: actor
                    .scope_filter()
                    .filter(|_| actor.role != Role::TeamLeader),
                only_team: (actor.role == Role::TeamLeader)
                    .then(|| actor.team_id.unwrap_or_else(Uuid::nil)),
                status: Some(TeamStatus::Active),
                ..TeamFilter::default()
            };
            let teams: Vec<_> = team::list(conn, &filter, None, 1_000_000)?
                .into_iter()
                .filter(|t| in_scope.contains(&t.team.id))
                .collect();
            let ids: Vec<Uuid> = teams.iter().map(|t| t.team.id).collect();
            let last: HashMap<Uuid, NaiveDate> = stats::last_active(conn, &ids)?
                .into_iter()
                .map(|l| (l.team_id, l.day))
                .collect();
            let cutoff = today - chrono::Duration::days(days);
            let dormant: Vec<_> = teams
                .into_iter()
                .filter(|t| last.get(&t.team.id).is_none_or(|day| *day < cutoff))
                .collect();
            let ids: Vec<Uuid> = dormant.iter().map(|t| t.team.id).collect();
            let leaders: HashMap<Uuid, person::Person> =
                person::current_leaders(conn, &ids)?.into_iter().collect();
            let mut shown = Vec::new();
            let mut items: Vec<DormantTeam> = dormant
                .iter()
                .map(|t| {
                    let leader = leaders.get(&t.team.id);
                    let full = actor.sees_phones_of(t.team.id, &t.unit_path);
                    let phone = leader.and_then(|p| p.phone.clone());
                    if full && phone.is_some() {
                        shown.extend(leader.map(|p| p.id));
                    }
                    let last_activity_on = last.get(&t.team.id).copied();
                    DormantTeam {
                        team_id: t.team.id,
                        team_code: t.team.code.clone(),
                        team_name: t.team.name.clone(),
                        org_unit_id: t.team.org_unit_id,
                        org_unit_name: t.unit_name.clone(),
                        last_activity_on,
                        days_since: last_activity_on.map(|day| (today - day).num_days()),
                        leader_name: leader.and_then(|p| p.full_name.clone()),
                        leader_phone_masked: !full && phone.is_some(),
                        leader_phone: phone.map(|p| if full { p } else { mask_phone(&p) }),
                    }
                })
                .collect();
            items.sort_by(|a, b| {
                a.last_activity_on
                    .cmp(&b.last_activity_on)
                    .then_with(|| a.team_code.cmp(&b.team_code))
            });
            Ok((items, shown))
        })
        .await?;
    let (items, shown) = items;
    // The read log goes to the primary (the report may have come from a replica).
    db.run(move |conn| {
        person::record_reads(conn, reader_id, &shown, request_id.as_deref()).map_err(Into::into)
    })
    .await?;
    if answer.is_file() {
        let rows = items
            .iter()
            .map(|t| {
                cells![
                    &t.team_code,
                    &t.team_name,
                    &t.org_unit_name,
                    t.last_activity_on,
                    t.days_since,
                    t.leader_name.as_ref(),
                    t.leader_phone.as_ref(),
                ]
            })
            .collect();
        return export::table(
            answer,
            about,
            ("dormant-teams", &sheets::DORMANT_TEAMS),
            rows,
            None,
        )
        .await;
    }
    Ok(HttpResponse::Ok().json(DormantTeamsResponse { days, items }))
}
