//! The system calls the master performs for Linux programs: one declarative table per
//! architecture ([`x86_64`], [`aarch64`]) from the number (the `syscalls` crate's) to a
//! [`Call`], and what each call reads from the program's memory (compared with the event).

pub mod aarch64;
pub mod x86_64;

use romain_core::regs::Arch;

/// A call the master knows, whatever its number on the architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    // Files and I/O (calls/io.rs, calls/path.rs).
    Read,
    Write,
    Readv,
    Writev,
    Pread64,
    Pwrite64,
    Openat,
    Open,
    Close,
    Lseek,
    Fstat,
    Newfstatat,
    Stat,
    Lstat,
    Statx,
    Ioctl,
    Fcntl,
    Dup,
    Dup2,
    Dup3,
    Getcwd,
    Readlinkat,
    Readlink,
    Faccessat,
    Access,
    Unlinkat,
    Unlink,
    Renameat,
    Rename,
    // Memory (calls/memory.rs).
    Brk,
    Mmap,
    Munmap,
    Mremap,
    Mprotect,
    Madvise,
    // Process and identity (calls/process.rs).
    Exit,
    ExitGroup,
    Getpid,
    Gettid,
    Getppid,
    Getuid,
    Geteuid,
    Getgid,
    Getegid,
    Uname,
    Sysinfo,
    ArchPrctl,
    SetTidAddress,
    SetRobustList,
    Prlimit64,
    Getrlimit,
    SchedGetaffinity,
    SchedYield,
    Futex,
    Tgkill,
    Kill,
    // Time and randomness (calls/time.rs).
    ClockGettime,
    Gettimeofday,
    Time,
    ClockGetres,
    Nanosleep,
    ClockNanosleep,
    Getrandom,
    // Signals: accepted, never delivered (calls/process.rs).
    RtSigaction,
    RtSigprocmask,
    Sigaltstack,
}

/// Something a call reads from the program's memory, by argument index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `len` bytes at `ptr`.
    Bytes { ptr: usize, len: usize },
    /// A NUL-terminated string (a path).
    Str(usize),
    /// A structure of a fixed size.
    Fixed { ptr: usize, size: u64 },
    /// An iovec array of `count` entries, and the buffers it names.
    Iov { ptr: usize, count: usize },
    /// An iovec array of `count` entries only (where a read puts its bytes).
    IovArray { ptr: usize, count: usize },
}

/// Longest path the master reads.
pub const PATH_MAX: usize = 4096;

impl Call {
    /// What the call reads from the caller's memory: hashed into its event, so that replicas
    /// that would pass different bytes differ there.
    pub fn inputs(self) -> &'static [Input] {
        use Input::*;
        match self {
            Call::Write | Call::Pwrite64 => &[Bytes { ptr: 1, len: 2 }],
            Call::Writev => &[Iov { ptr: 1, count: 2 }],
            // A read's iovecs say where the bytes go: compared too.
            Call::Readv => &[IovArray { ptr: 1, count: 2 }],
            Call::Openat | Call::Newfstatat | Call::Statx | Call::Readlinkat | Call::Faccessat => {
                &[Str(1)]
            }
            Call::Unlinkat => &[Str(1)],
            Call::Open
            | Call::Stat
            | Call::Lstat
            | Call::Readlink
            | Call::Access
            | Call::Unlink => &[Str(0)],
            Call::Renameat => &[Str(1), Str(3)],
            Call::Rename => &[Str(0), Str(1)],
            Call::ClockNanosleep => &[Fixed { ptr: 2, size: 16 }],
            Call::Nanosleep => &[Fixed { ptr: 0, size: 16 }],
            Call::Prlimit64 => &[Fixed { ptr: 2, size: 16 }],
            Call::RtSigaction => &[Fixed { ptr: 1, size: 32 }],
            Call::RtSigprocmask => &[Fixed { ptr: 1, size: 8 }],
            Call::Sigaltstack => &[Fixed { ptr: 0, size: 24 }],
            _ => &[],
        }
    }
}

/// The call with `number` on `arch`, if the master performs it.
pub fn lookup(arch: Arch, number: u64) -> Option<Call> {
    let table: &[(u64, Call)] = match arch {
        Arch::X86_64 => &x86_64::TABLE,
        Arch::Aarch64 => &aarch64::TABLE,
    };
    table.iter().find(|(n, _)| *n == number).map(|(_, c)| *c)
}

/// The call's name on `arch` (for logs), from the number crate.
pub fn name(arch: Arch, number: u64) -> Option<&'static str> {
    let number = usize::try_from(number).ok()?;
    match arch {
        Arch::X86_64 => syscalls::x86_64::Sysno::new(number).map(|s| s.name()),
        Arch::Aarch64 => syscalls::aarch64::Sysno::new(number).map(|s| s.name()),
    }
}
