//! Attachments: evidence (a signed attendance sheet, photos, a document) tied to a training session or
//! a reach activity. The rules: who may attach and remove (those who may change the record, with its
//! review and reporting-lock rules), how many per record, which uploads may be attached (your own,
//! finished, not attached elsewhere), and who sees the bytes (those who see the team's full personal
//! data; others in scope see metadata only).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::AuthUser,
    db::schema::{reach_activities, training_sessions},
    domain::{reach_activities as activities, training_sessions as sessions, workflow},
    error::{AppError, ErrorCode, FieldError, Text},
    models::{
        attachment::{self, Attachment, NewAttachment, Owner},
        audit::{self, NewAuditEvent},
        upload::{self, Blob},
    },
    reference::{AttachmentKind, Choice, RecordStatus, Vocabulary},
};

/// The longest caption, in characters.
pub const CAPTION_MAX: usize = 500;

/// What to attach.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"upload_id": "01938a4e-5b1c-7d2e-9f3a-4b5c6d7e8f90", "kind": "attendance_sheet", "caption": "Danh sách ký tên, bản Nà Sài"}))]
pub struct AttachRequest {
    /// A finished upload of yours (the last segment of its `Location`).
    pub upload_id: Uuid,
    /// `attendance_sheet`, `photo` or `document`.
    #[schema(value_type = AttachmentKind)]
    pub kind: Choice<AttachmentKind>,
    /// Up to 500 characters.
    pub caption: Option<String>,
}

/// Links of an attachment whose bytes you may see.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttachmentLinks {
    /// The original file (recorded in the personal-data read log).
    pub download: String,
    /// The small JPEG rendition (images only).
    pub thumbnail: Option<String>,
}

/// An attachment's metadata.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "01938a4e-6c2d-7e3f-8a4b-5c6d7e8f9012",
    "record_type": "training_session",
    "record_id": "01938a4e-1111-7222-8333-444455556666",
    "team_id": "01938a4e-7777-7888-8999-aaaabbbbcccc",
    "kind": "attendance_sheet",
    "caption": "Danh sách ký tên, bản Nà Sài",
    "file_name": "sign-in.jpg",
    "media_type": "image/jpeg",
    "bytes": 2481102,
    "width": 4032,
    "height": 3024,
    "captured_at": "2026-11-02T08:30:15",
    "sha256": "9f2c1e0b7a6d5c4b3a29180706f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d",
    "uploaded_by": "01938a4e-dddd-7eee-8fff-000011112222",
    "created_at": "2026-11-02T09:12:44Z",
    "content_visible": true,
    "links": {"download": "/api/v1/attachments/01938a4e-6c2d-7e3f-8a4b-5c6d7e8f9012/content",
              "thumbnail": "/api/v1/attachments/01938a4e-6c2d-7e3f-8a4b-5c6d7e8f9012/thumbnail"}
}))]
pub struct AttachmentResponse {
    pub id: Uuid,
    /// `training_session` or `reach_activity`.
    pub record_type: crate::reference::AttachmentRecordType,
    pub record_id: Uuid,
    pub team_id: Uuid,
    #[schema(value_type = AttachmentKind)]
    pub kind: String,
    pub caption: Option<String>,
    /// The name the phone gave the file (made safe), if any.
    pub file_name: Option<String>,
    /// The type recognised from the bytes.
    pub media_type: String,
    /// Size of the stored file (after image metadata was removed).
    pub bytes: i64,
    /// Pixel size (images).
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// When the photo was taken, by the camera's clock without a time zone (`YYYY-MM-DDTHH:MM:SS`, from
    /// EXIF, which was then removed from the file).
    #[schema(value_type = Option<String>, pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")]
    pub captured_at: Option<NaiveDateTime>,
    /// SHA-256 of the stored file (also its `ETag`).
    pub sha256: String,
    pub uploaded_by: Uuid,
    pub created_at: DateTime<Utc>,
    /// False when you see metadata only (the bytes show names and faces: admins, officers in scope and
    /// the team's leader see them).
    pub content_visible: bool,
    /// Where the bytes are, when you may see them.
    pub links: Option<AttachmentLinks>,
}

impl AttachmentResponse {
    /// The response for `attachment`, with links when `visible`.
    pub fn new(attachment: &Attachment, blob: &Blob, visible: bool) -> Self {
        let (record_type, record_id) = match attachment.owner() {
            Owner::Session(id) => (crate::reference::AttachmentRecordType::TrainingSession, id),
            Owner::Activity(id) => (crate::reference::AttachmentRecordType::ReachActivity, id),
        };
        let base = format!("/api/v1/attachments/{}", attachment.id);
        Self {
            id: attachment.id,
            record_type,
            record_id,
            team_id: attachment.team_id,
            kind: attachment.kind.clone(),
            caption: attachment.caption.clone(),
            file_name: attachment.file_name.clone(),
            media_type: blob.media_type.clone(),
            bytes: blob.bytes,
            width: blob.width,
            height: blob.height,
            captured_at: blob.captured_at,
            sha256: blob.sha256.clone(),
            uploaded_by: attachment.uploaded_by,
            created_at: attachment.created_at,
            content_visible: visible,
            links: visible.then(|| AttachmentLinks {
                download: format!("{base}/content"),
                thumbnail: blob
                    .thumbnail_sha256
                    .as_ref()
                    .map(|_| format!("{base}/thumbnail")),
            }),
        }
    }
}

/// A record's team, its unit's path, status and date: what the rules need.
#[derive(Debug, Clone)]
pub struct RecordScope {
    pub team_id: Uuid,
    pub team_unit_path: String,
    pub status: RecordStatus,
    pub day: chrono::NaiveDate,
}

impl RecordScope {
    /// May `actor` add or remove the record's attachments? The record's own edit rules: its team's leader
    /// while the month is open, officers in scope, verified records only admins.
    fn check_changeable(&self, actor: &AuthUser, lock_days: u32) -> Result<(), AppError> {
        workflow::check_editable(
            actor,
            self.team_id,
            &self.team_unit_path,
            self.status,
            self.day,
            lock_days,
        )
    }
}

/// The record `owner` if `actor` sees it (404 otherwise, as for a record that does not exist).
pub fn visible_record(
    conn: &mut PgConnection,
    actor: &AuthUser,
    owner: Owner,
) -> Result<RecordScope, AppError> {
    Ok(match owner {
        Owner::Session(id) => {
            let found = sessions::find_visible(conn, actor, id)?;
            RecordScope {
                team_id: found.session.team_id,
                team_unit_path: found.team_unit_path,
                status: found.session.status,
                day: found.session.held_on,
            }
        }
        Owner::Activity(id) => {
            let found = activities::find_visible(conn, actor, id)?;
            RecordScope {
                team_id: found.activity.team_id,
                team_unit_path: found.team_unit_path,
                status: found.activity.status,
                day: found.activity.occurred_on,
            }
        }
    })
}

/// Saves a new upload, within its team's daily allowance of `quota` bytes counted `since` the day's
/// start (422 `upload_quota_exceeded` otherwise).
pub fn start_upload(
    conn: &mut PgConnection,
    new: &upload::NewUpload,
    quota: i64,
    since: DateTime<Utc>,
) -> Result<upload::Upload, AppError> {
    conn.transaction(|conn| {
        if let Some(team) = new.team_id {
            // One creation per team at a time, so two phones cannot both pass the check.
            upload::lock_team(conn, team)?;
            let used = upload::team_bytes_since(conn, team, since)?;
            if used + new.length > quota {
                let left = (quota - used).max(0);
                return Err(AppError::new(ErrorCode::UploadQuotaExceeded).with_detail(Text::new(
                    format!(
                        "The team may upload {quota} bytes a day; {left} are left today and this file has {}",
                        new.length
                    ),
                    format!(
                        "Tổ được tải {quota} byte mỗi ngày; hôm nay còn {left} byte, tệp này {} byte",
                        new.length
                    ),
                )));
            }
        }
        Ok(upload::insert(conn, new)?)
    })
}

/// The record's attachments as `actor` may see them.
pub fn list(
    conn: &mut PgConnection,
    actor: &AuthUser,
    owner: Owner,
) -> Result<Vec<AttachmentResponse>, AppError> {
    let scope = visible_record(conn, actor, owner)?;
    let visible = actor.sees_attachments_of(scope.team_id, &scope.team_unit_path);
    Ok(attachment::list(conn, owner)?
        .iter()
        .map(|(a, b)| AttachmentResponse::new(a, b, visible))
        .collect())
}

/// Attaches `request.upload_id` to `owner` (inside a transaction). `Ok((response, true))` when it was
/// attached now, `(.., false)` when this upload was already attached to this record the same way (a
/// retried request).
pub fn attach(
    conn: &mut PgConnection,
    actor: &AuthUser,
    owner: Owner,
    request: &AttachRequest,
    per_record: u32,
    lock_days: u32,
) -> Result<(AttachmentResponse, bool), AppError> {
    let mut errors = crate::domain::validation::FieldErrors::new();
    let kind = crate::reference::check_choice(&mut errors, "kind", Some(&request.kind));
    let caption = request
        .caption
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    errors.check_max_length("caption", caption.as_deref(), CAPTION_MAX);
    errors.finish()?;
    let kind = kind.map(|k| k.code().to_owned()).unwrap_or_default();
    conn.transaction(|conn| {
        lock_record(conn, owner)?;
        let scope = visible_record(conn, actor, owner)?;
        scope.check_changeable(actor, lock_days)?;
        attach_locked(
            conn,
            actor,
            owner,
            &scope,
            request.upload_id,
            &kind,
            caption,
            per_record,
        )
    })
}

/// Locks the record's row (attachments of one record are counted and added one at a time).
fn lock_record(conn: &mut PgConnection, owner: Owner) -> QueryResult<()> {
    match owner {
        Owner::Session(id) => training_sessions::table
            .find(id)
            .select(training_sessions::id)
            .for_update()
            .load::<Uuid>(conn)
            .map(drop),
        Owner::Activity(id) => reach_activities::table
            .find(id)
            .select(reach_activities::id)
            .for_update()
            .load::<Uuid>(conn)
            .map(drop),
    }
}

/// Attaches an upload to a record already checked and locked (also used by sync pushes).
#[expect(
    clippy::too_many_arguments,
    reason = "the checked record and the request's parts"
)]
pub fn attach_locked(
    conn: &mut PgConnection,
    actor: &AuthUser,
    owner: Owner,
    scope: &RecordScope,
    upload_id: Uuid,
    kind: &str,
    caption: Option<String>,
    per_record: u32,
) -> Result<(AttachmentResponse, bool), AppError> {
    let visible = actor.sees_attachments_of(scope.team_id, &scope.team_unit_path);
    let not_yours = || {
        AppError::validation(vec![FieldError::new(
            "upload_id",
            "unknown_upload",
            Text::new(
                "No finished upload of yours has this id",
                "Không có tệp tải lên hoàn tất nào của bạn với mã này",
            ),
        )])
    };
    let found = upload::find(conn, upload_id)
        .optional()?
        .filter(|u| u.uploader_id == actor.id)
        .ok_or_else(not_yours)?;
    if let Some(existing) = attachment::find_by_upload(conn, upload_id)? {
        if existing.owner() == owner && existing.kind == kind && existing.deleted_at.is_none() {
            let blob = upload::find_blob(conn, &existing.blob_sha256)?.ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("attachment without its file"))
            })?;
            return Ok((AttachmentResponse::new(&existing, &blob, visible), false));
        }
        return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
            "This upload is attached already; upload the file again to attach it elsewhere",
            "Tệp này đã được đính kèm; hãy tải lại để đính kèm nơi khác",
        )));
    }
    let Some(sha256) = found.blob_sha256.clone() else {
        return Err(AppError::new(ErrorCode::Conflict).with_detail(Text::new(
            format!(
                "The upload is not finished: {} of {} bytes arrived; send the rest first",
                found.received, found.length
            ),
            format!(
                "Tệp chưa tải xong: mới có {} trên {} byte",
                found.received, found.length
            ),
        )));
    };
    let count = attachment::count(conn, owner)?;
    if count >= i64::from(per_record) {
        return Err(AppError::validation(vec![FieldError::new(
            "upload_id",
            "too_many_attachments",
            Text::new(
                format!(
                    "A record may have at most {per_record} attachments (ATTACHMENTS_PER_RECORD)"
                ),
                format!("Mỗi bản ghi tối đa {per_record} tệp đính kèm"),
            ),
        )]));
    }
    let blob = upload::find_blob(conn, &sha256)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("finished upload without its file")))?;
    let created = attachment::insert(
        conn,
        &NewAttachment {
            id: Uuid::now_v7(),
            training_session_id: None,
            reach_activity_id: None,
            team_id: scope.team_id,
            upload_id,
            blob_sha256: sha256,
            kind: kind.to_owned(),
            caption,
            file_name: found.file_name.clone(),
            uploaded_by: actor.id,
        }
        .owned_by(owner),
    )?;
    audit::record(
        conn,
        &actor.audit_context(),
        NewAuditEvent {
            action: "attachment.created",
            entity_type: "attachment",
            entity_id: Some(created.id),
            org_unit_path: Some(scope.team_unit_path.clone()),
            changes: serde_json::json!({
                "record_id": owner.id(),
                "kind": kind,
                "sha256": blob.sha256,
                "bytes": blob.bytes,
            }),
        },
    )?;
    Ok((AttachmentResponse::new(&created, &blob, visible), true))
}

/// The attachment `id` with its record's scope, if `actor` sees the record.
pub fn find_visible(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
) -> Result<(Attachment, Blob, RecordScope), AppError> {
    let (found, blob) =
        attachment::find(conn, id)?.ok_or_else(|| AppError::not_found("attachment"))?;
    let scope = visible_record(conn, actor, found.owner())
        .map_err(|_| AppError::not_found("attachment"))?;
    Ok((found, blob, scope))
}

/// Deletes an attachment (its file goes after `ATTACHMENT_RETENTION_DAYS`).
pub fn delete(
    conn: &mut PgConnection,
    actor: &AuthUser,
    id: Uuid,
    lock_days: u32,
) -> Result<(), AppError> {
    conn.transaction(|conn| {
        let (found, _, scope) = find_visible(conn, actor, id)?;
        scope.check_changeable(actor, lock_days)?;
        if attachment::soft_delete(conn, found.id, actor.id)? {
            audit::record(
                conn,
                &actor.audit_context(),
                NewAuditEvent {
                    action: "attachment.deleted",
                    entity_type: "attachment",
                    entity_id: Some(found.id),
                    org_unit_path: Some(scope.team_unit_path),
                    changes: serde_json::json!({"record_id": found.owner().id(), "kind": found.kind}),
                },
            )?;
        }
        Ok(())
    })
}
