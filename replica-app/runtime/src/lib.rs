//! Runtime for programs that run as Romain replicas.
//!
//! What a replica program gets:
//! - an entry point: declare `fn main() -> i32` and invoke [`main!`]`(main)`; the value is the
//!   exit code;
//! - a stack ([`STACK_SIZE`]) and a heap for `alloc` (`Vec`, `String`, `Box`) that grows through
//!   the master's [`grow`] call, up to the replica's memory quota;
//! - [`print!`]/[`println!`], [`write`], [`args`], [`time`], [`random`], [`yield_now`] and
//!   [`exit`]: calls to the master (see `romain-abi`);
//! - a panic handler that prints the panic message and exits with code [`PANIC_EXIT_CODE`].
//!
//! Everything a replica does outside its own memory goes through [`call`], so the master sees it
//! as an externalization event, compares the replicas there and performs it once.
#![no_std]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::fmt::{self, Write as _};
use core::ptr;

use dlmalloc::Dlmalloc;
use romain_abi::{ARG_SEPARATOR, Call, CallError, WRITE_CHUNK, pack_bytes, slot, unpack_bytes};
use sel4::CapTypeForFrameObjectOfFixedSize;

pub use alloc::{boxed::Box, format, string::String, vec, vec::Vec};

/// Stack of the replica's only thread.
pub const STACK_SIZE: usize = 256 * 1024;
/// Exit code after a panic.
pub const PANIC_EXIT_CODE: i64 = 101;

sel4_runtime_common::declare_stack!(STACK_SIZE);

/// dlmalloc over memory from the master's [`grow`] call (like `sbrk`).
struct Heap(UnsafeCell<Dlmalloc<Grow>>);

// SAFETY: a replica has one thread, and the allocator never re-enters itself.
unsafe impl Sync for Heap {}

#[global_allocator]
static HEAP: Heap = Heap(UnsafeCell::new(Dlmalloc::new_with_allocator(Grow)));

// SAFETY (all four): the only thread calls them one at a time (see `Sync` above), and the layout
// contract is dlmalloc's own.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).malloc(layout.size(), layout.align()) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).calloc(layout.size(), layout.align()) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { (*self.0.get()).free(ptr, layout.size(), layout.align()) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size) }
    }
}

/// dlmalloc's system allocator: new memory at the end of the heap, never given back.
struct Grow;

// SAFETY: `alloc` returns memory the master mapped for this replica alone (zeroed, on first
// touch), never handed out twice.
unsafe impl dlmalloc::Allocator for Grow {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        match grow(size) {
            Ok(start) => (start, size, 0),
            Err(_) => (ptr::null_mut(), 0, 0),
        }
    }
    fn remap(&self, _: *mut u8, _: usize, _: usize, _: bool) -> *mut u8 {
        ptr::null_mut()
    }
    fn free_part(&self, _: *mut u8, _: usize, _: usize) -> bool {
        false
    }
    fn free(&self, _: *mut u8, _: usize) -> bool {
        false
    }
    fn can_release_part(&self, _: u32) -> bool {
        false
    }
    fn allocates_zeros(&self) -> bool {
        true
    }
    fn page_size(&self) -> usize {
        sel4::cap_type::Granule::FRAME_OBJECT_TYPE.bytes()
    }
}

// The runtime's own abort path (before main, or a failed constructor) prints through the master.
sel4_panicking_env::register_debug_put_char!(put_char);

fn put_char(c: u8) {
    let _ = write(&[c]);
}

#[cfg(not(target_arch = "x86_64"))]
sel4_runtime_common::declare_entrypoint_with_stack_init!();

// rust-sel4's x86_64 stack set-up reaches the Rust entry point with the stack 8 bytes off the
// System V alignment (16 at each call). Soft-float code never notices; hard-float code
// (`FLOAT=hard`) spills SSE registers with aligned moves and faults. So: the stack's top,
// aligned to 16, then the call as rust-sel4 makes it.
#[cfg(target_arch = "x86_64")]
core::arch::global_asm! {
    r#"
        .extern __sel4_runtime_common__stack_bottom
        .extern __sel4_runtime_common__call_rust_entrypoint
        .section .text
        .global _start
        _start:
            mov rsp, qword ptr [rip + __sel4_runtime_common__stack_bottom]
            and rsp, -16
            xor ebp, ebp
            jmp __sel4_runtime_common__call_rust_entrypoint
    "#
}

sel4_runtime_common::declare_rust_entrypoint! {
    entrypoint()
}

unsafe extern "Rust" {
    // Defined by `main!` in the program.
    fn __romain_replica_main() -> i32;
}

fn entrypoint() -> ! {
    // SAFETY: the master maps this replica's IPC buffer in the page after the image, and nothing
    // else refers to that page.
    unsafe { sel4::set_ipc_buffer(ipc_buffer_ptr().as_mut().unwrap()) };
    // SAFETY: the symbol is defined by `main!`, with this signature.
    let code = unsafe { __romain_replica_main() };
    exit(code.into())
}

/// The page after the image, where the master maps the IPC buffer.
fn ipc_buffer_ptr() -> *mut sel4::IpcBuffer {
    unsafe extern "C" {
        static _end: usize;
    }
    (ptr::addr_of!(_end) as usize)
        .next_multiple_of(sel4::cap_type::Granule::FRAME_OBJECT_TYPE.bytes())
        as *mut sel4::IpcBuffer
}

/// Declares the program's `fn main() -> i32`.
#[macro_export]
macro_rules! main {
    ($main:path) => {
        #[unsafe(no_mangle)]
        fn __romain_replica_main() -> i32 {
            $main()
        }
    };
}

/// Makes call `call` with `len` message words already in the IPC buffer; returns the master's
/// result word.
pub fn call(call: Call, len: usize) -> Result<u64, CallError> {
    raw_call(call.label(), len)
}

/// A call with any label (tests of the master's handling of unknown calls use it).
pub fn raw_call(label: u64, len: usize) -> Result<u64, CallError> {
    let info = sel4::MessageInfoBuilder::default()
        .label(label)
        .length(len)
        .build();
    sel4::cap::Endpoint::from_bits(slot::MASTER_EP).call(info);
    let word = sel4::with_ipc_buffer(|ipc| ipc.msg_regs()[0]);
    match CallError::from_result_word(word) {
        Some(err) => Err(err),
        None => Ok(word),
    }
}

/// Writes `bytes` to the console (once, whatever the number of replicas).
pub fn write(bytes: &[u8]) -> Result<usize, CallError> {
    let mut written = 0;
    for chunk in bytes.chunks(WRITE_CHUNK) {
        let len = sel4::with_ipc_buffer_mut(|ipc| {
            let mrs = ipc.msg_regs_mut();
            mrs[0] = chunk.len() as u64;
            1 + pack_bytes(chunk, &mut mrs[1..])
        });
        written += call(Call::Write, len)? as usize;
    }
    Ok(written)
}

/// The program's arguments, as given in the run plan (`MODE:APP+ARG+ARG...`).
pub fn args() -> Vec<String> {
    if call(Call::Args, 0).is_err() {
        return Vec::new();
    }
    let mut bytes = [0u8; WRITE_CHUNK];
    let text = sel4::with_ipc_buffer(|ipc| {
        let mrs = ipc.msg_regs();
        let len = (mrs[0] as usize).min(WRITE_CHUNK);
        unpack_bytes(&mrs[1..], &mut bytes[..len]).map(|()| len)
    });
    let Some(len) = text else { return Vec::new() };
    match core::str::from_utf8(&bytes[..len]) {
        Ok("") | Err(_) => Vec::new(),
        Ok(text) => text.split(ARG_SEPARATOR).map(String::from).collect(),
    }
}

/// The time: counter ticks and ticks per second (0 where unknown), the same in every replica.
pub fn time() -> (u64, u64) {
    match call(Call::Time, 0) {
        Ok(ticks) => (ticks, sel4::with_ipc_buffer(|ipc| ipc.msg_regs()[1])),
        Err(_) => (0, 0),
    }
}

/// Microseconds since an arbitrary start, from [`time`] (ticks / 1000 where the rate is unknown).
pub fn micros() -> u64 {
    let (ticks, hz) = time();
    if hz == 0 {
        ticks / 1000
    } else {
        (ticks as u128 * 1_000_000 / hz as u128) as u64
    }
}

/// 64 random bits, the same in every replica (drawn once by the master).
pub fn random() -> u64 {
    call(Call::Random, 0).unwrap_or(0)
}

/// Grows the heap by `bytes` (rounded up to pages) and returns the start of the new memory, the
/// same address in every replica; it is zeroed and mapped on first touch. Fails beyond the
/// replica's memory quota. The global allocator calls it; programs rarely need to.
pub fn grow(bytes: usize) -> Result<*mut u8, CallError> {
    sel4::with_ipc_buffer_mut(|ipc| ipc.msg_regs_mut()[0] = bytes as u64);
    call(Call::Grow, 1).map(|start| start as *mut u8)
}

/// Attaches shared region `region` (`romain_abi::region`): its address and length. The
/// replicas do not map it; the master performs each access once for all (copy & execute).
pub fn attach(region: u64) -> Result<(*mut u8, usize), CallError> {
    sel4::with_ipc_buffer_mut(|ipc| ipc.msg_regs_mut()[0] = region);
    let base = call(Call::Attach, 1)?;
    let len = sel4::with_ipc_buffer(|ipc| ipc.msg_regs()[1]) as usize;
    Ok((base as *mut u8, len))
}

/// Signals the outside party of shared region `region` (it wakes from [`device::wait`]).
pub fn signal(region: u64) -> Result<(), CallError> {
    sel4::with_ipc_buffer_mut(|ipc| ipc.msg_regs_mut()[0] = region);
    call(Call::Signal, 1).map(|_| ())
}

/// Waits for the outside party of shared region `region` to signal ([`device::ring`]); returns
/// at once when it did since the last wait.
pub fn wait(region: u64) -> Result<(), CallError> {
    sel4::with_ipc_buffer_mut(|ipc| ipc.msg_regs_mut()[0] = region);
    call(Call::Wait, 1).map(|_| ())
}

/// For a companion component (`<app>-device`), which is not replicated: its doorbells are real
/// seL4 notifications, used without the master in between.
pub mod device {
    use romain_abi::slot;

    /// Waits until the replicas [`signal`](super::signal) (or returns at once if they did).
    pub fn wait() {
        sel4::cap::Notification::from_bits(slot::DOORBELL_WAIT).wait();
    }

    /// Wakes replicas that [`wait`](super::wait) on the region.
    pub fn ring() {
        sel4::cap::Notification::from_bits(slot::DOORBELL_RING).signal();
    }
}

/// Gives up the processor; all replicas meet here.
pub fn yield_now() {
    let _ = call(Call::Yield, 0);
}

/// Ends the program with `code`.
pub fn exit(code: i64) -> ! {
    sel4::with_ipc_buffer_mut(|ipc| ipc.msg_regs_mut()[0] = code as u64);
    let _ = call(Call::Exit, 1);
    // The master never answers an exit; should it, stay here rather than run past the end.
    loop {
        core::hint::spin_loop();
    }
}

/// Formats into a buffer and writes it in as few calls as possible.
pub struct Console {
    buf: [u8; WRITE_CHUNK],
    len: usize,
}

impl Console {
    pub const fn new() -> Self {
        Self {
            buf: [0; WRITE_CHUNK],
            len: 0,
        }
    }

    pub fn flush(&mut self) {
        if self.len > 0 {
            let _ = write(&self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl Default for Console {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments<'_>) {
    let mut console = Console::new();
    let _ = console.write_fmt(args);
    console.flush();
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::_print(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::_print(format_args!("{}\n", format_args!($($arg)*))));
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    _print(format_args!("replica panicked: {info}\n"));
    exit(PANIC_EXIT_CODE)
}
