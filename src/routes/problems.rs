//! `GET /problems/{code}`: what each problem `type` URI means, generated from the one error catalogue
//! ([`ErrorCode`]), so every `type` in an error body resolves.

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, ErrorCode, Problem, Text};

/// One problem type.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"type": "/problems/period_locked", "code": "period_locked", "status": 409,
    "title": "The reporting period is locked", "title_vi": "Kỳ báo cáo đã khoá",
    "description": "The month is closed for team leaders (`REPORTING_LOCK_DAYS` after it ended); ask an officer.",
    "description_vi": "Tháng đã khoá với tổ trưởng; liên hệ cán bộ."}))]
pub struct ProblemTypeResponse {
    /// The `type` URI of error bodies with this code.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The stable code clients switch on.
    #[schema(value_type = ErrorCode)]
    pub code: String,
    /// The HTTP status it comes with.
    pub status: u16,
    pub title: String,
    pub title_vi: String,
    /// When it happens and what to do.
    pub description: String,
    pub description_vi: String,
}

/// The problem code in the path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ProblemPath {
    /// An error `code`, e.g. `validation_failed`.
    #[param(value_type = String, pattern = "^[a-z_]+$")]
    pub code: String,
}

/// Describe a problem type.
///
/// What the `type` URI of an error body means: its code, status, title and when it happens, in English
/// and Vietnamese. Every error body's `type` (`/problems/<code>`) resolves here.
#[utoipa::path(
    tag = "meta",
    operation_id = "get_problem_type",
    params(ProblemPath),
    security(()),
    responses(
        (status = 200, description = "The problem type.", body = ProblemTypeResponse),
        (status = 404, description = "No problem has this code (`not_found`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/problems/{code}")]
pub async fn get_problem_type(path: web::Path<ProblemPath>) -> Result<HttpResponse, AppError> {
    let code = ErrorCode::parse(&path.code).ok_or_else(|| {
        AppError::new(ErrorCode::NotFound).with_detail(Text::new(
            format!("No problem has the code {}", path.code),
            format!("Không có lỗi nào có mã {}", path.code),
        ))
    })?;
    let (title, explanation) = (code.title(), code.explanation());
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .json(ProblemTypeResponse {
            problem_type: format!("/problems/{}", code.as_str()),
            code: code.as_str().to_owned(),
            status: code.status().as_u16(),
            title: title.en.into_owned(),
            title_vi: title.vi.into_owned(),
            description: explanation.en.into_owned(),
            description_vi: explanation.vi.into_owned(),
        }))
}
