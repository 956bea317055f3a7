//! brk, mmap, munmap, mremap, mprotect, madvise. Memory is private and anonymous (a file
//! mapping is a private copy of the file's bytes, written from the file's storage straight into
//! the replicas' memory); protections are not changed (mprotect succeeds and leaves the pages
//! as they are). Unmapped ranges of the mapping area are reused, zeroed, by later mappings.
//! Every sum of the program's addresses and lengths is checked: the errno Linux gives, never
//! a wrap.

use core::ops::Range;

use romain_protocol::World;
use syscalls::Errno;

use crate::context::{Ctx, MAX_IO};
use crate::fs::Node;
use crate::linux::{Linux, MMAP_AREA};

const PAGE: u64 = 4096;
const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
const MAP_NORESERVE: u64 = 0x4000;
const MREMAP_MAYMOVE: u64 = 1;
/// How far above its start the break may go.
const BRK_MAX: u64 = 1 << 40;

pub fn check_range(addr: u64, len: u64) -> Result<u64, Errno> {
    match len.checked_next_multiple_of(PAGE) {
        Some(len) if addr.is_multiple_of(PAGE) && addr.checked_add(len).is_some() => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// Zeroes `range` in every replica (one request: the shell touches only the pages there are).
fn zero<W: World>(cx: &mut Ctx<'_, '_, '_, W>, range: Range<u64>) -> Result<(), Errno> {
    if range.is_empty() {
        return Ok(());
    }
    cx.calls.shell.zero_memory(range).map_err(|_| Errno::EFAULT)
}

/// The program break: `addr` 0 (or below the start) asks where it is; a move up grows every
/// replica's heap alike, as far as the memory quota allows (on failure the break stays, as on
/// Linux).
pub fn brk<W: World>(linux: &mut Linux, cx: &mut Ctx<'_, '_, '_, W>, addr: u64) -> u64 {
    let top = linux.brk_base.saturating_add(BRK_MAX);
    if addr < linux.brk_base || addr > top {
        return linux.brk;
    }
    let Some(want) = addr.checked_next_multiple_of(PAGE) else {
        return linux.brk;
    };
    if want > linux.grown {
        let bytes = want - linux.grown;
        for k in 0..cx.calls.replicas {
            if cx.calls.shell.grow(k, bytes).is_err() {
                return linux.brk;
            }
        }
        linux.grown = want;
    }
    if addr > linux.brk {
        // Memory given back by an earlier shrink reads as zeros again.
        let stale = linux.brk..addr.min(linux.grown);
        if zero(cx, stale).is_err() {
            return linux.brk;
        }
    }
    linux.brk = addr;
    addr
}

/// A range of `len` bytes of the mapping area: a free one reused (zeroed), or fresh memory
/// (`counted` against the quota now, or only as it is touched).
fn place<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    len: u64,
    counted: bool,
) -> Result<u64, Errno> {
    if let Some(i) = linux
        .free
        .iter()
        .position(|r| r.end.saturating_sub(r.start) >= len)
    {
        let start = linux.free.get(i).map_or(0, |r| r.start);
        let end = start + len; // within the free range
        zero(cx, start..end)?;
        match linux.free.get_mut(i) {
            Some(r) if r.end > end => r.start = end,
            _ => {
                linux.free.remove(i);
            }
        }
        linux.maps.insert(start, end);
        return Ok(start);
    }
    let start = linux.next_map;
    let end = start.checked_add(len).ok_or(Errno::ENOMEM)?;
    if end > MMAP_AREA.end {
        return Err(Errno::ENOMEM);
    }
    cx.calls
        .shell
        .map_lazy(start..end, counted)
        .map_err(|_| Errno::ENOMEM)?;
    linux.next_map = end;
    linux.maps.insert(start, end);
    Ok(start)
}

pub fn mmap<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    (addr, len, prot): (u64, u64, u64),
    flags: u64,
    fd: u64,
    offset: u64,
) -> Result<u64, Errno> {
    if len == 0 || !offset.is_multiple_of(PAGE) || flags & (MAP_SHARED | MAP_PRIVATE) == 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_next_multiple_of(PAGE).ok_or(Errno::ENOMEM)?;
    // The file's pages must have offsets (Linux: EOVERFLOW when the last one's would wrap).
    if offset.checked_add(len).is_none() {
        return Err(Errno::EOVERFLOW);
    }
    // The file first: a bad descriptor maps nothing.
    let file = if flags & MAP_ANONYMOUS == 0 {
        let open = linux.fs.fd(fd)?;
        let Node::File(ino) = open.node else {
            return Err(Errno::EACCES);
        };
        if !open.readable {
            return Err(Errno::EACCES);
        }
        Some(ino)
    } else {
        None
    };
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let start = if fixed {
        // Only over memory the program mapped before (glibc does this to trim or to place a
        // mapping within a larger one): zeroed, as a fresh mapping would be.
        if !addr.is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        let inside = linux
            .maps
            .range(..=addr)
            .next_back()
            .is_some_and(|(&s, &e)| s <= addr && end <= e);
        if !inside || flags & MAP_FIXED_NOREPLACE != 0 {
            return Err(if inside { Errno::EEXIST } else { Errno::ENOMEM });
        }
        zero(cx, addr..end)?;
        addr
    } else {
        // PROT_NONE or MAP_NORESERVE: a reservation (thread stacks, Go's heap arenas, glibc's
        // thread arenas): only the pages the program touches count against the quota.
        let reserved = prot == 0 || flags & MAP_NORESERVE != 0;
        place(linux, cx, len, !reserved || file.is_some())?
    };
    if let Some(ino) = file {
        // The file's bytes from its own storage, no copy in the master's heap: a piece (a
        // block) at a time.
        let pieces = linux.fs.inode(ino).map(|f| f.data.chunks(offset, len));
        let mut at = start;
        let mut failed = None;
        // (An embedded file is one piece: written a MiB at a time.)
        for part in pieces
            .into_iter()
            .flatten()
            .flat_map(|p| p.chunks(MAX_IO as usize))
        {
            if let Err(e) = cx.write(at, part) {
                failed = Some(e);
                break;
            }
            at += part.len() as u64; // within the mapping
        }
        if let Some(e) = failed {
            if !fixed {
                let _ = munmap(linux, start, len);
            }
            return Err(e);
        }
    }
    Ok(start)
}

pub fn munmap(linux: &mut Linux, addr: u64, len: u64) -> Result<u64, Errno> {
    check_range(addr, len)?;
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let end = addr + len.next_multiple_of(PAGE); // checked above
    // Every mapping that overlaps loses the overlap; the rest of it stays.
    let hit: alloc::vec::Vec<(u64, u64)> = linux
        .maps
        .iter()
        .filter(|&(&s, &e)| s < end && addr < e)
        .map(|(&s, &e)| (s, e))
        .collect();
    for (s, e) in hit {
        linux.maps.remove(&s);
        if s < addr {
            linux.maps.insert(s, addr);
        }
        if end < e {
            linux.maps.insert(end, e);
        }
        linux.free.push(s.max(addr)..e.min(end));
    }
    Ok(0)
}

pub fn mremap<W: World>(
    linux: &mut Linux,
    cx: &mut Ctx<'_, '_, '_, W>,
    old: u64,
    old_len: u64,
    new_len: u64,
    flags: u64,
) -> Result<u64, Errno> {
    check_range(old, old_len)?;
    // Only MREMAP_MAYMOVE: a move to a fixed place (MREMAP_FIXED, its fifth argument) or a
    // copy that leaves the old mapping (MREMAP_DONTUNMAP) is not done here. A private
    // mapping cannot be duplicated (a length of 0), as on Linux.
    if flags & !MREMAP_MAYMOVE != 0 || old_len == 0 || new_len == 0 {
        return Err(Errno::EINVAL);
    }
    let old_len = old_len.next_multiple_of(PAGE); // checked above
    let new_len = new_len
        .checked_next_multiple_of(PAGE)
        .ok_or(Errno::ENOMEM)?;
    let old_end = old + old_len; // checked above
    let Some((&s, &e)) = linux.maps.range(..=old).next_back() else {
        return Err(Errno::EFAULT);
    };
    if !(s <= old && old_end <= e) {
        return Err(Errno::EFAULT);
    }
    if new_len <= old_len {
        if new_len < old_len {
            munmap(linux, old + new_len, old_len - new_len)?;
        }
        return Ok(old);
    }
    if flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::ENOMEM);
    }
    let to = place(linux, cx, new_len, true)?;
    let mut at = 0;
    while at < old_len {
        // Within both mappings: `old_len` < `new_len`, both checked.
        let n = (old_len - at).min(MAX_IO);
        let copied = cx
            .read(old + at, n)
            .and_then(|bytes| cx.write(to + at, &bytes));
        if let Err(e) = copied {
            let _ = munmap(linux, to, new_len);
            return Err(e);
        }
        at += n;
    }
    munmap(linux, old, old_len)?;
    Ok(to)
}
