//! Limits per call and the program's extreme values: a vector call moves and hashes at most
//! 1 MiB in all (the fingerprint covers exactly the bytes the call uses), and addresses,
//! lengths and offsets near the ends of their ranges answer Linux's errno instead of wrapping
//! (the tests run with overflow checks: a wrap would panic).

mod common;

use common::*;
use romain_core::summary::Status;
use romain_linux::linux::MMAP_AREA;
use syscalls::Errno;

const MIB: u64 = 1 << 20;
const AT: u64 = -100i64 as u64;
/// Where the iovec arrays go (the buffers are below it).
const IOV: u64 = DATA + 0x8000;

fn iovecs(rig: &mut Rig, at: u64, entries: &[(u64, u64)]) {
    let mut raw = Vec::new();
    for (base, len) in entries {
        raw.extend_from_slice(&base.to_le_bytes());
        raw.extend_from_slice(&len.to_le_bytes());
    }
    rig.fake.poke(at, &raw);
}

/// Replica 2's code page differs from the others' at `offset` (it is readable, never written).
fn differ_in_code(rig: &mut Rig, offset: usize) {
    let mut page = vec![0u8; PAGE as usize];
    page[offset] = 0x5a;
    rig.fake.replicas[2].pages.insert(CODE, page);
}

#[test]
fn writev_moves_and_hashes_one_mib_per_call_not_per_entry() {
    for arch in ARCHES {
        // 32 entries of 32 KiB are the whole MiB: the 33rd (the code page, which differs in
        // replica 2) is neither written nor hashed.
        let mut rig = Rig::new(arch, 3, &[], None);
        rig.fake.poke(DATA, &[b'a'; 0x8000]);
        let mut entries = vec![(DATA, 0x8000); 32];
        entries.push((CODE, 64));
        iovecs(&mut rig, IOV, &entries);
        differ_in_code(&mut rig, 0);
        assert_eq!(rig.sys("writev", &[1, IOV, 33]), MIB as i64);
        assert_eq!(rig.fake.out.len() as u64, MIB);
        assert!(rig.fake.out.iter().all(|&b| b == b'a'));
        assert_eq!(
            rig.summary.mismatches, 0,
            "bytes past the MiB are not compared"
        );

        // The entry that crosses the MiB is shortened: 16 bytes of the code page are used.
        for (offset, mismatches) in [(20, 0), (10, 1)] {
            let mut rig = Rig::new(arch, 3, &[], None);
            let mut entries = vec![(DATA, 0x8000); 31];
            entries.push((DATA, 0x8000 - 16));
            entries.push((CODE, 64));
            iovecs(&mut rig, IOV, &entries);
            differ_in_code(&mut rig, offset);
            assert_eq!(rig.sys("writev", &[1, IOV, 33]), MIB as i64);
            assert_eq!(rig.fake.out.len() as u64, MIB);
            assert_eq!(
                rig.summary.mismatches, mismatches,
                "a difference at byte {offset} of the last entry"
            );
            assert_eq!(rig.summary.status, Status::Ok);
        }
    }
}

#[test]
fn readv_reads_one_mib_per_call_and_checks_every_buffer_first() {
    static BIG: [u8; 2 << 20] = [0x33; 2 << 20];
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[("big", &BIG)], None);
        rig.fake.poke(DATA + 0xf000, b"big\0");
        let fd = rig.sys("openat", &[AT, DATA + 0xf000, 0]) as u64;
        iovecs(&mut rig, IOV, &vec![(DATA, 0x8000); 40]);
        assert_eq!(rig.sys("readv", &[fd, IOV, 40]), MIB as i64);
        assert_eq!(rig.sys("lseek", &[fd, 0, 1]), MIB as i64);
        assert_eq!(rig.fake.peek(1, DATA + 0x7fff, 1), [0x33]);
        // A bad buffer anywhere: EFAULT, and nothing is consumed.
        iovecs(&mut rig, IOV, &[(DATA, 10), (0xdead_0000, 10)]);
        assert_eq!(rig.sys("readv", &[fd, IOV, 2]), err(Errno::EFAULT));
        assert_eq!(rig.sys("lseek", &[fd, 0, 1]), MIB as i64);
        iovecs(&mut rig, IOV, &[(DATA, 10), (CODE, 10)]);
        assert_eq!(rig.sys("readv", &[fd, IOV, 2]), err(Errno::EFAULT));
        assert_eq!(rig.sys("lseek", &[fd, 0, 1]), MIB as i64);
    }
}

#[test]
fn vector_calls_answer_hostile_arrays_as_linux() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        rig.fake.poke(DATA, b"0123456789");
        for count in [1025, u64::MAX, 1 << 63] {
            assert_eq!(rig.sys("writev", &[1, IOV, count]), err(Errno::EINVAL));
            assert_eq!(rig.sys("readv", &[0, IOV, count]), err(Errno::EINVAL));
        }
        // A negative length (as ssize_t) is EINVAL, whatever comes before it.
        iovecs(&mut rig, IOV, &[(DATA, 10), (DATA, 1 << 63)]);
        assert_eq!(rig.sys("writev", &[1, IOV, 2]), err(Errno::EINVAL));
        // An entry whose end wraps: EFAULT.
        iovecs(&mut rig, IOV, &[(u64::MAX - 1, 10)]);
        assert_eq!(rig.sys("writev", &[1, IOV, 1]), err(Errno::EFAULT));
        // Lengths whose sum wraps: the second is cut at the MiB, cannot be read, and the
        // first is written (a short write).
        iovecs(&mut rig, IOV, &[(DATA, 10), (DATA, i64::MAX as u64)]);
        assert_eq!(rig.sys("writev", &[1, IOV, 2]), 10);
        assert_eq!(rig.fake.out, b"0123456789");
        iovecs(&mut rig, IOV, &[(0xdead_0000, 10)]);
        assert_eq!(rig.sys("writev", &[1, IOV, 1]), err(Errno::EFAULT));
        // The array itself where the program has nothing, or wrapping.
        assert_eq!(rig.sys("writev", &[1, u64::MAX - 8, 2]), err(Errno::EFAULT));
        assert_eq!(rig.sys("readv", &[0, u64::MAX - 8, 2]), err(Errno::EFAULT));
        assert_eq!(rig.sys("writev", &[1, IOV, 0]), 0);
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn memory_calls_with_extreme_values_answer_without_wrapping() {
    const ANON: u64 = 0x22;
    const FIXED: u64 = 0x10;
    let top = u64::MAX - PAGE + 1;
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[("f", b"file bytes")], None);
        let a = rig.sys("mmap", &[0, 4 * PAGE, 3, ANON, u64::MAX, 0]) as u64;
        assert_eq!(a, MMAP_AREA.start);
        // MAP_FIXED: an end past the address space, a length that rounds past it, an address
        // that is not page-aligned.
        for (addr, len) in [
            (top, 2 * PAGE),
            (a, u64::MAX),
            (a, u64::MAX - PAGE),
            (1 << 63, 1 << 63),
        ] {
            let r = rig.sys("mmap", &[addr, len, 3, ANON | FIXED, u64::MAX, 0]);
            assert_eq!(
                r,
                err(Errno::ENOMEM),
                "mmap({addr:#x}, {len:#x}, MAP_FIXED)"
            );
        }
        assert_eq!(
            rig.sys("mmap", &[a + 1, PAGE, 3, ANON | FIXED, u64::MAX, 0]),
            err(Errno::EINVAL)
        );
        assert_eq!(
            rig.sys("mmap", &[0, u64::MAX, 3, ANON, u64::MAX, 0]),
            err(Errno::ENOMEM)
        );
        // A file mapping whose last page's offset would wrap.
        rig.fake.poke(DATA, b"f\0");
        let fd = rig.sys("openat", &[AT, DATA, 0]) as u64;
        assert_eq!(
            rig.sys("mmap", &[0, 2 * PAGE, 1, 0x02, fd, top]),
            err(Errno::EOVERFLOW)
        );
        for (addr, len) in [
            (top, 2 * PAGE),
            (0, u64::MAX),
            (1 << 63, 1 << 63),
            (a, u64::MAX - 10),
        ] {
            assert_eq!(
                rig.sys("munmap", &[addr, len]),
                err(Errno::EINVAL),
                "munmap"
            );
            assert_eq!(rig.sys("mprotect", &[addr, len, 3]), err(Errno::EINVAL));
            assert_eq!(rig.sys("madvise", &[addr, len, 4]), err(Errno::EINVAL));
        }
        let mremap =
            |rig: &mut Rig, old, old_len, new_len| rig.sys("mremap", &[old, old_len, new_len, 1]);
        assert_eq!(mremap(&mut rig, a, PAGE, u64::MAX), err(Errno::ENOMEM));
        assert_eq!(mremap(&mut rig, a, PAGE, 1 << 63), err(Errno::ENOMEM));
        assert_eq!(mremap(&mut rig, top, 2 * PAGE, PAGE), err(Errno::EINVAL));
        assert_eq!(mremap(&mut rig, a, u64::MAX, PAGE), err(Errno::EINVAL));
        assert_eq!(mremap(&mut rig, a, 0, PAGE), err(Errno::EINVAL));
        assert_eq!(mremap(&mut rig, a, PAGE, 0), err(Errno::EINVAL));
        assert_eq!(
            rig.sys("mremap", &[a, PAGE, 2 * PAGE, 2]),
            err(Errno::EINVAL),
            "MREMAP_FIXED"
        );
        // The mapping is as it was: shrinking it works.
        assert_eq!(mremap(&mut rig, a, 4 * PAGE, 2 * PAGE), a as i64);
        let brk = rig.sys("brk", &[0]) as u64;
        for addr in [u64::MAX, 1 << 63, u64::MAX - PAGE, HEAP + (1 << 40) + 1] {
            assert_eq!(rig.sys("brk", &[addr]) as u64, brk, "brk({addr:#x})");
        }
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn file_positions_with_extreme_values_answer_without_wrapping() {
    let max = i64::MAX as u64;
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        rig.fake.poke(DATA, b"t\0x");
        let fd = rig.sys("openat", &[AT, DATA, 0o102, 0o644]) as u64;
        assert_eq!(rig.sys("write", &[fd, DATA + 2, 1]), 1);
        assert_eq!(rig.sys("lseek", &[fd, max, 0]), max as i64);
        assert_eq!(rig.sys("lseek", &[fd, 1, 1]), err(Errno::EOVERFLOW));
        assert_eq!(rig.sys("lseek", &[fd, max, 2]), err(Errno::EOVERFLOW));
        assert_eq!(rig.sys("lseek", &[fd, -1i64 as u64, 0]), err(Errno::EINVAL));
        assert_eq!(
            rig.sys("lseek", &[fd, i64::MIN as u64, 2]),
            err(Errno::EINVAL)
        );
        assert_eq!(rig.sys("lseek", &[fd, 0, u64::MAX]), err(Errno::EINVAL));
        // At the largest offset: a read or a write of one byte would end past it.
        assert_eq!(rig.sys("lseek", &[fd, max, 0]), max as i64);
        assert_eq!(rig.sys("read", &[fd, DATA + 64, 1]), err(Errno::EINVAL));
        assert_eq!(rig.sys("write", &[fd, DATA, 1]), err(Errno::EINVAL));
        assert_eq!(rig.sys("read", &[fd, DATA + 64, 0]), 0);
        assert_eq!(rig.sys("lseek", &[fd, 0, 1]), max as i64);
        for at in [1 << 63, u64::MAX, -4096i64 as u64] {
            assert_eq!(
                rig.sys("pread64", &[fd, DATA + 64, 1, at]),
                err(Errno::EINVAL)
            );
            assert_eq!(rig.sys("pwrite64", &[fd, DATA, 1, at]), err(Errno::EINVAL));
        }
        assert_eq!(
            rig.sys("pread64", &[fd, DATA + 64, 1, max]),
            err(Errno::EINVAL)
        );
        assert_eq!(
            rig.sys("pwrite64", &[fd, DATA, 1, max - 1]),
            err(Errno::EFBIG)
        );
        assert_eq!(rig.sys("pwrite64", &[fd, DATA, 1, MIB]), err(Errno::EFBIG));
        // Huge counts are shortened to what is there (and the buffer checked).
        assert_eq!(
            rig.sys("pread64", &[fd, DATA + 64, u64::MAX, 0]),
            err(Errno::EFAULT)
        );
        assert_eq!(rig.sys("pread64", &[fd, DATA + 64, 100, 0]), 1);
        for len in [u64::MAX, 1 << 63] {
            assert_eq!(rig.sys("ftruncate", &[fd, len]), err(Errno::EINVAL));
        }
        for len in [1 << 62, max, MIB + 1] {
            assert_eq!(rig.sys("ftruncate", &[fd, len]), err(Errno::EFBIG));
        }
        // Nothing changed the file.
        assert_eq!(rig.sys("pread64", &[fd, DATA + 64, 100, 0]), 1);
        assert_eq!(rig.fake.peek(0, DATA + 64, 1), b"x");
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn pointers_at_the_end_of_the_address_space_are_efault() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        for addr in [u64::MAX, u64::MAX - 7, u64::MAX - PAGE + 1] {
            assert_eq!(rig.sys("read", &[0, addr, 8]), err(Errno::EFAULT));
            assert_eq!(rig.sys("write", &[1, addr, 8]), err(Errno::EFAULT));
            assert_eq!(rig.sys("getrandom", &[addr, 8, 0]), err(Errno::EFAULT));
            assert_eq!(rig.sys("clock_gettime", &[0, addr]), err(Errno::EFAULT));
            assert_eq!(rig.sys("nanosleep", &[addr, 0]), err(Errno::EFAULT));
            assert_eq!(
                rig.sys("openat", &[AT, addr, 0]),
                err(Errno::EFAULT),
                "a path at {addr:#x}"
            );
        }
        assert_eq!(rig.summary.status, Status::Ok);
    }
}
