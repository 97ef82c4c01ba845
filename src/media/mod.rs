//! What an attachment's bytes are, and making them safe to keep: the type is recognised from the bytes
//! (never from a client's `Content-Type` or file name), image metadata (EXIF with GPS positions and
//! device serials, XMP, IPTC, comments, text chunks) is removed while the bytes stream through, the
//! capture time is kept apart, and images get a small JPEG rendition ([`thumbnail`]).
//!
//! Everything here works on readers and writers a block at a time: a 15 MiB photo is never held whole
//! in memory (only a metadata segment, at most 64 KiB for JPEG, is read to find the capture time).

mod exif;
mod jpeg;
mod png;
pub mod thumbnail;
mod webp;

use std::io::{self, Read, Seek, Write};

use chrono::NaiveDateTime;

/// The file types an attachment may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Jpeg,
    Png,
    Webp,
    Pdf,
}

/// How many leading bytes [`MediaType::sniff`] needs.
pub const SNIFF_BYTES: usize = 12;

impl MediaType {
    /// Every accepted type.
    pub const ALL: [Self; 4] = [Self::Jpeg, Self::Png, Self::Webp, Self::Pdf];

    /// The type whose signature `head` (the file's first bytes, at least [`SNIFF_BYTES`] of them when
    /// the file is that long) starts with.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if head.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else {
            None
        }
    }

    /// The media type name.
    pub const fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Pdf => "application/pdf",
        }
    }

    /// The type with this media type name.
    pub fn from_mime(mime: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.mime() == mime)
    }

    /// The usual file name extension.
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Pdf => "pdf",
        }
    }

    /// True for photos and scans (which get a thumbnail and have their metadata removed).
    pub const fn is_image(self) -> bool {
        !matches!(self, Self::Pdf)
    }
}

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The bytes are none of the accepted types.
    #[error("the file is not a JPEG, PNG, WebP or PDF")]
    Unsupported,
    /// The bytes start like an accepted type but are not a well-formed file of it.
    #[error("the file is not a well-formed {0}: {1}")]
    Malformed(&'static str, String),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl MediaError {
    fn malformed(media: MediaType, why: impl Into<String>) -> Self {
        Self::Malformed(media.mime(), why.into())
    }
}

/// What [`clean`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Pixel size, when the format states it up front.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// When the photo was taken (EXIF `DateTimeOriginal`, the camera's local time).
    pub captured_at: Option<NaiveDateTime>,
    /// EXIF orientation (1-8), kept in the cleaned file (and applied to the thumbnail).
    pub orientation: Option<u16>,
    /// Metadata blocks removed.
    pub removed: u32,
}

/// Copies `input` (a whole file of type `media`) to `output` without its metadata. PDFs are copied as
/// they are. `output` must be empty and seekable (a WebP's size field is corrected at the end).
pub fn clean<R: Read, W: Write + Seek>(
    media: MediaType,
    input: R,
    output: &mut W,
) -> Result<Findings, MediaError> {
    let mut input = io::BufReader::with_capacity(64 * 1024, input);
    match media {
        MediaType::Jpeg => jpeg::clean(&mut input, output),
        MediaType::Png => png::clean(&mut input, output),
        MediaType::Webp => webp::clean(&mut input, output),
        MediaType::Pdf => {
            io::copy(&mut input, output)?;
            Ok(Findings::default())
        }
    }
}

/// Reads exactly `n` bytes into a new buffer, or a [`MediaError::Malformed`] when the file ends first.
fn read_vec<R: Read>(input: &mut R, n: usize, media: MediaType) -> Result<Vec<u8>, MediaError> {
    let mut buf = vec![0; n];
    read_exact(input, &mut buf, media)?;
    Ok(buf)
}

fn read_exact<R: Read>(input: &mut R, buf: &mut [u8], media: MediaType) -> Result<(), MediaError> {
    input.read_exact(buf).map_err(|error| {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            MediaError::malformed(media, "the file ends in the middle of a block")
        } else {
            MediaError::Io(error)
        }
    })
}

/// Copies exactly `n` bytes, or a [`MediaError::Malformed`] when the file ends first.
fn copy_exact<R: Read, W: Write>(
    input: &mut R,
    output: &mut W,
    n: u64,
    media: MediaType,
) -> Result<(), MediaError> {
    let copied = io::copy(&mut input.take(n), output)?;
    if copied == n {
        Ok(())
    } else {
        Err(MediaError::malformed(
            media,
            "the file ends in the middle of a block",
        ))
    }
}

/// Skips exactly `n` bytes.
fn skip_exact<R: Read>(input: &mut R, n: u64, media: MediaType) -> Result<(), MediaError> {
    copy_exact(input, &mut io::sink(), n, media)
}

#[cfg(test)]
mod tests;
