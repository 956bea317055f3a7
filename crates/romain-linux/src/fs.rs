//! A group's in-memory file system and its file descriptors. Files embedded at build time are
//! read in place; a file the program writes gets its own copy, kept by the master until the end.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use syscalls::Errno;

use crate::invocation::Invocation;

/// A file's bytes: embedded (read-only, in the master's image) until first written.
#[derive(Debug, Clone)]
pub enum Data {
    Embedded(&'static [u8]),
    Owned(Vec<u8>),
}

impl Data {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Data::Embedded(b) => b,
            Data::Owned(v) => v,
        }
    }

    fn owned(&mut self) -> &mut Vec<u8> {
        if let Data::Embedded(b) = *self {
            *self = Data::Owned(b.to_vec());
        }
        match self {
            Data::Owned(v) => v,
            Data::Embedded(_) => unreachable!("made owned"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct File {
    pub data: Data,
    /// Written (or created) by the program.
    pub written: bool,
    pub ino: u64,
}

/// What a descriptor refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Reads give end of file (stdin without `STDIN=`).
    Empty,
    /// The console: stdout and stderr.
    Console,
    File(String),
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
    files: BTreeMap<String, File>,
    fds: Vec<Option<Open>>,
    next_ino: u64,
    /// The working directory (normalised) relative paths start from.
    cwd: String,
}

impl FileSystem {
    /// The embedded files by the names the program opens (relative names from `/`), the run's
    /// standard streams and working directory (see [`Invocation`]): fd 0 reads the stdin file or
    /// nothing, fd 1 writes the stdout file (created empty) or the console, fd 2 the console.
    pub fn new(files: &[(&str, &'static [u8])], run: &Invocation<'_>) -> Self {
        let mut fs = FileSystem {
            files: BTreeMap::new(),
            fds: Vec::new(),
            next_ino: 2,
            cwd: run.cwd.map_or_else(|| String::from("/"), normalise),
        };
        for (name, bytes) in files {
            fs.insert(normalise(name), Data::Embedded(bytes), false);
        }
        let open = |node, readable, writable| Open {
            node,
            offset: 0,
            readable,
            writable,
            append: false,
        };
        let stdin = match run.stdin.map(|p| fs.resolve(p)) {
            Some(name) if fs.files.contains_key(&name) => Node::File(name),
            _ => Node::Empty,
        };
        let stdout = match run.stdout.map(|p| fs.resolve(p)) {
            Some(name) => {
                fs.insert(name.clone(), Data::Owned(Vec::new()), true);
                Node::File(name)
            }
            None => Node::Console,
        };
        fs.fds.push(Some(open(stdin, true, false)));
        fs.fds.push(Some(open(stdout, false, true)));
        fs.fds.push(Some(open(Node::Console, false, true)));
        fs
    }

    /// `path` as an absolute normalised name: relative paths start at the working directory.
    pub fn resolve(&self, path: &str) -> String {
        if path.starts_with('/') {
            normalise(path)
        } else {
            normalise(&alloc::format!("{}/{path}", self.cwd))
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
        let prefix = alloc::format!("{name}/");
        self.files
            .range::<str, _>((
                core::ops::Bound::Included(prefix.as_str()),
                core::ops::Bound::Unbounded,
            ))
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    fn insert(&mut self, name: String, data: Data, written: bool) {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.files.insert(name, File { data, written, ino });
    }

    pub fn file(&self, name: &str) -> Option<&File> {
        self.files.get(name)
    }

    pub fn fd(&self, fd: u64) -> Result<&Open, Errno> {
        self.fds
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    pub fn fd_mut(&mut self, fd: u64) -> Result<&mut Open, Errno> {
        self.fds
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)
    }

    /// The lowest free descriptor at or above `min`.
    pub fn install(&mut self, open: Open, min: usize) -> Result<u64, Errno> {
        let free = (min..MAX_FDS).find(|&i| self.fds.get(i).is_none_or(Option::is_none));
        let i = free.ok_or(Errno::EMFILE)?;
        if i >= self.fds.len() {
            self.fds.resize(i + 1, None);
        }
        self.fds[i] = Some(open);
        Ok(i as u64)
    }

    /// Puts `open` at descriptor `fd`, closing what was there (dup3).
    pub fn install_at(&mut self, open: Open, fd: u64) -> Result<u64, Errno> {
        let i = fd as usize;
        if i >= MAX_FDS {
            return Err(Errno::EBADF);
        }
        if i >= self.fds.len() {
            self.fds.resize(i + 1, None);
        }
        self.fds[i] = Some(open);
        Ok(fd)
    }

    pub fn close(&mut self, fd: u64) -> Result<u64, Errno> {
        let slot = self.fds.get_mut(fd as usize).ok_or(Errno::EBADF)?;
        slot.take().ok_or(Errno::EBADF)?;
        Ok(0)
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
            return Err(if self.files.contains_key(&name) {
                Errno::ENOTDIR
            } else {
                Errno::ENOENT
            });
        }
        match self.files.get_mut(&name) {
            Some(_) if create && exclusive => return Err(Errno::EEXIST),
            Some(file) => {
                if truncate && writable {
                    file.data = Data::Owned(Vec::new());
                    file.written = true;
                }
            }
            None if create => self.insert(name.clone(), Data::Owned(Vec::new()), true),
            None => return Err(Errno::ENOENT),
        }
        let open = Open {
            node: Node::File(name),
            offset: 0,
            readable,
            writable,
            append,
        };
        self.install(open, 0)
    }

    /// Reads up to `len` bytes of `fd` at `at` (or its offset): the bytes, which the caller
    /// copies out, and moves the offset when `at` is `None`.
    pub fn read(&mut self, fd: u64, len: usize, at: Option<u64>) -> Result<&[u8], Errno> {
        let open = self.fd(fd)?.clone();
        if !open.readable {
            return Err(Errno::EBADF);
        }
        let bytes: &[u8] = match &open.node {
            Node::Empty | Node::Console => &[],
            Node::Dir => return Err(Errno::EISDIR),
            Node::File(name) => self.files.get(name).map_or(&[], |f| f.data.bytes()),
        };
        let from = (at.unwrap_or(open.offset) as usize).min(bytes.len());
        let n = len.min(bytes.len() - from);
        if at.is_none() {
            self.fd_mut(fd)?.offset = (from + n) as u64;
        }
        let Node::File(name) = &open.node else {
            return Ok(&[]);
        };
        Ok(&self.files[name].data.bytes()[from..from + n])
    }

    /// Writes `bytes` to file descriptor `fd` (not the console: the caller prints that).
    pub fn write(&mut self, fd: u64, bytes: &[u8], at: Option<u64>) -> Result<usize, Errno> {
        let open = self.fd(fd)?.clone();
        if !open.writable {
            return Err(Errno::EBADF);
        }
        let Node::File(name) = &open.node else {
            return Err(Errno::EBADF);
        };
        let file = self.files.get_mut(name).ok_or(Errno::ENOENT)?;
        let data = file.data.owned();
        file.written = true;
        let from = match at {
            Some(at) => at as usize,
            None if open.append => data.len(),
            None => open.offset as usize,
        };
        let end = from.checked_add(bytes.len()).ok_or(Errno::EFBIG)?;
        if end > data.len() {
            // Files live in the master's heap: a full heap is a full disk.
            data.try_reserve(end - data.len())
                .map_err(|_| Errno::ENOSPC)?;
            data.resize(end, 0);
        }
        data[from..end].copy_from_slice(bytes);
        if at.is_none() {
            self.fd_mut(fd)?.offset = end as u64;
        }
        Ok(bytes.len())
    }

    /// The size of what `fd` refers to (0 for the console and empty stdin).
    pub fn size(&self, node: &Node) -> u64 {
        match node {
            Node::File(name) => self
                .files
                .get(name)
                .map_or(0, |f| f.data.bytes().len() as u64),
            _ => 0,
        }
    }

    pub fn ino(&self, node: &Node) -> u64 {
        match node {
            Node::File(name) => self.files.get(name).map_or(0, |f| f.ino),
            Node::Dir => 1,
            _ => 0,
        }
    }

    pub fn unlink(&mut self, path: &str) -> Result<u64, Errno> {
        self.files
            .remove(&self.resolve(path))
            .ok_or(Errno::ENOENT)?;
        Ok(0)
    }

    pub fn rename(&mut self, from: &str, to: &str) -> Result<u64, Errno> {
        let mut file = self
            .files
            .remove(&self.resolve(from))
            .ok_or(Errno::ENOENT)?;
        file.written = true;
        let to = self.resolve(to);
        self.files.insert(to, file);
        Ok(0)
    }

    /// Files the program wrote or created, by name.
    pub fn written(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files
            .iter()
            .filter(|(_, f)| f.written)
            .map(|(n, f)| (n.as_str(), f.data.bytes()))
    }

    pub fn exists(&self, path: &str) -> bool {
        let name = self.resolve(path);
        self.is_dir(&name) || self.files.contains_key(&name)
    }
}
