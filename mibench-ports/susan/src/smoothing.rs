//! SUSAN smoothing (`-s`): each pixel becomes the average of its neighbours weighted by a
//! Gaussian of distance and by brightness similarity, so edges are not blurred.

use crate::{BrightnessLut, Error, Image, SQUARE};
use alloc::vec;
use alloc::vec::Vec;

/// `median(in, i, j, x_size)`: the mean of the middle two of the 8 neighbours (bubble-sorted).
fn median(img: &[u8], i: usize, j: usize, x_size: usize) -> u8 {
    let mut p = SQUARE.map(|(di, dj)| {
        i32::from(img[(i as isize + di) as usize * x_size + (j as isize + dj) as usize])
    });
    for k in 0..7 {
        for l in 0..7 - k {
            if p[l] > p[l + 1] {
                p.swap(l, l + 1);
            }
        }
    }
    ((p[3] + p[4]) / 2) as u8
}

/// `enlarge`: the image with a border `border` pixels wide of mirrored copies of its edge rows
/// and columns, so that masks can run over every pixel. Returns the new width and height too.
fn enlarge(image: &Image, border: usize) -> (Vec<u8>, usize, usize) {
    let (x_size, y_size) = (image.width, image.height);
    let w = x_size + 2 * border;
    let h = y_size + 2 * border;
    let mut tmp = vec![0u8; w * h];
    let row = |i: usize| &image.pixels[i * x_size..(i + 1) * x_size];
    for i in 0..y_size {
        tmp[(i + border) * w + border..][..x_size].copy_from_slice(row(i));
    }
    // Top and bottom rows, mirrored.
    for i in 0..border {
        tmp[(border - 1 - i) * w + border..][..x_size].copy_from_slice(row(i));
        tmp[(y_size + border + i) * w + border..][..x_size].copy_from_slice(row(y_size - i - 1));
    }
    // Left and right columns, mirrored (over the new rows too).
    for i in 0..border {
        for j in 0..h {
            tmp[j * w + border - 1 - i] = tmp[j * w + border + i];
            tmp[j * w + x_size + border + i] = tmp[j * w + x_size + border - 1 - i];
        }
    }
    (tmp, w, h)
}

/// `susan_smoothing`: the smoothed pixels of `image` (same size). `dt` is the distance
/// threshold (the Gaussian's spread), unless `three_by_three` asks for the flat 3x3 mask.
pub fn susan_smoothing(
    three_by_three: bool,
    image: &Image,
    dt: f32,
    lut: &BrightnessLut,
) -> Result<Vec<u8>, Error> {
    let mask_size = if three_by_three {
        1
    } else {
        (1.5 * f64::from(dt)) as i32 + 1
    };
    // The original sums in `int` (TOTAL_TYPE), which larger masks would overflow.
    if dt > 15.0 {
        return Err(Error::DistanceTooBig(dt));
    }
    let mask_size = usize::try_from(mask_size).unwrap_or(0);
    if 2 * mask_size + 1 > image.width || 2 * mask_size + 1 > image.height {
        return Err(Error::MaskTooBig { mask_size });
    }

    let (img, x_size, y_size) = enlarge(image, mask_size);
    let mut out = Vec::with_capacity(image.width * image.height);

    if !three_by_three {
        // The Gaussian distance weights, 100 at the centre.
        let n_max = 2 * mask_size + 1;
        let temp = -(dt * dt);
        let m = mask_size as i32;
        let mut dp = Vec::with_capacity(n_max * n_max);
        for i in -m..=m {
            for j in -m..=m {
                let x = (100.0 * libm::exp(f64::from((i * i + j * j) as f32 / temp))) as i32;
                dp.push(x as u8);
            }
        }

        for i in mask_size..y_size - mask_size {
            for j in mask_size..x_size - mask_size {
                let centre = img[i * x_size + j];
                let (mut area, mut total) = (0i32, 0i32);
                let mut weights = dp.iter();
                for y in i - mask_size..=i + mask_size {
                    for &brightness in &img[y * x_size + j - mask_size..][..n_max] {
                        let tmp = i32::from(*weights.next().unwrap_or(&0))
                            * i32::from(lut.similarity(centre, brightness));
                        area += tmp;
                        // Wrapping, as the original's int does for large masks.
                        total = total.wrapping_add(tmp * i32::from(brightness));
                    }
                }
                let tmp = area - 10000; // less the centre's own weight, 100 * 100
                out.push(if tmp == 0 {
                    median(&img, i, j, x_size)
                } else {
                    (total.wrapping_sub(i32::from(centre) * 10000) / tmp) as u8
                });
            }
        }
    } else {
        for i in 1..y_size - 1 {
            for j in 1..x_size - 1 {
                let centre = img[i * x_size + j];
                let (mut area, mut total) = (0i32, 0i32);
                for y in i - 1..=i + 1 {
                    for &brightness in &img[y * x_size + j - 1..][..3] {
                        let tmp = i32::from(lut.similarity(centre, brightness));
                        area += tmp;
                        total += tmp * i32::from(brightness);
                    }
                }
                let tmp = area - 100;
                out.push(if tmp == 0 {
                    median(&img, i, j, x_size)
                } else {
                    ((total - i32::from(centre) * 100) / tmp) as u8
                });
            }
        }
    }
    Ok(out)
}
