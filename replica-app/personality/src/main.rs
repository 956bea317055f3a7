//! The Linux personality component: the master makes one for each Linux group (its own address
//! space, capability space and memory quota) and destroys it with the group. It runs
//! `romain_remote::server` over an seL4 link: a call to the master's endpoint for each message,
//! the exchange buffer the master maps at `EXCHANGE_VA`. A panic (a handler's bug, an overflow,
//! an exhausted quota) prints its message and exits through the replica runtime; the master
//! ends the group with `personality-error` and goes on.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::fmt::Write as _;

use romain_abi::personality::{EXCHANGE_VA, FILES_VA, LABEL};
use romain_abi::slot;
use romain_core::regs::Arch;
use romain_remote::outbox::{Effect, Outbox};
use romain_remote::remote::{Link, send_effect};
use romain_remote::server::{self, Switches};
use romain_remote::wire::{EXCHANGE_LEN, Message};

#[cfg(target_arch = "aarch64")]
const ARCH: Arch = Arch::Aarch64;
#[cfg(target_arch = "x86_64")]
const ARCH: Arch = Arch::X86_64;

romain_replica::main!(main);

fn main() -> i32 {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
    let switches = Switches {
        panic_on: switch(option_env!("ROMAIN_TEST_PANIC_ON")),
        hog_on: switch(option_env!("ROMAIN_TEST_HOG_ON")),
        spin_on: switch(option_env!("ROMAIN_TEST_SPIN_ON")),
        fault_on: switch(option_env!("ROMAIN_TEST_FAULT_ON")),
        fault: Some(fault),
    };
    let err = server::run(&mut SeL4Link, ARCH, &switches);
    panic!("the master sent {err}");
}

/// Test only (`TEST_FAULT_ON`): a read of an address the component does not have.
fn fault() {
    // SAFETY: none: the read faults, and the master ends the group; it never returns a value.
    let _ = unsafe { core::ptr::read_volatile(0x10 as *const u8) };
}

fn switch(value: Option<&'static str>) -> Option<&'static str> {
    value.filter(|v| !v.is_empty())
}

/// The link: the component's one capability (the master's endpoint) and the exchange buffer.
struct SeL4Link;

impl Link for SeL4Link {
    fn call(&mut self, words: &[u64]) -> Message {
        sel4::with_ipc_buffer_mut(|ipc| ipc.msg_regs_mut()[..words.len()].copy_from_slice(words));
        let info = sel4::MessageInfoBuilder::default()
            .label(LABEL)
            .length(words.len())
            .build();
        let reply = sel4::cap::Endpoint::from_bits(slot::MASTER_EP).call(info);
        let n = reply.length().min(romain_abi::MAX_MESSAGE_WORDS);
        sel4::with_ipc_buffer(|ipc| Message::from_slice(&ipc.msg_regs()[..n]).unwrap_or_default())
    }

    fn with_buffer<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        // SAFETY: the master maps the exchange buffer's EXCHANGE_LEN bytes at EXCHANGE_VA for
        // the component's whole life, this is its only thread, and the master touches the
        // buffer only while the component waits in `call`; the slice does not outlive `f`.
        let buffer =
            unsafe { core::slice::from_raw_parts_mut(EXCHANGE_VA as *mut u8, EXCHANGE_LEN) };
        f(buffer)
    }

    fn with_outbox<R>(&mut self, f: impl FnOnce(&mut Outbox) -> R) -> R {
        f(&mut OUTBOX.0.borrow_mut())
    }

    fn shared(&mut self, addr: u64, len: u64) -> &'static [u8] {
        let Some(end) = addr.checked_add(len) else {
            return &[];
        };
        if len == 0 || addr < FILES_VA || end > FILES_VA + FILES_SPAN {
            return &[];
        }
        // SAFETY: the master maps its own read-only pages over FILES_VA..+FILES_SPAN for the
        // component's life (on first touch), nothing writes them, and the range was checked
        // to lie there.
        unsafe { core::slice::from_raw_parts(addr as *const u8, len as usize) }
    }
}

/// How far the embedded files may reach from FILES_VA (the master checks where it maps).
const FILES_SPAN: u64 = 1 << 36;

/// The effects not sent yet: the personality's and its log lines', in order.
struct Shared(RefCell<Outbox>);

// SAFETY: the component has one thread.
unsafe impl Sync for Shared {}

static OUTBOX: Shared = Shared(RefCell::new(Outbox::new()));

/// Log lines join the effects log; the master prints them as its own, made printable.
struct Logger;

static LOGGER: Logger = Logger;

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        let mut text = heapless::String::<1024>::new();
        let _ = write!(Truncating(&mut text), "{}", record.args());
        send_effect(&mut SeL4Link, Effect::Log(record.level(), text.as_bytes()));
    }

    fn flush(&self) {}
}

/// Keeps what fits.
struct Truncating<'a>(&'a mut heapless::String<1024>);

impl core::fmt::Write for Truncating<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}
