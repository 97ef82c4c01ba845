//! WebP: RIFF chunks are copied except `EXIF` (whose capture time is kept apart) and `XMP `; the
//! extended header's flags for them are cleared and the RIFF size corrected at the end.

use std::io::{Read, Seek, SeekFrom, Write};

use super::{Findings, MediaError, MediaType, copy_exact, exif, read_exact, read_vec, skip_exact};

const WEBP: MediaType = MediaType::Webp;
const EXIF_READ_LIMIT: u32 = 256 * 1024;
/// `VP8X` flag bits.
const FLAG_EXIF: u8 = 0x08;
const FLAG_XMP: u8 = 0x04;

pub(super) fn clean<R: Read, W: Write + Seek>(
    input: &mut R,
    output: &mut W,
) -> Result<Findings, MediaError> {
    let mut findings = Findings::default();
    let mut header = [0u8; 12];
    read_exact(input, &mut header, WEBP)?;
    if &header[0..4] != b"RIFF" || &header[8..12] != b"WEBP" {
        return Err(MediaError::malformed(WEBP, "no RIFF WEBP header"));
    }
    let declared = u64::from(u32::from_le_bytes([
        header[4], header[5], header[6], header[7],
    ]));
    output.write_all(&header)?;
    // Bytes of the RIFF body after "WEBP".
    let mut left = declared
        .checked_sub(4)
        .ok_or_else(|| MediaError::malformed(WEBP, "a RIFF size below 4"))?;
    let mut written: u64 = 4;
    while left >= 8 {
        let mut chunk = [0u8; 8];
        read_exact(input, &mut chunk, WEBP)?;
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        let padded = u64::from(size) + u64::from(size & 1);
        left = left
            .checked_sub(8 + padded)
            .ok_or_else(|| MediaError::malformed(WEBP, "a chunk runs past the RIFF size"))?;
        match &chunk[0..4] {
            b"EXIF" => {
                findings.removed += 1;
                if size <= EXIF_READ_LIMIT {
                    let data = read_vec(input, padded as usize, WEBP)?;
                    let tiff = data.strip_prefix(b"Exif\0\0").unwrap_or(&data);
                    findings.captured_at = exif::read(tiff).captured_at;
                } else {
                    skip_exact(input, padded, WEBP)?;
                }
            }
            b"XMP " => {
                findings.removed += 1;
                skip_exact(input, padded, WEBP)?;
            }
            b"VP8X" if size >= 10 => {
                let mut data = read_vec(input, padded as usize, WEBP)?;
                data[0] &= !(FLAG_EXIF | FLAG_XMP);
                findings.width = Some(1 + u32::from_le_bytes([data[4], data[5], data[6], 0]));
                findings.height = Some(1 + u32::from_le_bytes([data[7], data[8], data[9], 0]));
                output.write_all(&chunk)?;
                output.write_all(&data)?;
                written += 8 + padded;
            }
            _ => {
                output.write_all(&chunk)?;
                copy_exact(input, output, padded, WEBP)?;
                written += 8 + padded;
            }
        }
    }
    let size = u32::try_from(written)
        .map_err(|_| MediaError::malformed(WEBP, "larger than a RIFF file can be"))?;
    output.seek(SeekFrom::Start(4))?;
    output.write_all(&size.to_le_bytes())?;
    output.seek(SeekFrom::End(0))?;
    Ok(findings)
}
