//! MiBench network/patricia, ported to `no_std` Rust.
//!
//! The original (`patricia small.udp`; trie code by Matthew Smart, University of Michigan) builds
//! a Patricia trie of IPv4 addresses with netmasks for longest-prefix matching. Its driver reads a
//! packet trace, one `time address ...` line per packet, looks each address up and prints
//! `time address: Found.` when the trie already holds it, or else inserts it (as a host route,
//! mask `0xffffffff`). [`run`] is that driver, [`Patricia`] the trie.
//!
//! Not ported: `pat_remove`, which the benchmark never calls, and the per-mask user data (the
//! driver allocates a zeroed `struct MyNode` for each and never reads it).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub use mibench_common::cfmt;

use alloc::vec::Vec;
use core::fmt::{self, Write};
use mibench_common::GlibcRand;

/// Whether bit `i` (0 = most significant) of `key` is set: `key & (1 << (31-i))`.
///
/// The original asks for bit 32 when a new key differs from the leaf it reaches only in bit 0
/// (the insertion's search for the first differing bit starts at bit 1), a negative shift count,
/// undefined in C. Here it is bit 0, as x86 shift instructions (count modulo 32) make it; gcc's
/// -O3 build does that in lookups, but where it has inlined `insertR` into `pat_insert` it uses
/// 0 instead, so such a key is inserted unreachably there (and reported as new each time it
/// comes again), while this port finds it. Only keys that differ from another solely in the top
/// bit are affected; the MiBench traces have none.
fn bit(i: i32, key: u32) -> bool {
    key & 1u32.wrapping_shl((31 - i) as u32) != 0
}

/// A `struct ptree`; `left` and `right` index [`Patricia::nodes`].
struct Node {
    key: u32,
    /// The node's masks, least specific first (`p_m`, `p_mlen`).
    masks: Vec<u32>,
    /// The bit this node tests (`p_b`).
    b: i32,
    left: usize,
    right: usize,
}

/// The trie: `nodes[0]` is the head, the default route 0.0.0.0/0, which tests bit 0.
pub struct Patricia {
    nodes: Vec<Node>,
}

const HEAD: usize = 0;

/// What [`Patricia::search`] found: the node's key and its masks, least specific first.
#[derive(Debug, PartialEq, Eq)]
pub struct Found<'a> {
    pub key: u32,
    pub masks: &'a [u32],
}

impl Default for Patricia {
    fn default() -> Self {
        Self::new()
    }
}

impl Patricia {
    /// A trie holding only the default route (key 0, mask 0), whose links point to itself.
    pub fn new() -> Self {
        Patricia {
            nodes: alloc::vec![Node {
                key: 0,
                masks: alloc::vec![0],
                b: 0,
                left: HEAD,
                right: HEAD,
            }],
        }
    }

    /// Follows the links from the head for `key` until they point back up the trie, calling
    /// `visit` on each node passed, and returns the node reached.
    fn walk(&self, key: u32, mut visit: impl FnMut(usize)) -> usize {
        let mut t = HEAD;
        loop {
            visit(t);
            let i = self.nodes[t].b;
            t = if bit(i, key) {
                self.nodes[t].right
            } else {
                self.nodes[t].left
            };
            if i >= self.nodes[t].b {
                return t;
            }
        }
    }

    /// `pat_search`: the node on `key`'s path whose key equals `key` under the node's first
    /// mask, preferring the leaf reached, else the last such node passed.
    ///
    /// That is the longest-prefix match for host routes under the default route (the benchmark's
    /// case) and for prefixes nested along one path. As in the original, it can miss a covering
    /// prefix that lies off the key's path when arbitrary prefixes overlap (this port and the
    /// original agree on 22 000 lookups over 3 000 random prefixes, misses included).
    pub fn search(&self, key: u32) -> Option<Found<'_>> {
        let matches = |t: usize| self.nodes[t].key == key & self.nodes[t].masks[0];
        let mut best = None;
        let t = self.walk(key, |t| {
            if matches(t) {
                best = Some(t);
            }
        });
        let hit = if matches(t) { Some(t) } else { best };
        hit.map(|t| Found {
            key: self.nodes[t].key,
            masks: &self.nodes[t].masks,
        })
    }

    /// `pat_insert` of the route `key`/`mask` (the key is masked first). A key already in the
    /// trie gets the mask added to its list (sorted, least specific first; a mask it already has
    /// is left as it is).
    ///
    /// The original's merge of a new mask into the list misbehaves when the list holds
    /// `0xffffffff` after the new mask's place (it writes past the new list); that never happens
    /// in the benchmark, and this port inserts in order instead.
    pub fn insert(&mut self, key: u32, mask: u32) {
        let key = key & mask;
        let t = self.walk(key, |_| {});
        if self.nodes[t].key == key {
            let masks = &mut self.nodes[t].masks;
            if let Err(at) = masks.binary_search(&mask) {
                masks.insert(at, mask);
            }
            return;
        }

        // The first bit (after bit 0, as in the original) in which the keys differ.
        let t_key = self.nodes[t].key;
        let mut d = 1;
        while d < 32 && bit(d, key) == bit(d, t_key) {
            d += 1;
        }

        let n = self.nodes.len();
        self.nodes.push(Node {
            key,
            masks: alloc::vec![mask],
            b: 0,
            left: n,
            right: n,
        });
        let head_b = self.nodes[HEAD].b;
        if bit(head_b, key) {
            let right = self.insert_r(self.nodes[HEAD].right, n, d, HEAD);
            self.nodes[HEAD].right = right;
        } else {
            let left = self.insert_r(self.nodes[HEAD].left, n, d, HEAD);
            self.nodes[HEAD].left = left;
        }
    }

    /// `insertR`: puts node `n`, testing bit `d`, into the subtree at `h` (whose parent is `p`)
    /// and returns the subtree's new root.
    fn insert_r(&mut self, h: usize, n: usize, d: i32, p: usize) -> usize {
        let (h_b, p_b) = (self.nodes[h].b, self.nodes[p].b);
        if h_b >= d || h_b <= p_b {
            let set = bit(d, self.nodes[n].key);
            let node = &mut self.nodes[n];
            node.b = d;
            node.left = if set { h } else { n };
            node.right = if set { n } else { h };
            return n;
        }
        if bit(h_b, self.nodes[n].key) {
            let right = self.insert_r(self.nodes[h].right, n, d, h);
            self.nodes[h].right = right;
        } else {
            let left = self.insert_r(self.nodes[h].left, n, d, h);
            self.nodes[h].left = left;
        }
        h
    }
}

/// The lines `fgets(line, 128, fp)` returns: up to and including a newline, at most 127 bytes,
/// each ending (as a C string) at its first NUL byte.
fn fgets_lines(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = input;
    core::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = match rest.iter().take(127).position(|&b| b == b'\n') {
            Some(nl) => nl + 1,
            None => rest.len().min(127),
        };
        let (line, tail) = rest.split_at(len);
        rest = tail;
        Some(line.split(|&b| b == 0).next().unwrap_or(line))
    })
}

fn skip_space(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .unwrap_or(s.len());
    &s[start..]
}

fn digits(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// `%f` of `sscanf`: skips white space and reads the longest prefix that `strtof` takes as a
/// decimal number, `inf`, `infinity` or `nan` (hexadecimal floats are not supported).
pub fn scan_float(s: &[u8]) -> Option<(f32, &[u8])> {
    let s = skip_space(s);
    let sign = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    let body = &s[sign..];
    let lower = |n: usize| body.get(..n).map(<[u8]>::to_ascii_lowercase);
    let len = if lower(8).as_deref() == Some(b"infinity") {
        8
    } else if matches!(lower(3).as_deref(), Some(b"inf" | b"nan")) {
        3
    } else {
        let int = digits(body);
        let mut len = int;
        let mut frac = 0;
        if body.get(len) == Some(&b'.') {
            frac = digits(&body[len + 1..]);
            len += 1 + frac;
        }
        if int + frac == 0 {
            return None;
        }
        if matches!(body.get(len), Some(b'e' | b'E')) {
            let exp = &body[len + 1..];
            let exp_sign = usize::from(matches!(exp.first(), Some(b'+' | b'-')));
            let exp_digits = digits(&exp[exp_sign..]);
            if exp_digits > 0 {
                len += 1 + exp_sign + exp_digits;
            }
        }
        len
    };
    let text = core::str::from_utf8(&s[..sign + len]).ok()?;
    Some((text.parse().ok()?, &s[sign + len..]))
}

/// `%d` of `sscanf`: skips white space, reads an optionally signed decimal number as a
/// saturating `long` and keeps its low 32 bits, as glibc does.
pub fn scan_int(s: &[u8]) -> Option<(i32, &[u8])> {
    let s = skip_space(s);
    let sign = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    let len = digits(&s[sign..]);
    if len == 0 {
        return None;
    }
    let negative = s[0] == b'-';
    let mut value: i64 = 0;
    for &d in &s[sign..sign + len] {
        let d = i64::from(d - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(d)
        } else {
            value.saturating_mul(10).saturating_add(d)
        };
    }
    Some((value as i32, &s[sign + len..]))
}

/// The original's `main` on the trace `input`: for each line, `sscanf(line, "%f %d", &time,
/// &addr)`, then prints `"%f %08x: Found.\n"` if the trie holds `addr`, or inserts `addr` with
/// mask `0xffffffff`. As in C, a line that does not parse leaves `time` and `addr` as they were
/// (before the first line, 0) and is processed with them.
pub fn run(input: &[u8], out: &mut impl Write) -> fmt::Result {
    let mut trie = Patricia::new();
    let (mut time, mut addr) = (0.0f32, 0u32);
    for line in fgets_lines(input) {
        if let Some((t, rest)) = scan_float(line) {
            time = t;
            if let Some((a, _)) = scan_int(rest) {
                addr = a as u32;
            }
        }
        let found = trie.search(addr).is_some_and(|f| f.key == addr);
        if found {
            writeln!(out, "{} {addr:08x}: Found.", cfmt::f(time as f64))?;
        } else {
            trie.insert(addr, 0xffff_ffff);
        }
    }
    Ok(())
}

/// Ports the trace's packets use, most common first (as in MiBench's trace: DNS, 90, 801, ...).
const PORTS: [u32; 6] = [53, 53, 53, 90, 801, 123];

/// A made-up packet trace of `lines` lines `time src dst sport dport`, like MiBench's
/// `small.udp`/`large.udp`: times rise by up to 0.09 s a packet; the source is, one time in 25,
/// a host not seen before, else a seen one (low numbers more often); ports come from a few
/// common ones. Deterministic: glibc `rand()` after `srand(seed)`.
fn generated_trace(lines: usize, seed: u32) -> Vec<u8> {
    let mut rand = GlibcRand::new(seed);
    let mut pick = |n: u32| rand.rand() as u32 % n;
    let mut text = alloc::string::String::new();
    let (mut time, mut hosts) = (0.0f64, 2u32);
    for _ in 0..lines {
        time += f64::from(pick(90_000)) / 1e6;
        let src = if pick(25) == 0 {
            hosts += 1;
            hosts
        } else {
            1 + pick(hosts).min(pick(hosts)) // the smaller of two: favours low numbers
        };
        let dst = 1 + pick(hosts).min(pick(hosts));
        let (sport, dport) = (PORTS[pick(6) as usize], PORTS[pick(6) as usize]);
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{time:.6} {src} {dst} {sport} {dport}");
    }
    text.into_bytes()
}

/// A stand-in for MiBench's `small.udp` (10 890 packets, 252 KB): [`generated_trace`] of
/// 10 890 lines, seed 5.
pub fn generated_small_input() -> Vec<u8> {
    generated_trace(10_890, 5)
}

/// A stand-in for MiBench's `large.udp` (62 721 packets, 1.5 MB): 62 721 lines, seed 6.
pub fn generated_large_input() -> Vec<u8> {
    generated_trace(62_721, 6)
}
