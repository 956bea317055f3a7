//! What a call passes by reference, sent with the call: the master reads the leading replica's
//! input buffers, strings and structures (the call table's inputs, as for the event's hash) into
//! the exchange buffer with the request, so that the component needs no message to read them.
//! Each piece is its address, its length and its bytes, padded to 8. A string is sent to the end
//! of the page its NUL is on, as the personality reads strings a page at a time.

use alloc::vec::Vec;

use romain_linux::table::{Input, PATH_MAX};
use romain_protocol::World;

const PAGE: u64 = 4096;

/// Writes the leading replica's inputs into `data`: the bytes used. An input that is not the
/// program's memory, or does not fit, is left out (the component asks for it, and gets the same
/// answer the in-place personality gets).
pub fn gather<W: World>(world: &mut W, leader: usize, inputs: &[Input], data: &mut [u8]) -> usize {
    let mut at = 0;
    for input in inputs {
        let (addr, len) = match *input {
            Input::Bytes { addr, len } => (addr, len),
            Input::Fixed { addr, size } if addr != 0 => (addr, size),
            Input::Str(addr) => match string_span(world, leader, addr) {
                Some(len) => (addr, len),
                None => continue,
            },
            _ => continue,
        };
        let Some(room) = data.len().checked_sub(at + 16) else {
            break;
        };
        if len == 0 || len > room as u64 || addr.checked_add(len).is_none() {
            continue;
        }
        let n = len as usize;
        let bytes = &mut data[at + 16..at + 16 + n];
        if world.read_memory(leader, addr, bytes).is_err() {
            continue;
        }
        data[at..at + 8].copy_from_slice(&addr.to_le_bytes());
        data[at + 8..at + 16].copy_from_slice(&len.to_le_bytes());
        at += 16 + n.next_multiple_of(8);
    }
    at.min(data.len())
}

/// The length from `addr` to the end of the page that holds the string's NUL (at most
/// [`PATH_MAX`] bytes on), if the string can be read.
fn string_span<W: World>(world: &mut W, k: usize, addr: u64) -> Option<u64> {
    let mut page = [0u8; PAGE as usize];
    let mut at = addr;
    while at - addr < PATH_MAX as u64 + PAGE {
        let n = PAGE - at % PAGE;
        let chunk = &mut page[..n as usize];
        world.read_memory(k, at, chunk).ok()?;
        at = at.checked_add(n)?;
        if chunk.contains(&0) {
            return Some(at - addr);
        }
    }
    None
}

/// The pieces of `data` (as [`gather`] wrote them), copied.
pub fn pieces(data: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(header) = data.get(at..at + 16) {
        let addr = u64::from_le_bytes(header[..8].try_into().unwrap_or_default());
        let len = u64::from_le_bytes(header[8..].try_into().unwrap_or_default()) as usize;
        let Some(bytes) = data.get(at + 16..at + 16 + len) else {
            break;
        };
        out.push((addr, bytes.to_vec()));
        at += 16 + len.next_multiple_of(8);
    }
    out
}

/// `buf.len()` bytes at `addr` from the pieces, if one holds them all.
pub fn read(pieces: &[(u64, Vec<u8>)], addr: u64, buf: &mut [u8]) -> bool {
    for (start, bytes) in pieces {
        let Some(off) = addr.checked_sub(*start) else {
            continue;
        };
        let Some(end) = (off as usize).checked_add(buf.len()) else {
            continue;
        };
        if let Some(src) = bytes.get(off as usize..end) {
            buf.copy_from_slice(src);
            return true;
        }
    }
    false
}
