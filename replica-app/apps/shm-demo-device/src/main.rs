//! The companion of shm-demo: a component outside the replica group, started by the master with
//! the shared region mapped directly. It writes the input records, rings the replicas' doorbell,
//! waits on its own doorbell for the replicated program, and checks what it finds: every output correct and written exactly once, and the
//! counter at exactly the number of increments (not that times the number of replicas), and the
//! blob the program copied in, transformed and copied back out.
//!
//! With the argument `bench` it times 1000 direct loads and stores, for comparison with copy &
//! execute.
#![no_std]
#![no_main]

use core::sync::atomic::Ordering;

use romain_abi::region;
use romain_replica::{attach, device, println};

mod layout;
use layout::*;

romain_replica::main!(main);

const RECORDS: usize = MAX_RECORDS;

fn main() -> i32 {
    let Ok((base, len)) = attach(region::DEVICE) else {
        println!("shm-demo-device: no shared region");
        return 1;
    };
    let shared = Shared::new(base, len);
    bench(&shared);
    let mut x = 0x1234_5678_9abc_def0u64;
    for i in 0..RECORDS {
        // SplitMix64 inputs.
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        shared.store(INPUT + i, z ^ (z >> 31));
    }
    let blob: [u8; BLOB_LEN] = core::array::from_fn(blob_byte);
    shared.copy_out(BLOB_IN, &blob);
    shared.atomic(READY).store(RECORDS as u64, Ordering::SeqCst);
    device::ring();
    while shared.load(DONE) == 0 {
        device::wait();
    }
    let correct = (0..RECORDS)
        .filter(|&i| shared.load(OUTPUT + i) == transform(shared.load(INPUT + i)))
        .count();
    let once = (0..RECORDS)
        .filter(|&i| shared.load(WRITES + i) == 1)
        .count();
    println!(
        "shm-demo-device: {RECORDS} records in, {correct} outputs correct, {once} written exactly once; counter {}",
        shared.load(COUNTER)
    );
    let mut back = [0u8; BLOB_LEN];
    shared.copy_in(BLOB_OUT, &mut back);
    let right = (0..BLOB_LEN)
        .filter(|&i| back[i] == blob_transform(blob_byte(i), i))
        .count();
    println!("shm-demo-device: blob out: {right} of {BLOB_LEN} bytes correct");
    0
}

/// Times direct loads and stores: the baseline for copy & execute.
fn bench(shared: &Shared) {
    let (loads, stores, _, sum) = time_accesses(shared);
    shared.store(SCRATCH, 0);
    println!("shm-bench: direct: 1000 loads {loads} ticks, 1000 stores {stores} ticks [{sum}]");
}
