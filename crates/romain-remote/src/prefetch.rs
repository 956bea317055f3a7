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
        let Some(room) = data.len().checked_sub(at + 16) else {
            break;
        };
        let body = &mut data[at + 16..at + 16 + room];
        let piece = match *input {
            Input::Bytes { addr, len } => read_bytes(world, leader, addr, len, body),
            Input::Fixed { addr, size } if addr != 0 => read_bytes(world, leader, addr, size, body),
            Input::Str(addr) => read_string(world, leader, addr, body),
            _ => None,
        };
        let Some((addr, len)) = piece else {
            continue;
        };
        data[at..at + 8].copy_from_slice(&addr.to_le_bytes());
        data[at + 8..at + 16].copy_from_slice(&(len as u64).to_le_bytes());
        at += 16 + len.next_multiple_of(8);
    }
    at.min(data.len())
}

/// `len` bytes at `addr` into `body`, if they fit and are the program's.
fn read_bytes<W: World>(
    world: &mut W,
    k: usize,
    addr: u64,
    len: u64,
    body: &mut [u8],
) -> Option<(u64, usize)> {
    let n = usize::try_from(len)
        .ok()
        .filter(|&n| n > 0 && n <= body.len())?;
    addr.checked_add(len)?;
    world.read_memory(k, addr, &mut body[..n]).ok()?;
    Some((addr, n))
}

/// The string at `addr` into `body` a page at a time, to the end of the page that holds its NUL
/// (at most [`PATH_MAX`] bytes on), if it can be read and fits.
fn read_string<W: World>(
    world: &mut W,
    k: usize,
    addr: u64,
    body: &mut [u8],
) -> Option<(u64, usize)> {
    let mut n = 0usize;
    while n < PATH_MAX + PAGE as usize {
        let at = addr.checked_add(n as u64)?;
        let chunk = (PAGE - at % PAGE) as usize;
        let part = body.get_mut(n..n + chunk)?;
        world.read_memory(k, at, part).ok()?;
        n += chunk;
        if part.contains(&0) {
            return Some((addr, n));
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
