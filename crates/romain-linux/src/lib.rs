//! The Linux personality: unmodified static Linux programs (x86_64 and aarch64 ELF, glibc or
//! musl) as replicas.
//!
//! - [`rewrite`]: every system-call instruction becomes a trap of the same length at load, so
//!   that each Linux call reaches the master as a user exception with the complete registers.
//! - [`stack`]: the initial stack (argc, argv, envp, auxv).
//! - [`table`]: the declarative call table, one line per call for both architectures: numbers,
//!   what each argument reads from the program's memory (compared with the event), handler.
//! - [`linux`]: the [`romain_protocol::Personality`]; `calls/` performs the calls, one module per
//!   family, against [`fs`], the group's in-memory files and descriptors.
//!
//! Everything here runs on the host against a fake replica memory (`tests/`).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod arch;
mod calls;
mod context;
mod declare;
pub mod emulated;
pub mod fs;
pub mod invocation;
pub mod linux;
pub mod rewrite;
pub mod stack;
pub mod table;
pub mod vdso;

pub use linux::Linux;
