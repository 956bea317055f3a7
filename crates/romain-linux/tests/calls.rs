//! The Linux personality through the real group core, on both architectures' tables.

mod common;

use common::*;
use romain_core::summary::Status;
use romain_protocol::{Flow, Input};

const EFAULT: i64 = -14;
const EBADF: i64 = -9;
const ENOSYS: i64 = -38;
const ENOENT: i64 = -2;
const ERANGE: i64 = -34;

#[test]
fn write_to_stdout_is_printed_once_and_every_replica_gets_the_count() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        rig.fake.poke(DATA, b"hello, linux\n");
        let (flow, n) = rig.call(nr(arch, "write"), &[1, DATA, 13]).unwrap();
        assert_eq!(flow, Flow::Continue);
        assert_eq!(n, 13);
        assert_eq!(rig.fake.out, b"hello, linux\n");
        for k in 0..3 {
            assert_eq!(rig.result(k), 13);
            // After the trap: the instruction after the site.
            assert_eq!(rig.pc(k), CODE + 16 + romain_linux::arch::trap_len(arch));
        }
        assert_eq!(rig.fake.replies, 3);
    }
}

#[test]
fn wild_pointers_and_huge_lengths_are_efault_and_the_group_goes_on() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[("in.txt", b"abc")], None);
        let w = nr(arch, "write");
        assert_eq!(rig.call(w, &[1, 0xdead_0000, 10]).unwrap().1, EFAULT);
        assert_eq!(rig.call(w, &[1, DATA, u64::MAX]).unwrap().1, EFAULT);
        assert_eq!(rig.call(w, &[1, u64::MAX - 3, 8]).unwrap().1, EFAULT);
        let fd = rig
            .call(nr(arch, "openat"), &[-100i64 as u64, DATA, 0])
            .unwrap()
            .1;
        assert_eq!(fd, ENOENT, "empty path");
        // A read into the code page (read-only here) or nowhere.
        rig.fake.poke(DATA, b"/in.txt\0");
        let fd = rig
            .call(nr(arch, "openat"), &[-100i64 as u64, DATA, 0])
            .unwrap()
            .1;
        assert_eq!(fd, 3);
        let r = nr(arch, "read");
        assert_eq!(rig.call(r, &[3, 0x10, 3]).unwrap().1, EFAULT);
        assert_eq!(rig.call(r, &[3, CODE, 3]).unwrap().1, EFAULT);
        // The failed reads did not consume the file.
        assert_eq!(rig.call(r, &[3, DATA + 64, 100]).unwrap().1, 3);
        assert_eq!(rig.fake.peek(1, DATA + 64, 3), b"abc");
        assert_eq!(rig.call(r, &[77, DATA, 1]).unwrap().1, EBADF);
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn files_open_read_seek_stat_and_written_files_are_reported() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[("data/input.dat", b"0123456789")], None);
        let at = -100i64 as u64;
        rig.fake.poke(DATA, b"./data/../data/input.dat\0");
        let fd = rig.call(nr(arch, "openat"), &[at, DATA, 0]).unwrap().1;
        assert_eq!(fd, 3);
        assert_eq!(rig.call(nr(arch, "lseek"), &[3, 4, 0]).unwrap().1, 4);
        assert_eq!(
            rig.call(nr(arch, "read"), &[3, DATA + 100, 3]).unwrap().1,
            3
        );
        assert_eq!(rig.fake.peek(2, DATA + 100, 3), b"456");
        assert_eq!(rig.call(nr(arch, "fstat"), &[3, DATA + 256]).unwrap().1, 0);
        // st_size of the arch's struct stat: offset 48 on both.
        let size = u64::from_le_bytes(rig.fake.peek(0, DATA + 256 + 48, 8).try_into().unwrap());
        if arch == romain_core::regs::Arch::X86_64 {
            assert_eq!(size, 10);
        }
        assert_eq!(rig.call(nr(arch, "close"), &[3]).unwrap().1, 0);
        assert_eq!(rig.call(nr(arch, "close"), &[3]).unwrap().1, EBADF);
        // A new file: O_WRONLY|O_CREAT|O_TRUNC.
        rig.fake.poke(DATA + 512, b"out.bin\0");
        let fd = rig
            .call(nr(arch, "openat"), &[at, DATA + 512, 0o1101, 0o644])
            .unwrap()
            .1;
        assert_eq!(fd, 3);
        rig.fake.poke(DATA + 600, b"written");
        assert_eq!(
            rig.call(nr(arch, "write"), &[3, DATA + 600, 7]).unwrap().1,
            7
        );
        assert!(
            rig.fake.out.is_empty(),
            "a file write is not console output"
        );
        let (flow, _) = rig.call(nr(arch, "exit_group"), &[3]).unwrap();
        assert_eq!(flow, Flow::End);
        assert_eq!(rig.summary.exit_code, Some(3));
        assert_eq!(rig.summary.files_written, 1);
        assert_ne!(rig.summary.files_hash, 0);
    }
}

#[test]
fn stdin_reads_the_embedded_file() {
    for arch in ARCHES {
        let mut rig = Rig::new(
            arch,
            2,
            &[("small.pcm", b"\x01\x02\x03")],
            Some("small.pcm"),
        );
        assert_eq!(rig.call(nr(arch, "read"), &[0, DATA, 8]).unwrap().1, 3);
        assert_eq!(rig.fake.peek(0, DATA, 3), b"\x01\x02\x03");
        assert_eq!(rig.call(nr(arch, "read"), &[0, DATA, 8]).unwrap().1, 0);
    }
}

#[test]
fn a_run_in_a_directory_with_stdout_to_a_file_resolves_relative_paths_there() {
    for arch in ARCHES {
        let run = Invocation::parse(
            "c-crc",
            "cd=/telecomm/CRC32+>out.txt+../adpcm/data/small.pcm",
            None,
        );
        assert_eq!(run.argv, ["c-crc", "../adpcm/data/small.pcm"]);
        let files: &[(&str, &'static [u8])] = &[("telecomm/adpcm/data/small.pcm", b"pcm")];
        let mut rig = Rig::with(arch, 3, files, &run);
        let at = -100i64 as u64;
        rig.fake.poke(DATA, b"../adpcm/data/small.pcm\0");
        assert_eq!(rig.call(nr(arch, "openat"), &[at, DATA, 0]).unwrap().1, 3);
        assert_eq!(
            rig.call(nr(arch, "read"), &[3, DATA + 100, 8]).unwrap().1,
            3
        );
        assert_eq!(rig.fake.peek(1, DATA + 100, 3), b"pcm");
        // The absolute name works as well; a name outside the tree does not.
        rig.fake.poke(DATA, b"/telecomm/adpcm/data/small.pcm\0");
        assert_eq!(rig.call(nr(arch, "openat"), &[at, DATA, 0]).unwrap().1, 4);
        rig.fake.poke(DATA, b"small.pcm\0");
        assert_eq!(
            rig.call(nr(arch, "openat"), &[at, DATA, 0]).unwrap().1,
            ENOENT
        );
        let want = b"/telecomm/CRC32\0";
        assert_eq!(
            rig.call(nr(arch, "getcwd"), &[DATA + 200, 64]).unwrap().1,
            want.len() as i64
        );
        assert_eq!(rig.fake.peek(2, DATA + 200, want.len()), want);
        assert_eq!(
            rig.call(nr(arch, "getcwd"), &[DATA + 200, 4]).unwrap().1,
            ERANGE
        );
        // stdout is the file: nothing on the console, the file is reported at exit.
        rig.fake.poke(DATA + 300, b"crc\n");
        assert_eq!(
            rig.call(nr(arch, "write"), &[1, DATA + 300, 4]).unwrap().1,
            4
        );
        assert!(rig.fake.out.is_empty());
        rig.call(nr(arch, "exit_group"), &[0]).unwrap();
        assert_eq!(rig.summary.files_written, 1);
    }
}

#[test]
fn unknown_calls_are_enosys_and_counted() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        for number in [nr(arch, "socket"), nr(arch, "membarrier"), 5000, u64::MAX] {
            assert_eq!(rig.call(number, &[1, 2, 3]).unwrap().1, ENOSYS);
        }
        assert_eq!(rig.call(nr(arch, "socket"), &[]).unwrap().1, ENOSYS);
        assert_eq!(rig.summary.linux_enosys, 5);
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn brk_and_mmap_give_zeroed_memory_until_the_quota_refuses() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        let brk = nr(arch, "brk");
        assert_eq!(rig.call(brk, &[0]).unwrap().1 as u64, HEAP);
        assert_eq!(
            rig.call(brk, &[HEAP + 10_000]).unwrap().1 as u64,
            HEAP + 10_000
        );
        rig.fake.poke(HEAP + 9_000, b"x");
        // Shrink and grow again: the memory reads as zeros.
        assert_eq!(
            rig.call(brk, &[HEAP + 4_096]).unwrap().1 as u64,
            HEAP + 4_096
        );
        assert_eq!(
            rig.call(brk, &[HEAP + 10_000]).unwrap().1 as u64,
            HEAP + 10_000
        );
        assert_eq!(rig.fake.peek(1, HEAP + 9_000, 1), b"\0");
        let mmap = nr(arch, "mmap");
        let anon = [0, 64 << 10, 3, 0x22, u64::MAX, 0];
        let a = rig.call(mmap, &anon).unwrap().1 as u64;
        assert_eq!(a, romain_linux::linux::MMAP_AREA.start);
        rig.fake.poke(a + 100, b"y");
        assert_eq!(rig.call(nr(arch, "munmap"), &[a, 64 << 10]).unwrap().1, 0);
        let b = rig.call(mmap, &anon).unwrap().1 as u64;
        assert_eq!(b, a, "reused");
        assert_eq!(rig.fake.peek(0, b + 100, 1), b"\0", "zeroed on reuse");
        // Map until the quota (256 pages) refuses: ENOMEM, not a fault.
        let big = [0, 512 << 10, 3, 0x22, u64::MAX, 0];
        let mut last = 0;
        for _ in 0..10 {
            last = rig.call(mmap, &big).unwrap().1;
        }
        assert_eq!(last, -12);
        assert_eq!(
            rig.call(brk, &[HEAP + (8 << 20)]).unwrap().1 as u64,
            HEAP + 10_000
        );
        assert_eq!(rig.summary.status, Status::Ok);
    }
}

#[test]
fn differing_write_buffers_are_outvoted() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        rig.fake.poke(DATA, b"same");
        rig.fake.replicas[2].regs[0] = 0;
        // Replica 2's buffer differs by one bit: its registers agree, its bytes do not.
        let flipped = rig.fake.replicas[2].byte(DATA) ^ 1;
        let page = rig.fake.replicas[2].pages.get_mut(&DATA).unwrap();
        page[0] = flipped;
        rig.call(nr(arch, "write"), &[1, DATA, 4]).unwrap();
        assert_eq!(rig.summary.mismatches, 1);
        assert_eq!(rig.summary.recoveries, 1);
        assert_eq!(rig.fake.out, b"same");
    }
}

#[test]
fn a_trap_that_is_no_site_is_a_program_fault() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        let mut regs = rig.call_regs(1, nr(arch, "write"), &[1, DATA, 1]);
        regs.words_mut()[0] += 1;
        let mut flow = Flow::Continue;
        for k in 0..2 {
            let event = rig.trap_event(regs.clone());
            flow = rig
                .group
                .step(
                    Input::Arrival { replica: k, event },
                    &mut rig.fake,
                    &mut rig.summary,
                )
                .unwrap();
        }
        assert_eq!(flow, Flow::End);
        assert_eq!(rig.summary.status, Status::AppFault);
        assert!(rig.fake.out.is_empty());
    }
}

#[test]
fn start_up_calls_answer_as_glibc_expects() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        let pid = romain_linux::stack::PID as i64;
        assert_eq!(
            rig.call(nr(arch, "set_tid_address"), &[DATA]).unwrap().1,
            pid
        );
        assert_eq!(
            rig.call(nr(arch, "set_robust_list"), &[DATA, 24])
                .unwrap()
                .1,
            0
        );
        assert_eq!(
            rig.call(nr(arch, "rseq"), &[DATA, 32, 0, 0]).unwrap().1,
            ENOSYS
        );
        assert_eq!(
            rig.call(nr(arch, "prlimit64"), &[0, 3, 0, DATA]).unwrap().1,
            0
        );
        assert_eq!(
            u64::from_le_bytes(rig.fake.peek(0, DATA, 8).try_into().unwrap()),
            8 << 20
        );
        assert_eq!(
            rig.call(nr(arch, "ioctl"), &[1, 0x5401, DATA]).unwrap().1,
            -25
        );
        rig.fake.poke(DATA, b"/proc/self/exe\0");
        assert_eq!(
            rig.call(
                nr(arch, "readlinkat"),
                &[-100i64 as u64, DATA, DATA + 64, 64]
            )
            .unwrap()
            .1,
            ENOENT
        );
        let n = rig.call(nr(arch, "getrandom"), &[DATA, 16, 0]).unwrap().1;
        assert_eq!(n, 16);
        assert_eq!(rig.fake.peek(0, DATA, 16), rig.fake.peek(1, DATA, 16));
        assert_eq!(
            rig.call(nr(arch, "clock_gettime"), &[1, DATA]).unwrap().1,
            0
        );
        assert_eq!(rig.call(nr(arch, "uname"), &[DATA]).unwrap().1, 0);
        assert_eq!(&rig.fake.peek(0, DATA, 6), b"Linux\0");
        assert_eq!(
            rig.call(nr(arch, "rt_sigaction"), &[6, 0, DATA, 8])
                .unwrap()
                .1,
            0
        );
    }
    let arch = romain_core::regs::Arch::X86_64;
    let mut rig = Rig::new(arch, 2, &[], None);
    assert_eq!(
        rig.call(nr(arch, "arch_prctl"), &[0x1002, 0x1234_5000])
            .unwrap()
            .1,
        0
    );
    for k in 0..2 {
        assert_eq!(
            rig.fake.replicas[k].regs[romain_linux::arch::X86_FS_BASE],
            0x1234_5000
        );
    }
}

#[test]
fn abort_ends_the_program_as_its_signal_would() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[], None);
        let pid = romain_linux::stack::PID;
        let (flow, _) = rig.call(nr(arch, "tgkill"), &[pid, pid, 6]).unwrap();
        assert_eq!(flow, Flow::End);
        assert_eq!(rig.summary.exit_code, Some(134));
    }
}

#[test]
fn umask_returns_the_old_mask_and_keeps_the_new_one() {
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        let umask = nr(arch, "umask");
        assert_eq!(rig.call(umask, &[0o077]).unwrap().1, 0o022);
        // Only the permission bits are kept.
        assert_eq!(rig.call(umask, &[0o7777]).unwrap().1, 0o077);
        assert_eq!(rig.call(umask, &[0]).unwrap().1, 0o777);
        for k in 0..3 {
            assert_eq!(rig.result(k), 0o777);
        }
        assert_eq!(rig.summary.linux_enosys, 0);
    }
}

#[test]
fn getrusage_gives_the_programs_clock_as_user_time_and_the_memory_in_use() {
    const EINVAL: i64 = -22;
    let word = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 3, &[], None);
        let getrusage = nr(arch, "getrusage");
        // 12 KiB of heap (the break rounded up to pages) and a 64 KiB mapping.
        rig.call(nr(arch, "brk"), &[HEAP + 10_000]).unwrap();
        let anon = [0, 64 << 10, 3, 0x22, u64::MAX, 0];
        rig.call(nr(arch, "mmap"), &anon).unwrap();
        // The replicated clock: one second at the start, a microsecond per agreed event (this
        // call's included), whatever the master's clock says.
        rig.fake.now = 2_500_123;
        for (who, events) in [(0, 3), (1, 4)] {
            rig.fake.poke(DATA, &[0xaa; 160]);
            assert_eq!(rig.call(getrusage, &[who, DATA]).unwrap().1, 0);
            for k in 0..3 {
                let b = rig.fake.peek(k, DATA, 160);
                assert_eq!(word(&b, 0), 1, "ru_utime.tv_sec");
                assert_eq!(word(&b, 8), events, "ru_utime.tv_usec");
                assert_eq!(&b[16..32], &[0; 16], "ru_stime");
                assert_eq!(word(&b, 32), 12 + 64, "ru_maxrss in KiB");
                assert_eq!(&b[40..144], &[0; 104]);
                // struct rusage is 144 bytes: nothing past it is written.
                assert_eq!(&b[144..], &[0xaa; 16]);
                assert_eq!(rig.result(k), 0);
            }
        }
        // No children: all zeros.
        rig.fake.poke(DATA, &[0xaa; 144]);
        assert_eq!(rig.call(getrusage, &[u64::MAX, DATA]).unwrap().1, 0);
        assert_eq!(rig.fake.peek(2, DATA, 144), vec![0; 144]);
        // Hostile: a bad `who` is EINVAL (even with a bad pointer, as on Linux) and writes
        // nothing; NULL, wild, wrapping and read-only pointers are EFAULT.
        rig.fake.poke(DATA, &[0xaa; 144]);
        for who in [2, 3, -2i64 as u64, 0x1_0000_0000, u64::MAX - 1] {
            assert_eq!(rig.call(getrusage, &[who, DATA]).unwrap().1, EINVAL);
            assert_eq!(rig.call(getrusage, &[who, 0]).unwrap().1, EINVAL);
        }
        assert_eq!(rig.fake.peek(0, DATA, 144), vec![0xaa; 144]);
        for bad in [0, 0xdead_0000, u64::MAX, u64::MAX - 100, CODE] {
            assert_eq!(rig.call(getrusage, &[0, bad]).unwrap().1, EFAULT);
            assert_eq!(rig.call(getrusage, &[u64::MAX, bad]).unwrap().1, EFAULT);
        }
        // The structure's end past the program's memory: EFAULT.
        let end = DATA + 16 * PAGE;
        assert_eq!(rig.call(getrusage, &[0, end - 100]).unwrap().1, EFAULT);
        assert_eq!(rig.summary.status, Status::Ok);
        assert_eq!(rig.summary.linux_enosys, 0);
    }
}
