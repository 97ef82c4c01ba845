//! Resumable uploads: the tus 1.0 protocol (core, creation, creation-with-upload, termination,
//! expiration, checksum with `sha256`) under `/api/v1/uploads`, so any tus client (tus-js-client,
//! TUSKit, tus-android-client, tuspy) uploads a photo from a phone and resumes after a dropped
//! connection from the last byte the server stored.
//!
//! A `PATCH`'s bytes stream into a staging file; when the request ends (or the connection drops) they
//! are stored as the upload's next part and `Upload-Offset` moves. With `Upload-Checksum` a part is kept
//! only whole and matching (else 460 and nothing stored). When the last byte arrives, the file is
//! checked and stored ([`crate::evidence::Evidence::finish`]) before the `PATCH` is answered. An upload
//! belongs to its uploader: anyone else gets 404.

use actix_web::{
    HttpRequest, HttpResponse, delete, head,
    http::header::{self, HeaderMap},
    options, patch, post, web,
};
use base64::Engine;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::io::Write;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, OptionalApp},
    db::Db,
    error::{AppError, ErrorCode, FieldError, Problem, Text},
    evidence::{Evidence, offset_moved},
    media::{MediaType, SNIFF_BYTES},
    models::upload::{self, NewUpload, Upload},
};

/// Where uploads live (also excluded from `Idempotency-Key`: tus has its own retry protocol).
pub const UPLOADS_PATH: &str = "/api/v1/uploads";
/// The protocol version spoken.
pub const TUS_VERSION: &str = "1.0.0";
/// The extensions supported.
pub const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration,checksum";
/// The body type of a `PATCH` (and of a creation with upload).
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// The most `Upload-Metadata` accepted, in bytes.
const METADATA_LIMIT: usize = 4096;

/// Every tus answer carries `Tus-Resumable`, errors too.
fn tus_error(error: AppError) -> AppError {
    error.with_header("Tus-Resumable", TUS_VERSION.to_owned())
}

fn tus_response(status: actix_web::http::StatusCode) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header(("Tus-Resumable", TUS_VERSION))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}

/// An HTTP-date (RFC 9110 section 5.6.7) for `Upload-Expires`.
fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// 412 unless the request speaks tus 1.0.0.
fn require_tus(headers: &HeaderMap) -> Result<(), AppError> {
    match headers.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        None | Some("") => Err(bad_header(
            "Tus-Resumable",
            "required",
            format!("Send Tus-Resumable: {TUS_VERSION}"),
            format!("Hãy gửi Tus-Resumable: {TUS_VERSION}"),
        )
        .with_header("Tus-Version", TUS_VERSION.to_owned())),
        other => Err(AppError::new(ErrorCode::PreconditionFailed)
            .with_detail(Text::new(
                format!(
                    "Send Tus-Resumable: {TUS_VERSION} (got {}): this server speaks tus {TUS_VERSION}",
                    other.unwrap_or("nothing")
                ),
                format!("Hãy gửi Tus-Resumable: {TUS_VERSION}"),
            ))
            .with_header("Tus-Version", TUS_VERSION.to_owned())),
    }
}

fn bad_header(name: &'static str, rule: &'static str, en: String, vi: String) -> AppError {
    AppError::new(ErrorCode::InvalidBody)
        .with_detail(Text::new(en.clone(), vi.clone()))
        .with_field_errors(vec![FieldError::new(name, rule, Text::new(en, vi))])
}

/// A non-negative integer header.
fn number_header(headers: &HeaderMap, name: &'static str) -> Result<Option<i64>, AppError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            bad_header(
                name,
                "not_a_number",
                format!("{name} must be a whole number of bytes"),
                format!("{name} phải là số byte nguyên không âm"),
            )
        })
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (tus 1.0 creation).
fn parse_metadata(
    headers: &HeaderMap,
) -> Result<serde_json::Map<String, serde_json::Value>, AppError> {
    let mut map = serde_json::Map::new();
    let Some(value) = headers.get("upload-metadata") else {
        return Ok(map);
    };
    let invalid = |why: &str| {
        bad_header(
            "Upload-Metadata",
            "invalid_metadata",
            format!("Upload-Metadata must be comma-separated `key base64value` pairs: {why}"),
            format!(
                "Upload-Metadata phải là các cặp `khoá giá_trị_base64` cách nhau bởi dấu phẩy: {why}"
            ),
        )
    };
    if value.len() > METADATA_LIMIT {
        return Err(invalid("more than 4096 bytes"));
    }
    let text = value.to_str().map_err(|_| invalid("not ASCII"))?;
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = pair.split(' ');
        let key = words.next().unwrap_or_default();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("a key is empty or not visible ASCII"));
        }
        let decoded = match words.next() {
            None => String::new(),
            Some(encoded) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|_| invalid("a value is not base64"))?;
                String::from_utf8(bytes).map_err(|_| invalid("a value is not UTF-8"))?
            }
        };
        if words.next().is_some() {
            return Err(invalid("a pair has more than one space"));
        }
        if map.insert(key.to_owned(), decoded.into()).is_some() {
            return Err(invalid("a key appears twice"));
        }
    }
    Ok(map)
}

/// A file name safe to keep and to send back in `Content-Disposition`: the last path segment, control
/// characters and quotes removed, at most 255 characters.
pub fn safe_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | '/'))
        .take(255)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// Midnight (Vietnam time) starting today, as an instant.
fn start_of_today() -> DateTime<Utc> {
    let local = Utc::now() + crate::domain::VIETNAM_OFFSET;
    let midnight = local.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default();
    midnight.and_utc() - crate::domain::VIETNAM_OFFSET
}

/// The upload `id` if it is the caller's (404 otherwise; 410 when it expired unfinished).
async fn own_upload(db: &Db, actor: &AuthUser, id: Uuid) -> Result<Upload, AppError> {
    let owner = actor.id;
    let found = db
        .run(move |conn| upload::find(conn, id).optional_app())
        .await?
        .filter(|u| u.uploader_id == owner)
        .ok_or_else(|| AppError::not_found("upload"))?;
    if !found.is_finished() && found.expires_at < Utc::now() {
        return Err(gone());
    }
    Ok(found)
}

fn gone() -> AppError {
    AppError::new(ErrorCode::UploadGone).with_detail(Text::new(
        "This upload expired before it was finished; start a new one",
        "Tệp tải lên đã hết hạn trước khi hoàn tất; hãy tải lại",
    ))
}

/// Describe the upload service.
///
/// tus 1.0 discovery: the version, extensions, largest upload and checksum algorithm this server
/// supports. No token needed.
#[utoipa::path(
    tag = "uploads",
    operation_id = "describe_uploads",
    security(()),
    responses(
        (status = 204, description = "What the server supports.",
         headers(
            ("Tus-Resumable" = String, description = "`1.0.0`."),
            ("Tus-Version" = String, description = "`1.0.0`, the only version spoken."),
            ("Tus-Extension" = String, description = "`creation,creation-with-upload,termination,expiration,checksum`."),
            ("Tus-Max-Size" = i64, description = "The largest upload, in bytes (`ATTACHMENT_MAX_BYTES`)."),
            ("Tus-Checksum-Algorithm" = String, description = "`sha256`."),
         )),
    )
)]
#[options("/uploads")]
pub async fn describe_uploads(evidence: web::Data<Evidence>) -> HttpResponse {
    tus_response(actix_web::http::StatusCode::NO_CONTENT)
        .insert_header(("Tus-Version", TUS_VERSION))
        .insert_header(("Tus-Extension", TUS_EXTENSIONS))
        .insert_header(("Tus-Max-Size", evidence.config.max_bytes.to_string()))
        .insert_header(("Tus-Checksum-Algorithm", "sha256"))
        .finish()
}

/// Start an upload.
///
/// tus 1.0 creation: `Upload-Length` states the file's size (at most `ATTACHMENT_MAX_BYTES`, checked
/// before any byte is read: 413), `Upload-Metadata` may carry `filename` (kept, made safe, for the
/// download's `Content-Disposition`) and other pairs. With a body of type
/// `application/offset+octet-stream` its bytes are the upload's first (creation-with-upload) and
/// `Upload-Offset` says how many were stored. A team leader's uploads count against the team's daily
/// allowance (`TEAM_UPLOAD_BYTES_PER_DAY`, Vietnam days: 422 `upload_quota_exceeded`). The answer's
/// `Location` is the upload's address; `Upload-Expires` when it is removed if not finished.
///
/// Header flow: `POST` (Upload-Length) → 201 Location → `PATCH` Location (Upload-Offset: 0, bytes) →
/// 204 Upload-Offset → after a dropped connection `HEAD` Location → 200 Upload-Offset → `PATCH` from
/// there → 204 when the last byte is stored → attach the upload's id to a session or reach activity.
#[utoipa::path(
    tag = "uploads",
    operation_id = "create_upload",
    params(
        ("Tus-Resumable" = String, Header, description = "`1.0.0`."),
        ("Upload-Length" = i64, Header, description = "The file's size in bytes, 1 to `ATTACHMENT_MAX_BYTES`.", example = 2_481_102),
        ("Upload-Metadata" = Option<String>, Header, description = "Comma-separated `key base64(value)` pairs; `filename` is kept.", example = "filename c2lnbi1pbi5qcGc=,filetype aW1hZ2UvanBlZw=="),
        ("Upload-Checksum" = Option<String>, Header, description = "With a body: `sha256 <base64 digest>` of the body."),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream",
        description = "Optional: the first bytes of the file (creation-with-upload)."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The upload exists; continue at `Location`.",
         headers(
            ("Tus-Resumable" = String, description = "`1.0.0`."),
            ("Location" = String, description = "The upload's address (`/api/v1/uploads/{id}`)."),
            ("Upload-Expires" = String, description = "When the upload is removed unless finished (HTTP-date)."),
            ("Upload-Offset" = i64, description = "With a body: the bytes stored."),
         )),
        (status = 400, description = "A tus header does not parse.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Viewers do not upload.", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`Tus-Resumable` names another version (`precondition_failed`, with `Tus-Version`; missing: 400).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`Upload-Length` above `ATTACHMENT_MAX_BYTES` (`payload_too_large`), refused before the body is read.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The first bytes are not a JPEG, PNG, WebP or PDF, or the body's type is not `application/offset+octet-stream`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The team's daily allowance is used up (`upload_quota_exceeded`).", body = Problem, content_type = "application/problem+json"),
        (status = 460, description = "`Upload-Checksum` does not match the body (`checksum_mismatch`); the upload exists with nothing stored.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/uploads")]
pub async fn create_upload(
    req: HttpRequest,
    actor: AuthUser,
    body: web::Payload,
    db: web::Data<Db>,
    evidence: web::Data<Evidence>,
) -> Result<HttpResponse, AppError> {
    create_upload_tus(req, actor, body, db, evidence)
        .await
        .map_err(tus_error)
}

async fn create_upload_tus(
    req: HttpRequest,
    actor: AuthUser,
    body: web::Payload,
    db: web::Data<Db>,
    evidence: web::Data<Evidence>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::CreateUpload)?;
    let headers = req.headers();
    require_tus(headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(bad_header(
            "Upload-Defer-Length",
            "not_supported",
            "Send Upload-Length: this server needs the size up front".into(),
            "Hãy gửi Upload-Length: máy chủ cần biết kích thước trước".into(),
        ));
    }
    let length = number_header(headers, "upload-length")?.ok_or_else(|| {
        bad_header(
            "Upload-Length",
            "required",
            "Send Upload-Length with the file's size in bytes".into(),
            "Hãy gửi Upload-Length là kích thước tệp tính bằng byte".into(),
        )
    })?;
    let max = evidence.config.max_bytes;
    if length as u64 > max {
        return Err(too_large(max));
    }
    if length == 0 {
        return Err(AppError::validation(vec![FieldError::new(
            "Upload-Length",
            "empty_file",
            Text::new(
                "An empty file is not evidence",
                "Tệp rỗng không phải minh chứng",
            ),
        )]));
    }
    let metadata = parse_metadata(headers)?;
    let has_body = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v != "0")
        || headers.contains_key(header::TRANSFER_ENCODING);
    if has_body {
        check_body_type(headers)?;
    }
    let file_name = metadata
        .get("filename")
        .or_else(|| metadata.get("name"))
        .and_then(|v| v.as_str())
        .and_then(safe_file_name);
    let new = NewUpload {
        id: Uuid::now_v7(),
        uploader_id: actor.id,
        team_id: actor.team_id,
        length,
        file_name,
        metadata: serde_json::Value::Object(metadata),
        expires_at: Utc::now()
            + chrono::TimeDelta::from_std(evidence.config.upload_expiry).unwrap_or_default(),
    };
    let quota = evidence.config.team_bytes_per_day as i64;
    let since = start_of_today();
    let created = db
        .run(move |conn| crate::domain::attachments::start_upload(conn, &new, quota, since))
        .await?;
    let location = format!("{UPLOADS_PATH}/{}", created.id);
    let created = if has_body {
        receive(&req, body, &db, &evidence, created).await?
    } else {
        created
    };
    let mut response = tus_response(actix_web::http::StatusCode::CREATED);
    response
        .insert_header((header::LOCATION, location))
        .insert_header(("Upload-Expires", http_date(created.expires_at)));
    if has_body {
        response.insert_header(("Upload-Offset", created.received.to_string()));
    }
    Ok(response.finish())
}

/// Where an upload stands.
///
/// tus 1.0 `HEAD`: `Upload-Offset` is the number of bytes stored, where the next `PATCH` continues;
/// `Upload-Length` the file's size. Your own uploads only.
#[utoipa::path(
    tag = "uploads",
    operation_id = "get_upload_offset",
    params(
        ("id" = Uuid, Path, description = "The upload's id (the last segment of `Location`)."),
        ("Tus-Resumable" = String, Header, description = "`1.0.0`."),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The upload's progress (no body).",
         headers(
            ("Tus-Resumable" = String, description = "`1.0.0`."),
            ("Upload-Offset" = i64, description = "Bytes stored."),
            ("Upload-Length" = i64, description = "The file's size."),
            ("Upload-Expires" = String, description = "When an unfinished upload is removed (HTTP-date)."),
         )),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Viewers do not upload.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such upload of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "It expired unfinished (`upload_gone`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`Tus-Resumable` is not `1.0.0`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[head("/uploads/{id}")]
pub async fn get_upload_offset(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    get_upload_offset_tus(req, actor, id, db)
        .await
        .map_err(tus_error)
}

async fn get_upload_offset_tus(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::GetUploadOffset)?;
    require_tus(req.headers())?;
    let found = own_upload(&db, &actor, id.into_inner()).await?;
    Ok(tus_response(actix_web::http::StatusCode::OK)
        .insert_header(("Upload-Offset", found.received.to_string()))
        .insert_header(("Upload-Length", found.length.to_string()))
        .insert_header(("Upload-Expires", http_date(found.expires_at)))
        .finish())
}

/// Send bytes of an upload.
///
/// tus 1.0 `PATCH`: the body (`application/offset+octet-stream`) continues the file at
/// `Upload-Offset`, which must be where the upload stands (409 `upload_offset_mismatch` otherwise: ask
/// `HEAD`). If the connection drops, the bytes that arrived are kept and `HEAD` says how many. With
/// `Upload-Checksum: sha256 <base64>` the bytes are kept only if they match (else 460, nothing kept).
/// The first bytes must be a JPEG, PNG, WebP or PDF (415 at once otherwise, whatever `Content-Type`
/// or file name say). When the last byte arrives the file is checked, its image metadata removed, its
/// thumbnail made and the file stored before the answer (415 or 422 for a file that is not what it
/// claims; the upload is then removed).
#[utoipa::path(
    tag = "uploads",
    operation_id = "append_to_upload",
    params(
        ("id" = Uuid, Path, description = "The upload's id."),
        ("Tus-Resumable" = String, Header, description = "`1.0.0`."),
        ("Upload-Offset" = i64, Header, description = "Where these bytes start: the upload's current offset.", example = 0),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha256 <base64 digest of the body>`.", example = "sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream",
        description = "The next bytes of the file."),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Stored; `Upload-Offset` is the new offset (the upload's length when it is finished).",
         headers(
            ("Tus-Resumable" = String, description = "`1.0.0`."),
            ("Upload-Offset" = i64, description = "Bytes stored."),
            ("Upload-Expires" = String, description = "When the upload is removed unless finished or attached (HTTP-date)."),
         )),
        (status = 400, description = "`Upload-Offset` missing or not a number, or `Upload-Checksum` with an algorithm other than `sha256`.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Viewers do not upload.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such upload of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`Upload-Offset` is not where the upload stands (`upload_offset_mismatch`).", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "It expired unfinished (`upload_gone`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`Tus-Resumable` is not `1.0.0`.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "More bytes than `Upload-Length` leaves (`payload_too_large`), refused before the body is read when `Content-Length` says so.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body's type is not `application/offset+octet-stream`, or the file is not a JPEG, PNG, WebP or PDF.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The finished file is not a well-formed file of its type (`validation_failed`).", body = Problem, content_type = "application/problem+json"),
        (status = 460, description = "`Upload-Checksum` does not match the body (`checksum_mismatch`); nothing of it was stored.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/uploads/{id}")]
pub async fn append_to_upload(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Payload,
    db: web::Data<Db>,
    evidence: web::Data<Evidence>,
) -> Result<HttpResponse, AppError> {
    append_to_upload_tus(req, actor, id, body, db, evidence)
        .await
        .map_err(tus_error)
}

async fn append_to_upload_tus(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Payload,
    db: web::Data<Db>,
    evidence: web::Data<Evidence>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::AppendToUpload)?;
    let headers = req.headers();
    require_tus(headers)?;
    check_body_type(headers)?;
    let offset = number_header(headers, "upload-offset")?.ok_or_else(|| {
        bad_header(
            "Upload-Offset",
            "required",
            "Send Upload-Offset: where these bytes start".into(),
            "Hãy gửi Upload-Offset: vị trí bắt đầu của dữ liệu".into(),
        )
    })?;
    checksum(headers)?;
    let found = own_upload(&db, &actor, id.into_inner()).await?;
    if offset != found.received {
        return Err(offset_mismatch(found.received));
    }
    let finished = if found.is_finished() {
        found
    } else {
        receive(&req, body, &db, &evidence, found).await?
    };
    Ok(tus_response(actix_web::http::StatusCode::NO_CONTENT)
        .insert_header(("Upload-Offset", finished.received.to_string()))
        .insert_header(("Upload-Expires", http_date(finished.expires_at)))
        .finish())
}

/// Cancel an upload.
///
/// tus 1.0 termination: the upload and its stored bytes are removed. An upload already attached to a
/// record cannot be removed this way (409): delete the attachment instead.
#[utoipa::path(
    tag = "uploads",
    operation_id = "delete_upload",
    params(
        ("id" = Uuid, Path, description = "The upload's id."),
        ("Tus-Resumable" = String, Header, description = "`1.0.0`."),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed.",
         headers(("Tus-Resumable" = String, description = "`1.0.0`."))),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Viewers do not upload.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such upload of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The upload is attached to a record (`conflict`).", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "It expired unfinished (`upload_gone`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`Tus-Resumable` is not `1.0.0`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/uploads/{id}")]
pub async fn delete_upload(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
    evidence: web::Data<Evidence>,
) -> Result<HttpResponse, AppError> {
    delete_upload_tus(req, actor, id, db, evidence)
        .await
        .map_err(tus_error)
}

async fn delete_upload_tus(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
    evidence: web::Data<Evidence>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::DeleteUpload)?;
    require_tus(req.headers())?;
    let found = own_upload(&db, &actor, id.into_inner()).await?;
    let upload_id = found.id;
    if db
        .run(move |conn| Ok(upload::is_attached(conn, upload_id)?))
        .await?
    {
        return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
            "This upload is attached to a record; delete the attachment instead",
            "Tệp đã được đính kèm vào bản ghi; hãy xoá tệp đính kèm",
        )));
    }
    evidence.remove_upload(&db, &found).await?;
    Ok(tus_response(actix_web::http::StatusCode::NO_CONTENT).finish())
}

fn too_large(max: u64) -> AppError {
    AppError::new(ErrorCode::PayloadTooLarge).with_detail(Text::new(
        format!("A file may have at most {max} bytes (ATTACHMENT_MAX_BYTES)"),
        format!("Tệp tối đa {max} byte (ATTACHMENT_MAX_BYTES)"),
    ))
}

fn offset_mismatch(actual: i64) -> AppError {
    AppError::new(ErrorCode::UploadOffsetMismatch).with_detail(Text::new(
        format!("The upload stands at byte {actual}; send Upload-Offset: {actual}"),
        format!("Tệp đang ở byte {actual}; hãy gửi Upload-Offset: {actual}"),
    ))
}

/// 415 unless the body is `application/offset+octet-stream`.
fn check_body_type(headers: &HeaderMap) -> Result<(), AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    if content_type.as_deref() == Some(OFFSET_OCTET_STREAM) {
        Ok(())
    } else {
        Err(
            AppError::new(ErrorCode::UnsupportedMediaType).with_detail(Text::new(
                format!("Send the bytes as Content-Type: {OFFSET_OCTET_STREAM}"),
                format!("Hãy gửi dữ liệu với Content-Type: {OFFSET_OCTET_STREAM}"),
            )),
        )
    }
}

/// The expected SHA-256 of the body, from `Upload-Checksum: sha256 <base64>`.
fn checksum(headers: &HeaderMap) -> Result<Option<[u8; 32]>, AppError> {
    let Some(value) = headers.get("upload-checksum") else {
        return Ok(None);
    };
    let invalid = |en: &str, vi: &str| {
        bad_header(
            "Upload-Checksum",
            "invalid_checksum",
            en.to_owned(),
            vi.to_owned(),
        )
    };
    let text = value.to_str().map_err(|_| {
        invalid(
            "Upload-Checksum is not ASCII",
            "Upload-Checksum không phải ASCII",
        )
    })?;
    let (algorithm, digest) = text.trim().split_once(' ').ok_or_else(|| {
        invalid(
            "Upload-Checksum must be `sha256 <base64 digest>`",
            "Upload-Checksum phải có dạng `sha256 <base64>`",
        )
    })?;
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return Err(invalid(
            "The only checksum algorithm supported is sha256 (Tus-Checksum-Algorithm)",
            "Chỉ hỗ trợ thuật toán sha256",
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(digest.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(Some)
        .ok_or_else(|| {
            invalid(
                "The sha256 digest must be 32 bytes in base64",
                "Mã sha256 phải là 32 byte dạng base64",
            )
        })
}

/// Bytes being received for one upload. The request's task only reads the network; a blocking thread
/// hashes the bytes and writes them to the staging file in 128 KiB blocks, so the three overlap. If the
/// request is dropped before they are stored (the client's connection went away), what arrived is still
/// stored as a part, from a spawned task, unless a checksum was promised for the whole body.
struct Receiving {
    db: Db,
    evidence: web::Data<Evidence>,
    upload: Uuid,
    from: i64,
    /// To the writer thread.
    sender: Option<tokio::sync::mpsc::Sender<web::Bytes>>,
    /// The writer thread: the staging file and the hash of what it wrote.
    writer: Option<actix_web::rt::task::JoinHandle<std::io::Result<Written>>>,
    received: i64,
    keep_partial: bool,
}

/// What the writer thread leaves.
struct Written {
    file: tempfile::NamedTempFile,
    digest: [u8; 32],
}

/// Bytes gathered before a write to the staging file.
const WRITE_BUFFER: usize = 128 * 1024;

impl Receiving {
    fn start(
        db: &Db,
        evidence: &web::Data<Evidence>,
        upload: &Upload,
        keep_partial: bool,
    ) -> Result<Self, AppError> {
        let mut file = evidence
            .storage
            .staging_file()
            .map_err(AppError::internal)?;
        let (sender, mut chunks) = tokio::sync::mpsc::channel::<web::Bytes>(8);
        let writer = actix_web::rt::task::spawn_blocking(move || {
            let mut hasher = Sha256::new();
            let mut pending = Vec::with_capacity(WRITE_BUFFER);
            while let Some(chunk) = chunks.blocking_recv() {
                hasher.update(&chunk);
                pending.extend_from_slice(&chunk);
                if pending.len() >= WRITE_BUFFER {
                    file.write_all(&pending)?;
                    pending.clear();
                }
            }
            file.write_all(&pending)?;
            Ok(Written {
                file,
                digest: hasher.finalize().into(),
            })
        });
        Ok(Self {
            db: db.clone(),
            evidence: evidence.clone(),
            upload: upload.id,
            from: upload.received,
            sender: Some(sender),
            writer: Some(writer),
            received: 0,
            keep_partial,
        })
    }

    /// Hands bytes that arrived to the writer.
    async fn write(&mut self, bytes: web::Bytes) -> Result<(), AppError> {
        let len = bytes.len() as i64;
        let sender = self.sender.as_ref().ok_or_else(writer_gone)?;
        if sender.send(bytes).await.is_err() {
            // The writer stopped: its error says why.
            return Err(match self.written().await {
                Err(error) => error,
                Ok(_) => writer_gone(),
            });
        }
        self.received += len;
        Ok(())
    }

    /// Waits for the writer to finish what it was given.
    async fn written(&mut self) -> Result<Written, AppError> {
        self.sender = None;
        let writer = self.writer.take().ok_or_else(writer_gone)?;
        writer
            .await
            .map_err(|error| AppError::internal(std::io::Error::other(error.to_string())))?
            .map_err(AppError::internal)
    }

    /// Stores what arrived as the next part: the new offset and the hash of the bytes.
    async fn store(&mut self) -> Result<(i64, [u8; 32]), AppError> {
        let Written { file, digest } = self.written().await?;
        if self.received == 0 {
            return Ok((self.from, digest));
        }
        let offset = self
            .evidence
            .store_part(&self.db, self.upload, self.from, file, self.received)
            .await?;
        Ok((offset, digest))
    }

    /// Drops what arrived (the writer's file goes with its result).
    fn discard(&mut self) {
        self.sender = None;
        self.writer = None;
    }
}

fn writer_gone() -> AppError {
    AppError::internal(std::io::Error::other("the upload's writer stopped"))
}

impl Drop for Receiving {
    fn drop(&mut self) {
        self.sender = None;
        let Some(writer) = self.writer.take() else {
            return;
        };
        if !self.keep_partial || self.received == 0 {
            return;
        }
        let (db, evidence, upload, from, len) = (
            self.db.clone(),
            self.evidence.clone(),
            self.upload,
            self.from,
            self.received,
        );
        actix_web::rt::spawn(async move {
            let stored = match writer.await {
                Ok(Ok(written)) => evidence
                    .store_part(&db, upload, from, written.file, len)
                    .await
                    .map_err(|error| error.cause_chain().unwrap_or_default()),
                Ok(Err(error)) => Err(error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            match stored {
                Ok(offset) => {
                    tracing::info!(%upload, offset, "kept the bytes of a dropped upload request")
                }
                Err(error) => {
                    tracing::warn!(%upload, %error, "could not keep the bytes of a dropped upload request")
                }
            }
        });
    }
}

/// Receives a body of `application/offset+octet-stream` for `upload` at its offset, stores it, and
/// finishes the upload when it is complete.
async fn receive(
    req: &HttpRequest,
    mut body: web::Payload,
    db: &Db,
    evidence: &web::Data<Evidence>,
    upload: Upload,
) -> Result<Upload, AppError> {
    let headers = req.headers();
    let remaining = upload.length - upload.received;
    if let Some(declared) = number_header(headers, "content-length")?
        && declared > remaining
    {
        return Err(
            AppError::new(ErrorCode::PayloadTooLarge).with_detail(Text::new(
                format!("{declared} bytes sent where {remaining} remain of Upload-Length"),
                format!("Gửi {declared} byte trong khi chỉ còn {remaining} byte"),
            )),
        );
    }
    let expected = checksum(headers)?;
    let mut receiving = Receiving::start(db, evidence, &upload, expected.is_none())?;
    let mut head: Vec<u8> = Vec::new();
    let sniffing = upload.received == 0;
    let started = std::time::Instant::now();
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                // The connection broke: keep what arrived (unless a checksum was promised).
                if receiving.keep_partial {
                    let (offset, _) = receiving.store().await?;
                    tracing::info!(upload = %upload.id, offset, %error, "upload request cut off; its bytes were kept");
                } else {
                    receiving.discard();
                }
                return Err(AppError::new(ErrorCode::InvalidBody).with_detail(Text::new(
                    format!(
                        "The body ended early ({error}); send HEAD for the offset and continue"
                    ),
                    "Dữ liệu bị ngắt giữa chừng; hãy gửi HEAD để biết vị trí rồi tải tiếp",
                )));
            }
        };
        if receiving.received + chunk.len() as i64 > remaining {
            receiving.discard();
            return Err(
                AppError::new(ErrorCode::PayloadTooLarge).with_detail(Text::new(
                    format!("More bytes than the {remaining} that remain of Upload-Length"),
                    format!("Nhiều hơn {remaining} byte còn lại của Upload-Length"),
                )),
            );
        }
        if sniffing && head.len() < SNIFF_BYTES {
            head.extend_from_slice(&chunk[..chunk.len().min(SNIFF_BYTES - head.len())]);
            if (head.len() == SNIFF_BYTES || head.len() as i64 == upload.length)
                && MediaType::sniff(&head).is_none()
            {
                receiving.discard();
                evidence.remove_upload(db, &upload).await?;
                return Err(crate::evidence::media_refusal(
                    crate::media::MediaError::Unsupported,
                ));
            }
        }
        if let Err(error) = receiving.write(chunk).await {
            receiving.discard();
            return Err(error);
        }
    }
    let received_in = started.elapsed();
    let (offset, digest) = if let Some(expected) = expected {
        // Kept only whole and matching: the bytes are checked before they are stored.
        let Written { file, digest } = receiving.written().await?;
        if digest != expected {
            return Err(AppError::new(ErrorCode::ChecksumMismatch).with_detail(Text::new(
                "The body's SHA-256 is not the one in Upload-Checksum; nothing of it was stored",
                "SHA-256 của dữ liệu không khớp Upload-Checksum; không lưu gì",
            )));
        }
        let offset = if receiving.received == 0 {
            receiving.from
        } else {
            evidence
                .store_part(db, upload.id, receiving.from, file, receiving.received)
                .await?
        };
        (offset, digest)
    } else {
        receiving.store().await?
    };
    tracing::debug!(
        upload = %upload.id,
        bytes = offset - upload.received,
        received_ms = received_in.as_secs_f64() * 1e3,
        stored_ms = started.elapsed().as_secs_f64() * 1e3,
        "upload part stored"
    );
    let id = upload.id;
    let current = db.run(move |conn| Ok(upload::find(conn, id)?)).await?;
    if current.received != offset && !current.is_finished() {
        return Err(offset_moved());
    }
    if current.received == current.length && !current.is_finished() {
        // This body from offset 0 to the end is the upload's one part: its hash is the file's.
        let whole = (upload.received == 0).then(|| crate::secret_file::hex(&digest));
        return evidence.finish(db, current, whole).await;
    }
    Ok(current)
}
