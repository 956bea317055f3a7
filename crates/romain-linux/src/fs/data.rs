//! A file's bytes: embedded in the master's image (read in place) or the master's own copy in
//! blocks of [`BLOCK`] bytes, grown and shrunk within a budget, every allocation fallible.

use alloc::vec::Vec;

use syscalls::Errno;

/// Bytes of one block of a file's own copy. A file grows and shrinks a block at a time: no
/// allocation is larger than a block and none copies the whole file, so a file may take most
/// of the master's heap without needing it in one piece.
pub const BLOCK: usize = 64 << 10;

/// A file's own bytes, in blocks: every block but the last is [`BLOCK`] bytes long, the last
/// one 1 to [`BLOCK`] (there is none when the file is empty).
#[derive(Debug, Clone, Default)]
pub struct Blocks {
    blocks: Vec<Vec<u8>>,
    len: u64,
}

impl Blocks {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The heap bytes the blocks hold (their capacities).
    pub fn capacity(&self) -> u64 {
        self.blocks.iter().map(|b| b.capacity() as u64).sum()
    }

    /// The capacity the blocks would have at `len` bytes, the last one exactly as long as it
    /// must be (`len` > the length now: growing).
    fn capacity_at(&self, len: u64) -> u64 {
        let block = BLOCK as u64;
        let (full, tail) = (len / block, len % block);
        // Full blocks there now keep their capacity (BLOCK); the last one now keeps its own
        // if it is larger than it must be.
        let kept = (self.len / block).min(full);
        let last_now = self
            .blocks
            .get(kept as usize)
            .map_or(0, |b| b.capacity() as u64);
        let last = if full > kept {
            block
        } else {
            tail.max(last_now)
        };
        let fresh = full.saturating_sub(kept + 1) * block;
        let new_tail = if full > kept { tail } else { 0 };
        kept * block + last + fresh + new_tail
    }

    /// Grows to `len` bytes (zeros), the capacity no more than `limit`: ENOSPC (nothing
    /// changes) past it or when the heap has no room.
    pub(super) fn grow(&mut self, len: u64, limit: u64) -> Result<(), Errno> {
        let old = self.len;
        let exact = self.capacity_at(len);
        if exact > limit {
            return Err(Errno::ENOSPC);
        }
        let slack = limit - exact;
        let grown = self.try_grow(len, slack);
        if grown.is_err() {
            self.shrink(old);
        }
        grown
    }

    fn try_grow(&mut self, len: u64, slack: u64) -> Result<(), Errno> {
        while self.len < len {
            let left = len - self.len;
            match self.blocks.last_mut() {
                Some(last) if last.len() < BLOCK => {
                    let add = left.min((BLOCK - last.len()) as u64) as usize;
                    let want = last.len() + add;
                    if want > last.capacity() {
                        // Room to grow into (appends stay linear), as far as the budget allows.
                        let roomy = want
                            .max(last.capacity().saturating_mul(2))
                            .min(BLOCK)
                            .min(want.saturating_add(usize::try_from(slack).unwrap_or(usize::MAX)));
                        if last.try_reserve_exact(roomy - last.len()).is_err() {
                            last.try_reserve_exact(add).map_err(|_| Errno::ENOSPC)?;
                        }
                    }
                    last.resize(want, 0);
                    self.len += add as u64;
                }
                _ => {
                    let n = left.min(BLOCK as u64) as usize;
                    let mut block = Vec::new();
                    block.try_reserve_exact(n).map_err(|_| Errno::ENOSPC)?;
                    block.resize(n, 0);
                    self.blocks.try_reserve(1).map_err(|_| Errno::ENOSPC)?;
                    self.blocks.push(block);
                    self.len += n as u64;
                }
            }
        }
        Ok(())
    }

    /// Shrinks to `len` bytes (no more than now); a last block much shorter than its capacity
    /// gives the rest back (if a smaller one can be had).
    pub(super) fn shrink(&mut self, len: u64) {
        if len >= self.len {
            return;
        }
        if len == 0 {
            *self = Blocks::default();
            return;
        }
        let keep = len.div_ceil(BLOCK as u64) as usize;
        self.blocks.truncate(keep);
        let tail = (len - (keep as u64 - 1) * BLOCK as u64) as usize;
        if let Some(last) = self.blocks.last_mut() {
            last.truncate(tail);
            if tail <= last.capacity() / 2 {
                let mut smaller = Vec::new();
                if smaller.try_reserve_exact(tail).is_ok() {
                    smaller.extend_from_slice(last);
                    *last = smaller;
                }
            }
        }
        self.len = len;
    }

    /// Copies `bytes` in at `at` (within the length).
    pub(super) fn write_at(&mut self, at: u64, bytes: &[u8]) -> Result<(), Errno> {
        let mut at = at;
        let mut rest = bytes;
        while !rest.is_empty() {
            let i = usize::try_from(at / BLOCK as u64).map_err(|_| Errno::EIO)?;
            let off = (at % BLOCK as u64) as usize;
            let block = self.blocks.get_mut(i).ok_or(Errno::EIO)?;
            let n = rest.len().min(block.len().saturating_sub(off));
            if n == 0 {
                return Err(Errno::EIO);
            }
            let (now, later) = rest.split_at(n);
            block
                .get_mut(off..off + n)
                .ok_or(Errno::EIO)?
                .copy_from_slice(now);
            rest = later;
            at += n as u64;
        }
        Ok(())
    }
}

/// A file's bytes: embedded (read-only, in the master's image) until first written, then the
/// master's own copy.
#[derive(Debug, Clone)]
pub enum Data {
    Embedded(&'static [u8]),
    Owned(Blocks),
}

impl Data {
    pub fn len(&self) -> u64 {
        match self {
            Data::Embedded(b) => b.len() as u64,
            Data::Owned(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of the master's heap this file holds (counted against the budget).
    pub fn owned_bytes(&self) -> u64 {
        match self {
            Data::Embedded(_) => 0,
            Data::Owned(b) => b.capacity(),
        }
    }

    /// At most `len` bytes from `from` (none past the end), in pieces of at most [`BLOCK`]
    /// bytes (an embedded file: one piece).
    pub fn chunks(&self, from: u64, len: u64) -> Chunks<'_> {
        let end = from.saturating_add(len).min(self.len());
        Chunks {
            data: self,
            at: from.min(end),
            end,
        }
    }

    /// All the bytes in one vector (for tests and small files: it allocates the whole file).
    pub fn to_vec(&self) -> Vec<u8> {
        self.chunks(0, self.len()).to_vec()
    }
}

/// A part of a file's bytes, piece by piece ([`Data::chunks`]).
#[derive(Debug, Clone)]
pub struct Chunks<'a> {
    data: &'a Data,
    at: u64,
    end: u64,
}

impl<'a> Chunks<'a> {
    /// The bytes still to come.
    pub fn remaining(&self) -> u64 {
        self.end - self.at
    }

    /// The rest in one vector (it allocates them all).
    pub fn to_vec(self) -> Vec<u8> {
        self.flatten().copied().collect()
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.at >= self.end {
            return None;
        }
        let left = usize::try_from(self.end - self.at).unwrap_or(usize::MAX);
        let piece = match self.data {
            Data::Embedded(b) => {
                let from = usize::try_from(self.at).ok()?;
                b.get(from..)?.get(..left)?
            }
            Data::Owned(blocks) => {
                let i = usize::try_from(self.at / BLOCK as u64).ok()?;
                let off = (self.at % BLOCK as u64) as usize;
                let block = blocks.blocks.get(i)?.get(off..)?;
                block.get(..left.min(block.len()))?
            }
        };
        if piece.is_empty() {
            self.at = self.end;
            return None;
        }
        self.at += piece.len() as u64;
        Some(piece)
    }
}
