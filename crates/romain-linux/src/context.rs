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
        self.read_into(addr, &mut buf)?;
        Ok(buf)
    }

    /// `buf.len()` bytes at `addr` of the leading replica into `buf`.
    pub fn read_into(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        if addr.checked_add(buf.len() as u64).is_none() {
            return Err(Errno::EFAULT);
        }
        let leader = self.calls.leader;
        self.calls
            .shell
            .read_memory(leader, addr, buf)
            .map_err(|_| Errno::EFAULT)
    }

    /// A little-endian `u32` at `addr` of the leading replica (a futex word).
    pub fn read_u32(&mut self, addr: u64) -> Result<u32, Errno> {
        let mut b = [0u8; 4];
        self.read_into(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// A little-endian `u64` at `addr` of the leading replica.
    pub fn read_u64(&mut self, addr: u64) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        self.read_into(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
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
            at = at.checked_add(chunk).ok_or(Errno::EFAULT)?;
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
        let leader = self.calls.leader;
        self.calls
            .shell
            .writable(leader, addr, len)
            .map_err(|_| Errno::EFAULT)
    }

    /// Fills `len` bytes at `buf` (at most [`MAX_IO`]) of every replica with the words `word`
    /// gives, a page at a time (no buffer of the program's length in the master's heap): the
    /// bytes written. Checked before the first is drawn.
    pub fn fill(
        &mut self,
        buf: u64,
        len: u64,
        mut word: impl FnMut(&mut Self) -> u64,
    ) -> Result<u64, Errno> {
        let len = len.min(MAX_IO);
        self.writable(buf, len)?;
        let mut page = [0u8; 4096];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(page.len() as u64) as usize;
            let chunk = &mut page[..n];
            for bytes in chunk.chunks_mut(8) {
                let w = word(self).to_le_bytes();
                bytes.copy_from_slice(&w[..bytes.len()]);
            }
            // Within the buffer checked above.
            self.write(buf + done, chunk)?;
            done += n as u64;
        }
        Ok(len)
    }

    /// The (base, length) pairs of the iovec array of `count` entries at `addr`, as one call
    /// uses them (see [`iovecs`]).
    pub fn iovecs(&mut self, addr: u64, count: u64) -> Result<Vec<(u64, u64)>, Errno> {
        let leader = self.calls.leader;
        let raw = read_iovec_array(self.calls.shell, leader, addr, count)?;
        iovecs(&raw)
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

/// Most entries of an iovec array (Linux's UIO_MAXIOV): EINVAL past it.
pub const IOV_MAX: u64 = 1024;
/// Bytes of one iovec entry (base, length).
pub const IOV_SIZE: u64 = 16;

/// The raw iovec array of `count` entries at `addr` of replica `k`: EINVAL for more than
/// [`IOV_MAX`] entries, EFAULT where it is not the program's.
pub fn read_iovec_array<W: World>(
    shell: &mut W,
    k: usize,
    addr: u64,
    count: u64,
) -> Result<Vec<u8>, Errno> {
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let len = IOV_SIZE * count;
    if addr.checked_add(len).is_none() {
        return Err(Errno::EFAULT);
    }
    let mut raw = Vec::new();
    raw.try_reserve_exact(len as usize)
        .map_err(|_| Errno::ENOMEM)?;
    raw.resize(len as usize, 0);
    shell
        .read_memory(k, addr, &mut raw)
        .map_err(|_| Errno::EFAULT)?;
    Ok(raw)
}

/// The (base, length) pairs of a raw iovec array as one call uses them, as Linux imports an
/// iovec array: a negative length (as `ssize_t`) is EINVAL, an entry whose end wraps is EFAULT,
/// and the lengths together are cut at [`MAX_IO`] (the entry that crosses it is shortened, the
/// ones after it are empty). The fingerprint and the call both take them from here: they cover
/// the same bytes.
pub fn iovecs(raw: &[u8]) -> Result<Vec<(u64, u64)>, Errno> {
    let mut out = Vec::new();
    out.try_reserve_exact(raw.len() / IOV_SIZE as usize)
        .map_err(|_| Errno::ENOMEM)?;
    let mut total: u64 = 0;
    for entry in raw.chunks_exact(IOV_SIZE as usize) {
        let (base, len) = entry.split_at(8);
        let base = u64::from_le_bytes(base.try_into().map_err(|_| Errno::EFAULT)?);
        let len = u64::from_le_bytes(len.try_into().map_err(|_| Errno::EFAULT)?);
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        if base.checked_add(len).is_none() {
            return Err(Errno::EFAULT);
        }
        let used = len.min(MAX_IO - total);
        total += used;
        out.push((base, used));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(entries: &[(u64, u64)]) -> Vec<u8> {
        entries
            .iter()
            .flat_map(|(b, l)| b.to_le_bytes().into_iter().chain(l.to_le_bytes()))
            .collect()
    }

    #[test]
    fn iovecs_are_cut_at_one_mib_in_all() {
        let list = iovecs(&raw(&[(1, MAX_IO - 10), (2, 100), (3, 5), (4, 0)])).unwrap();
        assert_eq!(list, [(1, MAX_IO - 10), (2, 10), (3, 0), (4, 0)]);
        // Lengths whose sum wraps u64 are cut all the same.
        let list = iovecs(&raw(&[(0, i64::MAX as u64), (0, i64::MAX as u64), (0, 7)])).unwrap();
        assert_eq!(list, [(0, MAX_IO), (0, 0), (0, 0)]);
        assert_eq!(iovecs(&[]).unwrap(), []);
    }

    #[test]
    fn iovecs_with_a_negative_length_or_a_wrapping_end_are_refused() {
        assert_eq!(iovecs(&raw(&[(1, 1), (2, 1 << 63)])), Err(Errno::EINVAL));
        assert_eq!(iovecs(&raw(&[(1, 1), (2, u64::MAX)])), Err(Errno::EINVAL));
        assert_eq!(iovecs(&raw(&[(u64::MAX - 1, 10)])), Err(Errno::EFAULT));
        // A length of 0 at the very end does not wrap.
        assert_eq!(iovecs(&raw(&[(u64::MAX, 0)])), Ok(vec![(u64::MAX, 0)]));
    }
}
