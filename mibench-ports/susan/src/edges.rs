//! SUSAN edge finding (`-e`) and the USAN response images (`-p`).
//!
//! Every pixel's USAN area `n` (100 for itself plus the similarity of each neighbour in the mask)
//! gives an edge response `max_no - n` where `n` is small enough. Edge pixels are those whose
//! response is a local maximum across the edge direction, found from the USAN's centre of gravity
//! (or, where that is unreliable, its second moments). The edge map is then thinned and drawn.

use crate::{BrightnessLut, CIRCLE, Error, Image, MAX_NO_EDGES, Options, SQUARE};
use alloc::vec;
use alloc::vec::Vec;

/// The similarities of the pixels at `mask` offsets around (i, j) to pixel (i, j), with the
/// offsets as (column, row).
fn similarities<'a>(
    img: &'a Image,
    lut: &'a BrightnessLut,
    mask: &'a [(isize, isize)],
    i: usize,
    j: usize,
) -> impl Iterator<Item = (i32, i32, i32)> + 'a {
    let x_size = img.width;
    let centre = img.pixels[i * x_size + j];
    mask.iter().map(move |&(di, dj)| {
        let p = img.pixels[(i as isize + di) as usize * x_size + (j as isize + dj) as usize];
        (dj as i32, di as i32, i32::from(lut.similarity(centre, p)))
    })
}

/// The USAN's centre of gravity relative to the nucleus, unnormalised: (sum dx c, sum dy c).
fn gravity(
    img: &Image,
    lut: &BrightnessLut,
    mask: &[(isize, isize)],
    i: usize,
    j: usize,
) -> (i32, i32) {
    similarities(img, lut, mask, i, j).fold((0, 0), |(x, y), (dx, dy, c)| (x + dx * c, y + dy * c))
}

/// The USAN's second moments: (sum dx^2 c, sum dy^2 c, sum dx dy c).
fn second_moments(
    img: &Image,
    lut: &BrightnessLut,
    mask: &[(isize, isize)],
    i: usize,
    j: usize,
) -> (i32, i32, i32) {
    similarities(img, lut, mask, i, j).fold((0, 0, 0), |(xx, yy, xy), (dx, dy, c)| {
        (xx + dx * dx * c, yy + dy * dy * c, xy + dx * dy * c)
    })
}

/// The sum of `lut` similarities of the pixels at `mask` offsets around (i, j) to pixel (i, j).
fn usan(img: &Image, lut: &BrightnessLut, mask: &[(isize, isize)], i: usize, j: usize) -> i32 {
    similarities(img, lut, mask, i, j).map(|(_, _, c)| c).sum()
}

/// The edge response `max_no - n` wherever the USAN area `n` over `mask` is at most `max_no`,
/// for pixels at least `border` from the image's edge; 0 elsewhere.
fn response(
    img: &Image,
    lut: &BrightnessLut,
    mask: &[(isize, isize)],
    max_no: i32,
    border: usize,
) -> Vec<i32> {
    let (x_size, y_size) = (img.width, img.height);
    let mut r = vec![0i32; x_size * y_size];
    for i in border..y_size.saturating_sub(border) {
        for j in border..x_size.saturating_sub(border) {
            let n = 100 + usan(img, lut, mask, i, j);
            if n <= max_no {
                r[i * x_size + j] = max_no - n;
            }
        }
    }
    r
}

/// `susan_principle`: the response over the 37-pixel mask.
pub fn susan_principle(img: &Image, lut: &BrightnessLut, max_no: i32) -> Vec<i32> {
    response(img, lut, &CIRCLE, max_no, 3)
}

/// `susan_principle_small`: the response over the 3x3 mask (whose `max_no` is fixed at 730).
pub fn susan_principle_small(img: &Image, lut: &BrightnessLut) -> Vec<i32> {
    response(img, lut, &SQUARE, 730, 1)
}

/// `int_to_uchar`: `r` stretched linearly onto 0..=255.
pub fn int_to_uchar(r: &[i32]) -> Result<Vec<u8>, Error> {
    let max = r.iter().copied().max().unwrap_or(0);
    let min = r.iter().copied().min().unwrap_or(0);
    let range = max - min;
    if range == 0 {
        return Err(Error::FlatResponse);
    }
    Ok(r.iter().map(|&v| ((v - min) * 255 / range) as u8).collect())
}

/// Whether (i, j) has the largest response among its neighbours at (i, j) +- (a, b) and, if
/// `reach2`, +- 2 (a, b): larger than those at +(a, b), at least as large as those at -(a, b).
fn is_max_across(
    r: &[i32],
    x_size: usize,
    i: usize,
    j: usize,
    (a, b): (isize, isize),
    reach2: bool,
) -> bool {
    let at = |k: isize| r[(i as isize + k * a) as usize * x_size + (j as isize + k * b) as usize];
    let m = at(0);
    m > at(1) && m >= at(-1) && (!reach2 || (m > at(2) && m >= at(-2)))
}

/// The edge direction (a, b) as a row and column step from the centre of gravity (x, y): along
/// the gradient, so across the edge.
fn direction_from_gravity(x: i32, y: i32) -> (isize, isize) {
    let z = if x == 0 {
        1_000_000.0
    } else {
        y as f32 / x as f32
    };
    let (z, w) = if z < 0.0 { (-z, -1) } else { (z, 1) };
    if z < 0.5 {
        (0, 1) // vertical edge
    } else if z > 2.0 {
        (1, 0) // horizontal edge
    } else if w > 0 {
        (1, 1) // diagonal edge
    } else {
        (-1, 1)
    }
}

/// The edge direction from the second moments, where the centre of gravity is unreliable.
fn direction_from_symmetry(xx: i32, yy: i32, xy: i32) -> (isize, isize) {
    let z = if yy == 0 {
        1_000_000.0
    } else {
        xx as f32 / yy as f32
    };
    if z < 0.5 {
        (0, 1)
    } else if z > 2.0 {
        (1, 0)
    } else if xy > 0 {
        (-1, 1)
    } else {
        (1, 1)
    }
}

/// `susan_edges` (37-pixel mask) or `susan_edges_small` (3x3): the response `r` and the edge
/// map `mid`, where 1 (centre of gravity) or 2 (symmetry) marks an edge pixel and 100 none.
fn susan_edges(img: &Image, lut: &BrightnessLut, small: bool) -> (Vec<i32>, Vec<u8>) {
    let (x_size, y_size) = (img.width, img.height);
    let mut mid = vec![100u8; x_size * y_size];
    // Per mask: the mask, max_no, the response's border, the search's border, the USAN area
    // above which the centre of gravity is trusted and the fraction of it its offset must be.
    let (mask, max_no, border, min_area, gravity_share): (&[(isize, isize)], _, _, _, f64) =
        if small {
            (&SQUARE, 730, 1, 250, 0.4)
        } else {
            (&CIRCLE, MAX_NO_EDGES, 3, 600, 0.9)
        };
    let r = response(img, lut, mask, max_no, border);

    for i in border + 1..y_size.saturating_sub(border + 1) {
        for j in border + 1..x_size.saturating_sub(border + 1) {
            let m = r[i * x_size + j];
            if m <= 0 {
                continue;
            }
            let n = max_no - m;
            // Trust the centre of gravity where the USAN is large and the centre well off the
            // nucleus; else use the USAN's symmetry.
            let mut edge = None;
            if n > min_area {
                let (x, y) = gravity(img, lut, mask, i, j);
                let z = libm::sqrt(f64::from((x * x + y * y) as f32)) as f32;
                if f64::from(z) > gravity_share * f64::from(n as f32) {
                    edge = Some((1, direction_from_gravity(x, y)));
                }
            }
            let (mark, dir) = edge.unwrap_or_else(|| {
                let (xx, yy, xy) = second_moments(img, lut, mask, i, j);
                (2, direction_from_symmetry(xx, yy, xy))
            });
            if is_max_across(&r, x_size, i, j, dir, !small) {
                mid[i * x_size + j] = mark;
            }
        }
    }
    (r, mid)
}

/// `susan_thin`: thins the edge map `mid` to single-pixel lines, removing lone points,
/// extending line ends a little and straightening kinks. It steps back over the image where a
/// change may affect pixels already passed, so one pass is enough.
fn susan_thin(r: &[i32], mid: &mut [u8], x_size: usize, y_size: usize) {
    let at = |i: isize, j: isize| (i as usize) * x_size + j as usize;
    let (y_end, x_end) = (y_size as isize - 4, x_size as isize - 4);
    let mut i: isize = 4;
    while i < y_end {
        let mut j: isize = 4;
        while j < x_end {
            if mid[at(i, j)] < 8 {
                thin_point(r, mid, &at, &mut i, &mut j);
            }
            j += 1;
        }
        i += 1;
    }
}

/// One step of [`susan_thin`] at edge point (i, j), which it may move back.
fn thin_point(
    r: &[i32],
    mid: &mut [u8],
    at: &impl Fn(isize, isize) -> usize,
    i: &mut isize,
    j: &mut isize,
) {
    let (ci, cj) = (*i, *j);
    let centre = r[at(ci, cj)];
    let e = |mid: &[u8], di: isize, dj: isize| i32::from(mid[at(ci + di, cj + dj)] < 8);
    let n: i32 = SQUARE.iter().map(|&(di, dj)| e(mid, di, dj)).sum();

    if n == 0 {
        // No neighbours: remove the point.
        mid[at(ci, cj)] = 100;
    }

    if n == 1 && mid[at(ci, cj)] < 6 {
        // A line end: extend it to the strongest neighbour, weighting the neighbours opposite
        // the one already there. E.g. with the neighbour at the left the weights are
        //   0 2 3
        //   0 0 4
        //   0 2 3
        let mut l = [0i32; 9];
        for (k, v) in l.iter_mut().enumerate() {
            if k != 4 {
                *v = r[at(ci + k as isize / 3 - 1, cj + k as isize % 3 - 1)];
            }
        }
        // (neighbour, cells zeroed, cells doubled, cells tripled, cell quadrupled), in the
        // original's order of tests.
        type Rule = (usize, [usize; 3], [usize; 2], [usize; 2], usize);
        const RULES: [Rule; 8] = [
            (0, [0, 1, 3], [2, 6], [5, 7], 8),
            (1, [1, 0, 2], [3, 5], [6, 8], 7),
            (2, [2, 1, 5], [0, 8], [3, 7], 6),
            (3, [3, 0, 6], [1, 7], [2, 8], 5),
            (5, [5, 2, 8], [1, 7], [0, 6], 3),
            (6, [6, 3, 7], [0, 8], [1, 5], 2),
            (7, [7, 6, 8], [3, 5], [0, 2], 1),
            (8, [8, 5, 7], [6, 2], [1, 3], 0),
        ];
        let neighbour = |k: usize| e(mid, k as isize / 3 - 1, k as isize % 3 - 1) == 1;
        if let Some((_, zero, two, three, four)) = RULES.iter().find(|rule| neighbour(rule.0)) {
            zero.iter().for_each(|&k| l[k] = 0);
            two.iter().for_each(|&k| l[k] *= 2);
            three.iter().for_each(|&k| l[k] *= 3);
            l[*four] *= 4;
        }

        // The strongest (first, on ties) weighted cell.
        let (mut m, mut a, mut b) = (0, 0isize, 0isize);
        for y in 0..3 {
            for x in 0..3 {
                if l[(3 * y + x) as usize] > m {
                    (m, a, b) = (l[(3 * y + x) as usize], y, x);
                }
            }
        }
        if m > 0 {
            let here = mid[at(ci, cj)];
            mid[at(ci + a - 1, cj + b - 1)] = if here < 4 { 4 } else { here + 1 };
            if a + a + b < 3 {
                // The new point is before this one in scan order: go back to it.
                *i = (ci + a - 1).max(4);
                *j = (cj + b - 2).max(4);
            }
        }
    }

    if n == 2 {
        let b00 = e(mid, -1, -1);
        let b02 = e(mid, -1, 1);
        let b20 = e(mid, 1, -1);
        let b22 = e(mid, 1, 1);
        if b00 + b02 + b20 + b22 == 2 && ((b00 | b22) & (b02 | b20)) != 0 {
            // Two corner neighbours on one side: move this point back into line, e.g.
            //   X O X  can become  X X X
            //   O X O              O O O
            //   O O O              O O O
            let (x, y): (isize, isize) = match (b00 != 0, b02 != 0) {
                (true, true) => (0, -1),
                (true, false) => (-1, 0),
                (false, true) => (1, 0),
                (false, false) => (0, 1),
            };
            if r[at(ci + y, cj + x)] as f32 / centre as f32 > 0.7 {
                let clear = |di: isize, dj: isize| mid[at(ci + di, cj + dj)] > 7;
                if (x == 0 && clear(2 * y, 0) && clear(2 * y, -1) && clear(2 * y, 1))
                    || (y == 0 && clear(0, 2 * x) && clear(1, 2 * x) && clear(-1, 2 * x))
                {
                    mid[at(ci, cj)] = 100;
                    mid[at(ci + y, cj + x)] = 3; // no jumping back needed
                }
            }
        } else {
            let b01 = e(mid, -1, 0);
            let b12 = e(mid, 0, 1);
            let b21 = e(mid, 1, 0);
            let b10 = e(mid, 0, -1);
            let odd_right_angle = b01 + b12 + b21 + b10 == 2
                && ((b10 | b12) & (b01 | b21)) != 0
                && ((b01 & (e(mid, -2, -1) | e(mid, -2, 1)))
                    | (b10 & (e(mid, -1, -2) | e(mid, 1, -2)))
                    | (b12 & (e(mid, -1, 2) | e(mid, 1, 2)))
                    | (b21 & (e(mid, 2, -1) | e(mid, 2, 1))))
                    != 0;
            if odd_right_angle {
                // Clear an odd right angle, e.g.
                //   O O O  becomes  O O O
                //   X X O           X O O
                //   O X O           O X O
                mid[at(ci, cj)] = 100;
                *i = (ci - 1).max(4);
                *j = (cj - 2).max(4);
            }
        }
    }

    if n > 2 {
        // Remove the point if that does not break the line's connectivity.
        let b01 = e(mid, -1, 0);
        let b12 = e(mid, 0, 1);
        let b21 = e(mid, 1, 0);
        let b10 = e(mid, 0, -1);
        if b01 + b12 + b21 + b10 > 1 {
            let p1 = e(mid, -1, -1) | b01;
            let p2 = e(mid, -1, 1) | b12;
            let p3 = e(mid, 1, 1) | b21;
            let p4 = e(mid, 1, -1) | b10;
            if (p1 + p2 + p3 + p4) - ((b01 & p2) + (b12 & p3) + (b21 & p4) + (b10 & p1)) < 2 {
                mid[at(ci, cj)] = 100;
                *i = (ci - 1).max(4);
                *j = (cj - 2).max(4);
            }
        }
    }
}

/// `edge_draw`: marks each edge pixel black, first (unless `simple`) with a white 3x3 border.
fn edge_draw(img: &mut Image, mid: &[u8], simple: bool) {
    let x_size = img.width;
    if !simple {
        for (k, _) in mid.iter().enumerate().filter(|(_, m)| **m < 8) {
            for (di, dj) in SQUARE {
                img.pixels[(k as isize + di * x_size as isize + dj) as usize] = 255;
            }
        }
    }
    for (k, _) in mid.iter().enumerate().filter(|(_, m)| **m < 8) {
        img.pixels[k] = 0;
    }
}

/// Edge mode without `-p`: finds the edges of `img`, thins them unless told not to and draws
/// them onto `img`.
pub fn find_and_draw_edges(img: &mut Image, lut: &BrightnessLut, options: &Options) {
    let (r, mut mid) = susan_edges(img, lut, options.three_by_three);
    if options.thin_post_proc {
        susan_thin(&r, &mut mid, img.width, img.height);
    }
    edge_draw(img, &mid, options.simple_drawing);
}
