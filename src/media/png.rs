//! PNG: chunks are copied except the text and time ones (`tEXt`, `zTXt`, `iTXt`, `tIME`) and `eXIf`,
//! whose capture time is kept apart. Copying stops after `IEND`.

use std::io::{Read, Write};

use super::{Findings, MediaError, MediaType, copy_exact, exif, read_exact, read_vec, skip_exact};

const PNG: MediaType = MediaType::Png;
/// An `eXIf` chunk larger than this is removed without being read.
const EXIF_READ_LIMIT: u32 = 256 * 1024;

pub(super) fn clean<R: Read, W: Write>(
    input: &mut R,
    output: &mut W,
) -> Result<Findings, MediaError> {
    let mut findings = Findings::default();
    let mut signature = [0u8; 8];
    read_exact(input, &mut signature, PNG)?;
    if &signature != b"\x89PNG\r\n\x1a\n" {
        return Err(MediaError::malformed(PNG, "no PNG signature"));
    }
    output.write_all(&signature)?;
    loop {
        let mut header = [0u8; 8];
        read_exact(input, &mut header, PNG)?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if length > 0x7FFF_FFFF {
            return Err(MediaError::malformed(PNG, "a chunk length above 2^31"));
        }
        let kind = [header[4], header[5], header[6], header[7]];
        // Data and CRC.
        let rest = u64::from(length) + 4;
        match &kind {
            b"tEXt" | b"zTXt" | b"iTXt" | b"tIME" => {
                findings.removed += 1;
                skip_exact(input, rest, PNG)?;
            }
            b"eXIf" => {
                findings.removed += 1;
                if length <= EXIF_READ_LIMIT {
                    let data = read_vec(input, length as usize, PNG)?;
                    findings.captured_at = exif::read(&data).captured_at;
                    skip_exact(input, 4, PNG)?;
                } else {
                    skip_exact(input, rest, PNG)?;
                }
            }
            b"IHDR" => {
                let data = read_vec(input, rest as usize, PNG)?;
                if data.len() >= 8 {
                    findings.width = Some(u32::from_be_bytes([data[0], data[1], data[2], data[3]]));
                    findings.height =
                        Some(u32::from_be_bytes([data[4], data[5], data[6], data[7]]));
                }
                output.write_all(&header)?;
                output.write_all(&data)?;
            }
            _ => {
                output.write_all(&header)?;
                copy_exact(input, output, rest, PNG)?;
                if &kind == b"IEND" {
                    return Ok(findings);
                }
            }
        }
    }
}
