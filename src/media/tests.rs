use std::io::Cursor;

use image::ImageEncoder;

use super::*;

/// A small JPEG (an 64x48 gradient).
pub fn sample_jpeg() -> Vec<u8> {
    let image =
        image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 128]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&image)
        .unwrap();
    out
}

/// A TIFF-structured EXIF block with a capture time, an orientation, a GPS latitude and a camera serial.
fn exif_block(orientation: u16) -> Vec<u8> {
    use ::exif::{Field, In, Rational, Tag, Value, experimental::Writer};
    let fields = [
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2026:11:02 08:30:15".to_vec()]),
        },
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![orientation]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational { num: 21, denom: 1 },
                Rational { num: 19, denom: 1 },
                Rational { num: 0, denom: 1 },
            ]),
        },
        Field {
            tag: Tag::BodySerialNumber,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"SN-SECRET-4711".to_vec()]),
        },
    ];
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    tiff.into_inner()
}

/// `jpeg` with an EXIF `APP1` and a comment after its start-of-image marker.
fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(exif_block(orientation));
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((payload.len() + 2) as u16).to_be_bytes());
    out.extend(payload);
    out.extend([0xFF, 0xFE, 0x00, 0x0A]);
    out.extend(b"Nokia 3.4");
    out.truncate(out.len() - 1);
    out.extend(&jpeg[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn types_are_recognised_from_their_bytes() {
    assert_eq!(MediaType::sniff(&sample_jpeg()), Some(MediaType::Jpeg));
    assert_eq!(
        MediaType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\x0d"),
        Some(MediaType::Png)
    );
    assert_eq!(
        MediaType::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
        Some(MediaType::Webp)
    );
    assert_eq!(MediaType::sniff(b"%PDF-1.7\n%"), Some(MediaType::Pdf));
    assert_eq!(MediaType::sniff(b"GIF89a\0\0\0\0\0\0"), None);
    assert_eq!(MediaType::sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
    assert_eq!(MediaType::sniff(b"<html>"), None);
}

#[test]
fn a_jpeg_loses_its_exif_but_keeps_capture_time_orientation_and_pixels() {
    let original = sample_jpeg();
    let tagged = with_exif(&original, 6);
    assert!(contains(&tagged, b"SN-SECRET-4711"));
    let mut out = Cursor::new(Vec::new());
    let found = clean(MediaType::Jpeg, &tagged[..], &mut out).unwrap();
    let out = out.into_inner();
    assert!(!contains(&out, b"SN-SECRET-4711"), "serial removed");
    assert!(!contains(&out, b"Nokia"), "comment removed");
    assert!(
        !contains(&out, b"2026:11:02"),
        "capture time removed from the file"
    );
    assert_eq!(
        found.captured_at,
        NaiveDateTime::parse_from_str("2026-11-02 08:30:15", "%Y-%m-%d %H:%M:%S").ok()
    );
    assert_eq!(found.orientation, Some(6));
    assert_eq!((found.width, found.height), (Some(64), Some(48)));
    assert_eq!(found.removed, 2);
    // The orientation is still there for viewers, and the picture decodes the same.
    let reread = exif::read(&out[out.iter().position(|b| *b == b'M').unwrap()..]);
    assert_eq!(reread.orientation, Some(6));
    let a = image::load_from_memory(&original).unwrap().to_rgb8();
    let b = image::load_from_memory(&out).unwrap().to_rgb8();
    assert_eq!(a.as_raw(), b.as_raw());
    // Cleaning a clean file changes nothing.
    let mut again = Cursor::new(Vec::new());
    clean(MediaType::Jpeg, &out[..], &mut again).unwrap();
    assert_eq!(again.into_inner(), out);
}

#[test]
fn a_png_loses_its_text_and_exif_chunks() {
    let image = image::RgbImage::from_fn(10, 7, |x, _| image::Rgb([x as u8 * 20, 0, 0]));
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(image.as_raw(), 10, 7, image::ExtendedColorType::Rgb8)
        .unwrap();
    // Insert a tEXt and an eXIf chunk after IHDR (8 + 25 bytes).
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend(kind);
        c.extend(data);
        c.extend([0, 0, 0, 0]);
        c
    };
    let mut tagged = png[..33].to_vec();
    tagged.extend(chunk(b"tEXt", b"Author\0Nguyen Van A"));
    tagged.extend(chunk(b"eXIf", &exif_block(1)));
    tagged.extend(&png[33..]);
    let mut out = Cursor::new(Vec::new());
    let found = clean(MediaType::Png, &tagged[..], &mut out).unwrap();
    let out = out.into_inner();
    assert_eq!(out, png);
    assert_eq!(found.removed, 2);
    assert_eq!((found.width, found.height), (Some(10), Some(7)));
    assert!(found.captured_at.is_some());
}

#[test]
fn a_webp_loses_exif_and_xmp_and_its_sizes_are_corrected() {
    // An extended WebP: VP8X (EXIF and XMP flags set), an image chunk, EXIF, XMP.
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = kind.to_vec();
        c.extend((data.len() as u32).to_le_bytes());
        c.extend(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut body = b"WEBP".to_vec();
    body.extend(chunk(b"VP8X", &[0x0C, 0, 0, 0, 99, 0, 0, 49, 0, 0]));
    body.extend(chunk(b"VP8L", b"\x2f\0\0\0\0"));
    body.extend(chunk(b"EXIF", &exif_block(1)));
    body.extend(chunk(b"XMP ", b"<x:xmpmeta>GPS</x:xmpmeta>"));
    let mut file = b"RIFF".to_vec();
    file.extend((body.len() as u32).to_le_bytes());
    file.extend(body);
    let mut out = Cursor::new(Vec::new());
    let found = clean(MediaType::Webp, &file[..], &mut out).unwrap();
    let out = out.into_inner();
    assert!(!contains(&out, b"xmpmeta"));
    assert!(!contains(&out, b"EXIF"));
    assert_eq!(out[20], 0, "flags cleared");
    assert_eq!(
        u32::from_le_bytes([out[4], out[5], out[6], out[7]]) as usize,
        out.len() - 8
    );
    assert_eq!((found.width, found.height), (Some(100), Some(50)));
    assert_eq!(found.removed, 2);
}

#[test]
fn truncated_files_are_malformed_not_errors_of_the_server() {
    let jpeg = sample_jpeg();
    let mut out = Cursor::new(Vec::new());
    let error = clean(MediaType::Jpeg, &jpeg[..40], &mut out).unwrap_err();
    assert!(
        matches!(error, MediaError::Malformed("image/jpeg", _)),
        "{error}"
    );
    let error = clean(
        MediaType::Png,
        &b"\x89PNG\r\n\x1a\n\0\0"[..],
        &mut Cursor::new(Vec::new()),
    )
    .unwrap_err();
    assert!(matches!(error, MediaError::Malformed("image/png", _)));
}

#[test]
fn a_thumbnail_is_a_small_upright_jpeg() {
    let big = image::RgbImage::from_fn(1600, 1200, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&big)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.jpg");
    std::fs::write(&path, &jpeg).unwrap();
    let mut out = Vec::new();
    let thumb = thumbnail::render(MediaType::Jpeg, &path, Some(6), &mut out).unwrap();
    assert_eq!((thumb.source_width, thumb.source_height), (1600, 1200));
    // Turned a quarter: portrait.
    assert_eq!((thumb.width, thumb.height), (240, 320));
    assert_eq!(MediaType::sniff(&out), Some(MediaType::Jpeg));
    assert!(out.len() < 40_000, "{} bytes", out.len());
}
