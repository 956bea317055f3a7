//! POSIX file semantics: files are inodes (an unlinked or renamed file lives on through its
//! descriptors), O_APPEND and O_TRUNC, ftruncate and truncate, holes, the report of written
//! files, and the byte budget of the files' own copies. Through the real group core on both
//! architectures, and on the file system itself where its memory is the point.

mod common;

use common::*;
use romain_core::summary::Status;
use romain_linux::fs::{FileSystem, How, Node};
use romain_protocol::Flow;
use syscalls::Errno;

const AT: u64 = -100i64 as u64;
const O_RDONLY: u64 = 0;
const O_WRONLY: u64 = 1;
const O_RDWR: u64 = 2;
const O_CREAT: u64 = 0o100;
const O_TRUNC: u64 = 0o1000;
const O_APPEND: u64 = 0o2000;
const AT_EMPTY_PATH: u64 = 0x1000;

/// statx of descriptor `fd`: (links, size).
fn statx(rig: &mut Rig, fd: u64) -> (u32, u64) {
    use linux_raw_sys::general::statx;
    let empty = path(rig, DATA + 0x3000, "");
    let buf = DATA + 0x3100;
    assert_eq!(rig.sys("statx", &[fd, empty, AT_EMPTY_PATH, 0x7ff, buf]), 0);
    let word = |at: usize, n: usize| {
        let b = rig.fake.peek(0, buf + at as u64, n);
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(&b);
        u64::from_le_bytes(w)
    };
    (
        word(core::mem::offset_of!(statx, stx_nlink), 4) as u32,
        word(core::mem::offset_of!(statx, stx_size), 8),
    )
}

fn how(flags: u64) -> How {
    How {
        readable: flags & 3 != O_WRONLY,
        writable: flags & 3 != O_RDONLY,
        create: flags & O_CREAT != 0,
        truncate: flags & O_TRUNC != 0,
        append: flags & O_APPEND != 0,
        ..How::default()
    }
}

fn read_all(fs: &mut FileSystem, fd: u64) -> Vec<u8> {
    fs.read(fd, 1 << 20, Some(0)).unwrap().to_vec()
}

fn read(fs: &mut FileSystem, fd: u64, len: usize, at: Option<u64>) -> Result<Vec<u8>, Errno> {
    fs.read(fd, len, at).map(|c| c.to_vec())
}

#[test]
fn an_unlinked_file_stays_readable_and_writable_through_its_descriptor() {
    // int fd = open("t", O_CREAT|O_RDWR, 0600); unlink("t"); read(fd, &c, 1); took the master
    // down (a panic in FileSystem::read).
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        let t = path(&mut rig, DATA, "t");
        let fd = rig.sys("openat", &[AT, t, O_CREAT | O_RDWR, 0o600]);
        assert_eq!(fd, 3);
        rig.fake.poke(DATA + 64, b"abcde");
        assert_eq!(rig.sys("write", &[3, DATA + 64, 3]), 3);
        assert_eq!(rig.sys("unlinkat", &[AT, t, 0]), 0);
        // At its end: nothing, and no panic.
        assert_eq!(rig.sys("read", &[3, DATA + 128, 1]), 0);
        assert_eq!(rig.sys("lseek", &[3, 0, 0]), 0);
        assert_eq!(rig.sys("read", &[3, DATA + 128, 8]), 3);
        assert_eq!(rig.fake.peek(2, DATA + 128, 3), b"abc");
        assert_eq!(rig.sys("write", &[3, DATA + 67, 2]), 2);
        assert_eq!(rig.sys("pread64", &[3, DATA + 256, 16, 0]), 5);
        assert_eq!(rig.fake.peek(1, DATA + 256, 5), b"abcde");
        assert_eq!(statx(&mut rig, 3), (0, 5), "no name left, 5 bytes");
        // The name is gone: opening it again is ENOENT, unlinking it again too.
        assert_eq!(rig.sys("openat", &[AT, t, O_RDONLY]), err(Errno::ENOENT));
        assert_eq!(rig.sys("unlinkat", &[AT, t, 0]), err(Errno::ENOENT));
        assert_eq!(rig.sys("close", &[3]), 0);
        assert_eq!(rig.sys("read", &[3, DATA + 128, 1]), err(Errno::EBADF));
        let (flow, _) = rig.call(nr(arch, "exit_group"), &[0]).unwrap();
        assert_eq!(flow, Flow::End);
        assert_eq!(
            rig.summary.files_written, 0,
            "an unlinked file is not reported"
        );
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn the_last_close_of_an_unlinked_file_frees_its_bytes() {
    let mut fs = FileSystem::new(&[], &Invocation::default());
    let fd = fs.open("t", how(O_CREAT | O_RDWR)).unwrap();
    assert_eq!(fs.write(fd, &[7; 1000], None), Ok(1000));
    let owned = fs.owned_bytes();
    assert!(owned >= 1000);
    let dup = fs.install(fs.fd(fd).unwrap().clone(), 0).unwrap();
    assert_eq!(fs.unlink("/t"), Ok(0));
    assert_eq!(fs.owned_bytes(), owned, "still open twice");
    assert_eq!(fs.close(fd), Ok(0));
    assert_eq!(read(&mut fs, dup, 4, Some(996)).unwrap(), [7; 4]);
    assert_eq!(fs.owned_bytes(), owned, "still open once");
    // dup3 over the last descriptor closes it as well.
    let other = fs.open("u", how(O_CREAT | O_RDWR)).unwrap();
    let open = fs.fd(other).unwrap().clone();
    assert_eq!(fs.install_at(open, dup), Ok(dup));
    assert_eq!(fs.owned_bytes(), 0, "freed with its last descriptor");
    assert_eq!(fs.verify(), Ok(()));
    assert!(fs.written().all(|(name, _)| name == "/u"));
}

#[test]
fn rename_over_an_existing_name_drops_the_old_file_once_unused() {
    let mut fs = FileSystem::new(&[("a", b"AAA")], &Invocation::default());
    let b = fs.open("b", how(O_CREAT | O_RDWR)).unwrap();
    assert_eq!(fs.write(b, b"BB", None), Ok(2));
    let b_bytes = fs.owned_bytes();
    assert_eq!(fs.rename("a", "/b"), Ok(0));
    // The descriptor still reads the old b; the name b is the old a.
    assert_eq!(read_all(&mut fs, b), b"BB");
    assert_eq!(fs.file("/a").map(|f| f.links), None);
    assert_eq!(fs.file("/b").unwrap().data.to_vec(), b"AAA");
    assert_eq!(fs.attributes(fs.fd(b).unwrap()).links, 0);
    assert_eq!(fs.open("a", how(O_RDONLY)), Err(Errno::ENOENT));
    assert_eq!(fs.owned_bytes(), b_bytes);
    assert_eq!(fs.close(b), Ok(0));
    assert_eq!(
        fs.owned_bytes(),
        0,
        "the old b is freed with its descriptor"
    );
    let written: Vec<_> = fs.written().map(|(n, d)| (n, d.to_vec())).collect();
    assert_eq!(written, [("/b", b"AAA".to_vec())]);
    // Renaming a file to itself changes nothing; a missing one is ENOENT; a directory EXDEV;
    // over a directory EISDIR.
    assert_eq!(fs.rename("b", "./b"), Ok(0));
    assert_eq!(fs.rename("nothing", "c"), Err(Errno::ENOENT));
    assert_eq!(fs.mkdir("d", 0o755), Ok(0));
    let d = fs.open("d/x", how(O_CREAT | O_WRONLY)).unwrap();
    assert_eq!(fs.rename("d", "e"), Err(Errno::EXDEV));
    assert_eq!(fs.rename("b", "d"), Err(Errno::EISDIR));
    assert_eq!(fs.close(d), Ok(0));
    assert_eq!(fs.verify(), Ok(()));
}

#[test]
fn written_files_are_reported_by_name_in_order_and_unlinked_ones_are_not() {
    use romain_records::fnv::{START, continue_with as fnv};
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[("in", b"embedded")], None);
        rig.fake.poke(DATA + 0x800, b"123");
        for (name, n) in [("z", 1), ("a", 2), ("m", 3)] {
            let p = path(&mut rig, DATA, name);
            let fd = rig.sys("openat", &[AT, p, O_CREAT | O_WRONLY, 0o644]);
            assert_eq!(rig.sys("write", &[fd as u64, DATA + 0x800, n]), n as i64);
            assert_eq!(rig.sys("close", &[fd as u64]), 0);
        }
        let m = path(&mut rig, DATA, "m");
        assert_eq!(rig.sys("unlinkat", &[AT, m, 0]), 0);
        // Renamed: reported under its new name.
        let (from, to) = (path(&mut rig, DATA, "in"), path(&mut rig, DATA + 32, "b"));
        assert_eq!(rig.sys("renameat", &[AT, from, AT, to]), 0);
        rig.call(nr(arch, "exit_group"), &[0]).unwrap();
        assert_eq!(rig.summary.files_written, 3);
        let mut all = START;
        for (name, bytes) in [("/a", &b"12"[..]), ("/b", b"embedded"), ("/z", b"1")] {
            let hash = fnv(START, bytes);
            all = fnv(fnv(all, name.as_bytes()), &hash.to_le_bytes());
        }
        assert_eq!(rig.summary.files_hash, all, "in name order");
    }
}

#[test]
fn o_append_writes_at_the_end_and_o_trunc_empties() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[("f", b"contents")], None);
        let f = path(&mut rig, DATA, "f");
        let fd = rig.sys("openat", &[AT, f, O_RDWR | O_APPEND]) as u64;
        rig.fake.poke(DATA + 64, b"XY");
        assert_eq!(rig.sys("lseek", &[fd, 0, 0]), 0);
        assert_eq!(rig.sys("write", &[fd, DATA + 64, 1]), 1);
        // The offset is at the new end; pwrite appends too (as on Linux) and moves nothing.
        assert_eq!(rig.sys("lseek", &[fd, 0, 1]), 9);
        assert_eq!(rig.sys("pwrite64", &[fd, DATA + 65, 1, 0]), 1);
        assert_eq!(rig.sys("lseek", &[fd, 0, 1]), 9);
        assert_eq!(rig.sys("pread64", &[fd, DATA + 128, 64, 0]), 10);
        assert_eq!(rig.fake.peek(0, DATA + 128, 10), b"contentsXY");
        // O_TRUNC on a file open elsewhere: both see it empty.
        let trunc = rig.sys("openat", &[AT, f, O_WRONLY | O_TRUNC]) as u64;
        assert_eq!(statx(&mut rig, fd), (1, 0));
        assert_eq!(rig.sys("pread64", &[fd, DATA + 128, 64, 0]), 0);
        assert_eq!(rig.sys("write", &[trunc, DATA + 64, 2]), 2);
        assert_eq!(rig.sys("pread64", &[fd, DATA + 128, 64, 0]), 2);
        // O_TRUNC without write access truncates nothing here.
        let ro = rig.sys("openat", &[AT, f, O_RDONLY | O_TRUNC]) as u64;
        assert_eq!(statx(&mut rig, ro), (1, 2));
    }
}

#[test]
fn a_write_past_the_end_leaves_a_hole_of_zeros() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        let h = path(&mut rig, DATA, "h");
        let fd = rig.sys("openat", &[AT, h, O_CREAT | O_RDWR, 0o644]) as u64;
        rig.fake.poke(DATA + 64, b"xy");
        assert_eq!(rig.sys("lseek", &[fd, 10, 0]), 10);
        // A read past the end moves nothing.
        assert_eq!(rig.sys("read", &[fd, DATA + 128, 4]), 0);
        assert_eq!(rig.sys("lseek", &[fd, 0, 1]), 10);
        assert_eq!(rig.sys("write", &[fd, DATA + 64, 1]), 1);
        assert_eq!(rig.sys("pwrite64", &[fd, DATA + 65, 1, 20]), 1);
        rig.fake.poke(DATA + 128, &[0xee; 32]);
        assert_eq!(rig.sys("pread64", &[fd, DATA + 128, 32, 0]), 21);
        let mut want = vec![0u8; 21];
        want[10] = b'x';
        want[20] = b'y';
        assert_eq!(rig.fake.peek(1, DATA + 128, 21), want);
        assert_eq!(statx(&mut rig, fd), (1, 21));
    }
}

#[test]
fn ftruncate_and_truncate_grow_with_zeros_shrink_and_answer_as_linux() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[("f", b"contents"), ("d/x", b"")], None);
        let f = path(&mut rig, DATA, "f");
        let fd = rig.sys("openat", &[AT, f, O_RDWR]) as u64;
        assert_eq!(rig.sys("ftruncate", &[fd, 4]), 0);
        assert_eq!(rig.sys("pread64", &[fd, DATA + 128, 64, 0]), 4);
        assert_eq!(rig.fake.peek(0, DATA + 128, 4), b"cont");
        assert_eq!(rig.sys("truncate", &[f, 6]), 0);
        rig.fake.poke(DATA + 128, &[0xee; 8]);
        assert_eq!(rig.sys("pread64", &[fd, DATA + 128, 64, 0]), 6);
        assert_eq!(rig.fake.peek(1, DATA + 128, 6), b"cont\0\0");
        // The offset stays where it was, past the end or not.
        assert_eq!(rig.sys("lseek", &[fd, 0, 1]), 0);
        // Errors: a negative length, a bad descriptor, one not open for writing or not on a
        // file, a directory, a missing file, a length past the largest file.
        assert_eq!(
            rig.sys("ftruncate", &[fd, -1i64 as u64]),
            err(Errno::EINVAL)
        );
        assert_eq!(rig.sys("ftruncate", &[77, 0]), err(Errno::EBADF));
        assert_eq!(
            rig.sys("ftruncate", &[77, -1i64 as u64]),
            err(Errno::EINVAL)
        );
        let ro = rig.sys("openat", &[AT, f, O_RDONLY]) as u64;
        assert_eq!(rig.sys("ftruncate", &[ro, 0]), err(Errno::EINVAL));
        assert_eq!(
            rig.sys("ftruncate", &[1, 0]),
            err(Errno::EINVAL),
            "the console"
        );
        let d = path(&mut rig, DATA + 32, "d");
        let dir = rig.sys("openat", &[AT, d, 0o200000]) as u64;
        assert_eq!(rig.sys("ftruncate", &[dir, 0]), err(Errno::EINVAL));
        assert_eq!(rig.sys("truncate", &[d, 0]), err(Errno::EISDIR));
        let root = path(&mut rig, DATA + 48, "/");
        assert_eq!(rig.sys("truncate", &[root, 0]), err(Errno::EISDIR));
        let missing = path(&mut rig, DATA + 64, "missing");
        assert_eq!(rig.sys("truncate", &[missing, 0]), err(Errno::ENOENT));
        assert_eq!(rig.sys("truncate", &[0xdead_0000, 0]), err(Errno::EFAULT));
        assert_eq!(
            rig.sys("truncate", &[0xdead_0000, -5i64 as u64]),
            err(Errno::EINVAL),
            "the length is checked first"
        );
        for huge in [1u64 << 62, i64::MAX as u64, (1 << 20) + 1] {
            assert_eq!(rig.sys("ftruncate", &[fd, huge]), err(Errno::EFBIG));
            assert_eq!(rig.sys("truncate", &[f, huge]), err(Errno::EFBIG));
        }
        // The largest file is the budget (1 MiB here): exactly that fits.
        assert_eq!(rig.sys("ftruncate", &[fd, 1 << 20]), 0);
        assert_eq!(statx(&mut rig, fd), (1, 1 << 20));
        // Then another file has no room left.
        let g = path(&mut rig, DATA + 80, "g");
        let gfd = rig.sys("openat", &[AT, g, O_CREAT | O_RDWR, 0o644]) as u64;
        assert_eq!(rig.sys("ftruncate", &[gfd, 4096]), err(Errno::ENOSPC));
        assert_eq!(rig.sys("ftruncate", &[fd, 0]), 0);
        assert_eq!(rig.sys("ftruncate", &[gfd, 4096]), 0);
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn the_budget_bounds_the_files_bytes_with_short_writes_enospc_and_efbig() {
    static BIG: [u8; 40_000] = [1; 40_000];
    let mut fs = FileSystem::new(&[("big", &BIG)], &Invocation::default());
    fs.set_budget(64 << 10);
    let a = fs.open("a", how(O_CREAT | O_RDWR)).unwrap();
    let b = fs.open("b", how(O_CREAT | O_RDWR)).unwrap();
    assert_eq!(fs.write(a, &[2; 40_000], None), Ok(40_000));
    // b gets what is left, a short write; then nothing.
    let room = fs.budget() - fs.owned_bytes();
    assert!(room < 40_000);
    assert_eq!(fs.write(b, &[3; 40_000], None), Ok(room as usize));
    assert_eq!(fs.write(b, &[3; 10], None), Err(Errno::ENOSPC));
    assert_eq!(fs.owned_bytes(), fs.budget());
    // The embedded file reads in place, but its copy on write finds no room.
    let big = fs.open("big", how(O_RDWR)).unwrap();
    assert_eq!(read(&mut fs, big, 3, None).unwrap(), [1, 1, 1]);
    assert_eq!(fs.write(big, b"x", None), Err(Errno::ENOSPC));
    assert_eq!(fs.ftruncate(big, 40_001), Err(Errno::ENOSPC));
    // Shrinking an embedded file copies nothing.
    assert_eq!(fs.ftruncate(big, 100), Ok(0));
    assert_eq!(fs.size(&fs.fd(big).unwrap().node), 100);
    // Past the largest file (the budget): EFBIG, for a write or a truncation, without
    // allocating anything.
    assert_eq!(fs.write(a, b"x", Some(64 << 10)), Err(Errno::EFBIG));
    assert_eq!(fs.ftruncate(a, 1 << 62), Err(Errno::EFBIG));
    assert_eq!(fs.truncate("a", (64 << 10) + 1), Err(Errno::EFBIG));
    // Removing a frees its room: the embedded file may be copied now.
    assert_eq!(fs.unlink("a"), Ok(0));
    assert_eq!(fs.close(a), Ok(0));
    assert_eq!(fs.write(big, b"x", None), Ok(1));
    assert_eq!(read_all(&mut fs, big)[..4], [1, 1, 1, b'x']);
    assert!(fs.owned_bytes() <= fs.budget());
    assert_eq!(fs.verify(), Ok(()));
    // A budget of nothing: every growth is EFBIG.
    let mut none = FileSystem::new(&[], &Invocation::default());
    none.set_budget(0);
    let n = none.open("n", how(O_CREAT | O_RDWR)).unwrap();
    assert_eq!(none.write(n, b"x", None), Err(Errno::EFBIG));
    assert_eq!(none.write(n, b"", None), Ok(0));
    assert_eq!(none.owned_bytes(), 0);
}

#[test]
fn positions_near_the_largest_offset_answer_without_wrapping() {
    let mut fs = FileSystem::new(&[("f", b"contents")], &Invocation::default());
    let fd = fs.open("f", how(O_RDWR)).unwrap();
    let max = i64::MAX as u64;
    assert_eq!(read(&mut fs, fd, 1, Some(max)), Err(Errno::EINVAL));
    assert_eq!(read(&mut fs, fd, 0, Some(max)), Ok(vec![]));
    assert_eq!(read(&mut fs, fd, 8, Some(max - 8)), Ok(vec![]));
    assert_eq!(read(&mut fs, fd, 8, Some(max - 7)), Err(Errno::EINVAL));
    assert_eq!(read(&mut fs, fd, 1, Some(u64::MAX)), Err(Errno::EINVAL));
    assert_eq!(fs.write(fd, b"x", Some(max)), Err(Errno::EINVAL));
    assert_eq!(fs.write(fd, b"x", Some(max - 1)), Err(Errno::EFBIG));
    assert_eq!(fs.write(fd, b"x", Some(u64::MAX)), Err(Errno::EINVAL));
    assert_eq!(fs.ftruncate(fd, u64::MAX), Err(Errno::EINVAL));
    assert_eq!(fs.ftruncate(fd, 1 << 63), Err(Errno::EINVAL));
    fs.fd_mut(fd).unwrap().offset = max;
    assert_eq!(read(&mut fs, fd, 1, None), Err(Errno::EINVAL));
    assert_eq!(fs.write(fd, b"x", None), Err(Errno::EINVAL));
    assert_eq!(fs.owned_bytes(), 0, "nothing was copied");
    assert_eq!(fs.verify(), Ok(()));
    assert!(matches!(fs.fd(fd).unwrap().node, Node::File(_)));
}
