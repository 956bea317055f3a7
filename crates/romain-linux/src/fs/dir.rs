//! Directories: made and removed (`mkdir`, `rmdir`), entered (`chdir`) and listed (`getdents64`).
//! A listing is `.`, `..`, then the entries in name order: the files whose names are directly
//! under the directory, the directories made there or that hold files, and the devices in
//! `/dev`.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use romain_records::fnv;
use syscalls::Errno;

use super::{DIR_MODE, FileSystem, Node, device};

/// What a node is, as stat's mode and a directory entry's type say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    CharDevice,
    Fifo,
    /// An anonymous inode (eventfd, epoll): no file type bits.
    Anon,
}

impl Kind {
    /// The `S_IF*` bits of `st_mode`.
    pub fn mode_bits(self) -> u32 {
        match self {
            Kind::File => 0o100_000,
            Kind::Dir => 0o040_000,
            Kind::CharDevice => 0o020_000,
            Kind::Fifo => 0o010_000,
            Kind::Anon => 0,
        }
    }

    /// The `DT_*` type of a directory entry.
    pub fn dirent_type(self) -> u8 {
        match self {
            Kind::File => 8,
            Kind::Dir => 4,
            Kind::CharDevice => 2,
            Kind::Fifo => 1,
            Kind::Anon => 0,
        }
    }
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub ino: u64,
    pub kind: Kind,
}

/// A directory's inode number: from its name, so that it stays the same while the group runs
/// (above every file's, which count from 2).
pub fn ino(name: &str) -> u64 {
    if name == "/" {
        return 1;
    }
    (1 << 32) | (fnv::continue_with(fnv::START, name.as_bytes()) & 0xffff_ffff)
}

/// `name`'s parent directory.
fn parent(name: &str) -> &str {
    match name.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((p, _)) => p,
    }
}

/// How a name lies under a directory.
enum Child<'k> {
    /// Directly in it, as this entry.
    Leaf(&'k str),
    /// Deeper, through this entry (a directory), whose full name is the second.
    Through(&'k str, &'k str),
}

/// How `key` (a normalised name) lies under directory `dir`, if it does.
fn child<'k>(dir: &str, key: &'k str) -> Option<Child<'k>> {
    let rest = if dir == "/" {
        key.strip_prefix('/')?
    } else {
        key.strip_prefix(dir)?.strip_prefix('/')?
    };
    if rest.is_empty() {
        return None;
    }
    Some(match rest.split_once('/') {
        Some((first, _)) => {
            let end = key.len() - rest.len() + first.len();
            Child::Through(first, &key[..end])
        }
        None => Child::Leaf(rest),
    })
}

impl FileSystem {
    /// mkdir: a directory at `path` (its permission bits `mode` less the umask).
    pub fn mkdir(&mut self, path: &str, mode: u32) -> Result<u64, Errno> {
        let name = self.resolve(path);
        if self.exists(&name) {
            return Err(Errno::EEXIST);
        }
        self.may_make(&name)?;
        let mode = mode & 0o7777 & !self.umask;
        self.add_dir(name, mode);
        Ok(0)
    }

    /// rmdir: removes an empty directory the program made. `/` is EBUSY; a directory that holds
    /// files (every one that is only a prefix of names) is ENOTEMPTY.
    pub fn rmdir(&mut self, path: &str) -> Result<u64, Errno> {
        let name = self.resolve(path);
        if name == "/" {
            return Err(Errno::EBUSY);
        }
        if !self.is_dir(&name) {
            return Err(if self.exists(&name) {
                Errno::ENOTDIR
            } else {
                Errno::ENOENT
            });
        }
        if self.entries(&name)?.len() > 2 || !self.dirs.contains_key(&name) {
            return Err(Errno::ENOTEMPTY);
        }
        self.remove_dir(&name);
        Ok(0)
    }

    /// chdir: relative paths start at `path` from now on.
    pub fn chdir(&mut self, path: &str) -> Result<u64, Errno> {
        let name = self.resolve(path);
        if self.is_dir(&name) {
            // Kept a directory while it is the working one, as Linux keeps it referenced.
            if !self.dirs.contains_key(&name) && self.room_for_name(&name).is_ok() {
                self.add_dir(name.clone(), DIR_MODE);
            }
            self.cwd = name;
            Ok(0)
        } else if self.exists(&name) {
            Err(Errno::ENOTDIR)
        } else {
            Err(Errno::ENOENT)
        }
    }

    /// fchdir: the directory descriptor `fd` becomes the working directory.
    pub fn fchdir(&mut self, fd: u64) -> Result<u64, Errno> {
        let open = self.fd(fd)?;
        if open.node != Node::Dir {
            return Err(Errno::ENOTDIR);
        }
        let name = open.dir.clone();
        self.chdir(&name)
    }

    /// The listing of directory `name` (normalised): `.`, `..`, then its entries in name order.
    pub fn entries(&self, name: &str) -> Result<Vec<Entry>, Errno> {
        let mut below: BTreeMap<&str, (u64, Kind)> = BTreeMap::new();
        for (key, &i) in &self.names {
            match child(name, key) {
                Some(Child::Leaf(n)) => drop(below.insert(n, (i, Kind::File))),
                Some(Child::Through(n, full)) => drop(below.insert(n, (ino(full), Kind::Dir))),
                None => {}
            }
        }
        for key in self.dirs.keys() {
            match child(name, key) {
                Some(Child::Leaf(n)) => drop(below.insert(n, (ino(key), Kind::Dir))),
                Some(Child::Through(n, full)) => drop(below.insert(n, (ino(full), Kind::Dir))),
                None => {}
            }
        }
        if name == device::DEV {
            for (n, dev, _) in device::DEVICES {
                below.insert(&n[device::DEV.len() + 1..], (dev.ino(), Kind::CharDevice));
            }
        } else if name == "/" {
            below.insert(&device::DEV[1..], (ino(device::DEV), Kind::Dir));
        }
        let mut out = Vec::new();
        out.try_reserve_exact(below.len() + 2)
            .map_err(|_| Errno::ENOMEM)?;
        out.push(Entry {
            name: String::from("."),
            ino: ino(name),
            kind: Kind::Dir,
        });
        out.push(Entry {
            name: String::from(".."),
            ino: ino(parent(name)),
            kind: Kind::Dir,
        });
        for (n, (i, kind)) in below {
            out.push(Entry {
                name: String::from(n),
                ino: i,
                kind,
            });
        }
        Ok(out)
    }
}
