//! Monthly sign-off (báo cáo tháng): the HTTP face. The workflow and its rules are `domain::sign_offs`.

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use crate::domain::sign_offs::{
    BulkSignOffFilter, BulkSignOffRequest, BulkSignOffResponse, BulkSignOffResult, SignOffFigures,
    SignOffResponse, SignOffTransition, UnitMonthRef,
};
use crate::{
    auth::{AuthUser, Operation},
    cells,
    config::Settings,
    db::Db,
    domain::{
        sign_offs::{self as domain, ListFilter, Period, Request},
        validation::FieldErrors,
    },
    error::{AppError, ErrorCode, Lang, Problem, Text},
    reference::{Choice, SignOffAction, SignOffState, check_choice},
    routes::{
        conditional::{decode_keyset, encode_keyset, etag, if_match, page_limit},
        export::{self, Answer},
    },
    tabular::{Cell, sheets},
};

/// A note to a submission or an acceptance.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "Đủ số liệu tháng 10, đã xác minh 57 bản ghi"}))]
pub struct SignOffNoteRequest {
    /// Optional, at most 500 characters.
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Why a month is returned or reopened.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Số người tham gia buổi 12/10 chưa khớp danh sách ký"}))]
pub struct SignOffReasonRequest {
    /// 1-500 characters; the commune's officers see it.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Filters for listing sign-offs.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SignOffListQuery {
    /// Commune-level units of this unit's subtree (default: your scope).
    pub org_unit_id: Option<Uuid>,
    /// First month, `YYYY-MM` (default: eleven months before `to`).
    #[param(value_type = Option<String>, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub from: Option<Period>,
    /// Last month, `YYYY-MM` (default: last month); at most 120 months after `from`.
    #[param(value_type = Option<String>, pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub to: Option<Period>,
    #[param(value_type = Option<SignOffState>)]
    pub state: Option<Choice<SignOffState>>,
    /// Only the overdue months (`true`: open or returned more than `SIGN_OFF_DUE_DAYS` after the month
    /// ended), or only the others (`false`).
    pub overdue: Option<bool>,
    /// Page size, 1-500 (default 50). A file without `limit` or `cursor` holds the whole list.
    pub limit: Option<i64>,
    /// From `next_cursor`.
    pub cursor: Option<String>,
    /// `json` (pages), `csv` or `xlsx` (the whole list as one file); overrides `Accept`.
    #[param(value_type = Option<crate::reference::FileFormat>)]
    pub format: Option<crate::reference::Choice<crate::reference::FileFormat>>,
}

/// A page of unit-months, latest month first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignOffListResponse {
    pub items: Vec<SignOffResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// List sign-offs.
///
/// Every commune-level unit of your scope (or of `org_unit_id`'s subtree) in every month of the range,
/// with its sign-off state (`open` when nothing was submitted yet), who moved it when, whether it is
/// overdue (`SIGN_OFF_DUE_DAYS` after the month), and the month's figures (at the last transition, or
/// now for a month never submitted).
#[utoipa::path(
    tag = "sign-offs",
    operation_id = "list_sign_offs",
    params(SignOffListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of unit-months, or the whole list as a file.",
         content((SignOffListResponse = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Bad query or cursor.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter (`to` before `from`, over 120 months, unknown state).", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/sign-offs")]
pub async fn list_sign_offs(
    req: HttpRequest,
    actor: AuthUser,
    query: web::Query<SignOffListQuery>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListSignOffs)?;
    let query = query.into_inner();
    let answer = Answer::of(&req, query.format.as_ref())?;
    let mut errors = FieldErrors::new();
    let state = check_choice(&mut errors, "state", query.state.as_ref());
    errors.finish()?;
    let filter = ListFilter {
        org_unit_id: query.org_unit_id,
        from: query.from,
        to: query.to,
        state,
        overdue: query.overdue,
    };
    let due_days = settings.sign_off_due_days;
    let page = {
        let actor = actor.clone();
        move |conn: &mut diesel::PgConnection, cursor: Option<String>, limit| {
            let after = decode_keyset::<String>(cursor.as_deref())?
                .map(|(period, unit)| {
                    period
                        .parse::<Period>()
                        .map(|period| (period, unit))
                        .map_err(|_| bad_cursor())
                })
                .transpose()?;
            let items = domain::list(conn, &actor, &filter, after, limit, due_days)?;
            let next = (items.len() as i64 == limit)
                .then(|| {
                    items
                        .last()
                        .map(|s| encode_keyset(&s.period.to_string(), s.org_unit.id))
                })
                .flatten();
            Ok((items, next))
        }
    };
    if answer.is_file() {
        return export::list(
            &req,
            &db,
            &actor,
            answer,
            (query.limit, query.cursor),
            export::ListFile {
                title: Text::new("Monthly sign-offs", "Xác nhận số liệu tháng"),
                name: "sign-offs",
                sheet: &sheets::SIGN_OFFS,
                row: sign_off_row,
                on_primary: false,
                read_whole: false,
            },
            page,
        )
        .await;
    }
    let limit = page_limit(query.limit)?;
    let (items, next) = db
        .read(actor.id, move |conn| page(conn, query.cursor, limit))
        .await?;
    Ok(HttpResponse::Ok().json(SignOffListResponse {
        items,
        next_cursor: next,
    }))
}

/// A unit-month as a row of [`sheets::SIGN_OFFS`].
fn sign_off_row(s: &SignOffResponse) -> Vec<Cell> {
    cells![
        &s.org_unit.code,
        &s.org_unit.name,
        s.period.to_string(),
        Cell::choice(s.state),
        s.due_on,
        s.overdue,
        s.submitted_by.as_ref().and_then(|a| a.username.clone()),
        s.submitted_at,
        s.decided_by.as_ref().and_then(|a| a.username.clone()),
        s.decided_at,
        s.figures.sessions,
        s.figures.participants_total,
        s.figures.reach_activities,
        s.figures.records_pending,
    ]
}

fn bad_cursor() -> AppError {
    AppError::new(ErrorCode::InvalidQuery).with_detail(Text::new(
        "cursor: not one this server made",
        "cursor không hợp lệ",
    ))
}

/// The unit and month of a sign-off path; 400 `invalid_path` for a month not written `YYYY-MM`.
fn unit_month(path: (Uuid, String)) -> Result<(Uuid, Period), AppError> {
    let (unit, period) = path;
    let period = period.parse::<Period>().map_err(|why| {
        AppError::new(ErrorCode::InvalidPath).with_detail(Text::new(
            format!("period: {why}"),
            "period phải có dạng YYYY-MM",
        ))
    })?;
    Ok((unit, period))
}

/// Find a sign-off.
///
/// One commune-level unit's month: its state, figures and every transition (who, when, why, the
/// figures then), with `ETag` (version 0 before the first transition).
#[utoipa::path(
    tag = "sign-offs",
    operation_id = "find_sign_off",
    params(("org_unit_id" = Uuid, Path, description = "A commune-level unit"),
           ("period" = String, Path, description = "The month, `YYYY-MM`", pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The unit-month's sign-off.", body = SignOffResponse),
        (status = 400, description = "Bad id or month.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "JSON not acceptable.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a commune-level unit, or not in force that month.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/sign-offs/{org_unit_id}/{period}")]
pub async fn find_sign_off(
    actor: AuthUser,
    path: web::Path<(Uuid, String)>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindSignOff)?;
    let (unit, period) = unit_month(path.into_inner())?;
    let due_days = settings.sign_off_due_days;
    let sign_off = db
        .read(actor.id, move |conn| {
            domain::read(conn, &actor, unit, period, due_days)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(sign_off.version)))
        .json(sign_off))
}

async fn transition(
    req: &HttpRequest,
    actor: AuthUser,
    path: (Uuid, String),
    request: Request,
    settings: &Settings,
    db: &Db,
) -> Result<HttpResponse, AppError> {
    let (unit, period) = unit_month(path)?;
    let if_match = if_match(req);
    let due_days = settings.sign_off_due_days;
    let sign_off = db
        .run(move |conn| {
            conn.transaction(|conn| {
                domain::transition(
                    conn, &actor, unit, period, &request, &if_match, due_days, true,
                )
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", etag(sign_off.version)))
        .json(sign_off))
}

/// Submit a month.
///
/// An officer whose scope holds the commune-level unit (or an admin) submits its ended month to the
/// province, from `open` or `returned`. Refused with 409 `sign_off_incomplete` while sessions or reach
/// activities of the unit and month await verification (`pending` counts them and links the lists).
/// From then on team leaders cannot change the month's records. Submitting a submitted month changes
/// nothing.
#[utoipa::path(
    tag = "sign-offs",
    operation_id = "submit_sign_off",
    params(("org_unit_id" = Uuid, Path, description = "A commune-level unit"),
           ("period" = String, Path, description = "The month, `YYYY-MM`", pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = SignOffNoteRequest,
    responses(
        (status = 200, description = "Submitted.", body = SignOffResponse),
        (status = 400, description = "Malformed JSON, id or month.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers of the unit and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "JSON not acceptable.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Records await verification (`sign_off_incomplete`), or the month is accepted (`conflict`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The month has not ended, the unit is not commune-level or not in force then, or the note is too long.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sign-offs/{org_unit_id}/{period}/submit")]
pub async fn submit_sign_off(
    req: HttpRequest,
    actor: AuthUser,
    path: web::Path<(Uuid, String)>,
    body: web::Json<SignOffNoteRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::SubmitSignOff)?;
    let request = Request {
        action: SignOffAction::Submit,
        comment: body.into_inner().note,
    };
    transition(&req, actor, path.into_inner(), request, &settings, &db).await
}

/// Accept a month.
///
/// An officer whose scope holds the unit's parent (the province) or an admin accepts a submitted month:
/// its figures become the official ones and its records are frozen for everyone until an admin reopens
/// it (409 `period_signed_off`). Accepting an accepted month changes nothing.
#[utoipa::path(
    tag = "sign-offs",
    operation_id = "accept_sign_off",
    params(("org_unit_id" = Uuid, Path, description = "A commune-level unit"),
           ("period" = String, Path, description = "The month, `YYYY-MM`", pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = SignOffNoteRequest,
    responses(
        (status = 200, description = "Accepted.", body = SignOffResponse),
        (status = 400, description = "Malformed JSON, id or month.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers of the parent unit and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "JSON not acceptable.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The month is not submitted (`conflict`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a commune-level unit, not in force then, or the note is too long.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sign-offs/{org_unit_id}/{period}/accept")]
pub async fn accept_sign_off(
    req: HttpRequest,
    actor: AuthUser,
    path: web::Path<(Uuid, String)>,
    body: web::Json<SignOffNoteRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::AcceptSignOff)?;
    let request = Request {
        action: SignOffAction::Accept,
        comment: body.into_inner().note,
    };
    transition(&req, actor, path.into_inner(), request, &settings, &db).await
}

/// Return a month.
///
/// An officer whose scope holds the unit's parent or an admin sends a submitted month back with a
/// reason; the commune corrects its records and submits again.
#[utoipa::path(
    tag = "sign-offs",
    operation_id = "return_sign_off",
    params(("org_unit_id" = Uuid, Path, description = "A commune-level unit"),
           ("period" = String, Path, description = "The month, `YYYY-MM`", pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = SignOffReasonRequest,
    responses(
        (status = 200, description = "Returned.", body = SignOffResponse),
        (status = 400, description = "Malformed JSON, id or month.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers of the parent unit and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "JSON not acceptable.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The month is not submitted (`conflict`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, or not a commune-level unit in force then.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sign-offs/{org_unit_id}/{period}/return")]
pub async fn return_sign_off(
    req: HttpRequest,
    actor: AuthUser,
    path: web::Path<(Uuid, String)>,
    body: web::Json<SignOffReasonRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReturnSignOff)?;
    let request = Request {
        action: SignOffAction::Return,
        comment: Some(body.into_inner().reason),
    };
    transition(&req, actor, path.into_inner(), request, &settings, &db).await
}

/// Reopen a month.
///
/// An admin reopens an accepted month with a reason (a lock exception): it returns to `open` and its
/// records can change again until it is submitted and accepted anew.
#[utoipa::path(
    tag = "sign-offs",
    operation_id = "reopen_sign_off",
    params(("org_unit_id" = Uuid, Path, description = "A commune-level unit"),
           ("period" = String, Path, description = "The month, `YYYY-MM`", pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` you read")),
    security(("bearer" = [])),
    request_body = SignOffReasonRequest,
    responses(
        (status = 200, description = "Reopened.", body = SignOffResponse),
        (status = 400, description = "Malformed JSON, id or month.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "JSON not acceptable.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The month is not accepted (`conflict`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale `If-Match`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, or not a commune-level unit in force then.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sign-offs/{org_unit_id}/{period}/reopen")]
pub async fn reopen_sign_off(
    req: HttpRequest,
    actor: AuthUser,
    path: web::Path<(Uuid, String)>,
    body: web::Json<SignOffReasonRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ReopenSignOff)?;
    let request = Request {
        action: SignOffAction::Reopen,
        comment: Some(body.into_inner().reason),
    };
    transition(&req, actor, path.into_inner(), request, &settings, &db).await
}

/// Move many months.
///
/// One transition on up to 500 unit-months: `items`, or `filter` (every commune-level unit of a subtree
/// and range, in a state): the province accepting every commune of a month, a commune submitting a year
/// of older months. Each unit-month is moved as its single endpoint would, in its own transaction, with
/// its own result; refused ones (records pending, not submitted yet, outside your scope) carry their
/// problem.
#[utoipa::path(
    tag = "sign-offs",
    operation_id = "transition_sign_offs",
    security(("bearer" = [])),
    request_body = BulkSignOffRequest,
    responses(
        (status = 200, description = "One result per unit-month.", body = BulkSignOffResponse),
        (status = 400, description = "Malformed JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Officers and admins only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The filter's unit is not in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "JSON not acceptable.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither or both of `items` and `filter`, over 500 unit-months, or an unknown action or state.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sign-offs/bulk")]
pub async fn transition_sign_offs(
    req: HttpRequest,
    actor: AuthUser,
    body: web::Json<BulkSignOffRequest>,
    settings: web::Data<Settings>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::TransitionSignOffs)?;
    let lang = Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let body = body.into_inner();
    let due_days = settings.sign_off_due_days;
    let response = db
        .run(move |conn| domain::transition_many(conn, &actor, &body, due_days, lang))
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
