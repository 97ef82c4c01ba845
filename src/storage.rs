//! Where attachment files live: one interface ([`Storage`]) over `object_store`, with a local-disk
//! backend under `<CDT_DATA_DIR>/files` (the default) and an S3-compatible one for several instances
//! (`STORAGE_BACKEND=s3`).
//!
//! Keys: `blobs/<sha256>` for a stored file (content-addressed: the same bytes are stored once),
//! `thumbs/<sha256>` for an image's thumbnail, `uploads/<upload id>/<offset>` for the received parts of
//! an unfinished upload. Bytes are streamed both ways: [`Storage::put_file`] sends a local file (on the
//! local backend it is fsynced and renamed into place; to S3 it goes up in 5 MiB parts), and
//! [`Storage::get`] hands out a stream of a byte range.

use std::{
    io::{Read, Write},
    ops::Range,
    path::{Path, PathBuf},
    sync::Arc,
};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    GetOptions, GetRange, ObjectStore, WriteMultipart, aws::AmazonS3Builder,
    local::LocalFileSystem, path::Path as Key,
};
use secrecy::ExposeSecret;

use crate::config::StorageBackend;

/// Part size of uploads to S3 (its minimum for every part but the last).
const S3_PART: usize = 5 * 1024 * 1024;
/// Read size when streaming a local file.
const BLOCK: usize = 256 * 1024;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no stored object {0}")]
    NotFound(String),
    #[error("storage: {0}")]
    Store(#[from] object_store::Error),
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
}

/// A stored object's bytes: the range served, the object's whole size, and the stream.
pub struct Download {
    pub range: Range<u64>,
    pub size: u64,
    pub body: BoxStream<'static, Result<Bytes, StorageError>>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("range", &self.range)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The file store.
#[derive(Debug, Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// The local backend's root directory.
    local_root: Option<PathBuf>,
    /// Where files being received or processed are kept on this machine (on the local backend, inside
    /// its root, so that storing one is a rename).
    staging: PathBuf,
}

impl Storage {
    /// The store `backend` names; `data_dir` holds the local backend's files and the staging area.
    pub fn open(backend: &StorageBackend, data_dir: &Path) -> anyhow::Result<Self> {
        match backend {
            StorageBackend::Local => {
                let root = data_dir.join("files");
                let staging = root.join(".staging");
                std::fs::create_dir_all(&staging)?;
                Ok(Self {
                    store: Arc::new(LocalFileSystem::new_with_prefix(&root)?),
                    local_root: Some(root),
                    staging,
                })
            }
            StorageBackend::S3 {
                bucket,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
            } => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region(region);
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if let (Some(id), Some(secret)) = (access_key_id, secret_access_key) {
                    builder = builder
                        .with_access_key_id(id)
                        .with_secret_access_key(secret.expose_secret());
                }
                let staging = data_dir.join("upload-staging");
                std::fs::create_dir_all(&staging)?;
                Ok(Self {
                    store: Arc::new(builder.build()?),
                    local_root: None,
                    staging,
                })
            }
        }
    }

    /// `local` or `s3`, for logs and `/readyz`.
    pub fn backend_name(&self) -> &'static str {
        if self.local_root.is_some() {
            "local"
        } else {
            "s3"
        }
    }

    /// A new empty file in the staging area, removed when dropped unless kept.
    pub fn staging_file(&self) -> std::io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix("part-")
            .tempfile_in(&self.staging)
    }

    /// A fresh path in the staging area (nothing there yet).
    pub fn staging_path(&self) -> PathBuf {
        self.staging.join(format!("link-{}", uuid::Uuid::now_v7()))
    }

    /// Stores the file at `path` under `key` (replacing any object there). The file is consumed.
    pub async fn put_file(
        &self,
        key: &str,
        file: tempfile::NamedTempFile,
    ) -> Result<(), StorageError> {
        if let Some(root) = &self.local_root {
            let target = root.join(key);
            return actix_web::rt::task::spawn_blocking(move || -> Result<(), StorageError> {
                file.as_file().sync_all()?;
                let dir = target.parent().unwrap_or(Path::new("/"));
                std::fs::create_dir_all(dir)?;
                file.persist(&target).map_err(|e| e.error)?;
                std::fs::File::open(dir)?.sync_all()?;
                Ok(())
            })
            .await
            .map_err(|e| StorageError::Io(std::io::Error::other(e)))?;
        }
        let upload = self.store.put_multipart(&Key::from(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, S3_PART);
        let mut source = file.reopen()?;
        let mut buf = vec![0u8; BLOCK];
        loop {
            // Local disk reads of 256 KiB: short enough for the async thread.
            let n = source.read(&mut buf)?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(2).await?;
            writer.write(&buf[..n]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// The size of the object at `key`, if there is one.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, StorageError> {
        match self.store.head(&Key::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// The bytes of `key` in `range` (all of them without one).
    pub async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<Download, StorageError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = match self.store.get_opts(&Key::from(key), options).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StorageError::NotFound(key.to_owned()));
            }
            Err(error) => return Err(error.into()),
        };
        Ok(Download {
            range: result.range.clone(),
            size: result.meta.size,
            body: result.into_stream().map_err(StorageError::from).boxed(),
        })
    }

    /// Writes the object at `key` to `out`, a block at a time.
    pub async fn copy_to<W: Write>(&self, key: &str, out: &mut W) -> Result<u64, StorageError> {
        let mut download = self.get(key, None).await?;
        let mut total = 0;
        while let Some(block) = download.body.next().await {
            let block = block?;
            out.write_all(&block)?;
            total += block.len() as u64;
        }
        Ok(total)
    }

    /// The local file of `key` when the backend is the local disk.
    pub fn local_path(&self, key: &str) -> Option<PathBuf> {
        self.local_root.as_ref().map(|root| root.join(key))
    }

    /// Removes `key`; a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Removes every object under `prefix` (a directory-like key ending without `/`).
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        let keys: Vec<Key> = self
            .store
            .list(Some(&Key::from(prefix)))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        for key in keys {
            self.delete(key.as_ref()).await?;
        }
        if let Some(root) = &self.local_root {
            // The local backend leaves the emptied directory.
            let _ = std::fs::remove_dir(root.join(prefix));
        }
        Ok(())
    }
}

/// The key of a stored file.
pub fn blob_key(sha256: &str) -> String {
    format!("blobs/{}/{sha256}", &sha256[..2.min(sha256.len())])
}

/// The key of an image's thumbnail.
pub fn thumbnail_key(sha256: &str) -> String {
    format!("thumbs/{}/{sha256}", &sha256[..2.min(sha256.len())])
}

/// Where the parts of upload `id` are kept.
pub fn parts_prefix(id: uuid::Uuid) -> String {
    format!("uploads/{id}")
}

/// The key of the part of upload `id` starting at `offset`.
pub fn part_key(id: uuid::Uuid, offset: i64) -> String {
    format!("{}/{offset:020}", parts_prefix(id))
}
