//! A group's in-memory file system and its file descriptors, as a POSIX file system keeps them:
//! a name table (path → inode number) and an inode table (inode number → the file's bytes, its
//! written flag, its link count); descriptors refer to inodes. So an unlinked or renamed file
//! stays readable and writable through the descriptors open on it, and its bytes are freed when
//! its last name is gone and its last descriptor closed.
//!
//! Directories are `/`, the working directory, the ones the program made (`mkdir`, [`TMP`]) and
//! every prefix of a file's name (the embedded files bring theirs); a file is created only in a
//! directory. Besides files a descriptor may be the console, a device ([`device`]) or one end of
//! a pipe ([`pipe`]).
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

mod data;
pub mod device;
mod dir;
pub mod event;
pub mod pipe;
pub use data::{BLOCK, Blocks, Chunks, Data};
pub use device::Device;
pub use dir::{Entry, Kind};

/// A file: its bytes, whether the program wrote it, how many names it has.
#[derive(Debug, Clone)]
pub struct Inode {
    pub data: Data,
    /// Written (or created, truncated, renamed) by the program.
    pub written: bool,
    /// Names that refer to it: 0 once unlinked (it lives on while a descriptor refers to it).
    pub links: u32,
    /// Permission bits and owner: recorded (chmod, chown), reported by stat, not enforced.
    pub mode: u32,
    pub owner: (u32, u32),
}

/// What a descriptor refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// The console: stdout and stderr.
    Console,
    /// A file, by inode number.
    File(u64),
    /// A directory, by the name its descriptor keeps ([`Open::dir`]).
    Dir,
    /// A device file.
    Device(Device),
    /// One end of a pipe.
    Pipe(pipe::End),
    /// An eventfd counter, by number.
    EventFd(u64),
    /// An epoll instance, by number.
    Epoll(u64),
}

#[derive(Debug, Clone)]
pub struct Open {
    pub node: Node,
    pub offset: u64,
    pub readable: bool,
    pub writable: bool,
    pub append: bool,
    /// The directory's name (normalised) for a directory descriptor; empty for the rest.
    pub dir: String,
}

impl Open {
    /// A descriptor on `node` at offset 0.
    pub fn new(node: Node, readable: bool, writable: bool) -> Self {
        Open {
            node,
            offset: 0,
            readable,
            writable,
            append: false,
            dir: String::new(),
        }
    }
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

/// Most names (files and directories the program made) a file system holds, and most bytes
/// they take together: ENOSPC past either, as a file system out of inodes (each name takes some
/// of the master's heap, a path up to 4 KiB).
pub const MAX_NAMES: usize = 16384;
pub const MAX_NAME_BYTES: usize = 1 << 20;

/// A directory every group has, for temporary files (mode 1777, as on Linux).
pub const TMP: &str = "/tmp";

/// The mount table programs read (e2fsck, df): empty, nothing is mounted.
pub const MOUNTS: &str = "/proc/mounts";

/// Permission bits of a file the program creates before its umask, of an embedded one, and of
/// a directory.
const FILE_MODE: u32 = 0o666;
const EMBEDDED_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;

/// The budget of a file system made by [`FileSystem::new`] until [`FileSystem::set_budget`]
/// (`Linux::new` sets the group's memory quota).
pub const DEFAULT_BUDGET: u64 = 16 << 20;

/// The largest offset or size a file position may have (Linux's `loff_t` is signed).
const MAX_OFFSET: u64 = i64::MAX as u64;

/// What a descriptor is ready for now (poll, select).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready {
    pub read: bool,
    pub write: bool,
    /// The other end of a pipe is closed (for reading: end of file).
    pub hangup: bool,
    /// A pipe's read end is closed (for writing: EPIPE).
    pub error: bool,
}

/// What stat reports of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes {
    pub kind: Kind,
    /// Permission bits.
    pub mode: u32,
    pub size: u64,
    pub ino: u64,
    pub links: u64,
    pub owner: (u32, u32),
    pub rdev: u64,
}

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
    /// Directories the program made (and [`TMP`], the working directory), with their modes.
    dirs: BTreeMap<String, u32>,
    pipes: BTreeMap<u64, pipe::Pipe>,
    /// eventfd counters (value, semaphore mode) and epoll instances, numbered like pipes.
    counters: BTreeMap<u64, (u64, bool)>,
    epolls: BTreeMap<u64, event::Interests>,
    /// The number the next pipe, eventfd or epoll instance gets.
    next_object: u64,
    /// The bytes of all names and made directories' names (bounded by [`MAX_NAME_BYTES`]).
    name_bytes: usize,
    /// The file mode creation mask applied to files and directories the program makes.
    pub umask: u32,
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
    /// `/dev/null`, fd 1 writes the stdout file (created empty) or the console, fd 2 the console.
    pub fn new(files: &[(&str, &'static [u8])], run: &Invocation<'_>) -> Self {
        let mut fs = FileSystem {
            names: BTreeMap::new(),
            inodes: BTreeMap::new(),
            fds: Vec::new(),
            next_ino: 2,
            dirs: BTreeMap::new(),
            pipes: BTreeMap::new(),
            counters: BTreeMap::new(),
            epolls: BTreeMap::new(),
            next_object: 1,
            name_bytes: 0,
            umask: 0o022,
            cwd: run.cwd.map_or_else(|| String::from("/"), normalise),
            budget: DEFAULT_BUDGET,
            owned: 0,
        };
        fs.add_dir(String::from(TMP), 0o1777);
        if fs.cwd != "/" {
            fs.add_dir(fs.cwd.clone(), DIR_MODE);
        }
        fs.link_new(String::from(MOUNTS), Data::Embedded(&[]), false);
        // The embedded files may replace the mount table.
        for (name, bytes) in files {
            fs.link_new(normalise(name), Data::Embedded(bytes), false);
        }
        let open = Open::new;
        let stdin = match run.stdin.map(|p| fs.resolve(p)).and_then(|n| fs.lookup(&n)) {
            Some(ino) => Node::File(ino),
            // As a shell gives a program without input: /dev/null.
            None => Node::Device(Device::Null),
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

    /// How many names (files and made directories) there are.
    pub fn names(&self) -> u64 {
        (self.names.len() + self.dirs.len()) as u64
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

    /// Whether `name` (normalised) is a directory: `/`, the working directory, `/dev`, one the
    /// program made, or a prefix of a file's or a made directory's name.
    pub fn is_dir(&self, name: &str) -> bool {
        if name == "/" || name == self.cwd || name == device::DEV || self.dirs.contains_key(name) {
            return true;
        }
        let mut prefix = String::with_capacity(name.len() + 1);
        prefix.push_str(name);
        prefix.push('/');
        let under = |keys: &mut dyn Iterator<Item = &String>| {
            keys.next().is_some_and(|k| k.starts_with(&prefix))
        };
        let from = (
            core::ops::Bound::Included(prefix.as_str()),
            core::ops::Bound::Unbounded,
        );
        under(&mut self.names.range::<str, _>(from).map(|(k, _)| k))
            || under(&mut self.dirs.range::<str, _>(from).map(|(k, _)| k))
    }

    /// Whether a file or directory may be made at `name` (normalised): no part of it is longer
    /// than 255 bytes (ENAMETOOLONG), its parent is a directory (ENOENT if it does not exist,
    /// ENOTDIR if it is a file) and there is room for another name.
    fn may_make(&self, name: &str) -> Result<(), Errno> {
        // As Linux's NAME_MAX.
        if name.split('/').any(|part| part.len() > 255) {
            return Err(Errno::ENAMETOOLONG);
        }
        let parent = match name.rsplit_once('/') {
            Some(("", _)) | None => "/",
            Some((p, _)) => p,
        };
        if !self.is_dir(parent) {
            return Err(if self.names.contains_key(parent) {
                Errno::ENOTDIR
            } else {
                Errno::ENOENT
            });
        }
        self.room_for_name(name)
    }

    /// ENOSPC if another name of `name`'s length would pass [`MAX_NAMES`] or
    /// [`MAX_NAME_BYTES`].
    fn room_for_name(&self, name: &str) -> Result<(), Errno> {
        if self.names.len() + self.dirs.len() >= MAX_NAMES
            || self.name_bytes + name.len() > MAX_NAME_BYTES
        {
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    /// A made directory.
    fn add_dir(&mut self, name: String, mode: u32) {
        let len = name.len();
        if self.dirs.insert(name, mode).is_none() {
            self.name_bytes += len;
        }
    }

    fn remove_dir(&mut self, name: &str) {
        if self.dirs.remove(name).is_some() {
            self.name_bytes = self.name_bytes.saturating_sub(name.len());
        }
    }

    /// `name` refers to `ino`; the inode it referred to before loses that name.
    fn set_name(&mut self, name: String, ino: u64) {
        let len = name.len();
        match self.names.insert(name, ino) {
            Some(old) => self.unlink_ino(old),
            None => self.name_bytes += len,
        }
    }

    fn remove_name(&mut self, name: &str) -> Option<u64> {
        let ino = self.names.remove(name)?;
        self.name_bytes = self.name_bytes.saturating_sub(name.len());
        Some(ino)
    }

    /// A new inode under `name` (which has none).
    fn link_new(&mut self, name: String, data: Data, written: bool) -> u64 {
        let ino = self.next_ino;
        self.next_ino = self.next_ino.saturating_add(1);
        self.owned = self.owned.saturating_add(data.owned_bytes());
        let mode = if written {
            FILE_MODE & !self.umask
        } else {
            EMBEDDED_MODE
        };
        self.inodes.insert(
            ino,
            Inode {
                data,
                written,
                links: 1,
                mode,
                owner: (crate::stack::UID as u32, crate::stack::GID as u32),
            },
        );
        self.set_name(name, ino);
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
        if let Some(old) = slot.replace(open) {
            self.forget_fd(i as u64);
            self.release_node(old.node);
        }
        Ok(())
    }

    /// The free descriptors at or above `min`, lowest first.
    fn free_fds(&self, min: usize) -> impl Iterator<Item = usize> + '_ {
        (min..MAX_FDS).filter(|&i| self.fds.get(i).is_none_or(Option::is_none))
    }

    /// The lowest free descriptor at or above `min`.
    pub fn install(&mut self, open: Open, min: usize) -> Result<u64, Errno> {
        let free = self.free_fds(min).next();
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
        self.forget_fd(fd);
        self.release_node(open.node);
        Ok(0)
    }

    /// A descriptor on `node` is gone: a file or pipe nothing refers to any more is freed.
    fn release_node(&mut self, node: Node) {
        match node {
            Node::File(ino) => self.release(ino),
            Node::Pipe(end) => {
                let open = self
                    .fds
                    .iter()
                    .flatten()
                    .any(|o| matches!(o.node, Node::Pipe(e) if e.pipe == end.pipe));
                if !open {
                    self.pipes.remove(&end.pipe);
                }
            }
            Node::EventFd(id) | Node::Epoll(id)
                if !self.fds.iter().flatten().any(|o| o.node == node) =>
            {
                self.counters.remove(&id);
                self.epolls.remove(&id);
            }
            _ => {}
        }
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
        if device::absent(&name) {
            return Err(Errno::ENXIO);
        }
        if let Some(dev) = device::by_name(&name) {
            if directory {
                return Err(Errno::ENOTDIR);
            }
            return self.install(Open::new(Node::Device(dev), readable, writable), 0);
        }
        if self.is_dir(&name) {
            if writable {
                return Err(Errno::EISDIR);
            }
            let mut open = Open::new(Node::Dir, readable, false);
            open.dir = name;
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
            None if create => {
                self.may_make(&name)?;
                self.link_new(name, Data::Owned(Blocks::default()), true)
            }
            None => return Err(Errno::ENOENT),
        };
        let mut open = Open::new(Node::File(ino), readable, writable);
        open.append = append;
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
            Node::Console | Node::Device(_) => return Ok(NOTHING.chunks(0, 0)),
            Node::Dir => return Err(Errno::EISDIR),
            // Pipes and counters are read through their own calls; an epoll instance is not
            // read at all.
            Node::Pipe(_) | Node::EventFd(_) | Node::Epoll(_) => return Err(Errno::EINVAL),
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

    /// What stat reports of `open`'s node (a directory: the one it names).
    pub fn attributes(&self, open: &Open) -> Attributes {
        let (uid, gid) = (crate::stack::UID as u32, crate::stack::GID as u32);
        let mut a = Attributes {
            kind: Kind::Fifo,
            mode: 0o600,
            size: self.size(&open.node),
            ino: 0,
            links: 1,
            owner: (uid, gid),
            rdev: 0,
        };
        match open.node {
            Node::File(ino) => {
                if let Some(f) = self.inodes.get(&ino) {
                    a.kind = Kind::File;
                    a.mode = f.mode;
                    a.links = u64::from(f.links);
                    a.owner = f.owner;
                }
                a.ino = ino;
            }
            Node::Dir => {
                a.kind = Kind::Dir;
                a.mode = self.dirs.get(&open.dir).copied().unwrap_or(DIR_MODE);
                a.ino = dir::ino(&open.dir);
                a.links = 2;
            }
            Node::Device(dev) => {
                a.kind = Kind::CharDevice;
                a.mode = 0o666;
                a.ino = dev.ino();
                a.rdev = dev.rdev();
            }
            Node::Pipe(end) => a.ino = 0xf000_0000 + end.pipe,
            // anon_inode files: no type bits, read and write for the owner.
            Node::EventFd(id) | Node::Epoll(id) => {
                a.kind = Kind::Anon;
                a.ino = 0xe000_0000 + id;
            }
            Node::Console => {}
        }
        a
    }

    /// What `open` is ready for: files, directories and devices both ways, the console for
    /// writing, a pipe's ends as their bytes and other end say.
    pub fn ready(&self, open: &Open) -> Ready {
        match open.node {
            Node::File(_) | Node::Dir | Node::Device(_) => Ready {
                read: true,
                write: true,
                ..Ready::default()
            },
            Node::Console => Ready {
                write: true,
                ..Ready::default()
            },
            Node::EventFd(id) => {
                let value = self.counter(id).unwrap_or(0);
                Ready {
                    read: value > 0,
                    write: value < event::EVENTFD_MAX,
                    ..Ready::default()
                }
            }
            // Nested epoll instances are never ready (nobody nests them in one thread).
            Node::Epoll(_) => Ready::default(),
            Node::Pipe(end) => {
                let pipe = self.pipes.get(&end.pipe);
                if end.write {
                    Ready {
                        write: pipe.is_some_and(|p| p.room() > 0),
                        error: !self.pipe_has(end.pipe, false),
                        ..Ready::default()
                    }
                } else {
                    Ready {
                        read: pipe.is_some_and(|p| !p.is_empty()),
                        hangup: !self.pipe_has(end.pipe, true),
                        ..Ready::default()
                    }
                }
            }
        }
    }

    /// A descriptor-like view of what `path` names, for the path calls (stat, chmod): ENOENT
    /// where there is nothing, ENXIO for a terminal.
    pub fn at(&self, path: &str) -> Result<Open, Errno> {
        let name = self.resolve(path);
        if let Some(dev) = device::by_name(&name) {
            return Ok(Open::new(Node::Device(dev), true, true));
        }
        if self.is_dir(&name) {
            let mut open = Open::new(Node::Dir, true, false);
            open.dir = name;
            return Ok(open);
        }
        match self.lookup(&name) {
            Some(ino) => Ok(Open::new(Node::File(ino), true, true)),
            None if device::absent(&name) => Err(Errno::ENXIO),
            None => Err(Errno::ENOENT),
        }
    }

    /// chmod: the permission bits of a file or a made directory are recorded.
    pub fn chmod(&mut self, open: &Open, mode: u32) -> Result<u64, Errno> {
        let bits = mode & 0o7777;
        match open.node {
            Node::File(ino) => {
                if let Some(f) = self.inodes.get_mut(&ino) {
                    f.mode = bits;
                }
            }
            Node::Dir => {
                if let Some(m) = self.dirs.get_mut(&open.dir) {
                    *m = bits;
                }
            }
            _ => {}
        }
        Ok(0)
    }

    /// chown: a file's owner is recorded (`u32::MAX`: unchanged).
    pub fn chown(&mut self, open: &Open, uid: u32, gid: u32) -> Result<u64, Errno> {
        if let Node::File(ino) = open.node
            && let Some(f) = self.inodes.get_mut(&ino)
        {
            if uid != u32::MAX {
                f.owner.0 = uid;
            }
            if gid != u32::MAX {
                f.owner.1 = gid;
            }
        }
        Ok(0)
    }

    /// Removes the name; the file lives on while a descriptor refers to it.
    pub fn unlink(&mut self, path: &str) -> Result<u64, Errno> {
        let name = self.resolve(path);
        match self.remove_name(&name) {
            Some(ino) => {
                self.unlink_ino(ino);
                Ok(0)
            }
            None if self.is_dir(&name) => Err(Errno::EISDIR),
            None => Err(Errno::ENOENT),
        }
    }

    /// link: `to` becomes another name of `open`'s file (EEXIST if it names something, EPERM
    /// for a directory or what is no file).
    pub fn link(&mut self, open: &Open, to: &str) -> Result<u64, Errno> {
        let Node::File(ino) = open.node else {
            return Err(Errno::EPERM);
        };
        let to = self.resolve(to);
        if self.exists(&to) {
            return Err(Errno::EEXIST);
        }
        let inode = self.inodes.get(&ino).ok_or(Errno::ENOENT)?;
        if inode.links == 0 {
            // An unlinked file cannot get a name again (without AT_EMPTY_PATH's privilege).
            return Err(Errno::ENOENT);
        }
        self.may_make(&to)?;
        if let Some(inode) = self.inodes.get_mut(&ino) {
            inode.links = inode.links.saturating_add(1);
        }
        self.set_name(to, ino);
        Ok(0)
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
        if !self.names.contains_key(&to) {
            self.may_make(&to)?;
        }
        self.remove_name(&from);
        if let Some(inode) = self.inodes.get_mut(&ino) {
            inode.written = true;
        }
        self.set_name(to, ino);
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
        self.is_dir(&name) || self.names.contains_key(&name) || device::by_name(&name).is_some()
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
        let bytes: usize = self
            .names
            .keys()
            .chain(self.dirs.keys())
            .map(String::len)
            .sum();
        if bytes != self.name_bytes {
            return Err("name bytes that are not the names' lengths");
        }
        Ok(())
    }
}
