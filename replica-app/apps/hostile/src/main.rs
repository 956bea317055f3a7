//! Misbehaves on purpose, in the way its argument names, so that tests can check that the master
//! gives a clear error for this replica group and carries on:
//!
//! - `cap`: invokes capability slots outside its CNode slice;
//! - `addr`: reads an address it does not own (the master's own window address);
//! - `write`: writes to its own read-only code;
//! - `calls`: unknown calls and wild call arguments;
//! - `entropy`: random numbers, time and yield (replicated, so replicas stay identical);
//! - `flood`: thousands of calls;
//! - `oom`: allocates until the memory quota refuses more;
//! - `ud`: executes an undefined instruction;
//! - `spin`: loops forever;
//! - `sys N`: the raw seL4 system call number N (the debug and benchmark ones too);
//! - `send`, `nbsend`: a message to the master without waiting for the reply;
//! - `forge L [FIRST]`: `Call`s with kernel fault label L and lengths FIRST (0) to 120;
//! - `labels`: labels that are no kernel fault and no call, at every length;
//! - `timer`: programs its core's physical timer and reads the physical counter (aarch64);
//! - `one debug|send`: misbehaves only where `HOSTILE_SWITCH` was flipped by an injection.
#![no_std]
#![no_main]

use romain_abi::{CALL_LABEL_BASE, Call};
use romain_replica::{Vec, args, println, raw_call};

mod kernel;

romain_replica::main!(main);

fn main() -> i32 {
    let arguments = args();
    let what = arguments.first().map(|s| s.as_str()).unwrap_or("");
    let arg = |i: usize| arguments.get(i).and_then(|a| a.parse::<i64>().ok());
    println!("hostile: {what}");
    match what {
        "cap" => {
            // Slot 5 is empty in every replica's slice; a huge CPtr does not even resolve.
            sel4::cap::Notification::from_bits(5).signal();
            sel4::cap::Notification::from_bits(0x1234_5678).signal();
            println!("still here after invoking empty slots");
        }
        "addr" => {
            // The master maps replica frames at this address in its own address space.
            let master_window = 0x1_0000_0000 as *const u64;
            // SAFETY: none: this is the misbehaviour under test; the kernel stops the access.
            let value = unsafe { core::ptr::read_volatile(master_window) };
            println!("read the master's memory: {value:#x}");
        }
        "write" => {
            let code = main as *const () as *mut u64;
            // SAFETY: none: writing to read-only code is the misbehaviour under test.
            unsafe { core::ptr::write_volatile(code, 0) };
            println!("overwrote my code");
        }
        "calls" => {
            println!("unknown call: {:?}", raw_call(CALL_LABEL_BASE + 999, 0));
            println!("label 0: {:?}", raw_call(0, 0));
            // A write claiming far more bytes than a message holds.
            sel4::with_ipc_buffer_mut(|ipc| ipc.msg_regs_mut()[0] = u64::MAX);
            println!("huge write: {:?}", raw_call(Call::Write.label(), 1));
            sel4::with_ipc_buffer_mut(|ipc| ipc.msg_regs_mut()[0] = 800);
            println!("short write: {:?}", raw_call(Call::Write.label(), 2));
        }
        "entropy" => {
            // Replicated randomness and time: identical in every replica, so no mismatch.
            let (a, b) = (romain_replica::random(), romain_replica::random());
            romain_replica::yield_now();
            println!(
                "random: {}",
                if a != b {
                    "two different draws"
                } else {
                    "the same draw twice"
                }
            );
            println!(
                "time: {}",
                if romain_replica::time().0 > 0 {
                    "ticking"
                } else {
                    "zero"
                }
            );
        }
        "flood" => {
            let mut total = 0;
            for _ in 0..2000 {
                total += args().len();
            }
            println!("flooded: 2000 calls, {total} arguments");
        }
        "oom" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(romain_replica::vec![1u8; 64 * 1024]);
            }
        }
        "ud" => {
            #[cfg(target_arch = "aarch64")]
            // SAFETY: none needed: the undefined instruction is the misbehaviour under test.
            unsafe {
                core::arch::asm!("udf #0")
            };
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            unsafe {
                core::arch::asm!("ud2")
            };
            println!("ran an undefined instruction");
        }
        "spin" => loop {
            core::hint::spin_loop();
        },
        "sys" => kernel::any_syscall(arg(1).unwrap_or(-9)),
        "send" => kernel::send(kernel::SYS_SEND),
        "nbsend" => kernel::send(kernel::SYS_NBSEND),
        "forge" => kernel::forge(arg(1).unwrap_or(5) as u64, arg(2).unwrap_or(0) as u64),
        "labels" => kernel::unknown_labels(),
        #[cfg(target_arch = "aarch64")]
        "timer" => kernel::timer(),
        "one" => kernel::one(arguments.get(1).map(|s| s.as_str()).unwrap_or("debug")),
        other => {
            println!("unknown misbehaviour {other:?}");
            return 2;
        }
    }
    0
}
