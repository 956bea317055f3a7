//! Reading and patching a replica's own memory from the master (copy & execute's private side,
//! and the buffers of Linux system calls).

use romain_core::summary::Status;
use romain_image::PAGE_SIZE;
use romain_memory::Refusal;
use romain_protocol::Stop;

use romain_cae::execute::Refused;

use crate::cae;
use crate::memory::Frame;
use crate::objects::Objects;
use crate::replica::Replica;

pub(super) fn page_of(replica: &Replica, addr: u64) -> Option<(u64, Frame)> {
    let space = replica.space.borrow();
    space.page_at(addr).map(|(vaddr, page)| (vaddr, page.frame))
}

/// The code at `pc` in `replica`'s own memory: an x86_64 instruction, or an aarch64 exclusive
/// block (it may end at the end of a page).
pub(super) fn code_at(replica: &Replica, pc: u64) -> Result<[u8; 32], Stop> {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        match page_of(replica, pc + i as u64) {
            // SAFETY: a read of one byte; no other reference to the page is in use.
            Some((vaddr, frame)) => *b = unsafe { frame.bytes() }[(pc + i as u64 - vaddr) as usize],
            None if i > 0 => break,
            None => {
                return Err(Stop(
                    Status::AppFault,
                    alloc::format!("copy & execute: no code at pc {pc:#x}"),
                ));
            }
        }
    }
    Ok(bytes)
}

/// `replica`'s memory over `span`, page by page: each piece's addresses and its bytes (`None`
/// for a page the replica does not have).
fn pieces(
    replica: &Replica,
    span: core::ops::Range<u64>,
) -> impl Iterator<Item = (core::ops::Range<u64>, Option<&'static [u8]>)> + '_ {
    let mut at = span.start;
    core::iter::from_fn(move || {
        if at >= span.end {
            return None;
        }
        let end = span.end.min(at - at % PAGE_SIZE + PAGE_SIZE);
        let bytes = page_of(replica, at).map(|(vaddr, frame)| {
            // SAFETY: read while the replicas wait at the event; the master writes no replica page
            // while it uses a piece.
            &(unsafe { frame.bytes() })[(at - vaddr) as usize..(end - vaddr) as usize]
                as &'static [u8]
        });
        let piece = (at..end, bytes);
        at = end;
        Some(piece)
    })
}

/// FNV-1a over `replica`'s bytes in `span` (a page not there yet reads as zeros, as it would).
pub(super) fn digest(replica: &Replica, span: core::ops::Range<u64>) -> u64 {
    use romain_records::fnv;
    let mut hash = fnv::START;
    for (range, bytes) in pieces(replica, span) {
        match bytes {
            Some(bytes) => hash = fnv::continue_with(hash, bytes),
            None => range.for_each(|_| hash = fnv::continue_with(hash, &[0])),
        }
    }
    hash
}

/// Writes `code` (an instruction: up to 4 bytes, within one page) at `addr` of `replica`'s
/// private code; returns the bytes it replaced. Under QEMU's TCG the write is seen at once;
/// hardware also needs the instruction cache made coherent.
pub(super) fn patch_code(
    replica: &Replica,
    addr: u64,
    code: &[u8],
) -> Option<heapless::Vec<u8, 4>> {
    let (vaddr, frame) =
        page_of(replica, addr).filter(|(v, _)| addr + code.len() as u64 <= v + PAGE_SIZE)?;
    let at = (addr - vaddr) as usize..(addr - vaddr) as usize + code.len();
    // SAFETY: the one reference to the page, used at once.
    let page = unsafe { frame.bytes() };
    let saved = heapless::Vec::from_slice(&page[at.clone()]).ok()?;
    page[at].copy_from_slice(code);
    Some(saved)
}

/// The end of `len` bytes at `addr`, if they lie in the user address range (the addresses are
/// the program's: they may wrap or point anywhere).
fn in_user_range(addr: u64, len: usize) -> Result<u64, Refused> {
    addr.checked_add(len as u64)
        .filter(|&end| end <= romain_image::USER_END)
        .ok_or_else(|| Refused(alloc::format!("{addr:#x}+{len} is outside the user range")))
}

/// The replicas' own memory as copy & execute's string instructions see it: read from the
/// leading replica, written into every replica.
pub(super) struct PrivateMemory<'a> {
    pub objects: &'a mut Objects,
    pub replicas: &'a [Replica],
    pub leader: usize,
}

impl cae::Private for PrivateMemory<'_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Refused> {
        let leader = &self.replicas[self.leader];
        let end = in_user_range(addr, buf.len())?;
        for (range, bytes) in pieces(leader, addr..end) {
            let to = &mut buf[(range.start - addr) as usize..(range.end - addr) as usize];
            match bytes {
                Some(bytes) => to.copy_from_slice(bytes),
                // A lazy page not there yet: zeros, as the replica would read.
                None if leader
                    .space
                    .borrow()
                    .is_lazy(range.start - range.start % PAGE_SIZE) =>
                {
                    to.fill(0)
                }
                None => {
                    return Err(Refused(alloc::format!(
                        "reads {:#x}, which is not the program's memory",
                        range.start
                    )));
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), Refused> {
        let end = in_user_range(addr, bytes.len())?;
        // Zeros into a lazy page not there yet change nothing (it reads as zeros, and comes
        // zeroed at its first touch): a mapping made again over reserved memory (Go's heap)
        // costs no page until the program touches it.
        let unchanged = |r: &Replica, page: u64| {
            let (from, to) = (addr.max(page), end.min(page + PAGE_SIZE));
            let space = r.space.borrow();
            space.page_at(page).is_none()
                && space.is_lazy(page)
                && bytes[(from - addr) as usize..(to - addr) as usize]
                    .iter()
                    .all(|&b| b == 0)
        };
        // Every page of every replica first: a refused write changes no replica.
        for r in self.replicas {
            let mut page = addr - addr % PAGE_SIZE;
            while page < end {
                if !unchanged(r, page) {
                    self.writable(r, page)?;
                }
                page += PAGE_SIZE;
            }
        }
        for r in self.replicas {
            let mut page = addr - addr % PAGE_SIZE;
            while page < end {
                let Some((_, frame)) = page_of(r, page) else {
                    // Left untouched above: zeros into a lazy page.
                    page += PAGE_SIZE;
                    continue;
                };
                let (from, to) = (addr.max(page), end.min(page + PAGE_SIZE));
                // SAFETY: the one reference to this page, used at once.
                (unsafe { frame.bytes() })[(from - page) as usize..(to - page) as usize]
                    .copy_from_slice(&bytes[(from - addr) as usize..(to - addr) as usize]);
                page += PAGE_SIZE;
            }
        }
        Ok(())
    }
}

impl PrivateMemory<'_> {
    /// Makes `replica`'s page at `vaddr` present and writable as the replica's own store would
    /// have: a lazy page is brought in, a write-protected one made writable (and saved first,
    /// for a rollback).
    fn writable(&mut self, replica: &Replica, vaddr: u64) -> Result<(), Refused> {
        let refused = |why: alloc::string::String| Err(Refused(why));
        let present = replica.space.borrow().page_at(vaddr).is_some();
        match replica.with_memory(self.objects, |space, mmu| space.on_fault(mmu, vaddr)) {
            Ok(_) => {}
            Err(Refusal::NotMine) if present => {}
            Err(Refusal::NotMine) => {
                return refused(alloc::format!(
                    "writes {vaddr:#x}, which is not the program's memory"
                ));
            }
            Err(Refusal::Quota { pages }) => {
                return refused(alloc::format!(
                    "writes {vaddr:#x}, beyond the memory quota of {pages} pages"
                ));
            }
            Err(Refusal::Mmu(err)) => {
                return refused(alloc::format!("no memory for {vaddr:#x}: {err:?}"));
            }
        }
        if !replica
            .space
            .borrow()
            .page_at(vaddr)
            .is_some_and(|(_, p)| p.writable)
        {
            return refused(alloc::format!("writes read-only memory at {vaddr:#x}"));
        }
        Ok(())
    }
}
