//! The file system against a model of POSIX files: arbitrary sequences of open (with O_CREAT,
//! O_EXCL, O_TRUNC, O_APPEND), close, read, pread, write, pwrite, seek, unlink, rename,
//! ftruncate, truncate, dup and dup2 give the same results, the same bytes under every name
//! and through every descriptor, and the same report of written files as the model, whose
//! files are shared buffers that names and descriptors refer to. After every step the file
//! system's own tables agree ([`FileSystem::verify`]). Positions and lengths reach across the
//! blocks the file system holds a file's bytes in.
//!
//! Cases: `PROPTEST_CASES` (100 by default).

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use common::Invocation;
use proptest::prelude::*;
use romain_linux::fs::{BLOCK, FileSystem, How};
use syscalls::Errno;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const NAMES: [&str; 3] = ["/a", "/b", "/c"];

#[derive(Debug, Clone)]
enum Op {
    Open(usize, How),
    Close(u64),
    Read(u64, usize, Option<u64>),
    Write(u64, Vec<u8>, Option<u64>),
    Seek(u64, u64),
    Unlink(usize),
    Rename(usize, usize),
    Ftruncate(u64, u64),
    Truncate(usize, u64),
    Dup(u64),
    Dup2(u64, u64),
}

fn how() -> impl Strategy<Value = How> {
    (0..3u8, any::<[bool; 4]>()).prop_map(|(mode, [create, exclusive, truncate, append])| How {
        readable: mode != 1,
        writable: mode != 0,
        create,
        exclusive: create && exclusive,
        truncate,
        append,
        directory: false,
    })
}

/// A position or a length: small, or near the ends of the first blocks (files are held in
/// blocks of `BLOCK` bytes: writes, reads and truncations across their boundaries).
fn position() -> impl Strategy<Value = u64> + Clone {
    let block = BLOCK as u64;
    prop_oneof![
        3 => 0u64..80,
        1 => block - 40..block + 40,
        1 => 2 * block - 40..2 * block + 40,
        1 => 3 * block - 40..3 * block + 1,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let fd = 3u64..9;
    let name = 0..NAMES.len();
    let at = proptest::option::of(position());
    let len = prop_oneof![4 => 0usize..40, 1 => 0..3 * BLOCK];
    prop_oneof![
        4 => (name.clone(), how()).prop_map(|(n, h)| Op::Open(n, h)),
        2 => fd.clone().prop_map(Op::Close),
        3 => (fd.clone(), len, at.clone()).prop_map(|(f, n, a)| Op::Read(f, n, a)),
        4 => (fd.clone(), proptest::collection::vec(any::<u8>(), 0..30), at)
            .prop_map(|(f, b, a)| Op::Write(f, b, a)),
        1 => (fd.clone(), position()).prop_map(|(f, o)| Op::Seek(f, o)),
        2 => name.clone().prop_map(Op::Unlink),
        2 => (name.clone(), name.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => (fd.clone(), position()).prop_map(|(f, l)| Op::Ftruncate(f, l)),
        1 => (name, position()).prop_map(|(n, l)| Op::Truncate(n, l)),
        1 => fd.clone().prop_map(Op::Dup),
        1 => (fd.clone(), fd).prop_map(|(f, t)| Op::Dup2(f, t)),
    ]
}

/// A file of the model: its bytes and whether the program wrote it.
#[derive(Debug, Default)]
struct MFile {
    bytes: Vec<u8>,
    written: bool,
}

type Shared = Rc<RefCell<MFile>>;

#[derive(Debug, Clone)]
struct MOpen {
    file: Shared,
    offset: u64,
    how: How,
}

#[derive(Default)]
struct Model {
    names: BTreeMap<&'static str, Shared>,
    fds: BTreeMap<u64, MOpen>,
}

impl Model {
    fn lowest_free(&self) -> u64 {
        (3..).find(|fd| !self.fds.contains_key(fd)).unwrap()
    }

    fn open(&mut self, name: &'static str, how: How) -> Result<u64, Errno> {
        let file = match self.names.get(name) {
            Some(_) if how.create && how.exclusive => return Err(Errno::EEXIST),
            Some(f) => {
                if how.truncate && how.writable {
                    let mut f = f.borrow_mut();
                    f.bytes.clear();
                    f.written = true;
                }
                f.clone()
            }
            None if how.create => {
                let f = Rc::new(RefCell::new(MFile {
                    bytes: Vec::new(),
                    written: true,
                }));
                self.names.insert(name, f.clone());
                f
            }
            None => return Err(Errno::ENOENT),
        };
        let fd = self.lowest_free();
        self.fds.insert(
            fd,
            MOpen {
                file,
                offset: 0,
                how,
            },
        );
        Ok(fd)
    }

    fn read(&mut self, fd: u64, len: usize, at: Option<u64>) -> Result<Vec<u8>, Errno> {
        let open = self.fds.get_mut(&fd).ok_or(Errno::EBADF)?;
        if !open.how.readable {
            return Err(Errno::EBADF);
        }
        let f = open.file.borrow();
        let pos = at.unwrap_or(open.offset) as usize;
        let from = pos.min(f.bytes.len());
        let n = len.min(f.bytes.len() - from);
        let out = f.bytes[from..from + n].to_vec();
        drop(f);
        if at.is_none() {
            open.offset = (pos + n) as u64;
        }
        Ok(out)
    }

    fn write(&mut self, fd: u64, bytes: &[u8], at: Option<u64>) -> Result<usize, Errno> {
        let open = self.fds.get_mut(&fd).ok_or(Errno::EBADF)?;
        if !open.how.writable {
            return Err(Errno::EBADF);
        }
        let mut f = open.file.borrow_mut();
        let from = if open.how.append {
            f.bytes.len()
        } else {
            at.unwrap_or(open.offset) as usize
        };
        if bytes.is_empty() {
            return Ok(0);
        }
        let end = from + bytes.len();
        if f.bytes.len() < end {
            f.bytes.resize(end, 0);
        }
        f.bytes[from..end].copy_from_slice(bytes);
        f.written = true;
        drop(f);
        if at.is_none() {
            open.offset = end as u64;
        }
        Ok(bytes.len())
    }

    fn resize(file: &Shared, len: u64) {
        let mut f = file.borrow_mut();
        f.bytes.resize(len as usize, 0);
        f.written = true;
    }

    fn apply(&mut self, op: &Op) -> Result<Vec<u8>, Errno> {
        let value = |v: u64| Ok(v.to_le_bytes().to_vec());
        match op {
            Op::Open(n, how) => value(self.open(NAMES[*n], *how)?),
            Op::Close(fd) => self.fds.remove(fd).map_or(Err(Errno::EBADF), |_| value(0)),
            Op::Read(fd, len, at) => self.read(*fd, *len, *at),
            Op::Write(fd, bytes, at) => value(self.write(*fd, bytes, *at)? as u64),
            Op::Seek(fd, to) => {
                let open = self.fds.get_mut(fd).ok_or(Errno::EBADF)?;
                open.offset = *to;
                value(0)
            }
            Op::Unlink(n) => self
                .names
                .remove(NAMES[*n])
                .map_or(Err(Errno::ENOENT), |_| value(0)),
            Op::Rename(a, b) => {
                let file = self.names.get(NAMES[*a]).ok_or(Errno::ENOENT)?.clone();
                if self
                    .names
                    .get(NAMES[*b])
                    .is_some_and(|f| Rc::ptr_eq(f, &file))
                {
                    return value(0);
                }
                self.names.remove(NAMES[*a]);
                file.borrow_mut().written = true;
                self.names.insert(NAMES[*b], file);
                value(0)
            }
            Op::Ftruncate(fd, len) => {
                let open = self.fds.get(fd).ok_or(Errno::EBADF)?;
                if !open.how.writable {
                    return Err(Errno::EINVAL);
                }
                Self::resize(&open.file, *len);
                value(0)
            }
            Op::Truncate(n, len) => {
                let file = self.names.get(NAMES[*n]).ok_or(Errno::ENOENT)?;
                Self::resize(file, *len);
                value(0)
            }
            Op::Dup(fd) => {
                let open = self.fds.get(fd).ok_or(Errno::EBADF)?.clone();
                let to = self.lowest_free();
                self.fds.insert(to, open);
                value(to)
            }
            Op::Dup2(fd, to) => {
                let open = self.fds.get(fd).ok_or(Errno::EBADF)?.clone();
                self.fds.insert(*to, open);
                value(*to)
            }
        }
    }
}

fn apply(fs: &mut FileSystem, op: &Op) -> Result<Vec<u8>, Errno> {
    let value = |v: u64| Ok(v.to_le_bytes().to_vec());
    match op {
        Op::Open(n, how) => value(fs.open(NAMES[*n], *how)?),
        Op::Close(fd) => value(fs.close(*fd)?),
        Op::Read(fd, len, at) => fs.read(*fd, *len, *at).map(|c| c.to_vec()),
        Op::Write(fd, bytes, at) => value(fs.write(*fd, bytes, *at)? as u64),
        Op::Seek(fd, to) => {
            fs.fd_mut(*fd)?.offset = *to;
            value(0)
        }
        Op::Unlink(n) => value(fs.unlink(NAMES[*n])?),
        Op::Rename(a, b) => value(fs.rename(NAMES[*a], NAMES[*b])?),
        Op::Ftruncate(fd, len) => value(fs.ftruncate(*fd, *len)?),
        Op::Truncate(n, len) => value(fs.truncate(NAMES[*n], *len)?),
        Op::Dup(fd) => {
            let open = fs.fd(*fd)?.clone();
            value(fs.install(open, 0)?)
        }
        Op::Dup2(fd, to) => {
            let open = fs.fd(*fd)?.clone();
            value(fs.install_at(open, *to)?)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(100),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_file_system_behaves_as_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut fs = FileSystem::new(&[], &Invocation::default());
        fs.set_budget(1 << 30);
        let mut model = Model::default();
        for (i, op) in ops.iter().enumerate() {
            let (got, want) = (apply(&mut fs, op), model.apply(op));
            prop_assert_eq!(&got, &want, "step {}: {:?}", i, op);
            prop_assert_eq!(fs.verify(), Ok(()), "step {}: {:?}", i, op);
            for name in NAMES {
                let got = fs.file(name).map(|f| f.data.to_vec());
                let want = model.names.get(name).map(|f| f.borrow().bytes.clone());
                prop_assert_eq!(got, want, "{} after step {}: {:?}", name, i, op);
            }
            for (fd, open) in &model.fds {
                let node = fs.fd(*fd).map(|o| o.node);
                prop_assert!(node.is_ok(), "fd {} is open in the model", fd);
                let size = node.map(|n| fs.size(&n)).unwrap_or(0);
                prop_assert_eq!(size, open.file.borrow().bytes.len() as u64, "fd {}", fd);
            }
        }
        let got: Vec<(String, Vec<u8>)> =
            fs.written().map(|(n, d)| (n.to_string(), d.to_vec())).collect();
        let want: Vec<(String, Vec<u8>)> = model
            .names
            .iter()
            .filter(|(_, f)| f.borrow().written)
            .map(|(n, f)| (n.to_string(), f.borrow().bytes.clone()))
            .collect();
        prop_assert_eq!(got, want);
        // Everything closed and unlinked: nothing is left in the master's heap.
        for fd in 0..romain_linux::fs::MAX_FDS as u64 {
            let _ = fs.close(fd);
        }
        for name in NAMES {
            let _ = fs.unlink(name);
        }
        prop_assert_eq!(fs.owned_bytes(), 0);
        prop_assert_eq!(fs.verify(), Ok(()));
    }
}
