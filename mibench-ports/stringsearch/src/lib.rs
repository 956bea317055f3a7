//! MiBench office/stringsearch, ported to `no_std` Rust.
//!
//! `search_small` / `search_large` (`pbmsrch_small.c` / `pbmsrch_large.c`) look for each of a
//! list of words in a matching list of phrases with a Pratt-Boyer-Moore search by Jerry Coffin
//! and Bob Stout ([`Searcher`]), printing for each pair
//! `"<word>" is in "<phrase>" ["<rest of the phrase from the match>"]` or
//! `"<word>" is not in "<phrase>"`. (The other searchers the Makefile links in, `bmhsrch.c` and
//! friends, are never called.)
//!
//! The word and phrase lists are compiled into the C programs (57 pairs in the small one, 1332
//! in the large). This port takes them as input instead, one pair per line, the word and the
//! phrase separated by a tab ([`parse_input`]); the generated inputs have the original counts.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod input;

use alloc::vec::Vec;
use core::fmt::{self, Write};

pub use input::{LARGE_PAIRS, SMALL_PAIRS, generated_large_input, generated_small_input};

/// `init_search` / `strsearch`: Boyer-Moore with only the bad-character shift (Horspool's
/// table), falling back to a one-step move after a failed comparison.
pub struct Searcher<'p> {
    /// `table[c]`: how far the window may move when its last byte is `c`.
    table: [usize; 256],
    findme: &'p [u8],
}

impl<'p> Searcher<'p> {
    /// `init_search(string)`.
    pub fn new(findme: &'p [u8]) -> Self {
        let len = findme.len();
        let mut table = [len; 256];
        for (i, &c) in findme.iter().enumerate() {
            table[usize::from(c)] = len - i - 1;
        }
        Searcher { table, findme }
    }

    /// `strsearch(string)`: the offset of the first occurrence in `string`, if any. An empty
    /// word is never found (`len - 1` wraps around, as in the C).
    pub fn find(&self, string: &[u8]) -> Option<usize> {
        let len = self.findme.len();
        let limit = string.len();
        let mut pos = len.wrapping_sub(1);
        while pos < limit {
            // Skip ahead while the byte under the window's end is not the word's last byte.
            let mut shift = self.table[usize::from(string[pos])];
            while shift > 0 {
                pos += shift;
                if pos >= limit {
                    return None;
                }
                shift = self.table[usize::from(string[pos])];
            }
            let here = pos + 1 - len;
            if string[here..=pos] == *self.findme {
                return Some(here);
            }
            pos += 1;
        }
        None
    }
}

/// The pairs of an input: one per line, word and phrase separated by the first tab (a line
/// without a tab is a word with an empty phrase). As C strings, each ends at a NUL if it has one.
pub fn parse_input(input: &str) -> Vec<(&str, &str)> {
    fn c_string(s: &str) -> &str {
        s.split('\0').next().unwrap_or("")
    }
    input
        .lines()
        .map(|line| {
            let (find, search) = line.split_once('\t').unwrap_or((line, ""));
            (c_string(find), c_string(search))
        })
        .collect()
}

/// The line `main` prints for one pair.
pub fn write_result(find: &str, search: &str, out: &mut impl Write) -> fmt::Result {
    let here = Searcher::new(find.as_bytes()).find(search.as_bytes());
    let not = if here.is_some() { "" } else { " not" };
    write!(out, "\"{find}\" is{not} in \"{search}\"")?;
    if let Some(at) = here {
        // The match starts where the word's first byte does, so on a character boundary.
        write!(out, " [\"{}\"]", &search[at..])?;
    }
    out.write_char('\n')
}

/// `main` over a list of pairs.
pub fn run_pairs(pairs: &[(&str, &str)], out: &mut impl Write) -> fmt::Result {
    pairs
        .iter()
        .try_for_each(|(find, search)| write_result(find, search, out))
}

/// `main` over an input in the format of [`parse_input`]. Input that is not UTF-8 (which `Write`
/// could not print) gives `Err(fmt::Error)` before anything is printed.
pub fn run(input: &[u8], out: &mut impl Write) -> fmt::Result {
    let text = core::str::from_utf8(input).map_err(|_| fmt::Error)?;
    run_pairs(&parse_input(text), out)
}
