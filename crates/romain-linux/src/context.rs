//! A call's view of the group while the master performs it: the leading replica's memory to
//! read, every replica's memory to write, the console.

use alloc::vec::Vec;

use romain_protocol::{CallScope, World};
use syscalls::Errno;

/// Most bytes one call moves between a replica and the master: larger requests are shortened,
/// as Linux may shorten a read or write (the master's own heap is small).
pub const MAX_IO: u64 = 1 << 20;

pub struct Ctx<'c, 'a, 's, W> {
    pub calls: &'c mut CallScope<'a, 's, W>,
}

impl<W: World> Ctx<'_, '_, '_, W> {
    /// `len` bytes at `addr` of the leading replica.
    pub fn read(&mut self, addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
        if len > MAX_IO || addr.checked_add(len).is_none() {
            return Err(Errno::EFAULT);
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(len as usize)
            .map_err(|_| Errno::ENOMEM)?;
        buf.resize(len as usize, 0);
        let leader = self.calls.leader;
        self.calls
            .shell
            .read_memory(leader, addr, &mut buf)
            .map_err(|_| Errno::EFAULT)?;
        Ok(buf)
    }

    /// A NUL-terminated string of at most `max` bytes (ENAMETOOLONG past it).
    pub fn read_str(&mut self, addr: u64, max: usize) -> Result<alloc::string::String, Errno> {
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() < max {
            // To the end of the page at most: the next page may not be the program's.
            let chunk = (4096 - at % 4096).min((max - out.len()) as u64);
            let bytes = self.read(at, chunk)?;
            if let Some(nul) = bytes.iter().position(|&b| b == 0) {
                out.extend_from_slice(&bytes[..nul]);
                return alloc::string::String::from_utf8(out).map_err(|_| Errno::ENOENT);
            }
            out.extend_from_slice(&bytes);
            at += chunk;
        }
        Err(Errno::ENAMETOOLONG)
    }

    /// Writes `bytes` at `addr` into every replica alike.
    pub fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), Errno> {
        if addr.checked_add(bytes.len() as u64).is_none() {
            return Err(Errno::EFAULT);
        }
        self.calls
            .shell
            .write_memory(addr, bytes)
            .map_err(|_| Errno::EFAULT)
    }

    /// Checks that `len` bytes at `addr` can be written, before anything is consumed (a read
    /// from a file must not move its offset when the buffer is bad).
    pub fn writable(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        if len > MAX_IO || addr.checked_add(len).is_none() {
            return Err(Errno::EFAULT);
        }
        // Read, then write back the same bytes, page by page: proves every page is there and
        // writable without changing it.
        let mut at = addr;
        let end = addr + len;
        while at < end {
            let next = (at - at % 4096 + 4096).min(end);
            let probe = self.read(at, 1)?;
            self.write(at, &probe)?;
            at = next;
        }
        let last = self.read(end - 1, 1)?;
        self.write(end - 1, &last)
    }

    /// The master's clock in nanoseconds.
    pub fn now_ns(&self) -> u64 {
        let hz = match self.calls.counter_hz {
            0 => 1_000_000_000,
            hz => hz,
        };
        (self.calls.shell.now() as u128 * 1_000_000_000 / hz as u128) as u64
    }
}
