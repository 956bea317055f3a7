//! The Linux personality: an agreed trap at a rewritten system-call site is decoded by the
//! architecture's table and performed once; every replica gets the result in its registers and
//! the same bytes in its memory.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use romain_core::event::{Event, EventKind};
use romain_core::regs::Arch;
use romain_core::summary::Summary;
use romain_protocol::{Action, CallScope, Personality, Stop, World, program_fault};
use romain_records::fnv::{START as FNV_START, continue_with as fnv};
use syscalls::Errno;

use crate::arch;
use crate::context::{Ctx, MAX_IO, iovecs, read_iovec_array};
use crate::fs::FileSystem;
use crate::rewrite::Sites;
use crate::table::{self, Input, PATH_MAX};

/// Where anonymous and file mappings go (below the master's shared region at 0x20_0000_0000).
pub const MMAP_AREA: Range<u64> = 0x10_0000_0000..0x1f_0000_0000;
/// The stack: its top, and how far down it may grow (mapped on first touch). Below 2^39: the
/// smallest user address space of the kernels here (aarch64 with a 40-bit physical space).
pub const STACK_TOP: u64 = 0x7f_0000_0000;
pub const STACK_SIZE: u64 = 8 << 20;

/// What a call comes to.
pub enum Outcome {
    /// The value for x0 / rax (a negative errno as Linux returns it).
    Return(u64),
    /// The program ends with this status.
    Exit(i64),
}

impl From<Result<u64, Errno>> for Outcome {
    fn from(r: Result<u64, Errno>) -> Self {
        Outcome::Return(match r {
            Ok(v) => v,
            Err(e) => (-(e.into_raw() as i64)) as u64,
        })
    }
}

/// A Linux program's group state.
pub struct Linux {
    pub arch: Arch,
    pub sites: Sites,
    pub fs: FileSystem,
    /// The program break: where it starts, where the program put it, and how far the replicas'
    /// heap was grown (memory above `brk` and below `grown` is zeroed before it is handed out
    /// again).
    pub brk_base: u64,
    pub brk: u64,
    pub grown: u64,
    /// Mapped ranges of [`MMAP_AREA`] (start → end), free ranges for reuse, and where fresh
    /// ones start.
    pub maps: alloc::collections::BTreeMap<u64, u64>,
    pub free: Vec<Range<u64>>,
    pub next_map: u64,
    /// The descriptor's file name to print at exit (`DUMP=`).
    pub dump: Option<String>,
    enosys_logged: heapless::Vec<u64, 32>,
    pub quota_mb: u64,
    /// The thread's name (prctl PR_SET_NAME, PR_GET_NAME): NUL-padded, 15 bytes at most.
    pub comm: [u8; 16],
    /// Process or thread creations refused (fork, vfork, clone), logged at the first.
    pub refused_forks: u64,
    /// The group captures the FP/SIMD state at every event (compared, repaired, rolled back).
    pub fp_captured: bool,
}

impl Linux {
    /// The group's state; the files' own copies get the memory quota (`quota_mb`) as their
    /// byte budget ([`FileSystem::set_budget`]).
    pub fn new(
        arch: Arch,
        sites: Sites,
        mut fs: FileSystem,
        brk_base: u64,
        quota_mb: u64,
        dump: Option<String>,
    ) -> Self {
        fs.set_budget(quota_mb.saturating_mul(1 << 20));
        Linux {
            arch,
            sites,
            fs,
            brk_base,
            brk: brk_base,
            grown: brk_base,
            maps: Default::default(),
            free: Vec::new(),
            next_map: MMAP_AREA.start,
            dump,
            enosys_logged: heapless::Vec::new(),
            quota_mb,
            comm: [0; 16],
            refused_forks: 0,
            fp_captured: false,
        }
    }

    /// The thread's first name: the program's (argv[0] without its directory), as Linux takes
    /// it from the executed file's name.
    pub fn set_comm(&mut self, argv0: &str) {
        let base = argv0.rsplit('/').next().unwrap_or(argv0).as_bytes();
        let n = base.len().min(15);
        self.comm = [0; 16];
        self.comm[..n].copy_from_slice(&base[..n]);
    }

    /// Whether `event` is a system call: the trap at a rewritten site.
    fn syscall_of(&self, event: &Event) -> Option<arch::Syscall> {
        match event.kind {
            EventKind::UserException { number, .. }
                if arch::is_trap(self.arch, number) && self.sites.contains(event.regs.pc()) =>
            {
                Some(arch::decode(&event.regs))
            }
            _ => None,
        }
    }

    /// Whether `event` is a call of the legacy x86_64 vsyscall page (an instruction fetch
    /// there faults): the system call it makes.
    fn vsyscall_of(&self, event: &Event) -> Option<u64> {
        match event.kind {
            EventKind::VmFault { addr, .. }
                if self.arch == Arch::X86_64 && addr == event.regs.pc() =>
            {
                crate::vdso::vsyscall(addr)
            }
            _ => None,
        }
    }

    /// Emulates a vsyscall entry point as Linux does: the call with the program's argument
    /// registers, then a return to the caller (the address on top of the stack).
    fn vsyscall<W: World>(
        &mut self,
        number: u64,
        event: &Event,
        mut cx: CallScope<'_, '_, W>,
    ) -> Action {
        let args = arch::decode(&event.regs).args;
        let mut regs = event.regs.clone();
        let mut ret = [0u8; 8];
        let leader = cx.leader;
        let sp = event.regs.sp();
        if cx.shell.read_memory(leader, sp, &mut ret).is_err() {
            return program_fault(event, cx);
        }
        let outcome = match table::lookup(self.arch, number) {
            Some(c) => table::dispatch(c, &args, self, &mut Ctx { calls: &mut cx }, &mut regs),
            None => self.enosys(number, cx.summary),
        };
        let Outcome::Return(value) = outcome else {
            return program_fault(event, cx);
        };
        // The result in rax (Linux leaves rcx and r11 as they were), back at the caller.
        let mut out = arch::returned(&regs, value);
        let w = out.words_mut();
        let before = regs.words();
        for i in [X86_RCX, X86_R11] {
            w[i] = before[i];
        }
        w[Arch::PC] = u64::from_le_bytes(ret);
        w[Arch::SP] = sp.wrapping_add(8);
        Action::Resume(out)
    }

    fn enosys(&mut self, number: u64, summary: &mut Summary<'_>) -> Outcome {
        summary.linux_enosys += 1;
        if !self.enosys_logged.contains(&number) && self.enosys_logged.push(number).is_ok() {
            log::warn!(
                "Linux system call {number} ({}) not supported: ENOSYS (logged once per number)",
                table::name(self.arch, number).unwrap_or("unknown")
            );
        }
        Outcome::Return((-(Errno::ENOSYS.into_raw() as i64)) as u64)
    }
}

impl Personality for Linux {
    fn fingerprint<W: World>(&mut self, k: usize, event: &Event, shell: &mut W) -> Option<u64> {
        let call = self.syscall_of(event)?;
        let inputs = table::lookup(self.arch, call.number)?.inputs(&call.args);
        if inputs.is_empty() {
            return None;
        }
        let mut hash = FNV_START;
        for input in inputs {
            match input {
                Input::Bytes { addr, len } => {
                    hash_range(shell, k, addr, len.min(MAX_IO), &mut hash, false);
                }
                Input::Fixed { addr, size } if addr != 0 => {
                    hash_range(shell, k, addr, size, &mut hash, false);
                }
                Input::Fixed { .. } => {}
                Input::Str(addr) => {
                    hash_range(shell, k, addr, PATH_MAX as u64, &mut hash, true);
                }
                Input::Iov { addr, count } | Input::IovArray { addr, count } => {
                    // The array and the buffers as the call takes them (`context::iovecs`):
                    // at most MAX_IO bytes in all, up to the first buffer it cannot read.
                    let parsed = read_iovec_array(shell, k, addr, count)
                        .and_then(|raw| Ok((iovecs(&raw)?, raw)));
                    let Ok((list, raw)) = parsed else {
                        hash = fnv(hash, BAD);
                        continue;
                    };
                    hash = fnv(hash, &raw);
                    if matches!(input, Input::Iov { .. }) {
                        for (base, len) in list {
                            if !hash_range(shell, k, base, len, &mut hash, false) {
                                break;
                            }
                        }
                    }
                }
            }
        }
        Some(hash)
    }

    fn perform<W: World>(&mut self, event: &Event, mut cx: CallScope<'_, '_, W>) -> Action {
        if let Some(number) = self.vsyscall_of(event) {
            return self.vsyscall(number, event, cx);
        }
        let Some(call) = self.syscall_of(event) else {
            return program_fault(event, cx);
        };
        // A call may set a register besides its result (arch_prctl: the FS base).
        let mut regs = event.regs.clone();
        let outcome = match table::lookup(self.arch, call.number) {
            None => self.enosys(call.number, cx.summary),
            Some(c) => table::dispatch(c, &call.args, self, &mut Ctx { calls: &mut cx }, &mut regs),
        };
        match outcome {
            Outcome::Return(value) => Action::Resume(arch::returned(&regs, value)),
            Outcome::Exit(code) => {
                cx.summary.exit_code = Some(code);
                self.report_files(&mut cx);
                Action::End
            }
        }
    }

    fn finish(&self, _summary: &Summary<'_>) -> Result<(), Stop> {
        Ok(())
    }

    fn call_name(&self, event: &Event) -> Option<&'static str> {
        let call = self.syscall_of(event)?;
        Some(table::name(self.arch, call.number).unwrap_or("an unknown call"))
    }

    /// The master cannot read or write another thread's FP/SIMD registers (issue 15 brings
    /// them into the comparison).
    fn unrepaired(&self) -> Option<&'static str> {
        (!self.fp_captured).then_some("FP/SIMD state (not captured: FP=off)")
    }
}

impl Linux {
    /// At exit: one line per file the program wrote (name, size, hash), and the files in the
    /// summary's output; `DUMP=` prints one file's bytes as hex between markers.
    fn report_files<W: World>(&self, cx: &mut CallScope<'_, '_, W>) {
        let mut all = FNV_START;
        for (name, data) in self.fs.written() {
            let hash = data.chunks(0, data.len()).fold(FNV_START, fnv);
            cx.shell.end_line();
            let size = usize::try_from(data.len()).unwrap_or(usize::MAX);
            log::info!("{}", romain_records::FileLine { name, size, hash });
            all = fnv(fnv(all, name.as_bytes()), &hash.to_le_bytes());
            cx.summary.files_written += 1;
        }
        cx.summary.files_hash = all;
        if let Some(want) = &self.dump {
            let name = self.fs.resolve(want);
            match self.fs.file(&name) {
                Some(f) => {
                    let data = &f.data;
                    log::info!("{}{name} {}", romain_records::DUMP_BEGIN, data.len());
                    // Lines of 64 bytes: the pieces (blocks) are whole lines but the last.
                    let lines = data
                        .chunks(0, data.len())
                        .flat_map(|piece| piece.chunks(64));
                    for line in lines {
                        let mut hex = heapless::String::<128>::new();
                        for b in line {
                            let _ = core::fmt::Write::write_fmt(&mut hex, format_args!("{b:02x}"));
                        }
                        log::info!("{}{hex}", romain_records::DUMP);
                    }
                    log::info!("{}{name}", romain_records::DUMP_END);
                }
                None => log::warn!("DUMP={want}: the program has no such file"),
            }
        }
    }
}

/// rcx and r11 in the x86_64 register file (seL4_UserContext order).
const X86_RCX: usize = 5;
const X86_R11: usize = 13;

/// What a range the call cannot read hashes as (the call answers EFAULT for it).
const BAD: &[u8] = b"\xffbad";

/// Hashes `len` bytes of replica `k` at `addr` into `hash`, a page at a time (the lengths are
/// the program's, the master's heap is small; callers cap them as the call does). A range the
/// call cannot read (a bad page, a wrapping end) hashes as [`BAD`] alone, as the call reads none
/// of it: `false` then. `until_nul`: a string, up to its NUL.
fn hash_range<W: World>(
    shell: &mut W,
    k: usize,
    addr: u64,
    len: u64,
    hash: &mut u64,
    until_nul: bool,
) -> bool {
    let Some(end) = addr.checked_add(len) else {
        *hash = fnv(*hash, BAD);
        return false;
    };
    let mut buf = [0u8; 4096];
    let mut h = *hash;
    let mut at = addr;
    while at < end {
        let n = (4096 - at % 4096).min(end - at) as usize;
        let chunk = &mut buf[..n];
        if shell.read_memory(k, at, chunk).is_err() {
            *hash = fnv(*hash, BAD);
            return false;
        }
        let nul = until_nul
            .then(|| chunk.iter().position(|&b| b == 0))
            .flatten();
        h = fnv(h, &chunk[..nul.map_or(n, |i| i + 1)]);
        if nul.is_some() {
            break;
        }
        at += n as u64;
    }
    *hash = h;
    true
}
