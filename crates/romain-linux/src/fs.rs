//! A group's in-memory file system and its file descriptors, as a POSIX file system keeps them:
//! a name table (path → inode number) and an inode table (inode number → the file's bytes, its
//! written flag, its link count); descriptors refer to inodes. So an unlinked or renamed file
//! stays readable and writable through the descriptors open on it, and its bytes are freed when
//! its last name is gone and its last descriptor closed.
//!
//! Files embedded at build time are read in place; a file the program writes gets its own copy
//! in the master's heap, in blocks of [`BLOCK`] bytes, kept until the end. The copies together
//! (their blocks' capacities) stay within a per-group byte budget: growing a file past it is
//! ENOSPC, one file larger than the budget ([`FileSystem::max_file_size`]) is EFBIG, and every
//! allocation is fallible (a full heap is ENOSPC too). Nothing here panics, whatever the calls.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use syscalls::Errno;

use crate::invocation::Invocation;

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
    fn grow(&mut self, len: u64, limit: u64) -> Result<(), Errno> {
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
    fn shrink(&mut self, len: u64) {
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
    fn write_at(&mut self, at: u64, bytes: &[u8]) -> Result<(), Errno> {
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

/// A file: its bytes, whether the program wrote it, how many names it has.
#[derive(Debug, Clone)]
pub struct Inode {
    pub data: Data,
    /// Written (or created, truncated, renamed) by the program.
    pub written: bool,
    /// Names that refer to it: 0 once unlinked (it lives on while a descriptor refers to it).
    pub links: u32,
}

/// What a descriptor refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// Reads give end of file (stdin without `STDIN=`).
    Empty,
    /// The console: stdout and stderr.
    Console,
    /// A file, by inode number.
    File(u64),
    /// A directory (the working directory, `/` or one holding files), for `O_DIRECTORY` opens.
    Dir,
}

#[derive(Debug, Clone)]
pub struct Open {
    pub node: Node,
    pub offset: u64,
    pub readable: bool,
    pub writable: bool,
    pub append: bool,
}

/// How a file is opened (the open flags that matter here).
#[derive(Debug, Clone, Copy, Default)]
pub struct How {
    pub readable: bool,
    pub writable: bool,
    pub create: bool,
    pub exclusive: bool,
    pub truncate: bool,
    pub append: bool,
    pub directory: bool,
}

/// Most descriptors a program may have open.
pub const MAX_FDS: usize = 256;

/// The budget of a file system made by [`FileSystem::new`] until [`FileSystem::set_budget`]
/// (`Linux::new` sets the group's memory quota).
pub const DEFAULT_BUDGET: u64 = 16 << 20;

/// The largest offset or size a file position may have (Linux's `loff_t` is signed).
const MAX_OFFSET: u64 = i64::MAX as u64;

/// A normalised absolute path: `.` and `..` resolved, relative paths taken from `/`.
pub fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = String::from("/");
    out.push_str(&parts.join("/"));
    out
}

pub struct FileSystem {
    /// Names (normalised) → inode numbers.
    names: BTreeMap<String, u64>,
    inodes: BTreeMap<u64, Inode>,
    fds: Vec<Option<Open>>,
    next_ino: u64,
    /// The working directory (normalised) relative paths start from.
    cwd: String,
    /// Most bytes the files' own copies may hold together; also the largest file.
    budget: u64,
    /// What they hold: the sum of their capacities.
    owned: u64,
}

impl FileSystem {
    /// The embedded files by the names the program opens (relative names from `/`), the run's
    /// standard streams and working directory (see [`Invocation`]): fd 0 reads the stdin file or
    /// nothing, fd 1 writes the stdout file (created empty) or the console, fd 2 the console.
    pub fn new(files: &[(&str, &'static [u8])], run: &Invocation<'_>) -> Self {
        let mut fs = FileSystem {
            names: BTreeMap::new(),
            inodes: BTreeMap::new(),
            fds: Vec::new(),
            next_ino: 2,
            cwd: run.cwd.map_or_else(|| String::from("/"), normalise),
            budget: DEFAULT_BUDGET,
            owned: 0,
        };
        for (name, bytes) in files {
            fs.link_new(normalise(name), Data::Embedded(bytes), false);
        }
        let open = |node, readable, writable| Open {
            node,
            offset: 0,
            readable,
            writable,
            append: false,
        };
        let stdin = match run.stdin.map(|p| fs.resolve(p)).and_then(|n| fs.lookup(&n)) {
            Some(ino) => Node::File(ino),
            None => Node::Empty,
        };
        let stdout = match run.stdout.map(|p| fs.resolve(p)) {
            Some(name) => {
                let ino = match fs.names.get(&name) {
                    // `>FILE` over an embedded file: truncated, as a shell does.
                    Some(&ino) => {
                        fs.replace_data(ino, Data::Owned(Blocks::default()));
                        ino
                    }
                    None => fs.link_new(name, Data::Owned(Blocks::default()), true),
                };
                if let Some(inode) = fs.inodes.get_mut(&ino) {
                    inode.written = true;
                }
                Node::File(ino)
            }
            None => Node::Console,
        };
        fs.fds.push(Some(open(stdin, true, false)));
        fs.fds.push(Some(open(stdout, false, true)));
        fs.fds.push(Some(open(Node::Console, false, true)));
        fs
    }

    /// Sets the byte budget of the files' own copies (the largest file too). Copies already
    /// made stay; later growth is measured against it.
    pub fn set_budget(&mut self, bytes: u64) {
        self.budget = bytes;
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// The bytes the files' own copies hold in the master's heap (their capacities).
    pub fn owned_bytes(&self) -> u64 {
        self.owned
    }

    /// The largest a file may grow (EFBIG past it): the budget.
    pub fn max_file_size(&self) -> u64 {
        self.budget
    }

    /// `path` as an absolute normalised name: relative paths start at the working directory.
    pub fn resolve(&self, path: &str) -> String {
        if path.starts_with('/') {
            normalise(path)
        } else {
            let mut joined = String::with_capacity(self.cwd.len() + 1 + path.len());
            joined.push_str(&self.cwd);
            joined.push('/');
            joined.push_str(path);
            normalise(&joined)
        }
    }

    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// Whether `name` (normalised) is a directory: `/`, the working directory, or a prefix of
    /// a file's name.
    pub fn is_dir(&self, name: &str) -> bool {
        if name == "/" || name == self.cwd {
            return true;
        }
        let mut prefix = String::with_capacity(name.len() + 1);
        prefix.push_str(name);
        prefix.push('/');
        self.names
            .range::<str, _>((
                core::ops::Bound::Included(prefix.as_str()),
                core::ops::Bound::Unbounded,
            ))
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    /// A new inode under `name` (which has none).
    fn link_new(&mut self, name: String, data: Data, written: bool) -> u64 {
        let ino = self.next_ino;
        self.next_ino = self.next_ino.saturating_add(1);
        self.owned = self.owned.saturating_add(data.owned_bytes());
        self.inodes.insert(
            ino,
            Inode {
                data,
                written,
                links: 1,
            },
        );
        if let Some(old) = self.names.insert(name, ino) {
            self.unlink_ino(old);
        }
        ino
    }

    /// The inode `name` (normalised) names.
    pub fn lookup(&self, name: &str) -> Option<u64> {
        self.names.get(name).copied()
    }

    /// The file `name` (normalised) names.
    pub fn file(&self, name: &str) -> Option<&Inode> {
        self.inodes.get(&self.lookup(name)?)
    }

    pub fn inode(&self, ino: u64) -> Option<&Inode> {
        self.inodes.get(&ino)
    }

    fn slot(fd: u64) -> Option<usize> {
        usize::try_from(fd).ok().filter(|&i| i < MAX_FDS)
    }

    pub fn fd(&self, fd: u64) -> Result<&Open, Errno> {
        Self::slot(fd)
            .and_then(|i| self.fds.get(i))
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    pub fn fd_mut(&mut self, fd: u64) -> Result<&mut Open, Errno> {
        Self::slot(fd)
            .and_then(|i| self.fds.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)
    }

    /// Puts `open` in slot `i` (below [`MAX_FDS`]); what was there is closed.
    fn put(&mut self, i: usize, open: Open) -> Result<(), Errno> {
        if i >= MAX_FDS {
            return Err(Errno::EBADF);
        }
        if i >= self.fds.len() {
            self.fds.resize(i + 1, None);
        }
        let slot = self.fds.get_mut(i).ok_or(Errno::EBADF)?;
        let old = slot.replace(open);
        if let Some(Open {
            node: Node::File(ino),
            ..
        }) = old
        {
            self.release(ino);
        }
        Ok(())
    }

    /// The lowest free descriptor at or above `min`.
    pub fn install(&mut self, open: Open, min: usize) -> Result<u64, Errno> {
        let free = (min..MAX_FDS).find(|&i| self.fds.get(i).is_none_or(Option::is_none));
        let i = free.ok_or(Errno::EMFILE)?;
        self.put(i, open)?;
        Ok(i as u64)
    }

    /// Puts `open` at descriptor `fd`, closing what was there (dup3).
    pub fn install_at(&mut self, open: Open, fd: u64) -> Result<u64, Errno> {
        let i = Self::slot(fd).ok_or(Errno::EBADF)?;
        self.put(i, open)?;
        Ok(fd)
    }

    pub fn close(&mut self, fd: u64) -> Result<u64, Errno> {
        let slot = Self::slot(fd)
            .and_then(|i| self.fds.get_mut(i))
            .ok_or(Errno::EBADF)?;
        let open = slot.take().ok_or(Errno::EBADF)?;
        if let Node::File(ino) = open.node {
            self.release(ino);
        }
        Ok(0)
    }

    /// Frees `ino` if no name and no descriptor refers to it any more.
    fn release(&mut self, ino: u64) {
        let named = self.inodes.get(&ino).is_some_and(|i| i.links > 0);
        let open = self.fds.iter().flatten().any(|o| o.node == Node::File(ino));
        if !named
            && !open
            && let Some(inode) = self.inodes.remove(&ino)
        {
            self.owned = self.owned.saturating_sub(inode.data.owned_bytes());
        }
    }

    /// One name of `ino` is gone.
    fn unlink_ino(&mut self, ino: u64) {
        if let Some(inode) = self.inodes.get_mut(&ino) {
            inode.links = inode.links.saturating_sub(1);
        }
        self.release(ino);
    }

    /// Opens `path` (normalised): `create` makes a missing file, `truncate` empties it.
    pub fn open(&mut self, path: &str, how: How) -> Result<u64, Errno> {
        let How {
            readable,
            writable,
            create,
            exclusive,
            truncate,
            append,
            directory,
        } = how;
        let name = self.resolve(path);
        if self.is_dir(&name) {
            if writable {
                return Err(Errno::EISDIR);
            }
            let open = Open {
                node: Node::Dir,
                offset: 0,
                readable,
                writable: false,
                append: false,
            };
            return self.install(open, 0);
        }
        if directory {
            return Err(if self.names.contains_key(&name) {
                Errno::ENOTDIR
            } else {
                Errno::ENOENT
            });
        }
        // A free descriptor first: a failed open creates and truncates nothing.
        if !(0..MAX_FDS).any(|i| self.fds.get(i).is_none_or(Option::is_none)) {
            return Err(Errno::EMFILE);
        }
        let ino = match self.names.get(&name) {
            Some(_) if create && exclusive => return Err(Errno::EEXIST),
            Some(&ino) => {
                if truncate && writable {
                    self.replace_data(ino, Data::Owned(Blocks::default()));
                    if let Some(inode) = self.inodes.get_mut(&ino) {
                        inode.written = true;
                    }
                }
                ino
            }
            None if create => self.link_new(name, Data::Owned(Blocks::default()), true),
            None => return Err(Errno::ENOENT),
        };
        let open = Open {
            node: Node::File(ino),
            offset: 0,
            readable,
            writable,
            append,
        };
        self.install(open, 0)
    }

    /// Gives `ino` new bytes that need no allocation (empty, or a part of the embedded ones).
    fn replace_data(&mut self, ino: u64, data: Data) {
        if let Some(inode) = self.inodes.get_mut(&ino) {
            let old = core::mem::replace(&mut inode.data, data);
            self.owned = self.owned.saturating_sub(old.owned_bytes());
            self.owned = self.owned.saturating_add(inode.data.owned_bytes());
        }
    }

    /// The file behind descriptor `fd`, open for reading (`read`) or writing.
    fn file_of(&self, fd: u64, read: bool) -> Result<(Open, u64), Errno> {
        let open = self.fd(fd)?;
        if !(if read { open.readable } else { open.writable }) {
            return Err(Errno::EBADF);
        }
        match open.node {
            Node::File(ino) => Ok((open.clone(), ino)),
            Node::Dir if read => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Reads up to `len` bytes of `fd` at `at` (or its offset): the bytes, in pieces that the
    /// caller copies out, and moves the offset when `at` is `None`. Past the end there is
    /// nothing.
    pub fn read(&mut self, fd: u64, len: usize, at: Option<u64>) -> Result<Chunks<'_>, Errno> {
        const NOTHING: Data = Data::Embedded(&[]);
        let open = self.fd(fd)?;
        if !open.readable {
            return Err(Errno::EBADF);
        }
        let ino = match open.node {
            Node::Empty | Node::Console => return Ok(NOTHING.chunks(0, 0)),
            Node::Dir => return Err(Errno::EISDIR),
            Node::File(ino) => ino,
        };
        let pos = at.unwrap_or(open.offset);
        // As Linux's rw_verify_area: a position or an end past what `loff_t` holds.
        match pos.checked_add(len as u64) {
            Some(end) if end <= MAX_OFFSET => {}
            _ => return Err(Errno::EINVAL),
        }
        let size = self.inodes.get(&ino).ok_or(Errno::EBADF)?.data.len();
        let from = pos.min(size);
        let n = (len as u64).min(size - from);
        if at.is_none() {
            self.fd_mut(fd)?.offset = pos + n;
        }
        let data = &self.inodes.get(&ino).ok_or(Errno::EBADF)?.data;
        Ok(data.chunks(from, n))
    }

    /// How long `ino` may grow within the budget: the budget less what the other files hold,
    /// and never past the largest file.
    fn room(&self, ino: u64) -> u64 {
        let mine = self.inodes.get(&ino).map_or(0, |i| i.data.owned_bytes());
        let others = self.owned.saturating_sub(mine);
        self.budget.saturating_sub(others).min(self.max_file_size())
    }

    /// Makes `ino`'s bytes `len` long: zeros added at the end, bytes past it dropped; `own`:
    /// the master's own copy even if it is embedded and does not grow (to write it). Every
    /// allocation is within the budget and fallible: ENOSPC, or EFBIG past the largest file,
    /// and then nothing changes.
    fn set_len(&mut self, ino: u64, len: u64, own: bool) -> Result<(), Errno> {
        if len > self.max_file_size() {
            return Err(Errno::EFBIG);
        }
        let room = self.room(ino);
        let inode = self.inodes.get_mut(&ino).ok_or(Errno::EBADF)?;
        let old_owned = inode.data.owned_bytes();
        let result = match &mut inode.data {
            Data::Embedded(b) => {
                let keep = usize::try_from(len).map_or(b.len(), |n| n.min(b.len()));
                let kept = b.get(..keep).unwrap_or(b);
                if !own && len <= b.len() as u64 {
                    // A shorter embedded file is a part of the same bytes: nothing to copy.
                    *b = kept;
                    Ok(())
                } else {
                    // Copy on write: the file (as far as it is kept) becomes the master's.
                    let mut copy = Blocks::default();
                    let made = copy.grow(len, room).and_then(|()| copy.write_at(0, kept));
                    if made.is_ok() {
                        inode.data = Data::Owned(copy);
                    }
                    made
                }
            }
            Data::Owned(blocks) if len > blocks.len() => blocks.grow(len, room),
            Data::Owned(blocks) => {
                blocks.shrink(len);
                Ok(())
            }
        };
        // Even a failed growth may have given capacity back.
        let new_owned = inode.data.owned_bytes();
        self.owned = self
            .owned
            .saturating_sub(old_owned)
            .saturating_add(new_owned);
        result
    }

    /// Writes `bytes` to file descriptor `fd` (not the console: the caller prints that) at `at`
    /// or its offset, or at the end when it was opened with O_APPEND (`at` too, as on Linux).
    /// A write past the end leaves a hole of zeros. A write that only partly fits the budget
    /// (or the largest file) writes what fits, as a full disk does.
    pub fn write(&mut self, fd: u64, bytes: &[u8], at: Option<u64>) -> Result<usize, Errno> {
        let (open, ino) = self.file_of(fd, false)?;
        let size = self.inodes.get(&ino).ok_or(Errno::EBADF)?.data.len();
        let from = if open.append {
            size
        } else {
            at.unwrap_or(open.offset)
        };
        let count = bytes.len() as u64;
        match from.checked_add(count) {
            Some(end) if end <= MAX_OFFSET => {}
            _ => return Err(Errno::EINVAL),
        }
        if count == 0 {
            return Ok(0);
        }
        let max = self.max_file_size();
        if from >= max {
            return Err(Errno::EFBIG);
        }
        let room = self.room(ino);
        if from >= room {
            return Err(Errno::ENOSPC);
        }
        // Shortened to what fits: `from` < `end` <= `from + count`.
        let end = (from + count).min(max).min(room);
        self.set_len(ino, end.max(size), true)?;
        let inode = self.inodes.get_mut(&ino).ok_or(Errno::EBADF)?;
        let Data::Owned(blocks) = &mut inode.data else {
            return Err(Errno::EIO);
        };
        let n = (end - from) as usize;
        blocks.write_at(from, bytes.get(..n).ok_or(Errno::EIO)?)?;
        inode.written = true;
        if at.is_none() {
            self.fd_mut(fd)?.offset = end;
        }
        Ok(n)
    }

    /// ftruncate: `fd`'s file made `len` bytes long (a hole of zeros when it grows). EINVAL for
    /// a negative length, a descriptor not open for writing or not on a file (as Linux).
    pub fn ftruncate(&mut self, fd: u64, len: u64) -> Result<u64, Errno> {
        if len > MAX_OFFSET {
            return Err(Errno::EINVAL);
        }
        let open = self.fd(fd)?;
        let Node::File(ino) = open.node else {
            return Err(Errno::EINVAL);
        };
        if !open.writable {
            return Err(Errno::EINVAL);
        }
        self.resize(ino, len)
    }

    /// truncate: the file `path` names made `len` bytes long. EISDIR for a directory.
    pub fn truncate(&mut self, path: &str, len: u64) -> Result<u64, Errno> {
        if len > MAX_OFFSET {
            return Err(Errno::EINVAL);
        }
        let name = self.resolve(path);
        if let Some(ino) = self.lookup(&name) {
            self.resize(ino, len)
        } else if self.is_dir(&name) {
            Err(Errno::EISDIR)
        } else {
            Err(Errno::ENOENT)
        }
    }

    fn resize(&mut self, ino: u64, len: u64) -> Result<u64, Errno> {
        let size = self.inodes.get(&ino).ok_or(Errno::EBADF)?.data.len();
        if len != size {
            self.set_len(ino, len, false)?;
        }
        if let Some(inode) = self.inodes.get_mut(&ino) {
            inode.written = true;
        }
        Ok(0)
    }

    /// The size of what `node` is (0 for the console and empty stdin).
    pub fn size(&self, node: &Node) -> u64 {
        match node {
            Node::File(ino) => self.inodes.get(ino).map_or(0, |f| f.data.len()),
            _ => 0,
        }
    }

    pub fn ino(&self, node: &Node) -> u64 {
        match node {
            Node::File(ino) => *ino,
            Node::Dir => 1,
            _ => 0,
        }
    }

    /// The names `node` has (0 for an unlinked file; 1 for the rest).
    pub fn links(&self, node: &Node) -> u64 {
        match node {
            Node::File(ino) => self.inodes.get(ino).map_or(0, |f| u64::from(f.links)),
            _ => 1,
        }
    }

    /// Removes the name; the file lives on while a descriptor refers to it.
    pub fn unlink(&mut self, path: &str) -> Result<u64, Errno> {
        let name = self.resolve(path);
        match self.names.remove(&name) {
            Some(ino) => {
                self.unlink_ino(ino);
                Ok(0)
            }
            None if self.is_dir(&name) => Err(Errno::EISDIR),
            None => Err(Errno::ENOENT),
        }
    }

    /// Moves a file to a new name; a file there before loses that name (and is freed when no
    /// descriptor refers to it). Directories cannot be renamed (EXDEV: programs copy then).
    pub fn rename(&mut self, from: &str, to: &str) -> Result<u64, Errno> {
        let (from, to) = (self.resolve(from), self.resolve(to));
        let Some(&ino) = self.names.get(&from) else {
            return Err(if self.is_dir(&from) {
                Errno::EXDEV
            } else {
                Errno::ENOENT
            });
        };
        if self.names.get(&to) == Some(&ino) {
            return Ok(0);
        }
        if !self.names.contains_key(&to) && self.is_dir(&to) {
            return Err(Errno::EISDIR);
        }
        self.names.remove(&from);
        if let Some(inode) = self.inodes.get_mut(&ino) {
            inode.written = true;
        }
        if let Some(old) = self.names.insert(to, ino) {
            self.unlink_ino(old);
        }
        Ok(0)
    }

    /// Files the program wrote or created, by name (in name order); a file without a name any
    /// more is not among them.
    pub fn written(&self) -> impl Iterator<Item = (&str, &Data)> {
        self.names.iter().filter_map(|(n, ino)| {
            let f = self.inodes.get(ino)?;
            f.written.then_some((n.as_str(), &f.data))
        })
    }

    pub fn exists(&self, path: &str) -> bool {
        let name = self.resolve(path);
        self.is_dir(&name) || self.names.contains_key(&name)
    }

    /// Checks the tables against each other (for tests): every name and descriptor refers to
    /// an inode, link counts are the names, every inode is named or open, the owned bytes are
    /// the files' capacities.
    pub fn verify(&self) -> Result<(), &'static str> {
        let mut links: BTreeMap<u64, u32> = BTreeMap::new();
        for ino in self.names.values() {
            if !self.inodes.contains_key(ino) {
                return Err("a name without its inode");
            }
            *links.entry(*ino).or_default() += 1;
        }
        for open in self.fds.iter().flatten() {
            if let Node::File(ino) = open.node
                && !self.inodes.contains_key(&ino)
            {
                return Err("a descriptor without its inode");
            }
        }
        let mut owned = 0u64;
        for (ino, inode) in &self.inodes {
            if links.get(ino).copied().unwrap_or(0) != inode.links {
                return Err("a link count that is not the names");
            }
            let open = self
                .fds
                .iter()
                .flatten()
                .any(|o| o.node == Node::File(*ino));
            if inode.links == 0 && !open {
                return Err("an inode neither named nor open");
            }
            owned += inode.data.owned_bytes();
        }
        if owned != self.owned {
            return Err("owned bytes that are not the files' capacities");
        }
        Ok(())
    }
}
