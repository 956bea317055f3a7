//! Copy & execute demo. Attaches the region it shares with its companion component
//! (`shm-demo-device`), which it does not map: every access to it faults to the master, which
//! performs it once for all replicas. It waits (on the device's doorbell) for the device's input
//! records, writes
//! `transform(input)` into each output slot (counting the writes to the slot with an atomic
//! add), copies a blob in and back out with `memcpy` (string moves on x86_64), then increments a
//! shared atomic counter 1000 times and prints the counter.
//!
//! With the argument `bench` it first times 1000 shared loads and 1000 shared stores; with
//! `hostile CASE` it makes one access that copy & execute must refuse or contain (`hostile.rs`).
#![no_std]
#![no_main]

use core::sync::atomic::Ordering;

use romain_abi::region;
use romain_replica::{String, args, attach, println, signal, wait};

romain_replica::main!(main);

mod hostile;

#[path = "../../shm-demo-device/src/layout.rs"]
mod layout;
use layout::*;

/// The blob copied out: a static, so that a fault can be injected into it by name
/// (`INJECT=mem:1:3:OUT_BLOB:0`: a flipped bit about to leave private memory).
#[unsafe(no_mangle)]
static mut OUT_BLOB: [u8; BLOB_LEN] = [0; BLOB_LEN];

fn main() -> i32 {
    let Ok((base, len)) = attach(region::DEVICE) else {
        println!("shm-demo: no shared region");
        return 1;
    };
    let shared = Shared::new(base, len);
    // A blob made in private memory and copied out with memcpy, before anything that depends
    // on timing (its copy is the third event: after attach and args).
    // SAFETY: the replica is single-threaded and this is the only reference to OUT_BLOB.
    let out = unsafe { &mut *(&raw mut OUT_BLOB) };
    for (i, b) in out.iter_mut().enumerate() {
        *b = blob_transform(blob_byte(i), i);
    }
    let arg = args();
    if arg.first().map(String::as_str) == Some("hostile") {
        // Before any other shared access: the hostile one is the first the master sees.
        hostile::run(arg.get(1).map(String::as_str).unwrap_or(""), base, len);
        return 1;
    }
    shared.copy_out(BLOB_OUT, out);
    match arg.first().map(String::as_str) {
        Some("bench") => bench(&shared),
        Some("rep") => unsupported(base),

        _ => {}
    }
    // The device writes its inputs, then the record count, and rings.
    let records = loop {
        let n = shared.load(READY);
        if n != 0 {
            break n.min(MAX_RECORDS as u64) as usize;
        }
        if wait(region::DEVICE).is_err() {
            println!("shm-demo: the device is gone");
            return 1;
        }
    };
    for i in 0..records {
        let input = shared.load(INPUT + i);
        shared.store(OUTPUT + i, transform(input));
        shared.atomic(WRITES + i).fetch_add(1, Ordering::SeqCst);
    }
    // The device's blob, copied in with memcpy.
    let mut blob = [0u8; BLOB_LEN];
    shared.copy_in(BLOB_IN, &mut blob);
    let right = (0..BLOB_LEN).filter(|&i| blob[i] == blob_byte(i)).count();
    println!("shm-demo: blob in: {right} of {BLOB_LEN} bytes as sent");
    let counter = shared.atomic(COUNTER);
    for _ in 0..INCREMENTS {
        counter.fetch_add(1, Ordering::SeqCst);
    }
    shared.store(DONE, 1);
    let _ = signal(region::DEVICE);
    println!(
        "shm-demo: {records} records transformed; counter {}",
        counter.load(Ordering::SeqCst)
    );
    0
}

/// An access copy & execute refuses (a push from shared memory, an exclusive pair load): the
/// group must end with an error naming the instruction, and nothing else may break.
fn unsupported(base: *mut u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: none needed beyond the test's purpose: the master refuses the access.
    unsafe {
        core::arch::asm!("push qword ptr [{0}]", "add rsp, 8", in(reg) base);
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above; an exclusive pair load (which copy & execute refuses).
    unsafe {
        core::arch::asm!("ldxp {0}, {1}, [{2}]", "clrex", out(reg) _, out(reg) _, in(reg) base);
    }
    println!("shm-demo: the unsupported access went through");
}

/// Times shared loads and stores through copy & execute.
fn bench(shared: &Shared) {
    let (loads, stores, hz, sum) = time_accesses(shared);
    let ns = |ticks: u64| {
        if hz == 0 {
            0
        } else {
            ticks * 1_000_000_000 / hz
        }
    };
    let (l, s) = (loads / 1000, stores / 1000);
    println!(
        "shm-bench: copy & execute: load {l} ticks ({} ns), store {s} ticks ({} ns) [{sum}]",
        ns(l),
        ns(s)
    );
}
