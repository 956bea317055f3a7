//! The Linux personality: an agreed trap at a rewritten system-call site is decoded by the
//! architecture's table and performed once; every replica gets the result in its registers and
//! the same bytes in its memory.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use romain_core::event::{Event, EventKind};
use romain_core::regs::{Arch, RegisterFile};
use romain_core::summary::Summary;
use romain_protocol::{
    Action, CallScope, Personality, Stop, ThreadCall, ThreadOp, World, program_fault,
};
use romain_records::fnv::{START as FNV_START, continue_with as fnv};
use syscalls::Errno;

use crate::arch;
use crate::context::{Ctx, MAX_IO, iovecs, read_iovec_array};
use crate::emulated::Insn;
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
// Made once per call and consumed at once.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// The value for x0 / rax (a negative errno as Linux returns it).
    Return(u64),
    /// The program ends with this status.
    Exit(i64),
    /// A thread operation for the core; the calling thread's result (when the operation does
    /// not give it) is `value`.
    Thread { op: ThreadOp, value: u64 },
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
    /// Each live thread's own state, by thread number.
    pub threads: alloc::collections::BTreeMap<usize, crate::calls::per_thread::PerThread>,
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
            // The program's first thread.
            threads: [(0, Default::default())].into(),
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

    /// Performs a call `classify` found (not [`Class::Other`]) with the registers it was made
    /// with: once for all replicas, through `cx`. Used in place (this crate's [`Personality`])
    /// and by the personality component, which gets the class from the master.
    pub fn perform_call<W: World>(
        &mut self,
        class: Class,
        regs: &RegisterFile,
        cx: &mut CallScope<'_, '_, W>,
    ) -> Performed {
        match class {
            Class::Other => Performed::Fault,
            Class::Vsyscall(number) => self.vsyscall(number, regs, cx),
            Class::Emulated(insn) => {
                Performed::Resume(crate::emulated::answer(insn, regs, cx.shell.now()))
            }
            Class::Syscall => {
                let call = arch::decode(regs);
                // A call may set a register besides its result (arch_prctl: the FS base).
                let mut regs = regs.clone();
                let outcome = match table::lookup(self.arch, call.number) {
                    None => self.enosys(call.number, cx.summary),
                    Some(c) => {
                        table::dispatch(c, &call.args, self, &mut Ctx { calls: cx }, &mut regs)
                    }
                };
                match outcome {
                    Outcome::Return(value) => Performed::Resume(arch::returned(&regs, value)),
                    Outcome::Thread { op, value } => Performed::Thread(ThreadCall {
                        op,
                        regs: arch::returned(&regs, value),
                        result: arch::result_register(self.arch),
                    }),
                    Outcome::Exit(code) => {
                        cx.summary.exit_code = Some(code);
                        self.report_files(cx);
                        Performed::Exit
                    }
                }
            }
        }
    }

    /// Emulates a vsyscall entry point as Linux does: the call with the program's argument
    /// registers, then a return to the caller (the address on top of the stack).
    fn vsyscall<W: World>(
        &mut self,
        number: u64,
        regs: &RegisterFile,
        cx: &mut CallScope<'_, '_, W>,
    ) -> Performed {
        let args = arch::decode(regs).args;
        let mut out_regs = regs.clone();
        let mut ret = [0u8; 8];
        let leader = cx.leader;
        let sp = regs.sp();
        if cx.shell.read_memory(leader, sp, &mut ret).is_err() {
            return Performed::Fault;
        }
        let outcome = match table::lookup(self.arch, number) {
            Some(c) => table::dispatch(c, &args, self, &mut Ctx { calls: cx }, &mut out_regs),
            None => self.enosys(number, cx.summary),
        };
        let Outcome::Return(value) = outcome else {
            return Performed::Fault;
        };
        // The result in rax (Linux leaves rcx and r11 as they were), back at the caller.
        let mut out = arch::returned(&out_regs, value);
        let w = out.words_mut();
        let before = out_regs.words();
        for i in [X86_RCX, X86_R11] {
            w[i] = before[i];
        }
        w[Arch::PC] = u64::from_le_bytes(ret);
        w[Arch::SP] = sp.wrapping_add(8);
        Performed::Resume(out)
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
        fingerprint(self.arch, &self.sites, k, event, shell)
    }

    fn perform<W: World>(&mut self, event: &Event, mut cx: CallScope<'_, '_, W>) -> Action {
        let class = classify(self.arch, &self.sites, event);
        match self.perform_call(class, &event.regs, &mut cx) {
            Performed::Resume(regs) => Action::Resume(regs),
            Performed::Exit => Action::End,
            Performed::Fault => program_fault(event, cx),
            Performed::Thread(call) => Action::Thread(call),
        }
    }

    fn finish(&self, _summary: &Summary<'_>) -> Result<(), Stop> {
        Ok(())
    }

    fn call_name(&self, event: &Event) -> Option<&'static str> {
        call_name(self.arch, &self.sites, event)
    }

    /// The master cannot read or write another thread's FP/SIMD registers (issue 15 brings
    /// them into the comparison).
    fn unrepaired(&self) -> Option<&'static str> {
        unrepaired(self.fp_captured)
    }
}

/// What a repair cannot restore for a Linux program.
pub fn unrepaired(fp_captured: bool) -> Option<&'static str> {
    (!fp_captured).then_some("FP/SIMD state (not captured: FP=off)")
}

/// What an event of a Linux program is, decided from the event and the rewritten sites alone
/// (no state of the personality): the master decides it, the personality performs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The trap at a rewritten system-call site.
    Syscall,
    /// A call of the legacy x86_64 vsyscall page (an instruction fetch there faults): the
    /// system call it makes.
    Vsyscall(u64),
    /// An x86_64 instruction that reads the core (rewritten into the trap): answered once for
    /// all replicas.
    Emulated(Insn),
    /// Anything else: a fault of the program.
    Other,
}

/// What [`Linux::perform_call`] came to.
// Made once per call and consumed at once: no reason to allocate for the registers.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Performed {
    /// Every replica continues with these registers.
    Resume(RegisterFile),
    /// The program ended (the exit code is in the summary).
    Exit,
    /// A fault of the program after all (a vsyscall whose return address is not the
    /// program's): [`program_fault`].
    Fault,
    /// A thread operation for the core.
    Thread(ThreadCall),
}

pub fn classify(arch: Arch, sites: &Sites, event: &Event) -> Class {
    match event.kind {
        EventKind::UserException { number, .. }
            if arch::is_trap(arch, number)
                && let Some(insn) = sites.emulated(event.regs.pc()) =>
        {
            Class::Emulated(insn)
        }
        EventKind::UserException { number, .. }
            if arch::is_trap(arch, number) && sites.contains(event.regs.pc()) =>
        {
            Class::Syscall
        }
        EventKind::VmFault { addr, .. } if arch == Arch::X86_64 && addr == event.regs.pc() => {
            crate::vdso::vsyscall(addr).map_or(Class::Other, Class::Vsyscall)
        }
        _ => Class::Other,
    }
}

/// The name of the call `event` makes, if it is a system call.
pub fn call_name(arch: Arch, sites: &Sites, event: &Event) -> Option<&'static str> {
    match classify(arch, sites, event) {
        Class::Syscall => Some(name_of(arch, &event.regs)),
        Class::Vsyscall(number) => Some(table::name(arch, number).unwrap_or("an unknown call")),
        Class::Emulated(insn) => Some(insn.name()),
        Class::Other => None,
    }
}

/// The name of the system call `regs` make at a trap.
pub fn name_of(arch: Arch, regs: &RegisterFile) -> &'static str {
    table::name(arch, arch::decode(regs).number).unwrap_or("an unknown call")
}

/// A hash of what replica `k`'s call passes by reference (the table's inputs), read by the
/// master from the replica's memory: `None` when it passes nothing.
pub fn fingerprint<W: World>(
    arch: Arch,
    sites: &Sites,
    k: usize,
    event: &Event,
    shell: &mut W,
) -> Option<u64> {
    if classify(arch, sites, event) != Class::Syscall {
        return None;
    }
    let call = arch::decode(&event.regs);
    let inputs = table::lookup(arch, call.number)?.inputs(&call.args);
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
