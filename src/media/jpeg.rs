//! JPEG: the segments before the image data are copied except metadata (`APP1` EXIF and XMP, `APP3`-
//! `APP13`, `APP15`, comments); `APP0` (JFIF), `APP2` ICC colour profiles and `APP14` (Adobe colour
//! transform) stay, since the picture depends on them. An EXIF orientation other than "upright" is
//! written back as a minimal EXIF block holding that one tag, so the photo still shows the right way up.
//! From the start of scan on, the bytes are copied as they are.

use std::io::{self, Read, Write};

use super::{Findings, MediaError, MediaType, copy_exact, exif, read_exact, read_vec, skip_exact};

const JPEG: MediaType = MediaType::Jpeg;

pub(super) fn clean<R: Read, W: Write>(
    input: &mut R,
    output: &mut W,
) -> Result<Findings, MediaError> {
    let mut findings = Findings::default();
    let mut soi = [0u8; 2];
    read_exact(input, &mut soi, JPEG)?;
    if soi != [0xFF, 0xD8] {
        return Err(MediaError::malformed(JPEG, "no start-of-image marker"));
    }
    output.write_all(&soi)?;
    loop {
        let marker = next_marker(input)?;
        // Markers without a length.
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            output.write_all(&[0xFF, marker])?;
            continue;
        }
        if marker == 0xD9 {
            output.write_all(&[0xFF, marker])?;
            return Ok(findings);
        }
        let mut length = [0u8; 2];
        read_exact(input, &mut length, JPEG)?;
        let length = u16::from_be_bytes(length);
        if length < 2 {
            return Err(MediaError::malformed(JPEG, "a segment length below 2"));
        }
        let payload = u64::from(length - 2);
        match marker {
            0xDA => {
                // Start of scan: everything from here is image data (and the markers between scans).
                output.write_all(&[0xFF, marker])?;
                output.write_all(&length.to_be_bytes())?;
                copy_exact(input, output, payload, JPEG)?;
                io::copy(input, output)?;
                return Ok(findings);
            }
            0xE1 => {
                let data = read_vec(input, payload as usize, JPEG)?;
                findings.removed += 1;
                if let Some(tiff) = data.strip_prefix(b"Exif\0\0") {
                    let found = exif::read(tiff);
                    findings.captured_at = findings.captured_at.or(found.captured_at);
                    if let Some(orientation) = found.orientation.filter(|o| (2..=8).contains(o)) {
                        findings.orientation = Some(orientation);
                        let block = exif::orientation_only(orientation);
                        output.write_all(&[0xFF, 0xE1])?;
                        output.write_all(&((block.len() + 2) as u16).to_be_bytes())?;
                        output.write_all(&block)?;
                    }
                }
            }
            0xE0 | 0xE2 | 0xEE => {
                // JFIF, ICC profile, Adobe: kept, except an APP2 that is not a colour profile.
                let data = read_vec(input, payload as usize, JPEG)?;
                if marker == 0xE2 && !data.starts_with(b"ICC_PROFILE\0") {
                    findings.removed += 1;
                } else {
                    output.write_all(&[0xFF, marker])?;
                    output.write_all(&length.to_be_bytes())?;
                    output.write_all(&data)?;
                }
            }
            0xE3..=0xEF | 0xFE => {
                findings.removed += 1;
                skip_exact(input, payload, JPEG)?;
            }
            _ => {
                let data = read_vec(input, payload as usize, JPEG)?;
                // Start of frame (not DHT C4, JPG C8, DAC CC): precision, height, width.
                if (0xC0..=0xCF).contains(&marker)
                    && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
                    && data.len() >= 5
                {
                    findings.height = Some(u32::from(u16::from_be_bytes([data[1], data[2]])));
                    findings.width = Some(u32::from(u16::from_be_bytes([data[3], data[4]])));
                }
                output.write_all(&[0xFF, marker])?;
                output.write_all(&length.to_be_bytes())?;
                output.write_all(&data)?;
            }
        }
    }
}

/// The next marker code, skipping fill bytes (`0xFF` repeated).
fn next_marker<R: Read>(input: &mut R) -> Result<u8, MediaError> {
    let mut byte = [0u8; 1];
    read_exact(input, &mut byte, JPEG)?;
    if byte[0] != 0xFF {
        return Err(MediaError::malformed(
            JPEG,
            "a segment does not start with a marker",
        ));
    }
    loop {
        read_exact(input, &mut byte, JPEG)?;
        if byte[0] != 0xFF {
            return Ok(byte[0]);
        }
    }
}
