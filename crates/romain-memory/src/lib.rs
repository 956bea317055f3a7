//! A replica's memory as the master manages it: which pages it has, which it gets on demand,
//! which it wrote since the replicas last agreed, and what a rollback restores.
//!
//! - Pages with data from the image are loaded when the replica is built. Writable pages without
//!   data (`.bss`: the stack, static buffers) and the heap that [`Space::grow`] hands out are
//!   *lazy*: a fresh zeroed frame is mapped on the first fault, the same virtual layout in every
//!   replica, private frames each, within a per-replica page quota.
//!   A fault maps the whole aligned block of [`FAULT_AROUND`] lazy pages around it: every fault
//!   is a round trip through the master.
//! - With write tracking on, every writable page is mapped read-only after each agreed event;
//!   the first write faults and the page is upgraded and marked dirty. Repair then copies only the
//!   pages written since the replicas last agreed, and checkpointing (DMR rollback) saves a page's
//!   agreed contents on its first write: an incremental, copy-on-write checkpoint.
//! - A page written in two intervals in a row (the stack, the IPC buffer, a buffer being filled)
//!   becomes *hot*: it stays writable and counts as written in every interval, and its
//!   checkpoint is copied eagerly at each agreement. Protecting it again would cost a fault and
//!   a remap (a TLB flush on every core) per interval for a page that is written anyway.
//!
//! The kernel work (allocating, mapping, copying frames) is behind [`Mmu`], so that this logic
//! runs against a simulated kernel on the host.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::ops::Range;

use romain_image::{Layout, PAGE_SIZE};

/// Lazy pages mapped per fault: the aligned block around the faulting page.
pub const FAULT_AROUND: u64 = 16;

/// Most separate lazy ranges a replica has (adjacent ones are one): what bounds the master's
/// bookkeeping of memory a program reserved without it counting against the quota.
pub const MAX_LAZY_RANGES: usize = 1024;

/// What the master does to one replica's address space and frames.
pub trait Mmu {
    /// A frame: one page of memory the master can map into the replica and read and write.
    type Frame: Copy;
    type Error;
    /// A new, zeroed frame.
    fn alloc(&mut self) -> Result<Self::Frame, Self::Error>;
    /// Maps `frame` at `vaddr` of the replica, or changes the rights of that mapping.
    fn map(&mut self, frame: Self::Frame, vaddr: u64, writable: bool) -> Result<(), Self::Error>;
    /// Makes `to`'s contents equal to `from`'s; returns whether they differed.
    fn copy(&mut self, from: Self::Frame, to: Self::Frame) -> Result<bool, Self::Error>;
    /// Zeroes `frame`; returns whether it held anything else.
    fn zero(&mut self, frame: Self::Frame) -> Result<bool, Self::Error>;
    /// Gives back a checkpoint frame that is no longer needed (for reuse).
    fn release(&mut self, frame: Self::Frame);
}

/// How much the master watches the writes of a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracking {
    /// Writable pages stay writable; a repair compares every page.
    Off,
    /// Writable pages are write-protected after each agreed event; a repair copies the pages
    /// written since.
    Writes,
    /// As `Writes`, and the first write to a page saves its agreed contents (rollback).
    Checkpoints,
    /// For rollback without write tracking: every writable page is copied at each agreement.
    /// No protection changes; the cost is a copy of the writable memory per agreed event.
    Snapshots,
}

/// A page's contents at the last agreed event, when it has been written since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved<F> {
    /// The page did not exist (a lazy page mapped since): it was all zeros.
    Zero,
    Frame(F),
}

#[derive(Debug, Clone)]
pub struct Page<F> {
    pub frame: F,
    pub writable: bool,
    /// Whether the replica's mapping currently allows writes.
    mapped_writable: bool,
    /// Written since the last agreed event (tracked modes only).
    pub dirty: bool,
    /// Written in the interval before the current one.
    written_last: bool,
    /// Written in two intervals in a row: left writable, always counted as written.
    pub hot: bool,
    saved: Option<Saved<F>>,
}

impl<F: Copy> Page<F> {
    /// Copies the page's current contents into its checkpoint frame (made on first use).
    fn save<M: Mmu<Frame = F>>(&mut self, mmu: &mut M) -> Result<(), M::Error> {
        let copy = match self.saved {
            Some(Saved::Frame(f)) => f,
            _ => mmu.alloc()?,
        };
        mmu.copy(self.frame, copy)?;
        self.saved = Some(Saved::Frame(copy));
        Ok(())
    }

    /// The page holds agreed contents again: its checkpoint copy goes back for reuse, it counts
    /// as unwritten and is write-protected.
    fn settle<M: Mmu<Frame = F>>(&mut self, vaddr: u64, mmu: &mut M) -> Result<(), M::Error> {
        if let Some(Saved::Frame(f)) = self.saved.take() {
            mmu.release(f);
        }
        self.dirty = false;
        if self.mapped_writable {
            mmu.map(self.frame, vaddr, false)?;
            self.mapped_writable = false;
        }
        Ok(())
    }
}

/// Why the master cannot serve a fault or a request for memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal<E> {
    /// The address belongs to none of the replica's regions: the program's own fault.
    NotMine,
    /// The replica's page quota is used up.
    Quota { pages: usize },
    /// The kernel refused (out of memory for the group, or a master bug).
    Mmu(E),
}

/// What a fault the master served was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Lazy pages got their frames: this many.
    Mapped(usize),
    /// A write-protected page became writable (and dirty).
    Upgraded,
}

/// Which pages a repair makes equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The pages either replica wrote since the last agreed event.
    Written,
    /// Every page either replica has.
    All,
}

/// One replica's memory.
pub struct Space<F> {
    pages: BTreeMap<u64, Page<F>>,
    lazy: Vec<Range<u64>>,
    heap_base: u64,
    brk: u64,
    /// `brk` at the last agreed event, which a rollback returns to.
    agreed_brk: u64,
    /// Pages the replica may have: loaded, lazy and heap.
    quota_pages: usize,
    /// Pages the image takes (loaded and lazy), counted against the quota.
    image_pages: usize,
    /// Pages of lazy regions added since ([`Space::add_lazy`], counted ones), against the quota.
    region_pages: u64,
    tracking: Tracking,
}

impl<F: Copy> Space<F> {
    /// The space of a replica of `layout`: nothing mapped yet. The heap starts at `heap_base`.
    pub fn new(
        layout: &Layout,
        heap_base: u64,
        quota_pages: usize,
        tracking: Tracking,
    ) -> Result<Self, Refusal<core::convert::Infallible>> {
        let mut lazy: Vec<Range<u64>> = Vec::new();
        let mut image_pages = 0;
        for (vaddr, rights) in layout.pages() {
            image_pages += 1;
            if rights.write && !layout.page_has_data(vaddr) {
                match lazy.last_mut() {
                    Some(r) if r.end == vaddr => r.end += PAGE_SIZE,
                    _ => lazy.push(vaddr..vaddr + PAGE_SIZE),
                }
            }
        }
        if image_pages > quota_pages {
            return Err(Refusal::Quota { pages: quota_pages });
        }
        Ok(Space {
            pages: BTreeMap::new(),
            lazy,
            heap_base,
            brk: heap_base,
            agreed_brk: heap_base,
            quota_pages,
            image_pages,
            region_pages: 0,
            tracking,
        })
    }

    /// The pages of `range` the replica has (mapped frames), in order.
    pub fn present_in(&self, range: Range<u64>) -> impl Iterator<Item = u64> + '_ {
        self.pages.range(range).map(|(&v, _)| v)
    }

    /// Whether every page of `range` is the program's: one it has, or a lazy one. Steps over a
    /// lazy range at once, so a reservation of gigabytes costs a lookup, not a page each.
    pub fn covers(&self, range: Range<u64>) -> bool {
        let mut at = range.start - range.start % PAGE_SIZE;
        while at < range.end {
            let next = if let Some(r) = self.lazy_range(at) {
                r.end
            } else if self.pages.contains_key(&at) {
                at.saturating_add(PAGE_SIZE)
            } else {
                return false;
            };
            if next <= at {
                return next == u64::MAX;
            }
            at = next;
        }
        true
    }

    /// Whether `vaddr` (page-aligned) is a lazy page: mapped by [`Space::on_fault`], not loaded.
    pub fn is_lazy(&self, vaddr: u64) -> bool {
        self.lazy_range(vaddr).is_some()
    }

    /// The lazy range `vaddr` lies in: a lazy mapping's, or the heap's below the break.
    fn lazy_range(&self, vaddr: u64) -> Option<Range<u64>> {
        let heap = self.heap_base..self.brk;
        self.lazy
            .iter()
            .find(|r| r.contains(&vaddr))
            .cloned()
            .or_else(|| heap.contains(&vaddr).then_some(heap))
    }

    /// Adds a page loaded from the image (or the IPC buffer) and maps it.
    pub fn add_loaded<M: Mmu<Frame = F>>(
        &mut self,
        mmu: &mut M,
        vaddr: u64,
        frame: F,
        writable: bool,
    ) -> Result<(), M::Error> {
        let mapped_writable = writable && !self.protects();
        mmu.map(frame, vaddr, mapped_writable)?;
        self.pages.insert(
            vaddr,
            Page {
                frame,
                writable,
                mapped_writable,
                dirty: false,
                written_last: false,
                hot: false,
                saved: None,
            },
        );
        Ok(())
    }

    /// Whether writable pages are write-protected between agreements.
    fn protects(&self) -> bool {
        matches!(self.tracking, Tracking::Writes | Tracking::Checkpoints)
    }

    /// Whether a rollback is possible: the agreed contents are kept.
    fn keeps_checkpoints(&self) -> bool {
        matches!(self.tracking, Tracking::Checkpoints | Tracking::Snapshots)
    }

    /// Serves a fault of the replica at `addr`, if it is the master's to serve: a lazy page not
    /// yet there, or the first write to a write-protected page.
    pub fn on_fault<M: Mmu<Frame = F>>(
        &mut self,
        mmu: &mut M,
        addr: u64,
    ) -> Result<Served, Refusal<M::Error>> {
        let vaddr = addr - addr % PAGE_SIZE;
        if let Some(page) = self.pages.get(&vaddr) {
            if !page.writable || page.mapped_writable {
                return Err(Refusal::NotMine);
            }
            self.upgrade(mmu, vaddr).map_err(Refusal::Mmu)?;
            return Ok(Served::Upgraded);
        }
        if !self.is_lazy(vaddr) {
            return Err(Refusal::NotMine);
        }
        self.map_lazy(mmu, vaddr)?;
        let block = FAULT_AROUND * PAGE_SIZE;
        let start = vaddr - vaddr % block;
        let mut mapped = 1;
        for other in (start..start + block).step_by(PAGE_SIZE as usize) {
            if self.is_lazy(other)
                && !self.pages.contains_key(&other)
                && self.pages.len() < self.quota_pages
            {
                self.map_lazy(mmu, other)?;
                mapped += 1;
            }
        }
        Ok(Served::Mapped(mapped))
    }

    /// Maps a fresh zeroed frame at the lazy page `vaddr`, writable and dirty.
    fn map_lazy<M: Mmu<Frame = F>>(
        &mut self,
        mmu: &mut M,
        vaddr: u64,
    ) -> Result<F, Refusal<M::Error>> {
        if self.pages.len() >= self.quota_pages {
            return Err(Refusal::Quota {
                pages: self.quota_pages,
            });
        }
        let frame = mmu.alloc().map_err(Refusal::Mmu)?;
        mmu.map(frame, vaddr, true).map_err(Refusal::Mmu)?;
        let tracked = self.tracking != Tracking::Off;
        self.pages.insert(
            vaddr,
            Page {
                frame,
                writable: true,
                mapped_writable: true,
                dirty: tracked,
                written_last: false,
                hot: false,
                saved: self.keeps_checkpoints().then_some(Saved::Zero),
            },
        );
        Ok(frame)
    }

    fn upgrade<M: Mmu<Frame = F>>(&mut self, mmu: &mut M, vaddr: u64) -> Result<(), M::Error> {
        let page = self.pages.get_mut(&vaddr).expect("present");
        if self.tracking == Tracking::Checkpoints && page.saved.is_none() {
            let copy = mmu.alloc()?;
            mmu.copy(page.frame, copy)?;
            page.saved = Some(Saved::Frame(copy));
        }
        mmu.map(page.frame, vaddr, true)?;
        page.mapped_writable = true;
        page.dirty = true;
        Ok(())
    }

    /// The replicas agreed: what they wrote is the new agreed state. Write-protects the pages
    /// written since the last agreement (hot pages excepted) and drops their checkpoint copies;
    /// hot pages get a fresh checkpoint copy.
    pub fn agree<M: Mmu<Frame = F>>(&mut self, mmu: &mut M) -> Result<(), M::Error> {
        self.agreed_brk = self.brk;
        if self.tracking == Tracking::Off {
            return Ok(());
        }
        if self.tracking == Tracking::Snapshots {
            for page in self.pages.values_mut().filter(|p| p.writable) {
                page.save(mmu)?;
                // Restored by a rollback, like a written page.
                page.dirty = true;
            }
            return Ok(());
        }
        let checkpoints = self.tracking == Tracking::Checkpoints;
        for (&vaddr, page) in self.pages.iter_mut() {
            if !page.dirty {
                page.written_last = false;
                continue;
            }
            page.hot |= page.written_last;
            if page.hot {
                if checkpoints {
                    page.save(mmu)?;
                }
                continue;
            }
            page.settle(vaddr, mmu)?;
            page.written_last = true;
        }
        Ok(())
    }

    /// Returns the memory to its state at the last agreed event. Needs [`Tracking::Checkpoints`]
    /// or [`Tracking::Snapshots`]. Returns the number of pages restored.
    pub fn rollback<M: Mmu<Frame = F>>(&mut self, mmu: &mut M) -> Result<usize, M::Error> {
        debug_assert!(self.keeps_checkpoints());
        let snapshots = self.tracking == Tracking::Snapshots;
        let mut restored = 0;
        for (&vaddr, page) in self.pages.iter_mut().filter(|(_, p)| p.dirty) {
            match page.saved {
                Some(Saved::Frame(f)) => {
                    mmu.copy(f, page.frame)?;
                }
                Some(Saved::Zero) => {
                    mmu.zero(page.frame)?;
                }
                None => continue,
            }
            restored += 1;
            if page.hot || snapshots {
                // Still writable, and its checkpoint copy still holds the agreed contents.
                continue;
            }
            page.settle(vaddr, mmu)?;
        }
        self.brk = self.agreed_brk;
        Ok(restored)
    }

    /// Moves the heap's end up by `bytes` (rounded up to pages) and returns the old end: the
    /// start of the new memory, which is mapped on first touch. `bytes == 0` asks for the end.
    pub fn grow(&mut self, bytes: u64) -> Result<u64, Refusal<core::convert::Infallible>> {
        let pages = bytes.div_ceil(PAGE_SIZE);
        let heap_pages = (self.brk - self.heap_base) / PAGE_SIZE;
        let total = self.image_pages as u64 + self.region_pages + heap_pages + pages;
        if total > self.quota_pages as u64 {
            return Err(Refusal::Quota {
                pages: self.quota_pages,
            });
        }
        let old = self.brk;
        self.brk += pages * PAGE_SIZE;
        Ok(old)
    }

    /// Adds `range` (page-aligned) as lazy memory: zero pages on first touch. `counted`: its
    /// pages count against the quota now (mappings a program asks for), else only once touched
    /// (a stack's reserve).
    pub fn add_lazy(
        &mut self,
        range: Range<u64>,
        counted: bool,
    ) -> Result<(), Refusal<core::convert::Infallible>> {
        let refused = Err(Refusal::Quota {
            pages: self.quota_pages,
        });
        let pages = (range.end - range.start) / PAGE_SIZE;
        let heap_pages = (self.brk - self.heap_base) / PAGE_SIZE;
        if counted
            && self.image_pages as u64 + self.region_pages + heap_pages + pages
                > self.quota_pages as u64
        {
            return refused;
        }
        // Mappings placed one after the other (as the Linux personality places them) are one
        // range: the master's bookkeeping stays small however many a program makes.
        let follows = self.lazy.last().is_some_and(|last| last.end == range.start);
        if !follows && self.lazy.len() >= MAX_LAZY_RANGES {
            return refused;
        }
        match self.lazy.last_mut() {
            Some(last) if follows => last.end = range.end,
            _ => self.lazy.push(range),
        }
        if counted {
            self.region_pages += pages;
        }
        Ok(())
    }

    pub fn heap(&self) -> Range<u64> {
        self.heap_base..self.brk
    }

    pub fn page(&self, vaddr: u64) -> Option<&Page<F>> {
        self.pages.get(&vaddr)
    }

    /// The page containing `addr`, if the replica has it.
    pub fn page_at(&self, addr: u64) -> Option<(u64, &Page<F>)> {
        let vaddr = addr - addr % PAGE_SIZE;
        self.pages.get(&vaddr).map(|p| (vaddr, p))
    }

    /// Pages the replica has (mapped frames).
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Every page the replica has, by address.
    pub fn pages(&self) -> impl Iterator<Item = (u64, &Page<F>)> + '_ {
        self.pages.iter().map(|(&v, p)| (v, p))
    }

    pub fn dirty_pages(&self) -> impl Iterator<Item = u64> + '_ {
        self.pages.iter().filter(|(_, p)| p.dirty).map(|(&v, _)| v)
    }

    pub fn tracking(&self) -> Tracking {
        self.tracking
    }
}

/// What a repair did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Repaired {
    /// Pages compared.
    pub compared: usize,
    /// Of those, the pages that differed and were copied.
    pub copied: usize,
}

/// Makes `bad`'s memory equal to `good`'s over `scope` (for `Written`, the pages either wrote
/// since the last agreement: the rest was equal then).
pub fn repair<F: Copy, M: Mmu<Frame = F>>(
    good: &Space<F>,
    bad: &mut Space<F>,
    mmu: &mut M,
    scope: Scope,
) -> Result<Repaired, Refusal<M::Error>> {
    let pages: BTreeSet<u64> = match scope {
        Scope::Written => good.dirty_pages().chain(bad.dirty_pages()).collect(),
        Scope::All => good.pages.keys().chain(bad.pages.keys()).copied().collect(),
    };
    let mut done = Repaired::default();
    bad.brk = good.brk;
    for vaddr in pages {
        let to = match bad.pages.get(&vaddr) {
            Some(p) => p.frame,
            None if good.pages.contains_key(&vaddr) => {
                // The bad replica never touched a page the good one did.
                bad.map_lazy(mmu, vaddr)?
            }
            None => continue,
        };
        done.compared += 1;
        let differs = match good.pages.get(&vaddr) {
            Some(p) => mmu.copy(p.frame, to).map_err(Refusal::Mmu)?,
            None => {
                // The good replica never touched it: it is zeros there.
                mmu.zero(to).map_err(Refusal::Mmu)?
            }
        };
        if differs {
            done.copied += 1;
            if let Some(page) = bad.pages.get_mut(&vaddr)
                && bad.tracking != Tracking::Off
                && !page.dirty
            {
                // Its contents changed behind the checkpoint: a rollback must not trust it.
                page.dirty = true;
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use romain_image::Segment;
    use std::collections::HashMap;

    /// A simulated kernel: frames are byte vectors; a frame is mapped once, read-only or not.
    #[derive(Default)]
    struct Sim {
        frames: Vec<Vec<u8>>,
        writable: HashMap<usize, bool>,
        released: Vec<usize>,
        limit: usize,
    }

    impl Sim {
        fn new() -> Self {
            Sim {
                limit: usize::MAX,
                ..Default::default()
            }
        }
        /// The replica's write of `byte` at `addr`: faults (like the MMU) when not writable.
        fn write(&mut self, space: &mut Space<usize>, addr: u64, byte: u8) -> Option<Served> {
            let mapped = |sim: &Sim, space: &Space<usize>| {
                space
                    .page_at(addr)
                    .filter(|(_, p)| sim.writable[&p.frame])
                    .map(|(vaddr, p)| (vaddr, p.frame))
            };
            let mut served = None;
            if mapped(self, space).is_none() {
                served = Some(space.on_fault(self, addr).expect("served"));
            }
            let (vaddr, frame) = mapped(self, space).expect("writable now");
            self.frames[frame][(addr - vaddr) as usize] = byte;
            served
        }
        fn read(&self, space: &Space<usize>, addr: u64) -> u8 {
            let (vaddr, page) = space.page_at(addr).expect("mapped");
            self.frames[page.frame][(addr - vaddr) as usize]
        }
    }

    impl Mmu for Sim {
        type Frame = usize;
        type Error = &'static str;
        fn alloc(&mut self) -> Result<usize, Self::Error> {
            if self.frames.len() >= self.limit {
                return Err("out of memory");
            }
            self.frames.push(vec![0; PAGE_SIZE as usize]);
            Ok(self.frames.len() - 1)
        }
        fn map(&mut self, frame: usize, _vaddr: u64, writable: bool) -> Result<(), Self::Error> {
            self.writable.insert(frame, writable);
            Ok(())
        }
        fn copy(&mut self, from: usize, to: usize) -> Result<bool, Self::Error> {
            let differs = self.frames[from] != self.frames[to];
            self.frames[to] = self.frames[from].clone();
            Ok(differs)
        }
        fn zero(&mut self, frame: usize) -> Result<bool, Self::Error> {
            let nonzero = self.frames[frame].iter().any(|&b| b != 0);
            self.frames[frame].fill(0);
            Ok(nonzero)
        }
        fn release(&mut self, frame: usize) {
            self.released.push(frame);
        }
    }

    const TEXT: u64 = 0x40_0000;
    const DATA: u64 = 0x40_1000;
    const BSS: u64 = 0x40_2000;
    const HEAP: u64 = 0x100_0000;

    /// Code (one page), data (one page with file data) and .bss (three pages).
    fn layout() -> Layout {
        let seg = |vaddr, mem_size, file, write| Segment {
            vaddr,
            mem_size,
            file,
            rights: romain_image::Rights {
                read: true,
                write,
                execute: !write,
            },
        };
        Layout {
            entry: TEXT,
            segments: heapless::Vec::from_slice(&[
                seg(TEXT, 0x1000, 0..0x1000, false),
                seg(DATA, 0x4000, 0x1000..0x1100, true),
            ])
            .unwrap(),
            span: TEXT..BSS + 0x3000,
        }
    }

    fn space(sim: &mut Sim, tracking: Tracking) -> Space<usize> {
        let mut s = Space::new(&layout(), HEAP, 16, tracking).unwrap();
        for (vaddr, writable) in [(TEXT, false), (DATA, true)] {
            let f = sim.alloc().unwrap();
            s.add_loaded(sim, vaddr, f, writable).unwrap();
        }
        s
    }

    #[test]
    fn bss_and_heap_are_lazy_and_the_rest_is_not_ours() {
        let mut sim = Sim::new();
        let mut s = space(&mut sim, Tracking::Off);
        assert_eq!(s.len(), 2);
        assert!(s.is_lazy(BSS) && s.is_lazy(BSS + 0x2000) && !s.is_lazy(BSS + 0x3000));
        assert_eq!(sim.write(&mut s, BSS + 5, 1), Some(Served::Mapped(3)));
        assert_eq!(sim.write(&mut s, BSS + 6, 1), None);
        // The three .bss pages at once (they are in one block of FAULT_AROUND pages).
        assert_eq!(s.len(), 5);
        // Outside every region, and a write to code: the program's fault, not the master's.
        assert_eq!(s.on_fault(&mut sim, 0x9000_0000), Err(Refusal::NotMine));
        assert_eq!(s.on_fault(&mut sim, TEXT + 8), Err(Refusal::NotMine));
        assert_eq!(s.on_fault(&mut sim, HEAP), Err(Refusal::NotMine));
        assert_eq!(s.grow(100), Ok(HEAP));
        assert_eq!(s.grow(0), Ok(HEAP + PAGE_SIZE));
        assert_eq!(sim.write(&mut s, HEAP + 99, 7), Some(Served::Mapped(1)));
        assert_eq!(sim.read(&s, HEAP + 99), 7);
    }

    #[test]
    fn the_quota_bounds_grow_and_lazy_pages() {
        let mut sim = Sim::new();
        let mut s = space(&mut sim, Tracking::Off);
        // 16 pages: 5 for the image, 11 for the heap.
        assert_eq!(s.grow(11 * PAGE_SIZE), Ok(HEAP));
        assert_eq!(s.grow(1), Err(Refusal::Quota { pages: 16 }));
        let too_big = Space::<usize>::new(&layout(), HEAP, 4, Tracking::Off);
        assert!(matches!(too_big, Err(Refusal::Quota { pages: 4 })));
        // The kernel running out is reported, not hidden.
        sim.limit = sim.frames.len();
        assert_eq!(
            s.on_fault(&mut sim, BSS),
            Err(Refusal::Mmu("out of memory"))
        );
    }

    #[test]
    fn reservations_cost_nothing_until_touched_and_adjacent_ranges_are_one() {
        const AREA: u64 = 0x10_0000_0000;
        let mut sim = Sim::new();
        let mut s = space(&mut sim, Tracking::Off);
        // 16 pages of quota; 64 MiB reserved in 2,000 adjacent pieces: accepted, one range.
        let piece = 8 * PAGE_SIZE;
        for i in 0..2000 {
            assert_eq!(
                s.add_lazy(AREA + i * piece..AREA + (i + 1) * piece, false),
                Ok(())
            );
        }
        assert_eq!(s.lazy.len(), 1 + 1, "the image's .bss and the reservation");
        // A counted mapping past the quota is refused, and counts nothing.
        assert_eq!(
            s.add_lazy(0x18_0000_0000..0x18_0100_0000, true),
            Err(Refusal::Quota { pages: 16 })
        );
        // Touched pages count: the quota ends the touching.
        let mut touched = 0;
        while s.on_fault(&mut sim, AREA + touched * PAGE_SIZE).is_ok() {
            touched += 1;
        }
        assert!(
            touched > 0 && s.len() <= 16,
            "{touched} touched, {} pages",
            s.len()
        );
        // Separate ranges are bounded.
        let mut separate = 0;
        while s
            .add_lazy(
                0x1c_0000_0000 + separate * 2 * PAGE_SIZE
                    ..0x1c_0000_0000 + (separate * 2 + 1) * PAGE_SIZE,
                false,
            )
            .is_ok()
        {
            separate += 1;
        }
        assert_eq!(separate as usize + 2, MAX_LAZY_RANGES);
    }

    #[test]
    fn a_reservation_is_covered_in_one_step_and_only_brought_in_pages_are_present() {
        const AREA: u64 = 0x10_0000_0000;
        let mut sim = Sim::new();
        let mut s = space(&mut sim, Tracking::Off);
        // 64 GiB reserved: covered; what a touch brought in is its only present pages.
        s.add_lazy(AREA..AREA + (64 << 30), false).unwrap();
        assert!(s.covers(AREA..AREA + (64 << 30)));
        assert!(s.covers(AREA + 10..AREA + 3 * PAGE_SIZE + 1));
        s.on_fault(&mut sim, AREA + 5 * PAGE_SIZE).unwrap();
        let present: Vec<u64> = s.present_in(AREA..AREA + (64 << 30)).collect();
        assert!(present.contains(&(AREA + 5 * PAGE_SIZE)));
        assert_eq!(present.len(), s.len() - 2, "every page but the image's two");
        // Past its end, or memory that is nobody's: not covered.
        assert!(!s.covers(AREA..AREA + (64 << 30) + 1));
        assert!(!s.covers(0x7000_0000_0000..0x7000_0000_1000));
        // The image's pages are covered too.
        assert!(s.covers(DATA..DATA + 1));
    }

    #[test]
    fn tracking_protects_after_agreement_and_finds_the_written_pages() {
        let mut sim = Sim::new();
        let mut s = space(&mut sim, Tracking::Writes);
        let writable = |sim: &Sim, s: &Space<usize>, v| sim.writable[&s.page(v).unwrap().frame];
        assert!(!writable(&sim, &s, DATA), "writable pages start protected");
        assert_eq!(sim.write(&mut s, DATA, 1), Some(Served::Upgraded));
        assert_eq!(sim.write(&mut s, BSS, 1), Some(Served::Mapped(3)));
        assert_eq!(
            s.dirty_pages().collect::<Vec<_>>(),
            [DATA, BSS, BSS + 0x1000, BSS + 0x2000]
        );
        s.agree(&mut sim).unwrap();
        assert_eq!(s.dirty_pages().count(), 0);
        assert!(!writable(&sim, &s, DATA) && !writable(&sim, &s, BSS));

        // BSS is written again in the next interval: from then on it is hot.
        assert_eq!(sim.write(&mut s, BSS + 1, 2), Some(Served::Upgraded));
        assert_eq!(s.dirty_pages().collect::<Vec<_>>(), [BSS]);
        s.agree(&mut sim).unwrap();
        assert!(s.page(BSS).unwrap().hot && writable(&sim, &s, BSS));
        assert_eq!(
            sim.write(&mut s, BSS + 2, 3),
            None,
            "no fault for a hot page"
        );
        assert_eq!(s.dirty_pages().collect::<Vec<_>>(), [BSS]);
        // A page written in one interval only is protected again.
        assert!(!s.page(DATA).unwrap().hot && !writable(&sim, &s, DATA));
    }

    #[test]
    fn rollback_restores_the_agreed_contents_incrementally() {
        let mut sim = Sim::new();
        let mut s = space(&mut sim, Tracking::Checkpoints);
        sim.write(&mut s, DATA, 10);
        sim.write(&mut s, BSS, 20);
        let old_brk = s.grow(PAGE_SIZE).unwrap();
        s.agree(&mut sim).unwrap();
        let frames_at_agreement = sim.frames.len();

        sim.write(&mut s, DATA, 11);
        sim.write(&mut s, DATA + 1, 12); // same page: one checkpoint copy
        sim.write(&mut s, BSS + 0x1000, 30);
        s.grow(PAGE_SIZE).unwrap();
        assert_eq!(
            sim.frames.len(),
            frames_at_agreement + 2,
            "one copy per page"
        );

        assert_eq!(s.rollback(&mut sim).unwrap(), 2);
        assert_eq!(sim.read(&s, DATA), 10);
        assert_eq!(sim.read(&s, DATA + 1), 0);
        assert_eq!(sim.read(&s, BSS), 20);
        assert_eq!(sim.read(&s, BSS + 0x1000), 0);
        assert_eq!(s.heap(), old_brk..old_brk + PAGE_SIZE);
        assert_eq!(s.dirty_pages().count(), 0);
        // All three checkpoint copies went back for reuse.
        assert_eq!(sim.released.len(), 3);
        assert!(
            !sim.writable[&s.page(DATA).unwrap().frame],
            "protected again"
        );
    }

    #[test]
    fn snapshots_roll_back_without_protecting_anything() {
        let mut sim = Sim::new();
        let mut s = space(&mut sim, Tracking::Snapshots);
        assert!(sim.writable[&s.page(DATA).unwrap().frame]);
        assert_eq!(sim.write(&mut s, DATA, 1), None);
        assert_eq!(sim.write(&mut s, BSS, 2), Some(Served::Mapped(3)));
        s.agree(&mut sim).unwrap();
        sim.write(&mut s, DATA, 3);
        sim.write(&mut s, BSS + 0x2000, 4);
        s.grow(PAGE_SIZE).unwrap();
        assert_eq!(sim.write(&mut s, HEAP, 5), Some(Served::Mapped(1)));
        // Every writable page is restored: the data page and the three .bss pages from their
        // copies, the new heap page to zeros.
        assert_eq!(s.rollback(&mut sim).unwrap(), 5);
        assert_eq!(
            (
                sim.read(&s, DATA),
                sim.read(&s, BSS),
                sim.read(&s, BSS + 0x2000)
            ),
            (1, 2, 0)
        );
        assert_eq!(sim.read(&s, HEAP), 0);
        assert!(s.heap().is_empty());
    }

    #[test]
    fn hot_pages_are_checkpointed_eagerly() {
        let mut sim = Sim::new();
        let mut s = space(&mut sim, Tracking::Checkpoints);
        for value in [1, 2, 3] {
            sim.write(&mut s, DATA, value);
            s.agree(&mut sim).unwrap();
        }
        assert!(s.page(DATA).unwrap().hot);
        sim.write(&mut s, DATA, 4);
        assert_eq!(s.rollback(&mut sim).unwrap(), 1);
        assert_eq!(sim.read(&s, DATA), 3);
    }

    #[test]
    fn repair_copies_written_pages_or_all_and_maps_missing_ones() {
        let mut sim = Sim::new();
        let mut good = space(&mut sim, Tracking::Writes);
        let mut bad = space(&mut sim, Tracking::Writes);
        sim.write(&mut good, BSS, 1);
        sim.write(&mut bad, BSS, 1);
        good.agree(&mut sim).unwrap();
        bad.agree(&mut sim).unwrap();

        // After the agreement: good writes the data page, bad (faulty) writes another .bss page.
        sim.write(&mut good, DATA, 5);
        sim.write(&mut bad, BSS + 0x2000, 9);
        // A flip in a page neither wrote: only the full scope finds it.
        let text = bad.page(TEXT).unwrap().frame;
        sim.frames[text][0] ^= 1;

        let copied = |r: Result<Repaired, _>| r.map(|r| r.copied);
        let written = repair(&good, &mut bad, &mut sim, Scope::Written).unwrap();
        assert_eq!((written.compared, written.copied), (2, 2));
        assert_eq!(sim.read(&bad, DATA), 5);
        assert_eq!(sim.read(&bad, BSS + 0x2000), 0);
        assert_eq!(sim.read(&bad, TEXT), 1);
        let all = repair(&good, &mut bad, &mut sim, Scope::All).unwrap();
        assert_eq!((all.compared, all.copied), (5, 1));
        assert_eq!(sim.read(&bad, TEXT), 0);

        // A page only the good replica has is created in the bad one.
        good.grow(PAGE_SIZE).unwrap();
        bad.grow(PAGE_SIZE).unwrap();
        sim.write(&mut good, HEAP, 3);
        assert_eq!(
            copied(repair(&good, &mut bad, &mut sim, Scope::Written)),
            Ok(1)
        );
        assert_eq!(sim.read(&bad, HEAP), 3);
    }
}
