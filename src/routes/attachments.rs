//! Attachments of sessions and reach activities: attach a finished upload, list, read one's metadata,
//! download the original (with `Range`, `ETag` / `If-None-Match`; recorded in the personal-data read
//! log) or its thumbnail, delete.

use actix_web::{
    HttpRequest, HttpResponse, delete, get,
    http::{
        StatusCode,
        header::{self, ContentDisposition, DispositionParam, DispositionType, ExtendedValue},
    },
    post, web,
};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{AuthUser, Operation, policy::forbidden},
    config::Settings,
    db::Db,
    domain::attachments::{self as domain, AttachRequest, AttachmentResponse},
    error::{AppError, ErrorCode, Problem, Text},
    evidence::Evidence,
    media::MediaType,
    models::{attachment::Owner, person, upload::Blob},
    storage,
};

/// A record's attachments, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttachmentListResponse {
    pub items: Vec<AttachmentResponse>,
    /// Always absent: a record has at most `ATTACHMENTS_PER_RECORD` attachments, listed at once.
    pub next_cursor: Option<String>,
}

async fn list(actor: AuthUser, owner: Owner, db: &Db) -> Result<HttpResponse, AppError> {
    let items = db
        .read(actor.id, move |conn| domain::list(conn, &actor, owner))
        .await?;
    Ok(HttpResponse::Ok().json(AttachmentListResponse {
        items,
        next_cursor: None,
    }))
}

async fn attach(
    actor: AuthUser,
    owner: Owner,
    body: AttachRequest,
    db: &Db,
    evidence: &Evidence,
    settings: &Settings,
) -> Result<HttpResponse, AppError> {
    let per_record = evidence.config.per_record;
    let lock_days = settings.reporting_lock_days;
    db.note_write(actor.id);
    let (response, created) = db
        .run(move |conn| domain::attach(conn, &actor, owner, &body, per_record, lock_days))
        .await?;
    let mut builder = HttpResponse::build(if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    });
    builder.insert_header((
        header::LOCATION,
        format!("/api/v1/attachments/{}", response.id),
    ));
    Ok(builder.json(response))
}

/// List a session's attachments.
///
/// Metadata of the session's attendance sheets, photos and documents. Those who see the team's full
/// personal data (admins, officers in scope, the team's leader) get `links` to the bytes; others in
/// scope see metadata only (`content_visible: false`).
#[utoipa::path(
    tag = "attachments",
    operation_id = "list_session_attachments",
    params(("id" = Uuid, Path, description = "The session's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The attachments.", body = AttachmentListResponse),
        (status = 404, description = "No such session in your scope.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/training-sessions/{id}/attachments")]
pub async fn list_session_attachments(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListSessionAttachments)?;
    list(actor, Owner::Session(id.into_inner()), &db).await
}

/// Attach a file to a session.
///
/// Ties a finished upload of yours (see `POST /api/v1/uploads`) to the session as an
/// `attendance_sheet`, `photo` or `document`, with an optional caption. Whoever may change the session
/// may attach (its team's leader while the month is open, officers in scope; verified sessions only
/// admins). At most `ATTACHMENTS_PER_RECORD` per record. Attaching the same upload again the same way
/// answers 200 with the attachment (a retried request never duplicates).
#[utoipa::path(
    tag = "attachments",
    operation_id = "attach_to_session",
    params(("id" = Uuid, Path, description = "The session's id.")),
    request_body = AttachRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Attached.", body = AttachmentResponse),
        (status = 200, description = "This upload was attached here already.", body = AttachmentResponse),
        (status = 403, description = "You may not change this session.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The upload is not finished or is attached elsewhere (`conflict`); the session is verified (`session_verified`) or its month locked (`period_locked`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown upload, bad kind or caption, or too many attachments (`validation_failed`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/training-sessions/{id}/attachments")]
pub async fn attach_to_session(
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<AttachRequest>,
    db: web::Data<Db>,
    evidence: web::Data<Evidence>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::AttachToSession)?;
    let owner = Owner::Session(id.into_inner());
    attach(actor, owner, body.into_inner(), &db, &evidence, &settings).await
}

/// List a reach activity's attachments.
///
/// As for sessions: metadata for everyone in scope, `links` for those who see the team's full personal
/// data.
#[utoipa::path(
    tag = "attachments",
    operation_id = "list_reach_activity_attachments",
    params(("id" = Uuid, Path, description = "The reach activity's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The attachments.", body = AttachmentListResponse),
        (status = 404, description = "No such reach activity in your scope.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reach-activities/{id}/attachments")]
pub async fn list_reach_activity_attachments(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::ListReachActivityAttachments)?;
    list(actor, Owner::Activity(id.into_inner()), &db).await
}

/// Attach a file to a reach activity.
///
/// As for sessions: a finished upload of yours, with the activity's edit rules and the per-record limit.
#[utoipa::path(
    tag = "attachments",
    operation_id = "attach_to_reach_activity",
    params(("id" = Uuid, Path, description = "The reach activity's id.")),
    request_body = AttachRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Attached.", body = AttachmentResponse),
        (status = 200, description = "This upload was attached here already.", body = AttachmentResponse),
        (status = 403, description = "You may not change this activity.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such reach activity in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The upload is not finished or is attached elsewhere; the activity is verified or its month locked.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown upload, bad kind or caption, or too many attachments.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reach-activities/{id}/attachments")]
pub async fn attach_to_reach_activity(
    actor: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<AttachRequest>,
    db: web::Data<Db>,
    evidence: web::Data<Evidence>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::AttachToReachActivity)?;
    let owner = Owner::Activity(id.into_inner());
    attach(actor, owner, body.into_inner(), &db, &evidence, &settings).await
}

/// Read an attachment's metadata.
///
/// As in the record's list.
#[utoipa::path(
    tag = "attachments",
    operation_id = "find_attachment",
    params(("id" = Uuid, Path, description = "The attachment's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The attachment.", body = AttachmentResponse),
        (status = 404, description = "No such attachment in your scope.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/attachments/{id}")]
pub async fn find_attachment(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::FindAttachment)?;
    let id = id.into_inner();
    let response = db
        .read(actor.id, move |conn| {
            let (found, blob, scope) = domain::find_visible(conn, &actor, id)?;
            let visible = actor.sees_attachments_of(scope.team_id, &scope.team_unit_path);
            Ok(AttachmentResponse::new(&found, &blob, visible))
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}

/// Download an attachment's original.
///
/// The stored file (image metadata removed), for admins, officers in scope and the team's leader;
/// every download is recorded in the personal-data read log. `ETag` is the file's SHA-256 (an
/// `If-None-Match` that matches answers 304 without the bytes); `Range: bytes=a-b` answers 206 with
/// that part (resume a download on a weak link). `Content-Disposition` carries a safe file name.
#[utoipa::path(
    tag = "attachments",
    operation_id = "download_attachment",
    params(
        ("id" = Uuid, Path, description = "The attachment's id."),
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=0-1023`.", example = "bytes=0-65535"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` you have."),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file.", content(
            (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"), (Vec<u8> = "application/pdf")),
         headers(
            ("ETag" = String, description = "`\"<sha256>\"`."),
            ("Accept-Ranges" = String, description = "`bytes`."),
            ("Content-Disposition" = String, description = "`attachment` with a safe file name."),
         )),
        (status = 206, description = "The requested range.", content(
            (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"), (Vec<u8> = "application/pdf")),
         headers(("Content-Range" = String, description = "`bytes a-b/size`."))),
        (status = 304, description = "Unchanged (`If-None-Match`)."),
        (status = 400, description = "Bad path.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "You see this attachment's metadata only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such attachment in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range is outside the file.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/attachments/{id}/content")]
pub async fn download_attachment(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
    evidence: web::Data<Evidence>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::DownloadAttachment)?;
    let id = id.into_inner();
    let reader = actor.id;
    let request_id = actor.request_id.clone();
    let (found, blob) = db
        .run(move |conn| {
            let (found, blob, scope) = domain::find_visible(conn, &actor, id)?;
            if !actor.sees_attachments_of(scope.team_id, &scope.team_unit_path) {
                return Err(forbidden());
            }
            Ok((found, blob))
        })
        .await?;
    let name = download_name(&found.kind, found.id, found.file_name.as_deref(), &blob);
    let key = storage::blob_key(&blob.sha256);
    let log = move || {
        let request_id = request_id.clone();
        move |conn: &mut diesel::PgConnection| {
            Ok(person::record_attachment_read(
                conn,
                reader,
                id,
                request_id.as_deref(),
            )?)
        }
    };
    serve(
        &req,
        &evidence,
        &key,
        &blob.sha256,
        blob.bytes,
        &blob.media_type,
        &name,
        Some((&db, log())),
    )
    .await
}

/// Download an attachment's thumbnail.
///
/// A JPEG of at most 320 pixels on its longer side (tens of KB), for reviewing on a slow link; images
/// only (404 for a PDF). For the same people as the original; not logged as a read of the original.
#[utoipa::path(
    tag = "attachments",
    operation_id = "get_attachment_thumbnail",
    params(
        ("id" = Uuid, Path, description = "The attachment's id."),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` you have."),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The thumbnail.", content((Vec<u8> = "image/jpeg")),
         headers(("ETag" = String, description = "`\"<sha256 of the thumbnail>\"`."))),
        (status = 206, description = "The requested range.", content((Vec<u8> = "image/jpeg"))),
        (status = 304, description = "Unchanged (`If-None-Match`)."),
        (status = 403, description = "You see this attachment's metadata only.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such attachment in your scope, or it has no thumbnail (a PDF).", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range is outside the file.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/attachments/{id}/thumbnail")]
pub async fn get_attachment_thumbnail(
    req: HttpRequest,
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
    evidence: web::Data<Evidence>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::GetAttachmentThumbnail)?;
    let id = id.into_inner();
    let (found, blob) = db
        .read(actor.id, move |conn| {
            let (found, blob, scope) = domain::find_visible(conn, &actor, id)?;
            if !actor.sees_attachments_of(scope.team_id, &scope.team_unit_path) {
                return Err(forbidden());
            }
            Ok((found, blob))
        })
        .await?;
    let (Some(sha), Some(bytes)) = (&blob.thumbnail_sha256, blob.thumbnail_bytes) else {
        return Err(AppError::not_found("thumbnail"));
    };
    let name = format!("{}-{}-thumbnail.jpg", found.kind, short(found.id));
    type NoLog = fn(&mut diesel::PgConnection) -> Result<usize, AppError>;
    serve(
        &req,
        &evidence,
        &storage::thumbnail_key(sha),
        sha,
        bytes,
        "image/jpeg",
        &name,
        None::<(&Db, NoLog)>,
    )
    .await
}

/// Delete an attachment.
///
/// For whoever may change the record (as attaching). The file is kept `ATTACHMENT_RETENTION_DAYS`
/// (default 30) in case the deletion was a mistake, then removed unless another attachment holds the
/// same bytes.
#[utoipa::path(
    tag = "attachments",
    operation_id = "delete_attachment",
    params(("id" = Uuid, Path, description = "The attachment's id.")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "You may not change its record.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such attachment in your scope.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The record is verified (`session_verified`) or its month locked (`period_locked`).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/attachments/{id}")]
pub async fn delete_attachment(
    actor: AuthUser,
    id: web::Path<Uuid>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
) -> Result<HttpResponse, AppError> {
    actor.authorize(Operation::DeleteAttachment)?;
    let id = id.into_inner();
    let lock_days = settings.reporting_lock_days;
    db.note_write(actor.id);
    db.run(move |conn| domain::delete(conn, &actor, id, lock_days))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn short(id: Uuid) -> String {
    id.simple().to_string()[..8].to_owned()
}

/// The name a download is saved under: the phone's name with the real type's extension, or
/// `<kind>-<id>.<ext>`.
fn download_name(kind: &str, id: Uuid, file_name: Option<&str>, blob: &Blob) -> String {
    let extension = MediaType::of_blob(blob).map_or("bin", MediaType::extension);
    match file_name {
        Some(name) => {
            let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
            format!("{stem}.{extension}")
        }
        None => format!("{kind}-{}.{extension}", short(id)),
    }
}

/// Streams `key` (`size` bytes of `media_type`, entity tag `sha256`) with `Range` and
/// `If-None-Match`; `log` records the read before any byte is sent.
#[expect(clippy::too_many_arguments, reason = "one file's facts")]
async fn serve<L>(
    req: &HttpRequest,
    evidence: &Evidence,
    key: &str,
    sha256: &str,
    size: i64,
    media_type: &str,
    name: &str,
    log: Option<(&Db, L)>,
) -> Result<HttpResponse, AppError>
where
    L: FnOnce(&mut diesel::PgConnection) -> Result<usize, AppError> + Send + 'static,
{
    let etag = format!("\"{sha256}\"");
    let cache = "private, no-cache";
    if let Ok(header::IfNoneMatch::Items(tags)) =
        <header::IfNoneMatch as header::Header>::parse(req)
        && tags.iter().any(|tag| tag.tag() == sha256)
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish());
    }
    let size = size as u64;
    let range = match req.headers().get(header::RANGE) {
        None => None,
        Some(value) => match value
            .to_str()
            .ok()
            .and_then(|v| v.parse::<header::Range>().ok())
        {
            Some(header::Range::Bytes(specs)) if specs.len() == 1 => {
                match specs[0].to_satisfiable_range(size) {
                    Some((first, last)) => Some(first..last + 1),
                    None => {
                        return Err(AppError::new(ErrorCode::RangeNotSatisfiable)
                            .with_detail(Text::new(
                                format!("The file has {size} bytes"),
                                format!("Tệp có {size} byte"),
                            ))
                            .with_header("Content-Range", format!("bytes */{size}")));
                    }
                }
            }
            // Several ranges or another unit: the whole file (RFC 9110 allows ignoring Range).
            _ => None,
        },
    };
    if let Some((db, log)) = log {
        db.run(log).await?;
    }
    let download = evidence
        .storage
        .get(key, range.clone())
        .await
        .map_err(|error| match error {
            storage::StorageError::NotFound(_) => AppError::internal(error),
            other => AppError::from(other),
        })?;
    let mut builder = HttpResponse::build(if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    });
    builder
        .insert_header((header::CONTENT_TYPE, media_type.to_owned()))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        // Already compressed formats: never gzipped on the way (and ranges stay byte ranges).
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: disposition_names(name),
        })
        .no_chunking(download.range.end - download.range.start);
    if range.is_some() {
        builder.insert_header((
            header::CONTENT_RANGE,
            format!(
                "bytes {}-{}/{}",
                download.range.start,
                download.range.end.saturating_sub(1),
                download.size
            ),
        ));
    }
    Ok(builder.streaming(download.body.map_err(|error| {
        tracing::warn!(%error, "a download broke off");
        actix_web::error::ErrorInternalServerError(error)
    })))
}

/// `filename` (ASCII, for old clients) and `filename*` (UTF-8, for Vietnamese names).
fn disposition_names(name: &str) -> Vec<DispositionParam> {
    let ascii: String = deunicode::deunicode(name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut params = vec![DispositionParam::Filename(ascii)];
    if !name.is_ascii() {
        params.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: header::Charset::Ext("UTF-8".to_owned()),
            language_tag: None,
            value: name.as_bytes().to_vec(),
        }));
    }
    params
}
