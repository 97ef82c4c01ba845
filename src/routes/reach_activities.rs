//! Reach activities: what teams did for a campaign, each kind of count kept apart with how it was counted
//! and how sure the team is. Same retry safety, workflow, lock, scoping, audit and CSV as sessions.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::NaiveDate;
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp, Role},
    config::Settings,
    db::Db,
    domain::validation::double_option,
    domain::{
        Precondition,
        reach_activities::{self as domain, ActivityResponse, CreateActivityRequest},
        validation::{FieldErrors, normalized_optional},
        workflow::Decision,
    },
    error::{AppError, Problem},
    models::{
        from_array, org_unit,
        reach_activity::{self, ActivityFields, ActivityFilter},
        to_array,
    },
    reference::{
        Choice, Confidence, CountingMethod, FraudType, ReachChannel, RecordStatus, SkillGroup,
        check_choice,
    },
    routes::{
        conditional::{decode_keyset, encode_keyset, etag, if_match, page_limit},
        csv_export::{cell, codes_cell, csv_response, to_csv, wants_csv},
    },
};

/// Log a reach activity.
///
/// Records what a team did for a campaign (the team's leader, or an officer in scope). Safe to retry with
/// `Idempotency-Key` or a client-made `id`. Every rule violation is reported at once.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "create_reach_activity",
    params(("id" = Uuid, Path, description = "Campaign id")),
    security(("bearer" = [])),
    request_body = CreateActivityRequest,
    responses(
        (status = 200, description = "Already stored under this client id.", body = ActivityResponse),
        (status = 201, description = "Recorded.", body = ActivityResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not log activities.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Client id reused with other content, or the month is locked (`period_locked`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/campaigns/{id}/reach-activities")]
pub async fn create_reach_activity(
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<CreateActivityRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateReachActivity)?;
    let campaign_id = id.into_inner();
    let body = body.into_inner();
    let lock_days = settings.reporting_lock_days;
    let stored = db
        .run(move |conn| {
            let id = body.id.unwrap_or_else(Uuid::now_v7);
            conn.transaction(|conn| domain::create(conn, &actor, campaign_id, id, &body, lock_days))
        })
        .await?;
    let mut response = if stored.is_created() {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    let activity = stored.into_record();
    Ok(response
        .insert_header(("ETag", etag(activity.version)))
        .insert_header((
            "Location",
            format!("/api/v1/reach-activities/{}", activity.id),
        ))
        .json(ActivityResponse::from(&activity)))
}

/// Filters for listing activities.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ActivityListQuery {
    pub team_id: Option<Uuid>,
    /// Activities in this unit's subtree.
    pub org_unit_id: Option<Uuid>,
    #[param(value_type = Option<ReachChannel>)]
    pub channel: Option<Choice<ReachChannel>>,
    /// `submitted`, `verified` or `rejected`.
    #[param(value_type = Option<RecordStatus>)]
    pub status: Option<Choice<RecordStatus>>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A page of activities, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivityListResponse {
    pub items: Vec<ActivityResponse>,
    pub next_cursor: Option<String>,
}

const ACTIVITY_CSV_COLUMNS: [&str; 16] = [
    "id",
    "team_code",
    "occurred_on",
    "channel",
    "org_unit_name",
    "contacts",
    "unique_people",
    "households_reached",
    "estimated_audience",
    "method",
    "confidence",
    "skill_groups",
    "fraud_types",
    "materials_distributed",
    "status",
    "notes",
];

/// List a campaign's reach activities.
///
/// Activities of the teams in your scope, newest first; `Accept: text/csv` gives the same rows as CSV.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "list_reach_activities",
    params(("id" = Uuid, Path, description = "Campaign id"), ActivityListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of activities (JSON, or CSV with `Accept: text/csv`).",
         content((ActivityListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad id or query.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such campaign or unit.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/campaigns/{id}/reach-activities")]
pub async fn list_reach_activities(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<ActivityListQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListReachActivities)?;
    let campaign_id = id.into_inner();
    let query = query.into_inner();
    let limit = page_limit(query.limit)?;
    let after = decode_keyset::<NaiveDate>(query.cursor.as_deref())?;
    let mut errors = FieldErrors::new();
    let channel = check_choice(&mut errors, "channel", query.channel.as_ref());
    let status = check_choice(&mut errors, "status", query.status.as_ref());
    errors.finish()?;
    let mut filter = ActivityFilter {
        campaign_id: Some(campaign_id),
        team_within_path: actor
            .scope_filter()
            .filter(|_| actor.role != Role::TeamLeader),
        held_within_path: None,
        team_id: query.team_id,
        channel,
        status,
        statuses: None,
        from: query.from,
        to: query.to,
    };
    if actor.role == Role::TeamLeader {
        let own = actor.team_id.unwrap_or_else(Uuid::nil);
        filter.team_id = Some(if query.team_id.is_some_and(|t| t != own) {
            Uuid::nil()
        } else {
            own
        });
    }
    let root = query.org_unit_id;
    let rows = db
        .read(actor.id, move |conn| {
            crate::domain::campaigns::find(conn, campaign_id)?;
            if let Some(root) = root {
                let unit = org_unit::find(conn, root)
                    .optional_app()?
                    .ok_or_else(|| AppError::not_found("org unit"))?;
                filter.held_within_path = Some(unit.path);
            }
            Ok(reach_activity::list(conn, &filter, after, limit)?)
        })
        .await?;
    let next = if rows.len() as i64 == limit {
        rows.last()
            .map(|r| encode_keyset(&r.activity.occurred_on.to_string(), r.activity.id))
    } else {
        None
    };
    if wants_csv(&req) {
        let body = to_csv(
            &ACTIVITY_CSV_COLUMNS,
            rows.iter().map(|r| {
                let a = &r.activity;
                vec![
                    a.id.to_string(),
                    r.team_code.clone(),
                    a.occurred_on.to_string(),
                    a.channel.to_string(),
                    r.unit_name.clone(),
                    a.contacts.to_string(),
                    cell(a.unique_people),
                    a.households_reached.to_string(),
                    cell(a.estimated_audience),
                    a.method.to_string(),
                    a.confidence.to_string(),
                    codes_cell(&from_array(&a.skill_groups)),
                    codes_cell(&from_array(&a.fraud_types)),
                    a.materials_distributed.to_string(),
                    a.status.to_string(),
                    cell(a.notes.clone()),
                ]
            }),
        )?;
        return Ok(csv_response("reach-activities.csv", body, next.as_deref()));
    }
    Ok(HttpResponse::Ok().json(ActivityListResponse {
        items: rows
            .iter()
            .map(|r| ActivityResponse::from(&r.activity))
            .collect(),
        next_cursor: next,
    }))
}

/// Find a reach activity.
///
/// One activity with `ETag`; deleted ones and those outside your scope are 404.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "find_reach_activity",
    params(("id" = Uuid, Path, description = "Activity id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The activity.", body = ActivityResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reach-activities/{id}")]
pub async fn find_reach_activity(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindReachActivity)?;
    let id = id.into_inner();
    let found = db
        .run(move |conn| domain::find_visible(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(found.activity.version)))
        .json(ActivityResponse::from(&found.activity)))
}

/// Changes to an activity (fields left out stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contacts": 70, "unique_people": 61}))]
pub struct UpdateActivityRequest {
    pub org_unit_id: Option<Uuid>,
    #[schema(value_type = Option<ReachChannel>)]
    pub channel: Option<Choice<ReachChannel>>,
    pub occurred_on: Option<NaiveDate>,
    pub contacts: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub unique_people: Option<Option<i32>>,
    pub households_reached: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub estimated_audience: Option<Option<i32>>,
    #[schema(value_type = Option<CountingMethod>)]
    pub method: Option<Choice<CountingMethod>>,
    #[schema(value_type = Option<Confidence>)]
    pub confidence: Option<Choice<Confidence>>,
    #[schema(value_type = Option<Vec<SkillGroup>>)]
    pub skill_groups: Option<Vec<Choice<SkillGroup>>>,
    #[schema(value_type = Option<Vec<FraudType>>)]
    pub fraud_types: Option<Vec<Choice<FraudType>>>,
    pub materials_distributed: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub session_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

impl UpdateActivityRequest {
    fn apply(self, mut fields: ActivityFields) -> ActivityFields {
        macro_rules! set {
            ($($name:ident),*) => { $( if let Some(value) = self.$name { fields.$name = value; } )* };
        }
        set!(
            org_unit_id,
            channel,
            occurred_on,
            contacts,
            unique_people,
            households_reached,
            estimated_audience,
            method,
            confidence,
            materials_distributed,
            session_id
        );
        if let Some(groups) = self.skill_groups {
            fields.skill_groups = to_array(&groups);
        }
        if let Some(frauds) = self.fraud_types {
            fields.fraud_types = to_array(&frauds);
        }
        if let Some(notes) = self.notes {
            fields.notes = normalized_optional(notes.as_deref());
        }
        fields
    }
}

/// Update a reach activity.
///
/// Same rules as sessions: the team's leader or an officer in scope while not verified (an edit returns
/// it to `submitted`); verified ones only admins; `If-Match` honoured; locked months closed to leaders.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "update_reach_activity",
    params(("id" = Uuid, Path, description = "Activity id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = UpdateActivityRequest,
    responses(
        (status = 200, description = "Updated.", body = ActivityResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Verified or locked.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/reach-activities/{id}")]
pub async fn update_reach_activity(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateActivityRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::UpdateReachActivity)?;
    let id = id.into_inner();
    let body = body.into_inner();
    let if_match = if_match(&req);
    let lock_days = settings.reporting_lock_days;
    let activity = db
        .run(move |conn| {
            conn.transaction(|conn| {
                domain::update(conn, &actor, id, &if_match, |f| body.apply(f), lock_days)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(activity.version)))
        .json(ActivityResponse::from(&activity)))
}

/// Delete a reach activity.
///
/// Soft delete: a tombstone stays for sync. Same rules as an update.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "delete_reach_activity",
    params(("id" = Uuid, Path, description = "Activity id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Verified or locked.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/reach-activities/{id}")]
pub async fn delete_reach_activity(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::DeleteReachActivity)?;
    let id = id.into_inner();
    let if_match = if_match(&req);
    let lock_days = settings.reporting_lock_days;
    db.run(move |conn| {
        conn.transaction(|conn| domain::delete(conn, &actor, id, &if_match, lock_days).map(|_| ()))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A rejection of an activity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Số lượt không khớp với biên bản"}))]
pub struct RejectActivityRequest {
    /// Why (1-500 characters).
    pub reason: String,
}

async fn review(
    actor: AuthUser,
    id: Uuid,
    if_match: Precondition,
    decision: Decision,
    db: &Db,
) -> Result<HttpResponse, AppError> {
    let activity = db
        .run(move |conn| {
            conn.transaction(|conn| domain::review(conn, &actor, id, &if_match, decision))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(activity.version)))
        .json(ActivityResponse::from(&activity)))
}

/// Verify a reach activity.
///
/// An officer in scope (or an admin) confirms it; it is then frozen except for admins.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "verify_reach_activity",
    params(("id" = Uuid, Path, description = "Activity id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Verified.", body = ActivityResponse),
        (status = 400, description = "Bad id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reach-activities/{id}/verify")]
pub async fn verify_reach_activity(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::VerifyReachActivity)?;
    review(
        actor,
        id.into_inner(),
        if_match(&req),
        Decision::Verify,
        &db,
    )
    .await
}

/// Reject a reach activity.
///
/// An officer in scope (or an admin) sends it back with a reason.
#[utoipa::path(
    tag = "campaigns",
    operation_id = "reject_reach_activity",
    params(("id" = Uuid, Path, description = "Activity id"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = RejectActivityRequest,
    responses(
        (status = 200, description = "Rejected.", body = ActivityResponse),
        (status = 400, description = "Malformed JSON or id.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Verified ones are rejected only by admins.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing reason.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reach-activities/{id}/reject")]
pub async fn reject_reach_activity(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<RejectActivityRequest>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::RejectReachActivity)?;
    let decision = Decision::Reject(body.into_inner().reason);
    review(actor, id.into_inner(), if_match(&req), decision, &db).await
}
