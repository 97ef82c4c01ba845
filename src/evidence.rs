//! Evidence files: receiving tus upload parts, turning a complete upload into a stored file (type
//! recognised from the bytes, metadata removed, thumbnail made, stored once per content), and the
//! clean-up job (expired uploads, deleted attachments past their retention, unused files).
//!
//! HTTP lives in `routes::uploads` and `routes::attachments`; the bytes' formats in [`crate::media`];
//! where bytes are kept in [`crate::storage`].

use std::{
    io::{Read, Seek, Write},
    sync::Arc,
    time::Duration,
};

use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    config::{AttachmentConfig, Settings},
    db::Db,
    error::{AppError, ErrorCode, FieldError, Text},
    media::{MediaError, MediaType, SNIFF_BYTES, thumbnail},
    models::{
        attachment,
        upload::{self, Blob, Upload},
    },
    storage::{self, Storage, StorageError},
};

/// How long an unused stored file is kept after it was last stored (an upload of the same bytes may be
/// finishing).
const UNUSED_GRACE: Duration = Duration::from_secs(3600);
/// How often the clean-up runs.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// The evidence service, shared by every worker.
#[derive(Debug)]
pub struct Evidence {
    pub storage: Storage,
    pub config: AttachmentConfig,
    /// One thumbnail is rendered at a time per instance: decoding is the one step whose memory grows
    /// with the picture, so uploads running together do not add up.
    thumbnails: tokio::sync::Semaphore,
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> Self {
        AppError::new(ErrorCode::DatabaseUnavailable)
            .with_detail(Text::new(
                "The file store is unavailable; retry shortly. Nothing was lost.",
                "Kho tệp tạm thời không truy cập được; thử lại sau.",
            ))
            .with_retry_after(5)
            .with_source(error)
    }
}

/// A media problem as the client's problem.
pub fn media_refusal(error: MediaError) -> AppError {
    match error {
        MediaError::Unsupported => AppError::new(ErrorCode::UnsupportedMediaType).with_detail(Text::new(
            "The file's bytes are not a JPEG, PNG, WebP or PDF (whatever its name or Content-Type says)",
            "Nội dung tệp không phải JPEG, PNG, WebP hay PDF (dù tên hay Content-Type nói gì)",
        )),
        MediaError::Malformed(media, why) => AppError::validation(vec![FieldError::new(
            "file",
            "malformed_file",
            Text::new(
                format!("The file starts like a {media} but is not a well-formed one: {why}"),
                format!("Tệp có dạng {media} nhưng bị hỏng: {why}"),
            ),
        )]),
        MediaError::Io(error) => AppError::internal(error),
    }
}

impl Evidence {
    /// Opens the configured store.
    pub fn open(settings: &Settings) -> anyhow::Result<Self> {
        Ok(Self {
            storage: Storage::open(&settings.attachments.backend, &settings.data_dir)?,
            config: settings.attachments.clone(),
            thumbnails: tokio::sync::Semaphore::new(1),
        })
    }

    /// Stores `file` (the `len` bytes received from `from` on) as the next part of upload `id`.
    /// Returns the new offset, or 409 when another request moved the upload meanwhile.
    pub async fn store_part(
        &self,
        db: &Db,
        id: Uuid,
        from: i64,
        file: tempfile::NamedTempFile,
        len: i64,
    ) -> Result<i64, AppError> {
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
        let key = format!(
            "{}-{}",
            storage::part_key(id, from),
            crate::secret_file::hex(&random)
        );
        self.storage.put_file(&key, file).await?;
        let to = from + len;
        let stored = {
            let key = key.clone();
            db.run(move |conn| Ok(upload::append_part(conn, id, from, to, &key)?))
                .await
        };
        match stored {
            Ok(true) => Ok(to),
            Ok(false) => {
                self.storage.delete(&key).await?;
                Err(offset_moved())
            }
            Err(error) => {
                let _ = self.storage.delete(&key).await;
                Err(error)
            }
        }
    }

    /// Makes the complete upload a stored file: checks its type from the bytes, removes image
    /// metadata, renders the thumbnail, stores both once per content, marks the upload finished and
    /// removes its parts. A refused file (415, 422) removes the upload.
    pub async fn finish(
        &self,
        db: &Db,
        upload: Upload,
        whole_digest: Option<String>,
    ) -> Result<Upload, AppError> {
        let parts = upload.part_keys();
        let started = std::time::Instant::now();
        let processed = match self.process(&parts, whole_digest).await {
            Ok(processed) => processed,
            Err(error @ (MediaError::Unsupported | MediaError::Malformed(..))) => {
                self.remove_upload(db, &upload).await?;
                return Err(media_refusal(error));
            }
            Err(MediaError::Io(error)) => return Err(AppError::internal(error)),
        };
        let Processed {
            blob,
            file,
            thumbnail_file,
        } = processed;
        let processed_in = started.elapsed();
        let expires =
            Utc::now() + chrono::TimeDelta::from_std(self.config.upload_expiry).unwrap_or_default();
        let (finished, stored) = {
            let blob = blob.clone();
            db.run(move |conn| {
                use diesel::Connection;
                conn.transaction(|conn| {
                    let stored = upload::upsert_blob(conn, &blob)?;
                    let finished = upload::finish(conn, upload.id, &blob.sha256, expires)?;
                    Ok::<_, AppError>((finished, stored))
                })
            })
            .await?
        };
        let recorded_in = started.elapsed();
        // The row comes first: from then on nothing removes the file, and it is stored if missing (also
        // when the same bytes were stored before, or a clean-up removed them a moment ago).
        let key = storage::blob_key(&stored.sha256);
        if self.storage.size(&key).await? != Some(stored.bytes as u64) {
            self.storage.put_file(&key, file).await?;
        }
        if let (Some(sha), Some(thumb)) = (&stored.thumbnail_sha256, thumbnail_file) {
            let key = storage::thumbnail_key(sha);
            if self.storage.size(&key).await?.is_none() {
                self.storage.put_file(&key, thumb).await?;
            }
        }
        let stored_in = started.elapsed();
        self.storage
            .delete_prefix(&storage::parts_prefix(finished.id))
            .await?;
        tracing::debug!(
            upload = %finished.id,
            bytes = stored.bytes,
            processed_ms = processed_in.as_secs_f64() * 1e3,
            recorded_ms = recorded_in.as_secs_f64() * 1e3,
            stored_ms = stored_in.as_secs_f64() * 1e3,
            done_ms = started.elapsed().as_secs_f64() * 1e3,
            "upload finished"
        );
        Ok(finished)
    }

    /// Reads the parts in order through the cleaner into a staging file.
    async fn process(
        &self,
        parts: &[String],
        whole_digest: Option<String>,
    ) -> Result<Processed, MediaError> {
        if let Some(processed) = self.stored_as_received(parts, whole_digest).await? {
            return Ok(processed);
        }
        // The whole upload as one reader: the local parts chained, or S3's fetched into one file.
        let reader: Box<dyn Read + Send> = if let Some(paths) = parts
            .iter()
            .map(|key| self.storage.local_path(key))
            .collect::<Option<Vec<_>>>()
        {
            let mut chained: Box<dyn Read + Send> = Box::new(std::io::empty());
            for path in paths {
                chained = Box::new(chained.chain(std::fs::File::open(path)?));
            }
            chained
        } else {
            let mut whole = self.storage.staging_file()?;
            for key in parts {
                self.storage
                    .copy_to(key, whole.as_file_mut())
                    .await
                    .map_err(|e| MediaError::Io(std::io::Error::other(e)))?;
            }
            let mut file = whole.reopen()?;
            file.rewind()?;
            // The staging file is removed once read (its handle stays valid until then).
            drop(whole);
            Box::new(file)
        };
        let output = self.storage.staging_file()?;
        let thumb_output = self.storage.staging_file()?;
        let cleaned = actix_web::web::block(move || clean_and_hash(reader, output))
            .await
            .map_err(|e| MediaError::Io(std::io::Error::other(e)))??;
        let CleanedFile {
            media,
            findings,
            sha256,
            bytes,
            file,
        } = cleaned;
        let mut blob = Blob {
            sha256,
            media_type: media.mime().to_owned(),
            bytes: bytes as i64,
            width: findings.width.and_then(|w| i32::try_from(w).ok()),
            height: findings.height.and_then(|h| i32::try_from(h).ok()),
            captured_at: findings.captured_at,
            thumbnail_sha256: None,
            thumbnail_bytes: None,
            created_at: Utc::now(),
        };
        let mut thumbnail_file = None;
        if media.is_image() {
            let _permit = self.thumbnails.acquire().await;
            let path = file.path().to_owned();
            let orientation = findings.orientation;
            let (rendered, thumb) = actix_web::web::block(move || {
                let mut thumb = thumb_output;
                let rendered = thumbnail::render(media, &path, orientation, thumb.as_file_mut())?;
                Ok::<_, MediaError>((rendered, thumb))
            })
            .await
            .map_err(|e| MediaError::Io(std::io::Error::other(e)))??;
            let (sha, len) = hash_file(thumb.reopen()?)?;
            blob.thumbnail_sha256 = Some(sha);
            blob.thumbnail_bytes = Some(len as i64);
            blob.width = Some(rendered.source_width as i32);
            blob.height = Some(rendered.source_height as i32);
            thumbnail_file = Some(thumb);
        }
        Ok(Processed {
            blob,
            file,
            thumbnail_file,
        })
    }

    /// A PDF received in one part on the local disk is kept as it arrived: its hash taken while it
    /// arrived (or read where it lies) and the part linked into the staging area (a hard link, so the part stays until the upload is finished),
    /// instead of copied through the cleaner, which would write its bytes a second time.
    async fn stored_as_received(
        &self,
        parts: &[String],
        digest: Option<String>,
    ) -> Result<Option<Processed>, MediaError> {
        let [part] = parts else {
            return Ok(None);
        };
        let Some(path) = self.storage.local_path(part) else {
            return Ok(None);
        };
        let link = self.storage.staging_path();
        let linked = actix_web::web::block(move || -> Result<Option<_>, MediaError> {
            let mut head = Vec::with_capacity(SNIFF_BYTES);
            std::fs::File::open(&path)?
                .take(SNIFF_BYTES as u64)
                .read_to_end(&mut head)?;
            if MediaType::sniff(&head) != Some(MediaType::Pdf) {
                return Ok(None);
            }
            std::fs::hard_link(&path, &link)?;
            let file = tempfile::NamedTempFile::from_parts(
                std::fs::File::open(&link)?,
                tempfile::TempPath::try_from_path(&link)?,
            );
            // The hash taken while the one body arrived, or read again.
            let (sha256, bytes) = match digest {
                Some(digest) => (digest, file.as_file().metadata()?.len()),
                None => hash_file(file.reopen()?)?,
            };
            Ok(Some((file, sha256, bytes)))
        })
        .await
        .map_err(|e| MediaError::Io(std::io::Error::other(e)))??;
        Ok(linked.map(|(file, sha256, bytes)| Processed {
            blob: Blob {
                sha256,
                media_type: MediaType::Pdf.mime().to_owned(),
                bytes: bytes as i64,
                width: None,
                height: None,
                captured_at: None,
                thumbnail_sha256: None,
                thumbnail_bytes: None,
                created_at: Utc::now(),
            },
            file,
            thumbnail_file: None,
        }))
    }

    /// Removes an upload's row and parts.
    pub async fn remove_upload(&self, db: &Db, upload: &Upload) -> Result<(), AppError> {
        let id = upload.id;
        db.run(move |conn| Ok(upload::delete(conn, id)?)).await?;
        self.storage
            .delete_prefix(&storage::parts_prefix(id))
            .await?;
        Ok(())
    }
}

/// One round of clean-up on `conn`, with `runtime` for the store: expired uploads, attachments past
/// their retention, unused files. Runs on its own thread ([`spawn_purge`]).
pub fn purge(
    evidence: &Evidence,
    conn: &mut diesel::PgConnection,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<PurgeCounts> {
    use diesel::Connection;
    let mut counts = PurgeCounts::default();
    for row in upload::expired(conn, Utc::now(), 500)? {
        upload::delete(conn, row.id)?;
        runtime.block_on(
            evidence
                .storage
                .delete_prefix(&storage::parts_prefix(row.id)),
        )?;
        counts.uploads += 1;
    }
    let before =
        Utc::now() - chrono::TimeDelta::from_std(evidence.config.retention).unwrap_or_default();
    counts.attachments = attachment::purge_deleted(conn, before, 500)?;
    loop {
        // The files are removed before the transaction that removes their rows commits, under the
        // rows' locks: an upload of the same bytes finishing meanwhile waits for the commit, then
        // finds the file missing and stores it again. A file is never missing under a row.
        let removed = conn.transaction(|conn| -> anyhow::Result<usize> {
            let blobs = upload::take_unused_blobs(conn, UNUSED_GRACE, 100)?;
            for blob in &blobs {
                runtime.block_on(evidence.storage.delete(&storage::blob_key(&blob.sha256)))?;
                if let Some(thumb) = &blob.thumbnail_sha256 {
                    runtime.block_on(evidence.storage.delete(&storage::thumbnail_key(thumb)))?;
                }
            }
            Ok(blobs.len())
        })?;
        counts.files += removed;
        if removed < 100 {
            break;
        }
    }
    Ok(counts)
}

/// What one clean-up round removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PurgeCounts {
    pub uploads: usize,
    pub attachments: usize,
    pub files: usize,
}

/// Starts the clean-up thread: a round at start and every ten minutes.
pub fn spawn_purge(db: Db, evidence: Arc<Evidence>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("evidence-purge".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    tracing::error!(%error, "evidence clean-up cannot start");
                    return;
                }
            };
            loop {
                let round = db
                    .blocking_connection()
                    .and_then(|mut conn| purge(&evidence, &mut conn, &runtime));
                match round {
                    Ok(counts) if counts != PurgeCounts::default() => {
                        tracing::info!(?counts, "evidence clean-up");
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(error = %format!("{error:#}"), "evidence clean-up failed")
                    }
                }
                std::thread::sleep(PURGE_EVERY);
            }
        })
        .map(drop)
}

struct Processed {
    blob: Blob,
    file: tempfile::NamedTempFile,
    thumbnail_file: Option<tempfile::NamedTempFile>,
}

struct CleanedFile {
    media: MediaType,
    findings: crate::media::Findings,
    sha256: String,
    bytes: u64,
    file: tempfile::NamedTempFile,
}

fn clean_and_hash(
    mut reader: Box<dyn Read + Send>,
    mut output: tempfile::NamedTempFile,
) -> Result<CleanedFile, MediaError> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    reader
        .by_ref()
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    let media = MediaType::sniff(&head).ok_or(MediaError::Unsupported)?;
    let input = std::io::Cursor::new(head).chain(reader);
    let findings = {
        let mut writer = std::io::BufWriter::with_capacity(256 * 1024, output.as_file_mut());
        let findings = crate::media::clean(media, input, &mut writer)?;
        writer.flush()?;
        findings
    };
    let (sha256, bytes) = hash_file(output.reopen()?)?;
    Ok(CleanedFile {
        media,
        findings,
        sha256,
        bytes,
        file: output,
    })
}

/// The SHA-256 (hex) and length of a file, read a block at a time.
fn hash_file(mut file: std::fs::File) -> std::io::Result<(String, u64)> {
    file.rewind()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((crate::secret_file::hex(&hasher.finalize()), total))
}

/// 409 for a part that arrived after another moved the upload.
pub fn offset_moved() -> AppError {
    AppError::new(ErrorCode::UploadOffsetMismatch).with_detail(Text::new(
        "Another request added bytes to this upload meanwhile; send HEAD and continue from its Upload-Offset",
        "Một yêu cầu khác đã ghi tiếp tệp này; hãy gửi HEAD và tải tiếp từ Upload-Offset",
    ))
}

impl crate::media::MediaType {
    /// The type of a stored file's `media_type`.
    pub fn of_blob(blob: &Blob) -> Option<Self> {
        Self::from_mime(&blob.media_type)
    }
}
