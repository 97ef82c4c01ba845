//! The small JPEG rendition of an image, for reviewing a month of sessions over a commune connection.
//!
//! A JPEG is decoded at a reduced scale (the decoder's 1/2, 1/4 or 1/8 inverse DCT: a 24-megapixel
//! photo costs about 1.5 MB, not 72), PNG and WebP are decoded whole within [`DECODE_LIMIT`]; the
//! result is turned the way EXIF orientation says, fitted in [`EDGE`] x [`EDGE`] pixels and encoded at
//! quality [`QUALITY`].

use std::{
    fs::File,
    io::{BufReader, Write},
    path::Path,
};

use image::{DynamicImage, ImageBuffer, ImageEncoder};

use super::{MediaError, MediaType};

/// The longer edge of a thumbnail, in pixels.
pub const EDGE: u32 = 320;
/// JPEG quality of a thumbnail.
pub const QUALITY: u8 = 75;
/// The most memory a PNG or WebP decode may take (a decompression bomb is refused, not decoded).
pub const DECODE_LIMIT: u64 = 96 * 1024 * 1024;

/// A thumbnail and the original's pixel size.
#[derive(Debug)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    /// The original's pixel size.
    pub source_width: u32,
    pub source_height: u32,
}

/// Writes the thumbnail of the image at `path` (of type `media`, turned by EXIF `orientation`) to
/// `output`.
pub fn render<W: Write>(
    media: MediaType,
    path: &Path,
    orientation: Option<u16>,
    output: &mut W,
) -> Result<Thumbnail, MediaError> {
    let (image, source_width, source_height) = match media {
        MediaType::Jpeg => decode_jpeg(path)?,
        MediaType::Png | MediaType::Webp => {
            let format = if media == MediaType::Png {
                image::ImageFormat::Png
            } else {
                image::ImageFormat::WebP
            };
            let mut reader =
                image::ImageReader::with_format(BufReader::new(File::open(path)?), format);
            let mut limits = image::Limits::default();
            limits.max_alloc = Some(DECODE_LIMIT);
            reader.limits(limits);
            let image = reader
                .decode()
                .map_err(|error| MediaError::malformed(media, error.to_string()))?;
            let (w, h) = (image.width(), image.height());
            (image, w, h)
        }
        MediaType::Pdf => return Err(MediaError::Unsupported),
    };
    let image = orient(image.thumbnail(EDGE, EDGE), orientation);
    let rgb = image.to_rgb8();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut *output, QUALITY);
    encoder
        .write_image(
            rgb.as_raw(),
            rgb.width(),
            rgb.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|error| MediaError::Io(std::io::Error::other(error)))?;
    Ok(Thumbnail {
        width: rgb.width(),
        height: rgb.height(),
        source_width,
        source_height,
    })
}

/// Decodes a JPEG at the smallest scale still at least [`EDGE`] pixels on the longer side.
fn decode_jpeg(path: &Path) -> Result<(DynamicImage, u32, u32), MediaError> {
    let bad =
        |error: jpeg_decoder::Error| MediaError::malformed(MediaType::Jpeg, error.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(BufReader::new(File::open(path)?));
    decoder.read_info().map_err(bad)?;
    let info = decoder
        .info()
        .ok_or_else(|| MediaError::malformed(MediaType::Jpeg, "no frame header"))?;
    let (source_width, source_height) = (u32::from(info.width), u32::from(info.height));
    let wanted = EDGE.min(u32::from(u16::MAX)) as u16;
    let (w, h) = decoder.scale(wanted, wanted).map_err(bad)?;
    let pixels = decoder.decode().map_err(bad)?;
    let info = decoder
        .info()
        .ok_or_else(|| MediaError::malformed(MediaType::Jpeg, "no frame header"))?;
    let (w, h) = (u32::from(w), u32::from(h));
    let too_short = || MediaError::malformed(MediaType::Jpeg, "fewer pixels than its size");
    let image = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => {
            DynamicImage::ImageLuma8(ImageBuffer::from_raw(w, h, pixels).ok_or_else(too_short)?)
        }
        jpeg_decoder::PixelFormat::L16 => {
            let wide: Vec<u16> = pixels
                .chunks_exact(2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .collect();
            DynamicImage::ImageLuma16(ImageBuffer::from_raw(w, h, wide).ok_or_else(too_short)?)
        }
        jpeg_decoder::PixelFormat::RGB24 => {
            DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, pixels).ok_or_else(too_short)?)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            let rgb: Vec<u8> = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = u16::from(p[3]);
                    // Adobe CMYK JPEGs are stored inverted: each channel is already 255 - ink.
                    [p[0], p[1], p[2]].map(|c| ((u16::from(c) * k) / 255) as u8)
                })
                .collect();
            DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, rgb).ok_or_else(too_short)?)
        }
    };
    Ok((image, source_width, source_height))
}

/// Turns `image` the way an EXIF orientation says.
fn orient(image: DynamicImage, orientation: Option<u16>) -> DynamicImage {
    match orientation {
        Some(2) => image.fliph(),
        Some(3) => image.rotate180(),
        Some(4) => image.flipv(),
        Some(5) => image.rotate90().fliph(),
        Some(6) => image.rotate90(),
        Some(7) => image.rotate270().fliph(),
        Some(8) => image.rotate270(),
        _ => image,
    }
}
