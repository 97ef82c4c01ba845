//! `GET /campaigns/{id}/reach-summary`: a campaign's reach in a subtree, computed by
//! [`crate::domain::reports::reach`].

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation},
    cells,
    db::Db,
    domain::reports::reach::{ReachGroup, ReachSummaryResponse, summarize},
    domain::validation::FieldErrors,
    error::{AppError, Problem, Text},
    reference::{Choice, ReachGroupBy, RecordStatusFilter, check_choice},
    routes::export::{self, Answer},
    tabular::sheets,
};

/// Options of the summary.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReachSummaryQuery {
    /// The subtree to summarise (default: your scope root; for admins the province).
    pub org_unit_id: Option<Uuid>,
    /// `channel`, `org_unit` (the children of the subtree's root), `team`, `day` or `week`.
    #[param(value_type = Option<ReachGroupBy>)]
    pub group_by: Option<Choice<ReachGroupBy>>,
    /// `submitted`, `verified`, `rejected` or `all` (default: submitted and verified).
    #[param(value_type = Option<RecordStatusFilter>)]
    pub status: Option<Choice<RecordStatusFilter>>,
    /// `json`, `csv` or `xlsx`; overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// The reach of a campaign.
///
/// For the subtree: contacts, unique-people estimates, households reached and covered (capped per unit,
/// bottom-up, so double counting cannot exceed 100%), audience estimates, participating teams out of all
/// active teams, each split by counting method and confidence; optionally grouped by channel, child unit,
/// team, day or week (the groups add up to the totals). Files hold the groups and a totals row.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "get_reach_summary",
    params(("id" = Uuid, Path, description = "Campaign id"), ReachSummaryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The summary as JSON, or its groups as a file.",
         content((ReachSummaryResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad id or query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign or unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid options.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/campaigns/{id}/reach-summary")]
pub async fn get_reach_summary(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<ReachSummaryQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::GetReachSummary)?;
    let campaign_id = id.into_inner();
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let about = export::about(
        &req,
        &actor,
        Text::new("Campaign reach summary", "Tổng hợp kết quả tuyên truyền"),
    );
    let mut errors = FieldErrors::new();
    let group_by = check_choice(&mut errors, "group_by", query.group_by.as_ref());
    let status = check_choice(&mut errors, "status", query.status.as_ref());
    errors.finish()?;
    let statuses = RecordStatusFilter::statuses(status);
    let org_unit_id = query.org_unit_id;
    let summary = db
        .run(move |conn| summarize(conn, &actor, campaign_id, org_unit_id, group_by, statuses))
        .await?;
    if answer.is_file() {
        let row = |g: &ReachGroup| {
            cells![
                &g.key,
                g.label.as_ref(),
                g.figures.activities,
                g.figures.contacts,
                g.figures.unique_people_estimate,
                g.figures.households_reached,
                g.figures.estimated_audience,
                g.figures.materials_distributed,
                g.households_covered,
                g.households_total,
            ]
        };
        let total = ReachGroup {
            key: "total".to_owned(),
            label: Some(summary.org_unit.name.clone()),
            figures: summary.figures.clone(),
            households_covered: Some(summary.households_covered),
            households_total: Some(summary.households_total),
        };
        let rows = summary.groups.iter().map(row).collect();
        return export::table(
            answer,
            about,
            ("reach-summary", &sheets::REACH_SUMMARY),
            rows,
            Some(row(&total)),
        )
        .await;
    }
    Ok(HttpResponse::Ok().json(summary))
}
