//! A file's bytes go from the file's storage straight into the replicas' memory: mapping or
//! reading a 1 MiB file allocates no copy of it in the master's heap; and a file's own copy is
//! held in blocks: a 17 MiB file never needs an allocation larger than a block. A counting
//! allocator records the largest single allocation while the call runs (the tests of this file
//! run one at a time: they share the counter).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;

struct Counting;

static TRACKING: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only sizes are recorded.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if TRACKING.load(Ordering::Relaxed) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: the caller's layout, as GlobalAlloc::alloc requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if TRACKING.load(Ordering::Relaxed) {
            LARGEST.fetch_max(new_size, Ordering::Relaxed);
        }
        // SAFETY: as GlobalAlloc::realloc requires, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests here, one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The largest allocation `f` makes.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.store(0, Ordering::Relaxed);
    TRACKING.store(true, Ordering::Relaxed);
    let out = f();
    TRACKING.store(false, Ordering::Relaxed);
    (out, LARGEST.load(Ordering::Relaxed))
}

#[test]
fn mapping_or_reading_a_file_copies_it_into_the_master_heap_never() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const MIB: u64 = 1 << 20;
    let file: &'static [u8] = (0..MIB)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .leak();
    for arch in ARCHES {
        let mut rig = Rig::new(arch, 2, &[("big", file)], None);
        rig.fake.quota_pages = 1024;
        rig.fake.poke(DATA, b"big\0");
        let fd = rig.sys("openat", &[-100i64 as u64, DATA, 0]) as u64;
        let (at, largest) = largest_allocation(|| rig.sys("mmap", &[0, MIB, 1, 0x02, fd, 0]));
        let at = at as u64;
        assert_eq!(at, romain_linux::linux::MMAP_AREA.start);
        assert!(largest < 64 << 10, "mmap allocated {largest} bytes at once");
        for offset in [0, 1, 4095, 4096, 500_000, MIB - 1] {
            let want = file[offset as usize];
            assert_eq!(rig.fake.peek(1, at + offset, 1), [want], "byte {offset}");
        }
        // From an offset: the file's pages from there, zeros past its end.
        let (at2, _) =
            largest_allocation(|| rig.sys("mmap", &[0, 2 * PAGE, 1, 0x02, fd, MIB - PAGE]));
        let at2 = at2 as u64;
        assert_eq!(rig.fake.peek(0, at2, 1), [file[(MIB - PAGE) as usize]]);
        assert_eq!(rig.fake.peek(0, at2 + PAGE, 1), [0]);
        // A read of the whole file into the mapping: no copy either.
        let (n, largest) = largest_allocation(|| rig.sys("read", &[fd, at, MIB]));
        assert_eq!(n, MIB as i64);
        assert!(largest < 64 << 10, "read allocated {largest} bytes at once");
    }
}

#[test]
fn a_17_mib_file_is_written_in_blocks_and_mapped_from_them() {
    use romain_linux::fs::{BLOCK, FileSystem, How};
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const MIB: usize = 1 << 20;
    // The file system alone: 17 writes of a MiB, no allocation larger than a block.
    let mut fs = FileSystem::new(&[], &Invocation::default());
    fs.set_budget(64 << 20);
    let how = How {
        readable: true,
        writable: true,
        create: true,
        ..How::default()
    };
    let fd = fs.open("big", how).unwrap();
    let chunk: Vec<u8> = (0..MIB).map(|i| (i * 7) as u8).collect();
    for m in 0..17 {
        let (n, largest) = largest_allocation(|| fs.write(fd, &chunk, None));
        assert_eq!(n, Ok(MIB), "write {m}");
        assert!(
            largest <= BLOCK,
            "write {m} allocated {largest} bytes at once"
        );
    }
    assert_eq!(fs.size(&fs.fd(fd).unwrap().node), 17 * MIB as u64);
    assert!(fs.owned_bytes() >= 17 * MIB as u64 && fs.owned_bytes() <= fs.budget());
    // Read back across block boundaries.
    let at = (5 * BLOCK - 3) as u64;
    let got = fs.read(fd, 10, Some(at)).unwrap().to_vec();
    let want: Vec<u8> = (0..10).map(|i| chunk[(at as usize + i) % MIB]).collect();
    assert_eq!(got, want);
    assert_eq!(fs.verify(), Ok(()));

    // Through the calls: written a MiB at a time from a mapping, then mapped whole.
    for arch in ARCHES {
        let run = Invocation::default();
        let mut rig = Rig::with_quota(arch, 2, &[], &run, 64);
        rig.fake.quota_pages = 40 << 8;
        let buf = rig.sys("mmap", &[0, MIB as u64, 3, 0x22, u64::MAX, 0]) as u64;
        rig.fake.poke(buf, &chunk);
        rig.fake.poke(DATA, b"big\0");
        let fd = rig.sys("openat", &[-100i64 as u64, DATA, 0o102, 0o600]) as u64;
        for m in 0..17 {
            assert_eq!(
                rig.sys("write", &[fd, buf, MIB as u64]),
                MIB as i64,
                "write {m}"
            );
        }
        let len = 17 * MIB as u64;
        let (at, largest) = largest_allocation(|| rig.sys("mmap", &[0, len, 1, 0x02, fd, 0]));
        assert!(at > 0, "mmap: {at}");
        assert!(largest <= BLOCK, "mmap allocated {largest} bytes at once");
        let at = at as u64;
        for offset in [
            0,
            1,
            BLOCK as u64 - 1,
            BLOCK as u64,
            3 * MIB as u64 + 5,
            len - 1,
        ] {
            let want = chunk[(offset % MIB as u64) as usize];
            assert_eq!(rig.fake.peek(1, at + offset, 1), [want], "byte {offset}");
        }
    }
}
