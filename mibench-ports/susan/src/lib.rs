//! MiBench automotive/susan, ported to `no_std` Rust.
//!
//! SUSAN (Smallest Univalue Segment Assimilating Nucleus; Stephen Smith, DERA / Oxford, Version
//! 2l) smooths images, finds edges and finds corners by comparing every pixel's brightness with
//! its neighbours' through a brightness look-up table. MiBench runs
//! `susan in.pgm out.pgm -s` / `-e` / `-c`; [`run`] takes the input PGM and the same option
//! words and returns the output PGM. All the original's options are ported: `-s -e -c` (mode),
//! `-t <brightness threshold>`, `-d <distance threshold>`, `-3` (3x3 masks), `-n` (no edge
//! thinning), `-b` (single black points), `-q` (quick corners) and `-p` (the USAN response image).
//!
//! The code keeps the original's structure, loop bounds, integer arithmetic and its `float`
//! roundings, so outputs are byte-identical; `exp` and `sqrt` come from the `libm` crate.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod corners;
mod edges;
mod pgm;
mod smoothing;

pub use corners::{Corner, MAX_CORNERS};
pub use pgm::{Image, read_pgm, write_pgm};

use alloc::vec::Vec;
use mibench_common::GlibcRand;

#[derive(Debug, PartialEq)]
pub enum Error {
    /// The input does not start with a `P5` header ("Image ... does not have binary PGM header").
    NotBinaryPgm,
    /// The input has fewer pixels than the header says ("Image ... is wrong size").
    WrongSize,
    /// An option word that is not an option: the original prints its usage and stops.
    Usage,
    /// `-d` or `-t` with nothing after it.
    MissingArgument(char),
    /// Smoothing with a distance threshold over 15 overflows the integer totals ("too big for
    /// integer arithmetic").
    DistanceTooBig(f32),
    /// The smoothing mask (`2 * (1.5 * d + 1) + 1` wide) is larger than the image.
    MaskTooBig { mask_size: usize },
    /// 15 000 corners or more ("Too many corners").
    TooManyCorners,
    /// The USAN image (`-p`) is flat, which the original divides by zero on.
    FlatResponse,
}

/// The three things SUSAN does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Smoothing,
    Edges,
    Corners,
}

/// The original's command-line settings, with its defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub mode: Mode,
    /// `-t`: brightness difference that still counts as "similar" (default 20).
    pub brightness_threshold: i32,
    /// `-d`: spatial size of the smoothing mask (default 4.0; negative means `-3`).
    pub distance_threshold: f32,
    /// `-3`: flat 3x3 masks for smoothing and edges.
    pub three_by_three: bool,
    /// Not `-n`: thin the edge map.
    pub thin_post_proc: bool,
    /// `-b`: mark edges and corners with single black points instead of white-bordered ones.
    pub simple_drawing: bool,
    /// `-q`: the quick corner finder.
    pub susan_quick: bool,
    /// `-p`: output the initial (USAN) response instead of marking edges or corners.
    pub principle: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Smoothing,
            brightness_threshold: 20,
            distance_threshold: 4.0,
            three_by_three: false,
            thin_post_proc: true,
            simple_drawing: false,
            susan_quick: false,
            principle: false,
        }
    }
}

/// The longest prefix of `s` that parses as a `T`, as `atoi`/`atof` read numbers (0 if none).
fn leading_number<T: core::str::FromStr + Default>(s: &str) -> T {
    let s = s.trim_start();
    (1..=s.len())
        .rev()
        .filter_map(|n| s.get(..n)?.parse().ok())
        .next()
        .unwrap_or_default()
}

impl Options {
    /// The options of `susan in out <args...>`, read as the original reads them: a word starting
    /// with `-` is an option (unknown letters are ignored), anything else is a usage error.
    pub fn from_args(args: &[&str]) -> Result<Self, Error> {
        let mut o = Options::default();
        let mut words = args.iter();
        while let Some(word) = words.next() {
            let letter = word.strip_prefix('-').ok_or(Error::Usage)?.chars().next();
            match letter {
                Some('s') => o.mode = Mode::Smoothing,
                Some('e') => o.mode = Mode::Edges,
                Some('c') => o.mode = Mode::Corners,
                Some('p') => o.principle = true,
                Some('n') => o.thin_post_proc = false,
                Some('b') => o.simple_drawing = true,
                Some('3') => o.three_by_three = true,
                Some('q') => o.susan_quick = true,
                Some('d') => {
                    let arg = words.next().ok_or(Error::MissingArgument('d'))?;
                    o.distance_threshold = leading_number(arg);
                    if o.distance_threshold < 0.0 {
                        o.three_by_three = true;
                    }
                }
                Some('t') => {
                    let arg = words.next().ok_or(Error::MissingArgument('t'))?;
                    o.brightness_threshold = leading_number(arg);
                }
                _ => {}
            }
        }
        if o.principle && o.mode == Mode::Smoothing {
            o.mode = Mode::Edges;
        }
        Ok(o)
    }
}

/// The brightness look-up table of `setup_brightness_lut`: `100 * exp(-(d/t)^2)` (smoothing)
/// or `100 * exp(-(d/t)^6)` (edges, corners) for every brightness difference `d`, truncated to
/// an integer.
pub struct BrightnessLut([u8; 516]);

/// The index of difference 0 in [`BrightnessLut`] (the original points `bp` 258 bytes in).
const LUT_CENTRE: i32 = 258;

impl BrightnessLut {
    pub fn new(thresh: i32, form: u32) -> Self {
        let mut lut = [0u8; 516];
        for k in -256..257 {
            // `temp` is a float in the original; it is rounded to float after every step.
            let mut temp = k as f32 / thresh as f32;
            temp *= temp;
            if form == 6 {
                temp = temp * temp * temp;
            }
            let temp = (100.0 * libm::exp(-f64::from(temp))) as f32;
            lut[(LUT_CENTRE + k) as usize] = temp as u8;
        }
        BrightnessLut(lut)
    }

    /// `*(cp - *p)`: the similarity of a pixel of brightness `pixel` to the nucleus `centre`.
    #[inline]
    pub fn similarity(&self, centre: u8, pixel: u8) -> u8 {
        self.0[(LUT_CENTRE + i32::from(centre) - i32::from(pixel)) as usize]
    }
}

/// The 37-pixel circular mask less its centre, as (row, column) offsets in the order the
/// original visits them (rows top to bottom, each left to right).
const CIRCLE: [(isize, isize); 36] = [
    (-3, -1),
    (-3, 0),
    (-3, 1),
    (-2, -2),
    (-2, -1),
    (-2, 0),
    (-2, 1),
    (-2, 2),
    (-1, -3),
    (-1, -2),
    (-1, -1),
    (-1, 0),
    (-1, 1),
    (-1, 2),
    (-1, 3),
    (0, -3),
    (0, -2),
    (0, -1),
    (0, 1),
    (0, 2),
    (0, 3),
    (1, -3),
    (1, -2),
    (1, -1),
    (1, 0),
    (1, 1),
    (1, 2),
    (1, 3),
    (2, -2),
    (2, -1),
    (2, 0),
    (2, 1),
    (2, 2),
    (3, -1),
    (3, 0),
    (3, 1),
];

/// The 3x3 mask less its centre.
const SQUARE: [(isize, isize); 8] = [
    (-1, -1),
    (-1, 0),
    (-1, 1),
    (0, -1),
    (0, 1),
    (1, -1),
    (1, 0),
    (1, 1),
];

/// `max_no_edges` and `max_no_corners`: geometric thresholds on the USAN area.
const MAX_NO_EDGES: i32 = 2650;
const MAX_NO_CORNERS: i32 = 1850;

/// The image after SUSAN with `options`, as the original writes it.
pub fn process(image: &Image, options: &Options) -> Result<Image, Error> {
    let mut out = image.clone();
    match options.mode {
        Mode::Smoothing => {
            let lut = BrightnessLut::new(options.brightness_threshold, 2);
            out.pixels = smoothing::susan_smoothing(
                options.three_by_three,
                image,
                options.distance_threshold,
                &lut,
            )?;
        }
        Mode::Edges => {
            let lut = BrightnessLut::new(options.brightness_threshold, 6);
            if options.principle {
                let r = if options.three_by_three {
                    edges::susan_principle_small(image, &lut)
                } else {
                    edges::susan_principle(image, &lut, MAX_NO_EDGES)
                };
                out.pixels = edges::int_to_uchar(&r)?;
            } else {
                edges::find_and_draw_edges(&mut out, &lut, options);
            }
        }
        Mode::Corners => {
            let lut = BrightnessLut::new(options.brightness_threshold, 6);
            if options.principle {
                let r = edges::susan_principle(image, &lut, MAX_NO_CORNERS);
                out.pixels = edges::int_to_uchar(&r)?;
            } else {
                let list = if options.susan_quick {
                    corners::susan_corners_quick(image, &lut, MAX_NO_CORNERS)?
                } else {
                    corners::susan_corners(image, &lut, MAX_NO_CORNERS)?
                };
                corners::corner_draw(&mut out, &list, options.simple_drawing);
            }
        }
    }
    Ok(out)
}

/// The corners `susan -c` (or `-c -q` with `quick`) finds in `image`, with their attributes.
pub fn find_corners(image: &Image, options: &Options) -> Result<Vec<Corner>, Error> {
    let lut = BrightnessLut::new(options.brightness_threshold, 6);
    if options.susan_quick {
        corners::susan_corners_quick(image, &lut, MAX_NO_CORNERS)
    } else {
        corners::susan_corners(image, &lut, MAX_NO_CORNERS)
    }
}

/// `susan in.pgm out.pgm <args>`: reads the PGM `input`, processes it as the option words
/// `args` say (e.g. `["-e"]`) and returns the output PGM file.
pub fn run(input: &[u8], args: &[&str]) -> Result<Vec<u8>, Error> {
    let image = read_pgm(input)?;
    let options = Options::from_args(args)?;
    Ok(write_pgm(&process(&image, &options)?))
}

/// A test picture of `width` x `height`: a shaded background, overlapping filled rectangles,
/// discs and a triangle in different greys, and a little noise, so that there are edges,
/// corners and flat areas to find. Deterministic: glibc `rand()` after `srand(seed)`.
fn generated_picture(width: usize, height: usize, seed: u32) -> Vec<u8> {
    let mut rand = GlibcRand::new(seed);
    let mut pick = |n: usize| rand.rand() as usize % n;
    let mut px: Vec<u8> = (0..width * height)
        .map(|k| (40 + (k % width) * 60 / width + (k / width) * 40 / height) as u8)
        .collect();
    let shapes = 6 + (width * height) / 2000;
    for s in 0..shapes {
        let grey = (20 + pick(216)) as u8;
        let (cx, cy) = (pick(width), pick(height));
        let (rx, ry) = (3 + pick(width / 4), 3 + pick(height / 4));
        for y in cy.saturating_sub(ry)..(cy + ry).min(height) {
            for x in cx.saturating_sub(rx)..(cx + rx).min(width) {
                let (dx, dy) = (x.abs_diff(cx), y.abs_diff(cy));
                let inside = match s % 3 {
                    0 => true,                                                       // rectangle
                    1 => dx * dx * ry * ry + dy * dy * rx * rx <= rx * rx * ry * ry, // ellipse
                    _ => y >= cy && dx * ry <= (y - cy) * rx, // triangle, apex up
                };
                if inside {
                    px[y * width + x] = grey;
                }
            }
        }
    }
    for p in px.iter_mut() {
        *p = p.saturating_add(pick(5) as u8);
    }
    px
}

fn generated_pgm(width: usize, height: usize, seed: u32) -> Vec<u8> {
    let image = Image {
        width,
        height,
        pixels: generated_picture(width, height, seed),
    };
    let mut file = b"P5\n# mibench-susan test picture\n".to_vec();
    file.extend_from_slice(&write_pgm(&image)[3..]);
    file
}

/// A stand-in for MiBench's `input_small.pgm` (a 76 x 95 photograph): a 76 x 95 picture of
/// shapes (see the source), `srand(7)`.
pub fn generated_small_input() -> Vec<u8> {
    generated_pgm(76, 95, 7)
}

/// A stand-in for MiBench's `input_large.pgm` (384 x 288): a 384 x 288 picture of shapes,
/// `srand(8)`.
pub fn generated_large_input() -> Vec<u8> {
    generated_pgm(384, 288, 8)
}
