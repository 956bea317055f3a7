//! SUSAN corner finding (`-c`, `-c -q`): a corner is where the USAN is small (under half the
//! mask), its centre of gravity lies well away from the nucleus and the pixels in that direction
//! belong to it, and the response is the largest in the 7x7 neighbourhood.

use crate::{BrightnessLut, CIRCLE, Error, Image};
use alloc::vec;
use alloc::vec::Vec;

/// `MAX_CORNERS`: the corner list's size; reaching it is an error.
pub const MAX_CORNERS: usize = 15000;

/// An entry of the original's `CORNER_LIST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corner {
    /// Column.
    pub x: usize,
    /// Row.
    pub y: usize,
    /// Full mode: the USAN's centre of gravity relative to the nucleus, scaled (`51 * x / n`).
    /// Quick mode: the brightness gradient over the 5x5 neighbourhood (`dx/15`, `dy/15`).
    pub dx: i32,
    pub dy: i32,
    /// Full mode: the pixel's brightness; quick mode: the 5x5 neighbourhood's mean.
    pub brightness: i32,
}

/// The USAN area over the 37-pixel mask, stopping (as the original does, to save work) once it
/// reaches `max_no` after the first 18 pixels; `None` if it does.
fn usan_below(img: &Image, lut: &BrightnessLut, max_no: i32, i: usize, j: usize) -> Option<i32> {
    let x_size = img.width;
    let centre = img.pixels[i * x_size + j];
    let mut n = 100;
    for (k, &(di, dj)) in CIRCLE.iter().enumerate() {
        if k >= 18 && n >= max_no {
            return None;
        }
        let p = img.pixels[(i as isize + di) as usize * x_size + (j as isize + dj) as usize];
        n += i32::from(lut.similarity(centre, p));
    }
    (n < max_no).then_some(n)
}

/// `FTOI`: rounds half away from zero (in double, as the macro's `0.5` makes it).
fn ftoi(a: f32) -> isize {
    let a = f64::from(a);
    (if a < 0.0 { a - 0.5 } else { a + 0.5 }) as isize
}

/// Whether the response `x` at (i, j) beats its 7x7 neighbourhood: strictly those before it in
/// scan order, at least equally those after it.
fn is_local_max(r: &[i32], x_size: usize, i: usize, j: usize) -> bool {
    let x = r[i * x_size + j];
    (-3isize..=3).all(|di| {
        (-3isize..=3).all(|dj| {
            let v = r[(i as isize + di) as usize * x_size + (j as isize + dj) as usize];
            match (di, dj) {
                (0, 0) => true,
                _ if di < 0 || (di == 0 && dj < 0) => x > v,
                _ => x >= v,
            }
        })
    })
}

/// `susan_corners`: the full corner finder.
pub fn susan_corners(img: &Image, lut: &BrightnessLut, max_no: i32) -> Result<Vec<Corner>, Error> {
    let (x_size, y_size) = (img.width, img.height);
    let px = |i: isize, j: isize| img.pixels[i as usize * x_size + j as usize];
    let mut r = vec![0i32; x_size * y_size];
    let mut cgx = vec![0i32; x_size * y_size];
    let mut cgy = vec![0i32; x_size * y_size];

    for i in 5..y_size.saturating_sub(5) {
        for j in 5..x_size.saturating_sub(5) {
            let Some(n) = usan_below(img, lut, max_no, i, j) else {
                continue;
            };
            let centre = img.pixels[i * x_size + j];
            let (mut x, mut y) = (0i32, 0i32);
            for &(di, dj) in &CIRCLE {
                let c = i32::from(lut.similarity(centre, px(i as isize + di, j as isize + dj)));
                x += dj as i32 * c;
                y += di as i32 * c;
            }
            let (xx, yy) = (x * x, y * y);
            if xx + yy <= (n * n) / 2 {
                continue; // the centre of gravity is too near the nucleus
            }
            // The three pixels from the nucleus towards the centre of gravity must be in the USAN.
            let (ii, jj) = (i as isize, j as isize);
            let sim = |p: u8| i32::from(lut.similarity(centre, p));
            let along = if yy < xx {
                let divide = y as f32 / x.abs() as f32;
                let s = (x.abs() / x) as isize;
                sim(px(ii + ftoi(divide), jj + s))
                    + sim(px(ii + ftoi(2.0 * divide), jj + 2 * s))
                    + sim(px(ii + ftoi(3.0 * divide), jj + 3 * s))
            } else {
                let divide = x as f32 / y.abs() as f32;
                let s = (y.abs() / y) as isize;
                sim(px(ii + s, jj + ftoi(divide)))
                    + sim(px(ii + 2 * s, jj + ftoi(2.0 * divide)))
                    + sim(px(ii + 3 * s, jj + ftoi(3.0 * divide)))
            };
            if along > 290 {
                r[i * x_size + j] = max_no - n;
                cgx[i * x_size + j] = (51 * x) / n;
                cgy[i * x_size + j] = (51 * y) / n;
            }
        }
    }

    let mut list = Vec::new();
    for i in 5..y_size.saturating_sub(5) {
        for j in 5..x_size.saturating_sub(5) {
            if r[i * x_size + j] > 0 && is_local_max(&r, x_size, i, j) {
                list.push(Corner {
                    x: j,
                    y: i,
                    dx: cgx[i * x_size + j],
                    dy: cgy[i * x_size + j],
                    brightness: i32::from(img.pixels[i * x_size + j]),
                });
                if list.len() == MAX_CORNERS {
                    return Err(Error::TooManyCorners);
                }
            }
        }
    }
    Ok(list)
}

/// `susan_corners_quick`: corners from the USAN area alone, without the centre-of-gravity tests.
pub fn susan_corners_quick(
    img: &Image,
    lut: &BrightnessLut,
    max_no: i32,
) -> Result<Vec<Corner>, Error> {
    let (x_size, y_size) = (img.width, img.height);
    let mut r = vec![0i32; x_size * y_size];
    for i in 7..y_size.saturating_sub(7) {
        for j in 7..x_size.saturating_sub(7) {
            if let Some(n) = usan_below(img, lut, max_no, i, j) {
                r[i * x_size + j] = max_no - n;
            }
        }
    }

    let mut list = Vec::new();
    for i in 7..y_size.saturating_sub(7) {
        for j in 7..x_size.saturating_sub(7) {
            if r[i * x_size + j] <= 0 || !is_local_max(&r, x_size, i, j) {
                continue;
            }
            let px = |di: isize, dj: isize| {
                i32::from(
                    img.pixels[(i as isize + di) as usize * x_size + (j as isize + dj) as usize],
                )
            };
            let column = |dj: isize| (-2..=2).map(|di| px(di, dj)).sum::<i32>();
            let row = |di: isize| (-2..=2).map(|dj| px(di, dj)).sum::<i32>();
            let mean = (-2..=2).map(row).sum::<i32>() / 25;
            // The original's `x += x + ...`: twice the outer difference plus the inner one.
            let outer_x = column(2) - column(-2);
            let dx = outer_x + outer_x + column(1) - column(-1);
            let outer_y = row(2) - row(-2);
            let dy = outer_y + outer_y + row(1) - row(-1);
            list.push(Corner {
                x: j,
                y: i,
                dx: dx / 15,
                dy: dy / 15,
                brightness: mean,
            });
            if list.len() == MAX_CORNERS {
                return Err(Error::TooManyCorners);
            }
        }
    }
    Ok(list)
}

/// `corner_draw`: a black pixel in a white 3x3 square at each corner, in list order (later
/// squares overdraw earlier ones), or with `simple` just the black pixel.
pub fn corner_draw(img: &mut Image, corners: &[Corner], simple: bool) {
    let x_size = img.width;
    for c in corners {
        if simple {
            img.pixels[c.y * x_size + c.x] = 0;
        } else {
            for y in c.y - 1..=c.y + 1 {
                img.pixels[y * x_size + c.x - 1..][..3].fill(255);
            }
            img.pixels[c.y * x_size + c.x] = 0;
        }
    }
}
