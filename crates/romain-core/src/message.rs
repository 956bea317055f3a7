//! Checking what arrives on the master's endpoint before anything is parsed.
//!
//! Replica calls and kernel fault messages share one endpoint, and on this (non-MCS) kernel a
//! replica's fault endpoint is a capability in its own CSpace: a replica can `Call` it with a
//! fault's label and any length and words. So every message is checked here first: its label
//! names a call or a fault this kernel can raise for a replica thread, its length is exactly
//! that fault's, it carries no capabilities, and the words that the kernel derives from the
//! thread (the faulting pc) agree with the thread's registers. Only then is it an event.
//!
//! A forged fault message that passes is indistinguishable from the fault it describes, and it
//! is treated as that fault: every effect the master has on it uses state the master reads
//! itself (the registers, the replica's own memory), so a forgery gains nothing a real fault of
//! the same kind would not give. Everything else is a [`Malformed`] message, and the replica's
//! group ends with a protocol error naming it. Nothing here panics, whatever the input.

use core::fmt;

use romain_abi::CALL_LABEL_BASE;

use crate::event::EventKind;
use crate::regs::Arch;

/// seL4's fault labels (`seL4_FaultType` of `shared_types.bf`, non-MCS, no hardware debug API).
pub mod label {
    pub const NULL_FAULT: u64 = 0;
    pub const CAP_FAULT: u64 = 1;
    pub const UNKNOWN_SYSCALL: u64 = 2;
    pub const USER_EXCEPTION: u64 = 3;
    /// Only with `CONFIG_HARDWARE_DEBUG_API`, which the master's kernels do not have.
    pub const DEBUG_EXCEPTION: u64 = 4;
    pub const VM_FAULT: u64 = 5;
    /// aarch64 with hypervisor support: faults of VCPUs, which no replica has.
    pub const VGIC_MAINTENANCE: u64 = 6;
    pub const VCPU_FAULT: u64 = 7;
    pub const VPPI_EVENT: u64 = 8;
}

/// Message lengths of the faults (`seL4_*_Length` of libsel4's `constants.h`).
pub mod length {
    pub const VM_FAULT: usize = 4;
    pub const USER_EXCEPTION: usize = 5;
    pub const UNKNOWN_SYSCALL_AARCH64: usize = 13;
    pub const UNKNOWN_SYSCALL_X86_64: usize = 19;
    /// IP, address, receive phase, then the lookup failure: its type and 0–3 more words.
    pub const CAP_FAULT_BASE: usize = 3;
    /// The most message registers a message can have (`seL4_MsgMaxLength`).
    pub const MAX: usize = 120;
}

/// The message header, as the receive returned it (`seL4_MessageInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub label: u64,
    /// Message registers the message says it has.
    pub length: usize,
    pub extra_caps: usize,
    pub caps_unwrapped: usize,
}

/// Why a message is no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// A fault label with a length that fault never has.
    Length {
        fault: &'static str,
        length: usize,
        expected: usize,
    },
    /// A fault label this kernel never sends for a replica thread.
    ImpossibleFault { label: u64 },
    /// A message carrying capabilities: neither calls nor faults do.
    Capabilities { extra: usize, unwrapped: usize },
    /// A capability fault whose lookup-failure type does not match its length.
    LookupFailure { kind: u64, length: usize },
    /// The pc a fault message reports is not where the replica is.
    FaultPc {
        fault: &'static str,
        pc: u64,
        at: u64,
    },
    /// More message registers than exist, or fewer words than the header says.
    Truncated { length: usize, words: usize },
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Malformed::Length {
                fault,
                length,
                expected,
            } => write!(
                f,
                "forged kernel message: {fault} label with length {length} (a real one has {expected})"
            ),
            Malformed::ImpossibleFault { label } => write!(
                f,
                "forged kernel message: fault label {label}, which this kernel never sends for a replica"
            ),
            Malformed::Capabilities { extra, unwrapped } => write!(
                f,
                "message with capabilities ({extra} extra, {unwrapped} unwrapped): no call or fault has any"
            ),
            Malformed::LookupFailure { kind, length } => write!(
                f,
                "forged kernel message: capability fault with lookup failure type {kind} and length {length}"
            ),
            Malformed::FaultPc { fault, pc, at } => write!(
                f,
                "forged kernel message: {fault} at pc {pc:#x}, but the replica is at {at:#x}"
            ),
            Malformed::Truncated { length, words } => {
                write!(f, "message of length {length} with {words} words")
            }
        }
    }
}

/// Whether fault messages of hypervisor support (VCPU faults) exist on this kernel: they are
/// never a replica's, but they are labels of this kernel and not calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernel {
    pub arch: Arch,
    pub hypervisor: bool,
}

impl Kernel {
    /// The kernel's labels that are faults, not calls: everything below the call labels.
    fn fault_name(&self, label: u64) -> Option<&'static str> {
        Some(match label {
            label::NULL_FAULT => "null fault",
            label::CAP_FAULT => "capability fault",
            label::UNKNOWN_SYSCALL => "unknown syscall",
            label::USER_EXCEPTION => "user exception",
            label::DEBUG_EXCEPTION => "debug exception",
            label::VM_FAULT => "vm fault",
            label::VGIC_MAINTENANCE if self.arch == Arch::Aarch64 && self.hypervisor => {
                "VGIC maintenance"
            }
            label::VCPU_FAULT if self.arch == Arch::Aarch64 && self.hypervisor => "VCPU fault",
            label::VPPI_EVENT if self.arch == Arch::Aarch64 && self.hypervisor => "VPPI event",
            _ => return None,
        })
    }

    fn unknown_syscall_length(&self) -> usize {
        match self.arch {
            Arch::Aarch64 => length::UNKNOWN_SYSCALL_AARCH64,
            Arch::X86_64 => length::UNKNOWN_SYSCALL_X86_64,
        }
    }

    /// Checks one message of a replica: its header and its message words (`words`, at least the
    /// header's length of them). Returns the event kind it is, still to be checked against the
    /// replica's pc ([`Message::at`]) once the master read its registers. Labels below the call labels that are no fault (label 0 included) and call
    /// labels that name no call are calls the replica got wrong: `UnknownCall`, answered with an
    /// error, as the replica runtime expects.
    pub fn check(&self, header: Header, words: &[u64]) -> Result<Message, Malformed> {
        if header.length > length::MAX || words.len() < header.length {
            return Err(Malformed::Truncated {
                length: header.length,
                words: words.len(),
            });
        }
        if header.extra_caps != 0 || header.caps_unwrapped != 0 {
            return Err(Malformed::Capabilities {
                extra: header.extra_caps,
                unwrapped: header.caps_unwrapped,
            });
        }
        let label = header.label;
        let call = |kind| {
            Ok(Message {
                kind,
                fault_pc: None,
            })
        };
        if label >= CALL_LABEL_BASE || label == label::NULL_FAULT {
            return call(EventKind::from_call_label(label));
        }
        let Some(fault) = self.fault_name(label) else {
            return call(EventKind::UnknownCall { label });
        };
        let words = &words[..header.length];
        let exact = |expected: usize| {
            if header.length == expected {
                Ok(())
            } else {
                Err(Malformed::Length {
                    fault,
                    length: header.length,
                    expected,
                })
            }
        };
        // The faulting instruction is where the replica stopped: a real fault message names it.
        let at = |kind| {
            Ok(Message {
                kind,
                fault_pc: Some((fault, words[0])),
            })
        };
        match label {
            label::VM_FAULT => {
                exact(length::VM_FAULT)?;
                at(EventKind::VmFault {
                    addr: words[1],
                    prefetch: words[2] != 0,
                    fsr: words[3],
                })
            }
            label::USER_EXCEPTION => {
                exact(length::USER_EXCEPTION)?;
                at(EventKind::UserException {
                    number: words[3],
                    code: words[4],
                })
            }
            label::UNKNOWN_SYSCALL => {
                let n = self.unknown_syscall_length();
                exact(n)?;
                call(EventKind::UnknownSyscall {
                    number: words[n - 1],
                })
            }
            label::CAP_FAULT => {
                // The lookup failure's type (seL4_LookupFailureType + 1 as the kernel stores it:
                // 1 invalid root, 2 missing capability, 3 depth mismatch, 4 guard mismatch) fixes
                // how many words follow it.
                let base = length::CAP_FAULT_BASE;
                if header.length <= base {
                    return Err(Malformed::Length {
                        fault,
                        length: header.length,
                        expected: base + 1,
                    });
                }
                let kind = words[base];
                let expected = match kind {
                    1..=4 => base + kind as usize,
                    _ => 0,
                };
                if expected != header.length {
                    return Err(Malformed::LookupFailure {
                        kind,
                        length: header.length,
                    });
                }
                call(EventKind::CapFault { addr: words[1] })
            }
            // Debug exceptions, VCPU faults: labels of this kernel that no replica thread can
            // raise (no hardware debug API, no VCPUs).
            _ => Err(Malformed::ImpossibleFault { label }),
        }
    }
}

/// seL4's system call numbers (libsel4's generated `syscall.h`, the same in every
/// configuration): the name of `number` as a register holds it. A production kernel has only
/// the first eight (and `SetTLSBase`); a replica using any other raises an unknown-syscall fault.
pub fn syscall_name(number: u64) -> Option<&'static str> {
    const NAMES: [&str; 30] = [
        "Call",
        "ReplyRecv",
        "Send",
        "NBSend",
        "Recv",
        "Reply",
        "Yield",
        "NBRecv",
        "DebugPutChar",
        "DebugDumpScheduler",
        "DebugHalt",
        "DebugCapIdentify",
        "DebugSnapshot",
        "DebugNameThread",
        "DebugSendIPI",
        "DebugGetThreadAffinity",
        "DebugRun",
        "BenchmarkFlushCaches",
        "BenchmarkResetLog",
        "BenchmarkFinalizeLog",
        "BenchmarkSetLogBuffer",
        "BenchmarkNullSyscall",
        "BenchmarkGetThreadUtilisation",
        "BenchmarkResetThreadUtilisation",
        "BenchmarkDumpAllThreadsUtilisation",
        "BenchmarkResetAllThreadsUtilisation",
        "X86DangerousWRMSR",
        "X86DangerousRDMSR",
        "VMEnter",
        "SetTLSBase",
    ];
    let index = (number as i64).checked_neg()?.checked_sub(1)?;
    NAMES.get(usize::try_from(index).ok()?).copied()
}

/// A message that passed the checks of its header and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    pub kind: EventKind,
    /// For faults raised by an instruction (VM faults, user exceptions): the fault's name and
    /// the pc the message reports.
    fault_pc: Option<(&'static str, u64)>,
}

impl Message {
    /// The event, once the replica's pc is known: a fault message must name the instruction the
    /// replica stopped at.
    pub fn at(self, pc: u64) -> Result<EventKind, Malformed> {
        match self.fault_pc {
            Some((fault, reported)) if reported != pc => Err(Malformed::FaultPc {
                fault,
                pc: reported,
                at: pc,
            }),
            _ => Ok(self.kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KERNELS: [Kernel; 3] = [
        Kernel {
            arch: Arch::Aarch64,
            hypervisor: true,
        },
        Kernel {
            arch: Arch::Aarch64,
            hypervisor: false,
        },
        Kernel {
            arch: Arch::X86_64,
            hypervisor: false,
        },
    ];
    const PC: u64 = 0x40_1000;

    fn header(label: u64, length: usize) -> Header {
        Header {
            label,
            length,
            extra_caps: 0,
            caps_unwrapped: 0,
        }
    }

    /// Words a real fault of `label` would carry (the pc first where the fault has one).
    fn words(label: u64) -> [u64; length::MAX] {
        let mut w = [0x5a5a_5a5a; length::MAX];
        w[0] = PC;
        if label == label::CAP_FAULT {
            w[3] = 2; // missing capability: five words
        }
        w
    }

    #[test]
    fn real_fault_messages_are_their_faults() {
        for k in KERNELS {
            let w = words(label::VM_FAULT);
            assert_eq!(
                k.check(header(label::VM_FAULT, 4), &w)
                    .and_then(|m| m.at(PC)),
                Ok(EventKind::VmFault {
                    addr: w[1],
                    prefetch: true,
                    fsr: w[3]
                })
            );
            assert!(matches!(
                k.check(header(label::USER_EXCEPTION, 5), &w)
                    .and_then(|m| m.at(PC)),
                Ok(EventKind::UserException { .. })
            ));
            let n = k.unknown_syscall_length();
            assert!(matches!(
                k.check(header(label::UNKNOWN_SYSCALL, n), &w)
                    .and_then(|m| m.at(PC)),
                Ok(EventKind::UnknownSyscall { .. })
            ));
            let c = words(label::CAP_FAULT);
            assert_eq!(
                k.check(header(label::CAP_FAULT, 5), &c)
                    .and_then(|m| m.at(PC)),
                Ok(EventKind::CapFault { addr: c[1] })
            );
        }
    }

    /// Every label below the call labels (and a few call labels) × every length from 0 to the
    /// maximum and one beyond: the checker answers every one without panicking, accepts a fault
    /// label only at that fault's exact length, and never turns a call label into a fault.
    #[test]
    fn every_label_times_every_length() {
        for k in KERNELS {
            let labels = (0..CALL_LABEL_BASE + 64).chain([u64::MAX, 1 << 51, (1 << 52) - 1]);
            for label in labels {
                for length in 0..=length::MAX + 1 {
                    let w = words(label);
                    let got = k.check(header(label, length), &w).and_then(|m| m.at(PC));
                    if length > length::MAX {
                        assert!(matches!(got, Err(Malformed::Truncated { .. })));
                        continue;
                    }
                    let fault = k.fault_name(label).filter(|_| label != label::NULL_FAULT);
                    match (fault, got) {
                        (None, Ok(EventKind::Call(_) | EventKind::UnknownCall { .. })) => {}
                        (None, other) => panic!("label {label:#x} length {length}: {other:?}"),
                        (Some(_), Ok(kind)) => {
                            let expected = match label {
                                label::VM_FAULT => 4,
                                label::USER_EXCEPTION => 5,
                                label::UNKNOWN_SYSCALL => k.unknown_syscall_length(),
                                label::CAP_FAULT => 5,
                                _ => panic!("label {label} accepted as {kind:?}"),
                            };
                            assert_eq!(length, expected, "label {label} accepted as {kind:?}");
                        }
                        (Some(_), Err(_)) => {}
                    }
                }
            }
        }
    }

    #[test]
    fn capability_faults_follow_their_lookup_failure() {
        let k = KERNELS[2];
        for kind in 0..8u64 {
            for length in 0..=length::MAX {
                let mut w = words(label::CAP_FAULT);
                w[3] = kind;
                let ok = k.check(header(label::CAP_FAULT, length), &w).is_ok();
                assert_eq!(ok, (1..=4).contains(&kind) && length == 3 + kind as usize);
            }
        }
    }

    #[test]
    fn a_fault_pc_that_is_not_the_replicas_is_forged() {
        let k = KERNELS[0];
        let w = words(label::VM_FAULT);
        assert_eq!(
            k.check(header(label::VM_FAULT, 4), &w)
                .and_then(|m| m.at(PC + 4)),
            Err(Malformed::FaultPc {
                fault: "vm fault",
                pc: PC,
                at: PC + 4
            })
        );
    }

    #[test]
    fn capabilities_and_impossible_faults_are_refused() {
        let k = KERNELS[0];
        let w = words(0);
        let mut h = header(CALL_LABEL_BASE, 1);
        h.extra_caps = 1;
        assert!(matches!(
            k.check(h, &w),
            Err(Malformed::Capabilities { .. })
        ));
        for label in [label::DEBUG_EXCEPTION, label::VCPU_FAULT, label::VPPI_EVENT] {
            for length in 0..=length::MAX {
                assert!(k.check(header(label, length), &w).is_err());
            }
        }
        // Without hypervisor support the VCPU labels are no kernel's: unknown calls.
        assert_eq!(
            KERNELS[2]
                .check(header(label::VCPU_FAULT, 1), &w)
                .map(|m| m.kind),
            Ok(EventKind::UnknownCall {
                label: label::VCPU_FAULT
            })
        );
        assert!(matches!(
            k.check(header(label::VM_FAULT, 4), &w[..3]),
            Err(Malformed::Truncated { .. })
        ));
    }

    #[test]
    fn system_call_numbers_have_their_libsel4_names() {
        assert_eq!(syscall_name(-1i64 as u64), Some("Call"));
        assert_eq!(syscall_name(-9i64 as u64), Some("DebugPutChar"));
        assert_eq!(syscall_name(-13i64 as u64), Some("DebugSnapshot"));
        assert_eq!(syscall_name(-30i64 as u64), Some("SetTLSBase"));
        for n in [0, 1, -31i64 as u64, i64::MIN as u64, u64::MAX / 2] {
            assert_eq!(syscall_name(n), None);
        }
    }

    #[test]
    fn every_refusal_reads_as_a_sentence() {
        let k = KERNELS[1];
        let w = words(0);
        let err = k.check(header(label::USER_EXCEPTION, 2), &w).unwrap_err();
        assert_eq!(
            alloc::format!("{err}"),
            "forged kernel message: user exception label with length 2 (a real one has 5)"
        );
    }
}
