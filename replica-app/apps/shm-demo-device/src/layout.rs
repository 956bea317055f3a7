//! The shared region's layout, in 64-bit words: shared by shm-demo and shm-demo-device.

use core::sync::atomic::AtomicU64;

/// Record count, written by the device once the inputs are there.
pub const READY: usize = 0;
/// Set by the replicas when every output is written and the counting is done.
pub const DONE: usize = 1;
/// The shared atomic counter.
pub const COUNTER: usize = 2;
/// A word the benchmark loads and stores.
pub const SCRATCH: usize = 3;
pub const MAX_RECORDS: usize = 64;
pub const INPUT: usize = 8;
pub const OUTPUT: usize = INPUT + MAX_RECORDS;
/// How many times each output slot was written (atomically counted by the replicas).
pub const WRITES: usize = OUTPUT + MAX_RECORDS;
/// Blocks of bytes copied with `memcpy` between private and shared memory (string moves on
/// x86_64): the device writes one in, the replicas write one out. Byte offsets; both cross a
/// page edge of the region and start unaligned.
pub const BLOB_IN: usize = 4000 + 3;
pub const BLOB_OUT: usize = 8100 + 5;
pub const BLOB_LEN: usize = 1000;
/// Increments of the counter by the replicated program.
#[allow(dead_code)] // used by shm-demo only
pub const INCREMENTS: u64 = 1000;

/// The region, as words.
pub struct Shared {
    words: *mut u64,
    len: usize,
}

impl Shared {
    pub fn new(base: *mut u8, bytes: usize) -> Self {
        assert!(bytes / 8 > WRITES + MAX_RECORDS, "region too small");
        Shared {
            words: base.cast(),
            len: bytes / 8,
        }
    }

    pub fn load(&self, word: usize) -> u64 {
        assert!(word < self.len);
        // SAFETY: `word` is inside the region, which the master keeps for the program's life.
        unsafe { self.words.add(word).read_volatile() }
    }

    pub fn store(&self, word: usize, value: u64) {
        assert!(word < self.len);
        // SAFETY: as in `load`.
        unsafe { self.words.add(word).write_volatile(value) }
    }

    /// Copies bytes from byte `offset` of the region into `to` (a `memcpy`).
    pub fn copy_in(&self, offset: usize, to: &mut [u8]) {
        assert!(offset + to.len() <= self.len * 8);
        // SAFETY: the bytes are inside the region, which `to` (private memory) does not overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.words.cast::<u8>().add(offset),
                to.as_mut_ptr(),
                to.len(),
            )
        }
    }

    /// Copies `from` to byte `offset` of the region (a `memcpy`).
    pub fn copy_out(&self, offset: usize, from: &[u8]) {
        assert!(offset + from.len() <= self.len * 8);
        // SAFETY: as in `copy_in`.
        unsafe {
            core::ptr::copy_nonoverlapping(
                from.as_ptr(),
                self.words.cast::<u8>().add(offset),
                from.len(),
            )
        }
    }

    pub fn atomic(&self, word: usize) -> &AtomicU64 {
        assert!(word < self.len);
        // SAFETY: as in `load`; the word is 8-byte aligned (the region is page-aligned).
        unsafe { AtomicU64::from_ptr(self.words.add(word)) }
    }
}

/// What the replicated program computes from an input.
pub fn transform(x: u64) -> u64 {
    x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) ^ 0x00ab_cdef
}

/// The device's blob byte `i`.
pub fn blob_byte(i: usize) -> u8 {
    ((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8
}

/// What the replicated program makes of blob byte `i`.
pub fn blob_transform(b: u8, i: usize) -> u8 {
    b.rotate_left(3) ^ i as u8
}

/// Ticks taken by 1000 loads and by 1000 stores of the scratch word, the counter's rate, and the
/// sum of what was loaded (so that the loads stay): how both programs time their accesses.
pub fn time_accesses(shared: &Shared) -> (u64, u64, u64, u64) {
    const N: u64 = 1000;
    let (start, hz) = romain_replica::time();
    let mut sum = 0u64;
    for _ in 0..N {
        sum = sum.wrapping_add(shared.load(SCRATCH));
    }
    let loaded = romain_replica::time().0;
    for i in 0..N {
        shared.store(SCRATCH, i);
    }
    let stored = romain_replica::time().0;
    (loaded - start, stored - loaded, hz, sum)
}
