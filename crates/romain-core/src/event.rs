//! One replica's externalization event, as the master saw it.
//!
//! Every way a replica leaves its sandbox (a call, a fault, an exit) is an [`Event`]: what kind it
//! is, the message words it carried (call arguments and any buffer the call passes by value) and
//! the replica's complete register file at that point. Two replicas agree on an event only if all
//! three agree to the bit.

use core::fmt;

use heapless::Vec;
use romain_abi::{CALL_LABEL_BASE, Call, MAX_MESSAGE_WORDS};

use crate::fp::{FpDiff, FpState};
use crate::regs::{RegisterDiff, RegisterFile};

/// What a replica did to reach the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A call of the replica runtime ([`romain_abi::Call`]).
    Call(Call),
    /// A call label that names no call.
    UnknownCall { label: u64 },
    /// A virtual-memory fault: the faulting address, the architecture's fault status and whether
    /// it was an instruction fetch.
    VmFault { addr: u64, fsr: u64, prefetch: bool },
    /// An exception the kernel passes to user level (undefined instruction, divide error,
    /// breakpoint, ...): the architecture's exception number and code.
    UserException { number: u64, code: u64 },
    /// A system call the kernel does not know.
    UnknownSyscall { number: u64 },
    /// An invocation of an empty or wrong capability slot.
    CapFault { addr: u64 },
    /// Any other kernel fault message (for example a trapped system-register access on a
    /// hypervisor kernel), by its label.
    OtherFault { label: u64 },
}

impl EventKind {
    /// The kind a call message's label names.
    pub fn from_call_label(label: u64) -> EventKind {
        match Call::from_label(label) {
            Some(call) => EventKind::Call(call),
            None => EventKind::UnknownCall { label },
        }
    }

    /// Whether the replica entered the kernel with a system-call instruction: calls, and the
    /// faults a system call raises (an invalid capability, an unknown system call). Registers the
    /// system-call path does not preserve are not compared for these.
    pub fn entered_by_syscall(&self) -> bool {
        matches!(
            self,
            EventKind::Call(_)
                | EventKind::UnknownCall { .. }
                | EventKind::CapFault { .. }
                | EventKind::UnknownSyscall { .. }
        )
    }

    /// Whether the master's reply completes a call, so the replica goes on after the system-call
    /// instruction (faults restart the faulting instruction instead).
    pub fn is_call(&self) -> bool {
        matches!(self, EventKind::Call(_) | EventKind::UnknownCall { .. })
    }

    /// Whether a message label is a call (as opposed to a kernel fault message).
    pub fn is_call_label(label: u64) -> bool {
        label >= CALL_LABEL_BASE
    }

    /// A short stable name, used in reports and the summary line.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Call(call) => call.name(),
            EventKind::UnknownCall { .. } => "unknown-call",
            EventKind::VmFault { .. } => "vm-fault",
            EventKind::UserException { .. } => "user-exception",
            EventKind::UnknownSyscall { .. } => "unknown-syscall",
            EventKind::CapFault { .. } => "cap-fault",
            EventKind::OtherFault { .. } => "other-fault",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Call(call) => write!(f, "call {}", call.name()),
            EventKind::UnknownCall { label } => write!(f, "unknown call label {label:#x}"),
            EventKind::VmFault {
                addr,
                fsr,
                prefetch,
            } => write!(
                f,
                "vm fault at {addr:#x} (fsr {fsr:#x}{})",
                if *prefetch { ", instruction fetch" } else { "" }
            ),
            EventKind::UserException { number, code } => {
                write!(f, "user exception {number} (code {code:#x})")
            }
            EventKind::UnknownSyscall { number } => match crate::message::syscall_name(*number) {
                Some(name) => write!(
                    f,
                    "unknown syscall {} (seL4_{name}: not in this kernel, or not for replicas)",
                    *number as i64
                ),
                None => write!(f, "unknown syscall {number:#x}"),
            },
            EventKind::CapFault { addr } => write!(f, "capability fault at slot {addr:#x}"),
            EventKind::OtherFault { label } => write!(f, "kernel fault (label {label})"),
        }
    }
}

/// Message words an event carries.
pub type Words = Vec<u64, MAX_MESSAGE_WORDS>;

/// One replica's event: kind, message words, the register file and, where the group captures
/// them, the FP/SIMD registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub words: Words,
    pub regs: RegisterFile,
    pub fp: Option<FpState>,
}

/// The first thing in which two events differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Difference {
    Kind {
        a: EventKind,
        b: EventKind,
    },
    /// Message word `index` (call argument or buffer word) differs; `a`/`b` hold the lengths when
    /// the messages differ in length.
    Word {
        index: usize,
        a: u64,
        b: u64,
    },
    Register(RegisterDiff),
    /// One replica's FP/SIMD state was captured and another's not (`a`: the first's was).
    FpCaptured {
        a: bool,
    },
    Fp(FpDiff),
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Kind { a, b } => write!(f, "event kind: {a} vs {b}"),
            Difference::Word { index, a, b } => {
                write!(f, "message word {index}: {a:#x} vs {b:#x}")
            }
            Difference::Register(d) => write!(f, "register {} (xor {:#x})", d.name(), d.xor),
            Difference::FpCaptured { a } => write!(
                f,
                "FP/SIMD state captured in {} replica only",
                if *a { "the first" } else { "the second" }
            ),
            Difference::Fp(d) => d.fmt(f),
        }
    }
}

impl Event {
    /// An event, with the registers that the system-call instruction clobbers cleared for calls:
    /// they are not the program's state (see [`crate::regs::Arch::syscall_clobbered`]).
    pub fn new(kind: EventKind, words: Words, mut regs: RegisterFile) -> Event {
        if kind.entered_by_syscall() {
            regs.clear_syscall_clobbered();
        }
        Event {
            kind,
            words,
            regs,
            fp: None,
        }
    }

    /// The registers to write into a replica so that it continues from this event exactly as the
    /// replica that made it will: after the system-call instruction for calls (seL4 would restart
    /// the call otherwise), at the faulting instruction for faults.
    pub fn resume_registers(&self) -> RegisterFile {
        let mut regs = self.regs.clone();
        if self.kind.is_call() {
            let arch = regs.arch();
            regs.words_mut()[crate::regs::Arch::PC] += arch.syscall_len();
        }
        regs
    }

    /// Compares everything: kind, every message word, every register.
    pub fn difference(&self, other: &Event) -> Option<Difference> {
        if self.kind != other.kind {
            return Some(Difference::Kind {
                a: self.kind,
                b: other.kind,
            });
        }
        if self.words.len() != other.words.len() {
            return Some(Difference::Word {
                index: self.words.len().min(other.words.len()),
                a: self.words.len() as u64,
                b: other.words.len() as u64,
            });
        }
        if let Some(index) = self
            .words
            .iter()
            .zip(&other.words)
            .position(|(a, b)| a != b)
        {
            return Some(Difference::Word {
                index,
                a: self.words[index],
                b: other.words[index],
            });
        }
        if let Some(d) = self.regs.first_difference(&other.regs) {
            return Some(Difference::Register(d));
        }
        match (&self.fp, &other.fp) {
            (Some(a), Some(b)) => a.first_difference(b).map(Difference::Fp),
            (None, None) => None,
            (a, _) => Some(Difference::FpCaptured { a: a.is_some() }),
        }
    }

    /// Words compared for this event (message words and registers): for the summary.
    pub fn compared_words(&self) -> usize {
        self.words.len() + self.regs.words().len()
    }

    /// FP/SIMD bytes compared for this event: for the summary.
    pub fn fp_bytes(&self) -> usize {
        self.fp.as_ref().map_or(0, |fp| fp.bytes().len())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::regs::Arch;

    pub(crate) fn sample(arch: Arch) -> Event {
        let regs: [u64; 36] = core::array::from_fn(|i| 0x4000 + 8 * i as u64);
        Event {
            kind: EventKind::Call(Call::Write),
            words: Vec::from_slice(&[5, u64::from_le_bytes(*b"hello\0\0\0")]).unwrap(),
            regs: RegisterFile::new(arch, &regs[..arch.num_registers()]).unwrap(),
            fp: None,
        }
    }

    #[test]
    fn identical_events_agree() {
        let e = sample(Arch::Aarch64);
        assert_eq!(e.difference(&e.clone()), None);
    }

    #[test]
    fn kind_word_length_and_register_differences_are_all_found() {
        let a = sample(Arch::X86_64);

        let mut b = a.clone();
        b.kind = EventKind::Call(Call::Exit);
        assert!(matches!(a.difference(&b), Some(Difference::Kind { .. })));

        let mut b = a.clone();
        b.words[1] ^= 1 << 33;
        assert_eq!(
            a.difference(&b),
            Some(Difference::Word {
                index: 1,
                a: a.words[1],
                b: b.words[1]
            })
        );

        let mut b = a.clone();
        b.words.push(0).unwrap();
        assert_eq!(
            a.difference(&b),
            Some(Difference::Word {
                index: 2,
                a: 2,
                b: 3
            })
        );

        let mut b = a.clone();
        b.regs.words_mut()[2] ^= 1; // rflags
        let d = a.difference(&b).unwrap();
        assert_eq!(format!("{d}"), "register rflags (xor 0x1)");

        // FP/SIMD state: compared byte by byte after the registers, and named.
        let mut area = [0u8; crate::fp::X86_64_AREA];
        let mut a = a.clone();
        a.fp = FpState::new(Arch::X86_64, &area);
        let mut b = a.clone();
        assert_eq!(a.difference(&b), None);
        area[160 + 5 * 16 + 9] ^= 0x10;
        b.fp = FpState::new(Arch::X86_64, &area);
        let d = a.difference(&b).unwrap();
        assert_eq!(
            format!("{d}"),
            "FP/SIMD register xmm5 (byte 249, xor 0x1000)"
        );
        b.fp = None;
        assert_eq!(a.difference(&b), Some(Difference::FpCaptured { a: true }));
        assert_eq!(a.fp_bytes(), 512);
    }

    #[test]
    fn calls_ignore_clobbered_registers_and_resume_after_the_syscall() {
        let a = sample(Arch::X86_64);
        let mut regs = a.regs.clone();
        regs.words_mut()[5] = 0x1234; // rcx
        let x = Event::new(a.kind, a.words.clone(), regs.clone());
        let mut regs2 = regs.clone();
        regs2.words_mut()[5] = 0x9999;
        regs2.words_mut()[13] = 0x202; // r11
        let y = Event::new(a.kind, a.words.clone(), regs2);
        assert_eq!(x.difference(&y), None);
        assert_eq!(x.resume_registers().pc(), x.regs.pc() + 2);

        // A capability fault comes from a system call too: the same registers are left out, but
        // it restarts at the system call.
        let cap = EventKind::CapFault { addr: 5 };
        let c = Event::new(cap, Words::new(), regs.clone());
        assert_eq!(c.regs.words()[5], 0);
        assert_eq!(c.resume_registers().pc(), regs.pc());

        // A fault keeps every register and restarts at the faulting instruction.
        let fault = EventKind::VmFault {
            addr: 0,
            fsr: 0,
            prefetch: false,
        };
        let f = Event::new(fault, Words::new(), regs.clone());
        assert_eq!(f.regs.words()[5], 0x1234);
        assert_eq!(f.resume_registers().pc(), regs.pc());

        let arm = sample(Arch::Aarch64);
        let arm = Event::new(arm.kind, arm.words.clone(), arm.regs.clone());
        assert_eq!(arm.resume_registers().pc(), arm.regs.pc() + 4);
    }

    #[test]
    fn labels_split_calls_from_faults() {
        assert!(!EventKind::is_call_label(1));
        assert!(EventKind::is_call_label(Call::Exit.label()));
        assert_eq!(
            EventKind::from_call_label(Call::Exit.label()),
            EventKind::Call(Call::Exit)
        );
        assert_eq!(
            EventKind::from_call_label(CALL_LABEL_BASE + 77),
            EventKind::UnknownCall {
                label: CALL_LABEL_BASE + 77
            }
        );
    }
}
