//! The two EXIF facts kept from a photo: when it was taken and which way up it is. Read with
//! `kamadak-exif` from the TIFF structure of an EXIF block; a block that does not parse yields nothing
//! (it is removed either way).

use chrono::NaiveDateTime;

/// What an EXIF block said.
#[derive(Debug, Default)]
pub(super) struct Found {
    pub captured_at: Option<NaiveDateTime>,
    pub orientation: Option<u16>,
}

/// Reads a TIFF-structured EXIF block (after any `Exif\0\0` prefix).
pub(super) fn read(tiff: &[u8]) -> Found {
    let Ok(data) = ::exif::Reader::new().read_raw(tiff.to_vec()) else {
        return Found::default();
    };
    let field = |tag| data.get_field(tag, ::exif::In::PRIMARY);
    let captured_at = [::exif::Tag::DateTimeOriginal, ::exif::Tag::DateTime]
        .into_iter()
        .find_map(|tag| match &field(tag)?.value {
            ::exif::Value::Ascii(values) => {
                let text = std::str::from_utf8(values.first()?).ok()?;
                NaiveDateTime::parse_from_str(text.trim_end_matches('\0'), "%Y:%m:%d %H:%M:%S").ok()
            }
            _ => None,
        });
    let orientation = field(::exif::Tag::Orientation)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|o| u16::try_from(o).ok());
    Found {
        captured_at,
        orientation,
    }
}

/// A minimal EXIF block (`Exif\0\0` and a big-endian TIFF structure) holding only `Orientation`.
pub(super) fn orientation_only(orientation: u16) -> Vec<u8> {
    let mut block = Vec::with_capacity(32);
    block.extend_from_slice(b"Exif\0\0");
    // TIFF header: big-endian, 42, first IFD at offset 8.
    block.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
    // One entry: tag 0x0112, type SHORT (3), count 1, value left-aligned in 4 bytes.
    block.extend_from_slice(&1u16.to_be_bytes());
    block.extend_from_slice(&0x0112u16.to_be_bytes());
    block.extend_from_slice(&3u16.to_be_bytes());
    block.extend_from_slice(&1u32.to_be_bytes());
    block.extend_from_slice(&orientation.to_be_bytes());
    block.extend_from_slice(&[0, 0]);
    // No next IFD.
    block.extend_from_slice(&0u32.to_be_bytes());
    block
}
