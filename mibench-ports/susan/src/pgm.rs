//! Binary PGM (`P5`) reading and writing, as `get_image` and `put_image` do it.

use crate::Error;
use alloc::vec::Vec;

/// An 8-bit greyscale image, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// `getint`: skips to the next decimal number (skipping `#` comments to the end of their line),
/// reads it and the one character after it. `None` at the end of the input.
fn getint(input: &[u8], pos: &mut usize) -> Option<usize> {
    loop {
        let c = *input.get(*pos)?;
        *pos += 1;
        if c == b'#' {
            // fgets(dummy, 9000, fd): the rest of the line, at most 8999 bytes of it.
            let rest = &input[*pos..];
            let line = rest.iter().take(8999).position(|&b| b == b'\n');
            *pos += line.map_or(rest.len().min(8999), |nl| nl + 1);
        } else if c.is_ascii_digit() {
            let mut value = usize::from(c - b'0');
            // Accumulate digits; the first non-digit is read and dropped, as getc() does.
            while let Some(&c) = input.get(*pos) {
                *pos += 1;
                if !c.is_ascii_digit() {
                    break;
                }
                value = value
                    .saturating_mul(10)
                    .saturating_add(usize::from(c - b'0'));
            }
            return Some(value);
        }
    }
}

/// `get_image`: a `P5` header (width, height, maximum grey value, each possibly preceded by
/// comments), then `width * height` bytes of pixels. The maximum value is read and ignored.
///
/// The original accepts a file with fewer pixel bytes than the header promises (and then works
/// on uninitialised memory); this port rejects it.
pub fn read_pgm(input: &[u8]) -> Result<Image, Error> {
    if !input.starts_with(b"P5") {
        return Err(Error::NotBinaryPgm);
    }
    let mut pos = 2;
    let width = getint(input, &mut pos).ok_or(Error::NotBinaryPgm)?;
    let height = getint(input, &mut pos).ok_or(Error::NotBinaryPgm)?;
    let _max_grey = getint(input, &mut pos).ok_or(Error::NotBinaryPgm)?;
    let size = width.checked_mul(height).ok_or(Error::WrongSize)?;
    let data = input.get(pos..).unwrap_or(&[]);
    if size == 0 || data.len() < size {
        return Err(Error::WrongSize);
    }
    Ok(Image {
        width,
        height,
        pixels: data[..size].to_vec(),
    })
}

/// `put_image`: `P5\n<width> <height>\n255\n` and the pixels.
pub fn write_pgm(image: &Image) -> Vec<u8> {
    let mut out = alloc::format!("P5\n{} {}\n255\n", image.width, image.height).into_bytes();
    out.extend_from_slice(&image.pixels);
    out
}
