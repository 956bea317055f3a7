//! Program output on the master's console, escaped so that no program line is a record or a log
//! line of the master's.
//!
//! The master and the programs share one serial line. A record ([`crate::parse`]) or a master log
//! line is recognised only as a whole line starting with its prefix; a program's line that starts
//! with zero or more `>` and then a reserved prefix ([`RESERVED`]: `ROMAIN-` or `[romain `) is
//! printed with one more `>` in front, as mboxrd quotes `From ` lines. [`unescape`] removes that
//! `>` again: the escaping is a bijection on lines, so the host gets the program's output back
//! exactly (`docs/architecture.md`, "Records no program can forge").
//!
//! [`Escaper`] does it on the program's bytes as they come, in chunks of any size: it holds back
//! at most the few bytes of a line's start that could still become a reserved prefix.

use crate::RESERVED;

/// The longest reserved prefix: the most bytes [`Escaper`] ever holds back is one less.
const LONGEST: usize = {
    let mut longest = 0;
    let mut i = 0;
    while i < RESERVED.len() {
        if RESERVED[i].len() > longest {
            longest = RESERVED[i].len();
        }
        i += 1;
    }
    longest
};

/// Where the escaper is in the program's current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing of the line printed or held.
    Start,
    /// Only `>` printed so far.
    Quotes,
    /// The line's start (after any `>`) is `held[..len]`, a proper prefix of a reserved prefix,
    /// not printed yet.
    Held,
    /// The line is decided: the rest up to its newline is printed as it is.
    Middle,
}

/// A program's output made safe to print, a chunk at a time: [`write`](Self::write) the
/// program's bytes, [`end_line`](Self::end_line) before the master prints a line of its own.
#[derive(Debug, Clone)]
pub struct Escaper {
    state: State,
    held: [u8; LONGEST],
    len: usize,
}

impl Default for Escaper {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `start` could still become a reserved prefix (or is one): `Some(true)` when it is one.
fn reserved(start: &[u8]) -> Option<bool> {
    RESERVED
        .iter()
        .map(|p| p.as_bytes())
        .filter(|p| p.starts_with(start))
        .map(|p| p.len() == start.len())
        .reduce(|a, b| a || b)
}

impl Escaper {
    pub const fn new() -> Self {
        Self {
            state: State::Start,
            held: [0; LONGEST],
            len: 0,
        }
    }

    /// Whether nothing of the program's current line was printed or is held: the program's next
    /// byte starts a line.
    pub fn at_line_start(&self) -> bool {
        self.state == State::Start
    }

    /// The program wrote `bytes`: hands what is to be printed to `out` (possibly in several
    /// pieces, possibly nothing yet).
    pub fn write(&mut self, mut bytes: &[u8], mut out: impl FnMut(&[u8])) {
        while let Some((&b, rest)) = bytes.split_first() {
            match self.state {
                State::Middle => {
                    // Up to and with the newline, as it is.
                    let (line, next) = match bytes.iter().position(|&c| c == b'\n') {
                        Some(i) => {
                            self.state = State::Start;
                            bytes.split_at(i + 1)
                        }
                        None => (bytes, &[][..]),
                    };
                    out(line);
                    bytes = next;
                }
                State::Start | State::Quotes => {
                    let quotes = bytes.iter().take_while(|&&c| c == b'>').count();
                    if quotes > 0 {
                        // The `>` of an escaped line go before these: printing them now is the
                        // same as printing one more in front of the line later.
                        let (q, next) = bytes.split_at(quotes);
                        out(q);
                        self.state = State::Quotes;
                        bytes = next;
                    } else if b == b'\n' {
                        out(&bytes[..1]);
                        self.state = State::Start;
                        bytes = rest;
                    } else if reserved(&[b]).is_some() {
                        self.held[0] = b;
                        self.len = 1;
                        self.state = State::Held;
                        bytes = rest;
                    } else {
                        self.state = State::Middle;
                    }
                }
                State::Held => {
                    let mut start = [0; LONGEST];
                    let n = self.len + 1;
                    start[..self.len].copy_from_slice(&self.held[..self.len]);
                    start[self.len] = b;
                    match reserved(&start[..n]) {
                        Some(true) => {
                            // The line starts with a reserved prefix: one `>` more.
                            let mut quoted = [0; LONGEST + 1];
                            quoted[0] = b'>';
                            quoted[1..=n].copy_from_slice(&start[..n]);
                            out(&quoted[..=n]);
                            self.len = 0;
                            self.state = State::Middle;
                            bytes = rest;
                        }
                        Some(false) => {
                            self.held = start;
                            self.len = n;
                            bytes = rest;
                        }
                        None => {
                            // Not a reserved prefix: the held bytes as they are, and `b` is the
                            // line's middle (a newline included).
                            out(&self.held[..self.len]);
                            self.len = 0;
                            self.state = State::Middle;
                        }
                    }
                }
            }
        }
    }

    /// The master ends the program's unfinished line to print a line of its own: the held bytes
    /// go out as they are (they are no reserved prefix, and the line ends here), then a newline.
    /// Nothing when the program's line is empty.
    pub fn end_line(&mut self, mut out: impl FnMut(&[u8])) {
        if self.state == State::Held {
            out(&self.held[..self.len]);
        }
        if self.state != State::Start {
            out(b"\n");
        }
        self.len = 0;
        self.state = State::Start;
    }

    /// Something else ended the console's line the program's bytes were on (the master printed a
    /// line without [`end_line`](Self::end_line) first): what the program writes next is at the
    /// start of a console line, and is escaped as a line's start. Held bytes stay held: they were
    /// not printed, so they are at the new line's start.
    pub fn line_broken(&mut self) {
        if matches!(self.state, State::Quotes | State::Middle) {
            self.state = State::Start;
        }
    }
}

/// Whether a line, after its leading `>`, starts with a reserved prefix: the lines the escaping
/// gives one more `>`.
fn quoted_reserved(line: &[u8]) -> bool {
    let quotes = line.iter().take_while(|&&c| c == b'>').count();
    RESERVED
        .iter()
        .any(|p| line[quotes..].starts_with(p.as_bytes()))
}

/// A program's line as it wrote it, from the console's line (without its newline): one `>` less
/// on a line of `>` and a reserved prefix, any other line as it is.
pub fn unescape_bytes(line: &[u8]) -> &[u8] {
    match line.split_first() {
        Some((b'>', rest)) if quoted_reserved(line) => rest,
        _ => line,
    }
}

/// [`unescape_bytes`] on text.
pub fn unescape(line: &str) -> &str {
    match line.strip_prefix('>') {
        Some(rest) if quoted_reserved(line.as_bytes()) => rest,
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;
    use crate::{LOG, parse};

    /// The escaper's output of `chunks`, its line ended at the end.
    fn escaped(chunks: &[&[u8]]) -> Vec<u8> {
        let mut e = Escaper::new();
        let mut out = Vec::new();
        for c in chunks {
            e.write(c, |b| out.extend_from_slice(b));
        }
        e.end_line(|b| out.extend_from_slice(b));
        out
    }

    /// One line escaped whole, as the rule says (the reference the streaming escaper must match).
    fn reference(line: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        if quoted_reserved(line) {
            v.push(b'>');
        }
        v.extend_from_slice(line);
        v
    }

    /// The lines of `text`, without their newlines (the last one may have none).
    fn lines(text: &[u8]) -> Vec<&[u8]> {
        if text.is_empty() {
            return Vec::new();
        }
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        text.split(|&b| b == b'\n').collect()
    }

    #[test]
    fn reserved_lines_get_one_more_quote() {
        assert_eq!(escaped(&[b"ROMAIN-END\n"]), b">ROMAIN-END\n");
        assert_eq!(escaped(&[b"ROM", b"AIN-END\n"]), b">ROMAIN-END\n");
        assert_eq!(escaped(&[b">>[romain INFO] x\n"]), b">>>[romain INFO] x\n");
        assert_eq!(escaped(&[b"ROMAIN\n"]), b"ROMAIN\n");
        assert_eq!(escaped(&[b">ROMAN\n"]), b">ROMAN\n");
        assert_eq!(escaped(&[b"x ROMAIN-END\n"]), b"x ROMAIN-END\n");
        assert_eq!(escaped(&[b"x\rROMAIN-END\n"]), b"x\rROMAIN-END\n");
        assert_eq!(escaped(&[b"[romain]\n"]), b"[romain]\n");
        assert_eq!(
            escaped(&[b"a\nROMAIN-SUMMARY {}\nb"]),
            b"a\n>ROMAIN-SUMMARY {}\nb\n"
        );
        assert_eq!(unescape(">ROMAIN-END"), "ROMAIN-END");
        assert_eq!(unescape(">>>[romain INFO] x"), ">>[romain INFO] x");
        assert_eq!(unescape(">ROMAN"), ">ROMAN");
        assert_eq!(unescape("ROMAIN-END"), "ROMAIN-END");
        assert_eq!(unescape(""), "");
    }

    #[test]
    fn an_unfinished_line_ended_by_the_master_prints_its_held_bytes() {
        let mut e = Escaper::new();
        let mut out = Vec::new();
        e.write(b">>ROMAIN", |b| out.extend_from_slice(b));
        assert_eq!(out, b">>");
        assert!(!e.at_line_start());
        e.end_line(|b| out.extend_from_slice(b));
        assert!(e.at_line_start());
        e.write(b"-END\n", |b| out.extend_from_slice(b));
        assert_eq!(out, b">>ROMAIN\n-END\n");
        // Nothing to end: nothing printed.
        e.end_line(|_| panic!("printed"));
    }

    #[test]
    fn the_held_bytes_are_at_most_one_less_than_the_longest_prefix() {
        assert_eq!(LONGEST, LOG.len());
        let mut e = Escaper::new();
        let mut out = Vec::new();
        for &b in &LOG.as_bytes()[..LONGEST - 1] {
            e.write(&[b], |b| out.extend_from_slice(b));
        }
        assert!(out.is_empty());
        e.write(b" ", |b| out.extend_from_slice(b));
        assert_eq!(out, b">[romain ");
    }

    /// Program bytes likely to hit the reserved prefixes and their parts.
    fn program_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"ROMAIN-".to_vec()),
            Just(b"[romain ".to_vec()),
            Just(b"ROMAIN-END".to_vec()),
            Just(b"ROMAIN-SUMMARY {}".to_vec()),
            Just(b"ROMA".to_vec()),
            Just(b"[rom".to_vec()),
            Just(b">".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r".to_vec()),
            prop::collection::vec(any::<u8>(), 0..4),
            prop::collection::vec(prop::sample::select(&b"RO[MArANIom-in >\n"[..]), 0..6),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    /// `bytes` cut at `cuts` (positions, any order, repeats allowed).
    fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort();
        let mut pieces = Vec::new();
        let mut from = 0;
        for c in cuts.into_iter().chain([bytes.len()]) {
            pieces.push(bytes[from..c].to_vec());
            from = c;
        }
        pieces
    }

    proptest! {
        /// Split anywhere, the escaped output is the whole-line escaping, and its lines
        /// unescaped are the program's lines.
        #[test]
        fn escaping_in_chunks_is_undone_by_unescaping(
            bytes in program_bytes(),
            cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let pieces = split(&bytes, &cuts);
            let chunks: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
            let out = escaped(&chunks);
            let want: Vec<u8> = lines(&bytes)
                .iter()
                .flat_map(|l| reference(l).into_iter().chain([b'\n']))
                .collect();
            prop_assert_eq!(&out, &want);
            let back: Vec<&[u8]> = lines(&out).into_iter().map(unescape_bytes).collect();
            prop_assert_eq!(back, lines(&bytes));
            for line in lines(&out) {
                if let Ok(text) = core::str::from_utf8(line) {
                    prop_assert_eq!(unescape(text).as_bytes(), unescape_bytes(line));
                }
            }
        }

        /// No escaped line is a record or starts like the master's log lines, not even when the
        /// master prints lines of its own anywhere, ending the program's line first
        /// (`end_line`) or not (the root task's console then starts the master's text on a line
        /// of its own, and the escaper is told, `line_broken`); and the program's bytes all come
        /// back, in order, with line ends only added.
        #[test]
        fn no_program_line_is_a_record_or_a_log_line(
            bytes in program_bytes(),
            cuts in prop::collection::vec((any::<usize>(), any::<bool>()), 0..12),
        ) {
            let positions: Vec<usize> = cuts.iter().map(|c| c.0).collect();
            let pieces = split(&bytes, &positions);
            // The console as lines: (written by the program, text). Who wrote the unfinished
            // last line, if any.
            let mut console: Vec<(bool, Vec<u8>)> = Vec::new();
            let mut open: Option<bool> = None;
            let mut put = |program: bool, text: &[u8], open: &mut Option<bool>| {
                for &b in text {
                    if *open != Some(program) {
                        console.push((program, Vec::new()));
                    }
                    *open = Some(program);
                    if b == b'\n' {
                        *open = None;
                    } else {
                        console.last_mut().unwrap().1.push(b);
                    }
                }
            };
            let mut e = Escaper::new();
            for (i, piece) in pieces.iter().enumerate() {
                if open != Some(true) {
                    e.line_broken();
                }
                e.write(piece, |b| put(true, b, &mut open));
                if let Some(&(_, end_first)) = cuts.get(i) {
                    if end_first {
                        e.end_line(|b| put(true, b, &mut open));
                    }
                    put(false, b"[romain INFO] x\n", &mut open);
                }
            }
            e.end_line(|b| put(true, b, &mut open));
            let mut back = Vec::new();
            for (program, line) in &console {
                if *program {
                    let text = std::string::String::from_utf8_lossy(line);
                    prop_assert_eq!(parse(&text), None, "{:?}", text);
                    prop_assert!(!text.starts_with(LOG), "{:?}", text);
                    prop_assert!(!text.starts_with(crate::RECORD), "{:?}", text);
                    back.extend_from_slice(unescape_bytes(line));
                }
            }
            let want: Vec<u8> = bytes.iter().copied().filter(|&b| b != b'\n').collect();
            prop_assert_eq!(back, want);
        }
    }
}

/// A byte of a string a program (or the personality component) chose, in one of the master's
/// own lines: itself when it is printable ASCII, else `None` for the caller's stand-in, so that
/// no such string can end a line or start another.
pub fn shown(b: u8) -> Option<char> {
    (0x20..0x7f).contains(&b).then_some(b as char)
}

/// `bytes` in one of the master's lines: printable ASCII as it is, anything else as `?`.
pub struct OneLine<'a>(pub &'a [u8]);

impl core::fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0
            .iter()
            .try_for_each(|&b| core::fmt::Write::write_char(f, shown(b).unwrap_or('?')))
    }
}

#[cfg(test)]
mod one_line {
    extern crate std;
    use super::*;

    #[test]
    fn only_printable_ascii_is_shown() {
        let line = std::format!("{}", OneLine(b"ok \n\x1b[2J\xff~"));
        assert_eq!(line, "ok ??[2J?~");
        assert_eq!(shown(b' '), Some(' '));
        assert_eq!(shown(0x7f), None);
    }
}
