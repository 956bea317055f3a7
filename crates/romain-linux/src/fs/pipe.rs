//! Pipes within the one process: bytes written to the write end are read from the read end.
//! With a single thread nothing can wait for the other end, so what would block on Linux does
//! not: a read of an empty pipe whose write end is open, or a write to a full one, is EAGAIN
//! (as for `O_NONBLOCK`); a write that only partly fits writes what fits.

use alloc::collections::VecDeque;

use syscalls::Errno;

/// Bytes a pipe holds (Linux's default pipe capacity).
pub const CAPACITY: usize = 64 << 10;

/// One end of a pipe, by pipe number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    pub pipe: u64,
    pub write: bool,
}

/// A pipe's bytes.
#[derive(Debug, Default)]
pub struct Pipe {
    bytes: VecDeque<u8>,
}

impl Pipe {
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Room left before the pipe is full.
    pub fn room(&self) -> usize {
        CAPACITY.saturating_sub(self.bytes.len())
    }

    /// Appends what fits of `bytes`: how many. EAGAIN when none fits.
    pub fn push(&mut self, bytes: &[u8]) -> Result<usize, Errno> {
        let n = bytes.len().min(self.room());
        if n == 0 && !bytes.is_empty() {
            return Err(Errno::EAGAIN);
        }
        self.bytes.try_reserve(n).map_err(|_| Errno::ENOMEM)?;
        self.bytes.extend(&bytes[..n]);
        Ok(n)
    }

    /// The first `len` bytes at most, in two pieces (the ring's halves; either may be empty).
    pub fn front(&self, len: usize) -> (&[u8], &[u8]) {
        let n = len.min(self.bytes.len());
        let (a, b) = self.bytes.as_slices();
        let first = n.min(a.len());
        (&a[..first], &b[..n - first])
    }

    /// Drops the first `n` bytes (they were read).
    pub fn consume(&mut self, n: usize) {
        self.bytes.drain(..n.min(self.bytes.len()));
    }
}

impl super::FileSystem {
    /// pipe2: a new pipe's read and write ends, at the two lowest free descriptors.
    pub fn pipe(&mut self) -> Result<(u64, u64), Errno> {
        // Both ends or neither.
        if self.free_fds(0).nth(1).is_none() {
            return Err(Errno::EMFILE);
        }
        let id = self.next_object;
        self.next_object = self.next_object.saturating_add(1);
        self.pipes.insert(id, Pipe::default());
        let end = |write| super::Node::Pipe(End { pipe: id, write });
        let r = self.install(super::Open::new(end(false), true, false), 0)?;
        let w = self.install(super::Open::new(end(true), false, true), 0)?;
        Ok((r, w))
    }

    /// Whether an end of `pipe` other than `fd` is open for writing (`write`) or reading.
    pub(super) fn pipe_has(&self, pipe: u64, write: bool) -> bool {
        self.fds
            .iter()
            .flatten()
            .any(|o| matches!(o.node, super::Node::Pipe(e) if e.pipe == pipe && e.write == write))
    }

    /// The pipe behind `end`.
    pub fn pipe_of(&self, end: End) -> Option<&Pipe> {
        self.pipes.get(&end.pipe)
    }

    /// Writes what fits of `bytes` into the pipe `end` writes: EPIPE when no read end is open.
    pub fn pipe_write(&mut self, end: End, bytes: &[u8]) -> Result<usize, Errno> {
        if !self.pipe_has(end.pipe, false) {
            return Err(Errno::EPIPE);
        }
        self.pipes
            .get_mut(&end.pipe)
            .ok_or(Errno::EBADF)?
            .push(bytes)
    }

    /// Whether a read of the pipe `end` reads would have to wait: it is empty and a write end
    /// is open (EAGAIN then; empty without writers is the end of file).
    pub fn pipe_would_block(&self, end: End) -> bool {
        self.pipes.get(&end.pipe).is_some_and(Pipe::is_empty) && self.pipe_has(end.pipe, true)
    }

    /// Drops `n` bytes read from the pipe `end` reads.
    pub fn pipe_consume(&mut self, end: End, n: usize) {
        if let Some(p) = self.pipes.get_mut(&end.pipe) {
            p.consume(n);
        }
    }
}
