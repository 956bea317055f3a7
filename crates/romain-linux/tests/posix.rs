//! The calls real static programs take for granted (busybox, bash, zsh, mksh, e2fsck, C++ and
//! Rust `std` programs): directories (mkdir, chdir, getdents64, rmdir, descriptors as `*at`
//! bases), device files, pipes within the process, poll and select, sendfile, the fixed
//! identity and process group, prctl names, fork's EAGAIN. Each with its hostile forms: bad
//! pointers, absurd counts, exhaustion. Through the real group core on both architectures.

mod common;

use common::*;
use romain_core::summary::Status;
use syscalls::Errno;

const AT: u64 = -100i64 as u64;
const O_RDONLY: u64 = 0;
const O_WRONLY: u64 = 1;
const O_RDWR: u64 = 2;
const O_CREAT: u64 = 0o100;
const O_DIRECTORY: u64 = 0o200000;
/// An address no replica owns.
const WILD: u64 = 0xdead_0000;

/// newfstatat's name on `arch`.
fn fstatat(arch: romain_core::regs::Arch) -> &'static str {
    match arch {
        romain_core::regs::Arch::X86_64 => "newfstatat",
        romain_core::regs::Arch::Aarch64 => "fstatat",
    }
}

fn open(rig: &mut Rig, name: &str, flags: u64) -> i64 {
    let p = path(rig, DATA + 0x3000, name);
    rig.sys("openat", &[AT, p, flags, 0o644])
}

/// The names getdents64 gives for descriptor `fd`, with their types, read `size` bytes at a time.
fn listing(rig: &mut Rig, fd: u64, size: u64) -> Vec<(String, u8)> {
    let buf = DATA + 0x4000;
    let mut out = Vec::new();
    loop {
        let n = rig.sys("getdents64", &[fd, buf, size]);
        assert!(n >= 0, "getdents64: {n}");
        if n == 0 {
            return out;
        }
        let bytes = rig.fake.peek(0, buf, n as usize);
        let mut at = 0;
        while at < bytes.len() {
            let reclen = u16::from_le_bytes([bytes[at + 16], bytes[at + 17]]) as usize;
            let kind = bytes[at + 18];
            let name = &bytes[at + 19..at + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap()];
            out.push((String::from_utf8(name.to_vec()).unwrap(), kind));
            at += reclen;
        }
    }
}

const DT_DIR: u8 = 4;
const DT_REG: u8 = 8;
const DT_CHR: u8 = 2;

#[test]
fn directories_are_made_listed_entered_and_removed() {
    for arch in ARCHES {
        let mut rig = Rig::new(
            arch,
            3,
            &[("d/one", b"1"), ("d/sub/two", b"22"), ("top", b"")],
            None,
        );
        let new = path(&mut rig, DATA, "d/new");
        assert_eq!(rig.sys("mkdirat", &[AT, new, 0o755]), 0);
        assert_eq!(rig.sys("mkdirat", &[AT, new, 0o755]), err(Errno::EEXIST));
        let deep = path(&mut rig, DATA, "nowhere/x");
        assert_eq!(rig.sys("mkdirat", &[AT, deep, 0o755]), err(Errno::ENOENT));
        let under_file = path(&mut rig, DATA, "top/x");
        assert_eq!(
            rig.sys("mkdirat", &[AT, under_file, 0o755]),
            err(Errno::ENOTDIR)
        );
        // A file is created only in a directory.
        assert_eq!(
            open(&mut rig, "nowhere/f", O_CREAT | O_WRONLY),
            err(Errno::ENOENT)
        );
        assert_eq!(
            open(&mut rig, "top/f", O_CREAT | O_WRONLY),
            err(Errno::ENOTDIR)
        );

        let d = open(&mut rig, "d", O_RDONLY | O_DIRECTORY) as u64;
        let all = listing(&mut rig, d, 4096);
        let want = [
            (".", DT_DIR),
            ("..", DT_DIR),
            ("new", DT_DIR),
            ("one", DT_REG),
            ("sub", DT_DIR),
        ];
        let want: Vec<_> = want.iter().map(|(n, t)| (n.to_string(), *t)).collect();
        assert_eq!(all, want);
        // Read again from the start, one entry per call (a 24-byte buffer holds one short entry).
        assert_eq!(rig.sys("lseek", &[d, 0, 0]), 0);
        assert_eq!(listing(&mut rig, d, 24), want);
        // A buffer too small for the next entry is EINVAL; a bad one is EFAULT.
        assert_eq!(rig.sys("lseek", &[d, 0, 0]), 0);
        assert_eq!(rig.sys("getdents64", &[d, DATA, 8]), err(Errno::EINVAL));
        assert_eq!(rig.sys("getdents64", &[d, WILD, 4096]), err(Errno::EFAULT));
        assert_eq!(
            listing(&mut rig, d, 4096).len(),
            5,
            "a failed call moves nothing"
        );
        let f = open(&mut rig, "top", O_RDONLY) as u64;
        assert_eq!(rig.sys("getdents64", &[f, DATA, 4096]), err(Errno::ENOTDIR));

        // Relative to a directory descriptor, and to the working directory after fchdir/chdir.
        let one = path(&mut rig, DATA, "one");
        let fd = rig.sys("openat", &[d, one, O_RDONLY, 0]);
        assert!(fd >= 0, "{fd}");
        assert_eq!(
            rig.sys("openat", &[f, one, O_RDONLY, 0]),
            err(Errno::ENOTDIR)
        );
        assert_eq!(
            rig.sys("openat", &[200, one, O_RDONLY, 0]),
            err(Errno::EBADF)
        );
        assert_eq!(rig.sys("fchdir", &[d]), 0);
        assert!(open(&mut rig, "one", O_RDONLY) >= 0);
        assert_eq!(rig.sys("getcwd", &[DATA + 0x100, 64]), 3);
        assert_eq!(rig.fake.peek(0, DATA + 0x100, 3), b"/d\0");
        let sub = path(&mut rig, DATA, "sub");
        assert_eq!(rig.sys("chdir", &[sub]), 0);
        assert!(open(&mut rig, "two", O_RDONLY) >= 0);
        let chdir = |rig: &mut Rig, name: &str| {
            let p = path(rig, DATA, name);
            rig.sys("chdir", &[p])
        };
        assert_eq!(chdir(&mut rig, "two"), err(Errno::ENOTDIR));
        assert_eq!(chdir(&mut rig, "none"), err(Errno::ENOENT));
        assert_eq!(rig.sys("fchdir", &[f]), err(Errno::ENOTDIR));
        assert_eq!(chdir(&mut rig, "/"), 0);

        // rmdir: only an empty directory the program made.
        let rmdir = |rig: &mut Rig, name: &str| {
            let p = path(rig, DATA, name);
            rig.sys("unlinkat", &[AT, p, 0x200])
        };
        assert_eq!(rmdir(&mut rig, "d/sub"), err(Errno::ENOTEMPTY));
        assert_eq!(rmdir(&mut rig, "d/one"), err(Errno::ENOTDIR));
        assert_eq!(rmdir(&mut rig, "d/gone"), err(Errno::ENOENT));
        assert_eq!(rmdir(&mut rig, "/"), err(Errno::EBUSY));
        assert_eq!(rmdir(&mut rig, "d/new"), 0);
        assert_eq!(rmdir(&mut rig, "d/new"), err(Errno::ENOENT));
        // unlink of a directory is EISDIR; unlinkat with an unknown flag EINVAL.
        let p = path(&mut rig, DATA, "d/sub");
        assert_eq!(rig.sys("unlinkat", &[AT, p, 0]), err(Errno::EISDIR));
        assert_eq!(rig.sys("unlinkat", &[AT, p, 0x1]), err(Errno::EINVAL));
        // /tmp exists for temporary files; / lists the files' top directories, /proc and /dev.
        assert!(open(&mut rig, "/tmp/t", O_CREAT | O_RDWR) >= 0);
        let root = open(&mut rig, "/", O_RDONLY | O_DIRECTORY) as u64;
        let names: Vec<String> = listing(&mut rig, root, 4096)
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(names, [".", "..", "d", "dev", "proc", "tmp", "top"]);
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn making_names_without_end_is_enospc_not_exhaustion() {
    let mut rig = Rig::new(ARCHES[0], 2, &[], None);
    let mut refused = None;
    for i in 0..romain_linux::fs::MAX_NAMES + 10 {
        let p = path(&mut rig, DATA, &format!("d{i}"));
        let r = rig.sys("mkdirat", &[AT, p, 0o755]);
        if r != 0 {
            refused = Some((i, r));
            break;
        }
    }
    let (i, r) = refused.expect("names without end");
    assert_eq!(r, err(Errno::ENOSPC));
    assert!(i <= romain_linux::fs::MAX_NAMES, "{i}");
    assert_eq!(open(&mut rig, "f", O_CREAT | O_WRONLY), err(Errno::ENOSPC));

    // Long names: their bytes are bounded too (a path may take 4 KiB of the master's heap).
    let mut fs = romain_linux::fs::FileSystem::new(&[], &Default::default());
    let part = "n".repeat(255);
    assert_eq!(
        fs.mkdir(&format!("/{part}x"), 0o755),
        Err(Errno::ENAMETOOLONG)
    );
    let mut long = String::new();
    for _ in 0..15 {
        long.push('/');
        long.push_str(&part);
        assert_eq!(fs.mkdir(&long, 0o755), Ok(0));
    }
    long.push('/');
    let mut made = 0;
    let refused = loop {
        match fs.mkdir(&format!("{long}{made}"), 0o755) {
            Ok(_) => made += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(refused, Errno::ENOSPC);
    assert!(
        made * long.len() <= romain_linux::fs::MAX_NAME_BYTES,
        "{made}"
    );
    assert!(made > 200, "{made}");
    // A rename to a name longer than the room left is refused the same way; rmdir gives room
    // back.
    let how = romain_linux::fs::How {
        create: true,
        writable: true,
        ..Default::default()
    };
    assert!(fs.open("/short", how).is_ok());
    assert_eq!(
        fs.rename("/short", &format!("{long}{}", "m".repeat(200))),
        Err(Errno::ENOSPC)
    );
    assert_eq!(fs.rmdir(&format!("{long}0")), Ok(0));
    assert_eq!(fs.mkdir(&format!("{long}0"), 0o755), Ok(0));
    assert_eq!(fs.verify(), Ok(()));
}

#[test]
fn device_files_behave_as_on_linux_and_random_bytes_are_the_same_in_every_replica() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        let null = open(&mut rig, "/dev/null", O_RDWR) as u64;
        assert_eq!(rig.sys("read", &[null, DATA, 100]), 0);
        assert_eq!(rig.sys("write", &[null, DATA, 100]), 100);
        assert_eq!(rig.sys("lseek", &[null, 5, 0]), 0);
        let zero = open(&mut rig, "/dev/zero", O_RDONLY) as u64;
        rig.fake.poke(DATA, &[0xaa; 64]);
        assert_eq!(rig.sys("read", &[zero, DATA, 64]), 64);
        assert_eq!(rig.fake.peek(0, DATA, 64), [0; 64]);
        let full = open(&mut rig, "/dev/full", O_WRONLY) as u64;
        assert_eq!(rig.sys("write", &[full, DATA, 1]), err(Errno::ENOSPC));
        let random = open(&mut rig, "/dev/urandom", O_RDONLY) as u64;
        assert_eq!(rig.sys("read", &[random, DATA, 4000]), 4000);
        let bytes = rig.fake.peek(0, DATA, 4000);
        assert!(bytes.iter().any(|&b| b != 0));
        for k in 1..3 {
            assert_eq!(rig.fake.peek(k, DATA, 4000), bytes, "replica {k}");
        }
        assert_eq!(rig.sys("read", &[random, WILD, 16]), err(Errno::EFAULT));
        assert_eq!(open(&mut rig, "/dev/tty", O_RDWR), err(Errno::ENXIO));
        assert_eq!(
            open(&mut rig, "/dev/null", O_RDONLY | O_DIRECTORY),
            err(Errno::ENOTDIR)
        );
        // stat: a character device with Linux's numbers; /dev lists them.
        use linux_raw_sys::general::stat;
        let p = path(&mut rig, DATA + 0x200, "/dev/null");
        assert_eq!(rig.sys(fstatat(arch), &[AT, p, DATA + 0x400, 0]), 0);
        let st = rig.fake.peek(0, DATA + 0x400, size_of::<stat>());
        let word = |off: usize, n: usize| {
            let mut w = [0u8; 8];
            w[..n].copy_from_slice(&st[off..off + n]);
            u64::from_le_bytes(w)
        };
        let mode_at = core::mem::offset_of!(stat, st_mode);
        assert_eq!(word(mode_at, 4) & 0o170000, 0o020000);
        assert_eq!(word(core::mem::offset_of!(stat, st_rdev), 8), 0x103);
        let dev = open(&mut rig, "/dev", O_RDONLY | O_DIRECTORY) as u64;
        let devs: Vec<_> = listing(&mut rig, dev, 4096).into_iter().skip(2).collect();
        assert_eq!(devs.len(), 5);
        assert!(devs.iter().all(|(_, t)| *t == DT_CHR), "{devs:?}");
        // stdin without a file is /dev/null, as a shell gives a program none.
        assert_eq!(rig.sys("read", &[0, DATA, 10]), 0);
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn a_pipe_carries_bytes_within_the_process_and_never_waits() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        assert_eq!(rig.sys("pipe2", &[DATA, 0]), 0);
        let ends = rig.fake.peek(0, DATA, 8);
        let r = u32::from_le_bytes(ends[..4].try_into().unwrap()) as u64;
        let w = u32::from_le_bytes(ends[4..].try_into().unwrap()) as u64;
        assert_eq!((r, w), (3, 4));
        // Empty with a writer: nothing will ever come, EAGAIN instead of a hang.
        assert_eq!(rig.sys("read", &[r, DATA + 0x100, 10]), err(Errno::EAGAIN));
        rig.fake.poke(DATA + 0x200, b"hello pipe");
        assert_eq!(rig.sys("write", &[w, DATA + 0x200, 10]), 10);
        assert_eq!(rig.sys("read", &[w, DATA + 0x100, 10]), err(Errno::EBADF));
        assert_eq!(rig.sys("read", &[r, DATA + 0x100, 5]), 5);
        assert_eq!(rig.fake.peek(2, DATA + 0x100, 5), b"hello");
        assert_eq!(rig.sys("lseek", &[r, 0, 0]), err(Errno::ESPIPE));
        // A bad buffer takes nothing out.
        assert_eq!(rig.sys("read", &[r, WILD, 5]), err(Errno::EFAULT));
        assert_eq!(rig.sys("close", &[w]), 0);
        assert_eq!(rig.sys("read", &[r, DATA + 0x100, 100]), 5);
        assert_eq!(rig.fake.peek(1, DATA + 0x100, 5), b" pipe");
        assert_eq!(rig.sys("read", &[r, DATA + 0x100, 100]), 0, "end of file");
        // Full: what fits, then EAGAIN; no reader: EPIPE.
        assert_eq!(rig.sys("pipe2", &[DATA, 0o2000000]), 0);
        let (r, w) = (4, 5);
        let chunk = 48 << 10;
        let big = DATA;
        assert_eq!(rig.sys("write", &[w, big, chunk]), chunk as i64);
        assert_eq!(
            rig.sys("write", &[w, big, chunk]),
            (64 << 10) - chunk as i64
        );
        assert_eq!(rig.sys("write", &[w, big, 1]), err(Errno::EAGAIN));
        assert_eq!(rig.sys("close", &[r]), 0);
        assert_eq!(rig.sys("close", &[3]), 0);
        assert_eq!(rig.sys("write", &[w, big, 1]), err(Errno::EPIPE));
        assert_eq!(rig.sys("pipe2", &[DATA, 0x1]), err(Errno::EINVAL));
        assert_eq!(rig.sys("pipe2", &[WILD, 0]), err(Errno::EFAULT));
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

/// Writes pollfd entries (fd, events) at DATA + 0x800; returns the address.
fn pollfds(rig: &mut Rig, entries: &[(i32, u16)]) -> u64 {
    let mut b = Vec::new();
    for (fd, ev) in entries {
        b.extend_from_slice(&fd.to_le_bytes());
        b.extend_from_slice(&ev.to_le_bytes());
        b.extend_from_slice(&0xffffu16.to_le_bytes());
    }
    rig.fake.poke(DATA + 0x800, &b);
    DATA + 0x800
}

fn revents(rig: &Rig, n: usize) -> Vec<u16> {
    let b = rig.fake.peek(0, DATA + 0x800, n * 8);
    b.chunks(8)
        .map(|e| u16::from_le_bytes([e[6], e[7]]))
        .collect()
}

#[test]
fn poll_and_select_say_what_is_ready() {
    const POLLIN: u16 = 1;
    const POLLOUT: u16 = 4;
    const POLLHUP: u16 = 0x10;
    const POLLNVAL: u16 = 0x20;
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[("f", b"data")], None);
        // Rust's std start-up: fds 0-2 with no events, to find closed ones.
        let fds = pollfds(&mut rig, &[(0, 0), (1, 0), (2, 0)]);
        assert_eq!(rig.sys("ppoll", &[fds, 3, 0, 0, 8]), 0);
        assert_eq!(revents(&rig, 3), [0, 0, 0]);
        // stdin (/dev/null) readable, the console writable and not readable, a closed fd
        // POLLNVAL, a negative one skipped.
        let fds = pollfds(
            &mut rig,
            &[
                (0, POLLIN),
                (1, POLLIN | POLLOUT),
                (9, POLLIN),
                (-1, POLLIN),
            ],
        );
        assert_eq!(rig.sys("ppoll", &[fds, 4, 0, 0, 8]), 3);
        assert_eq!(revents(&rig, 4), [POLLIN, POLLOUT, POLLNVAL, 0]);
        // A pipe: readable once written, POLLHUP once its writer is closed.
        assert_eq!(rig.sys("pipe2", &[DATA, 0]), 0);
        let fds = pollfds(&mut rig, &[(3, POLLIN)]);
        assert_eq!(
            rig.sys("ppoll", &[fds, 1, 0, 0, 8]),
            0,
            "nothing ready: at once"
        );
        assert_eq!(rig.sys("write", &[4, DATA + 0x100, 1]), 1);
        assert_eq!(rig.sys("ppoll", &[fds, 1, 0, 0, 8]), 1);
        assert_eq!(revents(&rig, 1), [POLLIN]);
        assert_eq!(rig.sys("close", &[4]), 0);
        assert_eq!(rig.sys("ppoll", &[fds, 1, 0, 0, 8]), 1);
        assert_eq!(revents(&rig, 1), [POLLIN | POLLHUP]);
        // Hostile: more entries than descriptors, an array not the program's.
        assert_eq!(
            rig.sys("ppoll", &[fds, 100_000, 0, 0, 8]),
            err(Errno::EINVAL)
        );
        assert_eq!(
            rig.sys("ppoll", &[fds, u64::MAX, 0, 0, 8]),
            err(Errno::EINVAL)
        );
        assert_eq!(rig.sys("ppoll", &[WILD, 2, 0, 0, 8]), err(Errno::EFAULT));

        // select: fd 0 and the file readable, fd 1 writable; a closed fd is EBADF.
        let file = {
            let p = path(&mut rig, DATA + 0x3000, "f");
            rig.sys("openat", &[AT, p, O_RDONLY, 0]) as u64
        };
        let (rset, wset) = (DATA + 0x900, DATA + 0x980);
        rig.fake
            .poke(rset, &(1u64 | 1 << file | 1 << 3).to_le_bytes());
        rig.fake.poke(wset, &2u64.to_le_bytes());
        assert_eq!(rig.sys("pselect6", &[64, rset, wset, 0, 0, 0]), 4);
        let bits = |rig: &Rig, at| u64::from_le_bytes(rig.fake.peek(0, at, 8).try_into().unwrap());
        assert_eq!(bits(&rig, rset), 1 | 1 << file | 1 << 3);
        assert_eq!(bits(&rig, wset), 2);
        rig.fake.poke(rset, &(1u64 << 40).to_le_bytes());
        assert_eq!(
            rig.sys("pselect6", &[64, rset, 0, 0, 0, 0]),
            err(Errno::EBADF)
        );
        assert_eq!(
            rig.sys("pselect6", &[-1i64 as u64, rset, 0, 0, 0, 0]),
            err(Errno::EINVAL)
        );
        assert_eq!(
            rig.sys("pselect6", &[64, WILD, 0, 0, 0, 0]),
            err(Errno::EFAULT)
        );
        // Huge nfds looks at FD_SETSIZE descriptors (128 bytes per set) at most.
        rig.fake.poke(rset, &[0; 128]);
        assert_eq!(
            rig.sys("pselect6", &[u32::MAX as u64 >> 1, rset, 0, 0, 0, 0]),
            0
        );
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn sendfile_copies_a_file_to_the_console_or_a_file() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[("f", b"0123456789")], None);
        let f = open(&mut rig, "f", O_RDONLY) as u64;
        assert_eq!(rig.sys("sendfile", &[1, f, 0, 4]), 4);
        assert_eq!(rig.fake.out, b"0123");
        // At an offset given by pointer: the pointer moves, the descriptor does not.
        rig.fake.poke(DATA, &8u64.to_le_bytes());
        assert_eq!(rig.sys("sendfile", &[1, f, DATA, 100]), 2);
        assert_eq!(rig.fake.peek(1, DATA, 8), 10u64.to_le_bytes());
        assert_eq!(rig.sys("sendfile", &[1, f, 0, 1 << 40]), 6);
        assert_eq!(rig.fake.out, b"012389456789");
        let out = open(&mut rig, "copy", O_CREAT | O_WRONLY) as u64;
        assert_eq!(rig.sys("lseek", &[f, 0, 0]), 0);
        assert_eq!(rig.sys("sendfile", &[out, f, 0, 10]), 10);
        // Hostile: a bad offset pointer, a negative offset, the console as input.
        assert_eq!(rig.sys("sendfile", &[1, f, WILD, 1]), err(Errno::EFAULT));
        rig.fake.poke(DATA, &(-5i64).to_le_bytes());
        assert_eq!(rig.sys("sendfile", &[1, f, DATA, 1]), err(Errno::EINVAL));
        assert_eq!(rig.sys("sendfile", &[out, 1, 0, 1]), err(Errno::EBADF));
        assert_eq!(rig.sys("sendfile", &[f, f, 0, 1]), err(Errno::EBADF));
        rig.sys("exit_group", &[0]);
        assert_eq!(rig.summary.files_written, 1);
    }
}

#[test]
fn the_identity_and_process_group_are_fixed_and_nothing_forks() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        assert_eq!(rig.sys("getpgid", &[0]), 100);
        assert_eq!(rig.sys("getpgid", &[100]), 100);
        assert_eq!(
            rig.sys("getpgid", &[1]),
            err(Errno::ESRCH),
            "no init to see"
        );
        assert_eq!(rig.sys("getpgid", &[77]), err(Errno::ESRCH));
        assert_eq!(rig.sys("getsid", &[0]), 100);
        assert_eq!(rig.sys("setpgid", &[0, 0]), 0);
        assert_eq!(rig.sys("setpgid", &[0, 5]), err(Errno::EPERM));
        assert_eq!(rig.sys("setsid", &[]), err(Errno::EPERM));
        assert_eq!(rig.sys("setuid", &[1000]), 0);
        assert_eq!(rig.sys("setuid", &[0]), err(Errno::EPERM));
        assert_eq!(
            rig.sys("setresgid", &[u32::MAX as u64, 1000, u32::MAX as u64]),
            0
        );
        assert_eq!(rig.sys("setresgid", &[0, 1000, 1000]), err(Errno::EPERM));
        assert_eq!(rig.sys("getresuid", &[DATA, DATA + 4, DATA + 8]), 0);
        assert_eq!(
            rig.fake.peek(2, DATA, 12),
            [1000u32.to_le_bytes(); 3].concat()
        );
        assert_eq!(
            rig.sys("getresuid", &[DATA, WILD, DATA]),
            err(Errno::EFAULT)
        );
        assert_eq!(rig.sys("getgroups", &[0, 0]), 0);
        assert_eq!(rig.sys("setgroups", &[0, 0]), err(Errno::EPERM));
        // No second process: EAGAIN, as at an exhausted process limit; no child (threads:
        // tests/threads.rs).
        assert_eq!(rig.sys("clone", &[0x11, 0, 0, 0, 0]), err(Errno::EAGAIN));
        assert_eq!(rig.sys("clone", &[0x4111, 0, 0, 0, 0]), err(Errno::EAGAIN));
        assert_eq!(rig.sys("wait4", &[u64::MAX, 0, 0, 0]), err(Errno::ECHILD));
        // prctl names the thread (15 bytes at most); other options are EINVAL.
        rig.fake.poke(DATA, b"a-rather-long-thread-name\0");
        assert_eq!(rig.sys("prctl", &[15, DATA]), 0);
        assert_eq!(rig.sys("prctl", &[16, DATA + 0x100]), 0);
        assert_eq!(rig.fake.peek(1, DATA + 0x100, 16), b"a-rather-long-t\0");
        assert_eq!(rig.sys("prctl", &[15, WILD]), err(Errno::EFAULT));
        assert_eq!(rig.sys("prctl", &[3]), 1);
        assert_eq!(rig.sys("prctl", &[23, 1000]), err(Errno::EINVAL));
        assert_eq!(rig.sys("prctl", &[0xdead]), err(Errno::EINVAL));
        assert!(rig.sys("times", &[DATA]) >= 0);
        assert_eq!(rig.sys("times", &[WILD]), err(Errno::EFAULT));
        assert_eq!(rig.summary.status, Status::Ok);
        if arch == romain_core::regs::Arch::X86_64 {
            assert_eq!(rig.sys("fork", &[]), err(Errno::EAGAIN));
            assert_eq!(rig.sys("vfork", &[]), err(Errno::EAGAIN));
            assert_eq!(rig.sys("getpgrp", &[]), 100);
        }
    }
}

#[test]
fn file_modes_owners_and_file_system_figures_are_recorded() {
    use linux_raw_sys::general::{stat, statfs};
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[("f", b"abc")], None);
        assert_eq!(rig.sys("umask", &[0o077]), 0o022);
        let fd = open(&mut rig, "new", O_CREAT | O_WRONLY) as u64;
        let mode = move |rig: &mut Rig, name: &str| {
            let p = path(rig, DATA + 0x200, name);
            assert_eq!(rig.sys(fstatat(arch), &[AT, p, DATA + 0x400, 0]), 0);
            let b = rig.fake.peek(
                0,
                DATA + 0x400 + core::mem::offset_of!(stat, st_mode) as u64,
                4,
            );
            u32::from_le_bytes(b.try_into().unwrap())
        };
        assert_eq!(mode(&mut rig, "new"), 0o100600);
        assert_eq!(mode(&mut rig, "f"), 0o100644);
        let p = path(&mut rig, DATA, "f");
        assert_eq!(rig.sys("fchmodat", &[AT, p, 0o4755]), 0);
        assert_eq!(mode(&mut rig, "f"), 0o104755);
        assert_eq!(rig.sys("fchmod", &[fd, 0o640]), 0);
        assert_eq!(mode(&mut rig, "new"), 0o100640);
        assert_eq!(rig.sys("fchownat", &[AT, p, 0, u32::MAX as u64, 0]), 0);
        let missing = path(&mut rig, DATA + 0x100, "missing");
        assert_eq!(
            rig.sys("fchmodat", &[AT, missing, 0o600]),
            err(Errno::ENOENT)
        );
        assert_eq!(rig.sys("utimensat", &[AT, p, 0, 0]), 0);
        assert_eq!(
            rig.sys("utimensat", &[AT, missing, 0, 0]),
            err(Errno::ENOENT)
        );
        assert_eq!(rig.sys("utimensat", &[fd, 0, 0, 0]), 0);
        assert_eq!(rig.sys("fsync", &[fd]), 0);
        assert_eq!(rig.sys("fsync", &[1]), err(Errno::EINVAL));
        assert_eq!(rig.sys("fsync", &[99]), err(Errno::EBADF));
        assert_eq!(rig.sys("fstatfs", &[fd, DATA + 0x800]), 0);
        let magic = rig.fake.peek(
            0,
            DATA + 0x800 + core::mem::offset_of!(statfs, f_type) as u64,
            8,
        );
        assert_eq!(u64::from_le_bytes(magic.try_into().unwrap()), 0x0102_1994);
        assert_eq!(
            rig.sys("statfs", &[missing, DATA + 0x800]),
            err(Errno::ENOENT)
        );
        assert_eq!(rig.sys("statfs", &[p, WILD]), err(Errno::EFAULT));
        // The mount table is there and empty.
        let m = open(&mut rig, "/proc/mounts", O_RDONLY) as u64;
        assert_eq!(rig.sys("read", &[m, DATA, 100]), 0);
    }
}

/// An iovec array at `at` of (base, len) entries.
fn iovecs(rig: &mut Rig, at: u64, entries: &[(u64, u64)]) -> u64 {
    let b: Vec<u8> = entries
        .iter()
        .flat_map(|(p, l)| p.to_le_bytes().into_iter().chain(l.to_le_bytes()))
        .collect();
    rig.fake.poke(at, &b);
    at
}

#[test]
fn positioned_vector_io_holes_and_hard_links() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[("f", b"0123456789")], None);
        let f = open(&mut rig, "f", O_RDWR) as u64;
        // preadv at 4 into two buffers; the descriptor's position stays.
        let iov = iovecs(
            &mut rig,
            DATA + 0x100,
            &[(DATA + 0x200, 2), (DATA + 0x300, 3)],
        );
        assert_eq!(rig.sys("preadv", &[f, iov, 2, 4, 0]), 5);
        assert_eq!(rig.fake.peek(1, DATA + 0x200, 2), b"45");
        assert_eq!(rig.fake.peek(1, DATA + 0x300, 3), b"678");
        assert_eq!(rig.sys("lseek", &[f, 0, 1]), 0);
        // pwritev at 8 grows the file; preadv2 at -1 reads at the position (and moves it).
        rig.fake.poke(DATA + 0x400, b"ABCD");
        let iov = iovecs(&mut rig, DATA + 0x100, &[(DATA + 0x400, 4)]);
        assert_eq!(rig.sys("pwritev", &[f, iov, 1, 8, 0]), 4);
        let iov = iovecs(&mut rig, DATA + 0x100, &[(DATA + 0x200, 12)]);
        assert_eq!(rig.sys("preadv2", &[f, iov, 1, u64::MAX, 0, 0]), 12);
        assert_eq!(rig.fake.peek(0, DATA + 0x200, 12), b"01234567ABCD");
        assert_eq!(rig.sys("lseek", &[f, 0, 1]), 12);
        // Hostile: a negative position, unknown flags, a pipe.
        assert_eq!(
            rig.sys("preadv", &[f, iov, 1, u64::MAX - 5, 0]),
            err(Errno::EINVAL)
        );
        assert_eq!(
            rig.sys("preadv2", &[f, iov, 1, 0, 0, 0x100]),
            err(Errno::EOPNOTSUPP)
        );
        assert_eq!(rig.sys("pipe2", &[DATA, 0]), 0);
        assert_eq!(rig.sys("preadv", &[4, iov, 1, 0, 0]), err(Errno::ESPIPE));
        // SEEK_DATA at an offset is that offset; SEEK_HOLE the end; past the end ENXIO.
        assert_eq!(rig.sys("lseek", &[f, 3, 3]), 3);
        assert_eq!(rig.sys("lseek", &[f, 3, 4]), 12);
        assert_eq!(rig.sys("lseek", &[f, 12, 3]), err(Errno::ENXIO));
        assert_eq!(rig.sys("lseek", &[f, -1i64 as u64, 4]), err(Errno::ENXIO));
        // A hard link: one file under two names; the last name and descriptor free it.
        let (a, b) = (
            path(&mut rig, DATA + 0x500, "f"),
            path(&mut rig, DATA + 0x600, "g"),
        );
        assert_eq!(rig.sys("linkat", &[AT, a, AT, b, 0]), 0);
        assert_eq!(rig.sys("linkat", &[AT, a, AT, b, 0]), err(Errno::EEXIST));
        let d = path(&mut rig, DATA + 0x700, "/tmp");
        assert_eq!(rig.sys("linkat", &[AT, d, AT, b, 0]), err(Errno::EPERM));
        assert_eq!(rig.sys("linkat", &[AT, a, AT, b, 0x1]), err(Errno::EINVAL));
        let missing = path(&mut rig, DATA + 0x800, "nowhere/g");
        assert_eq!(
            rig.sys("linkat", &[AT, a, AT, missing, 0]),
            err(Errno::ENOENT)
        );
        assert_eq!(rig.sys("unlinkat", &[AT, a, 0]), 0);
        let g = open(&mut rig, "g", O_RDONLY) as u64;
        assert_eq!(rig.sys("read", &[g, DATA + 0x900, 20]), 12);
        assert_eq!(rig.fake.peek(2, DATA + 0x900, 12), b"01234567ABCD");
        rig.sys("exit_group", &[0]);
        assert_eq!(rig.summary.files_written, 1, "g only");
    }
}

#[test]
fn epoll_and_eventfd_report_readiness_and_never_wait() {
    const EPOLLIN: u32 = 1;
    const EPOLLOUT: u32 = 4;
    const EPOLLHUP: u32 = 0x10;
    const ONESHOT: u32 = 1 << 30;
    for arch in ARCHES {
        let size = match arch {
            romain_core::regs::Arch::X86_64 => 12,
            romain_core::regs::Arch::Aarch64 => 16,
        };
        let event = |rig: &mut Rig, events: u32, data: u64| {
            let mut b = vec![0u8; size];
            b[..4].copy_from_slice(&events.to_le_bytes());
            b[size - 8..].copy_from_slice(&data.to_le_bytes());
            rig.fake.poke(DATA + 0x100, &b);
            DATA + 0x100
        };
        let got = |rig: &Rig, n: usize| -> Vec<(u32, u64)> {
            let b = rig.fake.peek(0, DATA + 0x200, n * size);
            b.chunks(size)
                .map(|e| {
                    let ev = u32::from_le_bytes(e[..4].try_into().unwrap());
                    (ev, u64::from_le_bytes(e[size - 8..].try_into().unwrap()))
                })
                .collect()
        };
        let mut rig = Rig::new(arch, 3, &[("f", b"x")], None);
        let ep = rig.sys("epoll_create1", &[0]) as u64;
        assert_eq!(ep, 3);
        let efd = rig.sys("eventfd2", &[0, 0]) as u64;
        assert_eq!(rig.sys("pipe2", &[DATA, 0]), 0);
        let (r, w) = (5u64, 6u64);
        let e = event(&mut rig, EPOLLIN, 0xaa);
        assert_eq!(rig.sys("epoll_ctl", &[ep, 1, efd, e]), 0);
        let e = event(&mut rig, EPOLLIN, 0xbb);
        assert_eq!(rig.sys("epoll_ctl", &[ep, 1, r, e]), 0);
        assert_eq!(rig.sys("epoll_ctl", &[ep, 1, r, e]), err(Errno::EEXIST));
        let e = event(&mut rig, EPOLLOUT | ONESHOT, 0xcc);
        assert_eq!(rig.sys("epoll_ctl", &[ep, 1, w, e]), 0);
        // Only the pipe's write end is ready; being one-shot, it is reported once.
        assert_eq!(
            rig.sys("epoll_pwait", &[ep, DATA + 0x200, 8, u64::MAX, 0, 8]),
            1
        );
        assert_eq!(got(&rig, 1), [(EPOLLOUT, 0xcc)]);
        assert_eq!(
            rig.sys("epoll_pwait", &[ep, DATA + 0x200, 8, u64::MAX, 0, 8]),
            0
        );
        // The counter: written, ready, read back whole; then empty: EAGAIN, not a hang.
        rig.fake.poke(DATA + 0x300, &5u64.to_le_bytes());
        assert_eq!(rig.sys("write", &[efd, DATA + 0x300, 8]), 8);
        assert_eq!(rig.sys("write", &[1, DATA + 0x300, 1]), 1);
        assert_eq!(rig.sys("close", &[w]), 0);
        assert_eq!(rig.sys("epoll_pwait", &[ep, DATA + 0x200, 8, 0, 0, 8]), 2);
        assert_eq!(got(&rig, 2), [(EPOLLIN, 0xaa), (EPOLLHUP, 0xbb)]);
        assert_eq!(
            rig.sys("epoll_pwait", &[ep, DATA + 0x200, 1, 0, 0, 8]),
            1,
            "maxevents"
        );
        assert_eq!(rig.sys("read", &[efd, DATA + 0x400, 8]), 8);
        assert_eq!(rig.fake.peek(2, DATA + 0x400, 8), 5u64.to_le_bytes());
        assert_eq!(rig.sys("read", &[efd, DATA + 0x400, 8]), err(Errno::EAGAIN));
        assert_eq!(rig.sys("read", &[efd, DATA + 0x400, 4]), err(Errno::EINVAL));
        rig.fake.poke(DATA + 0x300, &u64::MAX.to_le_bytes());
        assert_eq!(
            rig.sys("write", &[efd, DATA + 0x300, 8]),
            err(Errno::EINVAL)
        );
        // Semaphore mode takes 1 at a time.
        let sem = rig.sys("eventfd2", &[2, 1]) as u64;
        assert_eq!(rig.sys("read", &[sem, DATA + 0x400, 8]), 8);
        assert_eq!(rig.fake.peek(0, DATA + 0x400, 8), 1u64.to_le_bytes());
        // Hostile: files are not pollable, a bad structure, a bad array, absurd counts, the
        // instance itself, a closed descriptor leaves the list.
        let f = open(&mut rig, "f", O_RDONLY) as u64;
        let e = event(&mut rig, EPOLLIN, 1);
        assert_eq!(rig.sys("epoll_ctl", &[ep, 1, f, e]), err(Errno::EPERM));
        assert_eq!(rig.sys("epoll_ctl", &[ep, 1, ep, e]), err(Errno::EINVAL));
        assert_eq!(
            rig.sys("epoll_ctl", &[ep, 1, sem, WILD]),
            err(Errno::EFAULT)
        );
        assert_eq!(rig.sys("epoll_ctl", &[ep, 9, sem, e]), err(Errno::EINVAL));
        assert_eq!(rig.sys("epoll_ctl", &[f, 1, sem, e]), err(Errno::EINVAL));
        assert_eq!(rig.sys("epoll_ctl", &[ep, 2, sem, 0]), err(Errno::ENOENT));
        assert_eq!(
            rig.sys("epoll_pwait", &[ep, DATA + 0x200, 0, 0, 0, 8]),
            err(Errno::EINVAL)
        );
        assert_eq!(
            rig.sys("epoll_pwait", &[ep, DATA + 0x200, u64::MAX, 0, 0, 8]),
            err(Errno::EINVAL)
        );
        assert_eq!(
            rig.sys("epoll_pwait", &[ep, WILD, 8, 0, 0, 8]),
            err(Errno::EFAULT)
        );
        assert_eq!(
            rig.sys("epoll_pwait", &[f, DATA + 0x200, 8, 0, 0, 8]),
            err(Errno::EINVAL)
        );
        assert_eq!(rig.sys("close", &[r]), 0);
        assert_eq!(rig.sys("epoll_ctl", &[ep, 2, r, 0]), err(Errno::EBADF));
        assert_eq!(rig.sys("read", &[ep, DATA, 8]), err(Errno::EINVAL));
        assert_eq!(rig.sys("eventfd2", &[0, 0x10]), err(Errno::EINVAL));
        assert_eq!(rig.summary.status, Status::Ok);
    }
}
