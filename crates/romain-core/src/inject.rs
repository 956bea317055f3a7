//! Fault injection specs: one bit flip in one replica, so that anyone can watch detection and
//! repair (`make run INJECT=...`).
//!
//! Syntax (fields separated by `:`):
//!
//! - `reg:R:E:NAME:BIT` flips bit BIT (0–63) of register NAME (as in [`Arch::register_names`])
//!   of replica R (0-based) when it arrives at externalization event E (1-based), before the
//!   master compares: the register the replica carries on with is wrong.
//! - `mem:R:E:ADDR:BIT` flips bit BIT (0–63) of the 64-bit word at ADDR (hex `0x...`, or a symbol
//!   of the program, optionally `SYMBOL+OFFSET`) in replica R's memory when it arrives at event E.
//!   The flip shows only when the program uses the word.
//! - `hang:R:E` makes replica R hang at event E: its system-call instruction there is overwritten
//!   (in its private text) with a jump to itself, and it runs on into that loop instead of
//!   reaching the master; the watchdog (`WATCHDOG_MS`) must notice.
//! - `data:R:E:CHOICE:BIT` and `code:R:E:CHOICE:BIT` flip bit BIT of a word of replica R's
//!   writable memory or of its code, at event E: word number CHOICE (any number, taken modulo
//!   the words there are) of the pages it has then. Campaigns draw CHOICE at random.
//! - `delay:R:TICKS:NAME:BIT` flips bit BIT of register NAME of replica R TICKS counter ticks after
//!   the run started, wherever the replica is then (it is stopped, flipped and resumed).
//! - `result:R:TICKS:BIT` corrupts an instruction's result: TICKS counter ticks after the run
//!   started, replica R is stopped, lets the instruction it is at execute (a breakpoint after it,
//!   in its private code) and has bit BIT of the register that instruction wrote flipped (taken
//!   modulo the width it wrote). An instruction that writes no register (a store, a branch, a
//!   compare) is passed by: the master tries again a little later.
//! - `fpreg:R:E:NAME:BIT` flips bit BIT of FP/SIMD register NAME (aarch64 `q0`–`q31` (bits
//!   0–127), `d0`–`d31`, `s0`–`s31`, `fpsr`, `fpcr`; x86_64 `xmm0`–`xmm15`, `st0`–`st7`, `mxcsr`,
//!   `fcw`, `fsw`; see [`crate::fp::FpName`]) of replica R at event E: in the registers it
//!   carries on with, and so in what the master compares there.
//! - `fpdelay:R:TICKS:NAME:BIT` flips the same TICKS counter ticks after the start, wherever the
//!   replica is then (it is stopped, stores its FP/SIMD registers, has the bit flipped, loads
//!   them back and goes on).
//!
//! In a multithreaded program an event E counts the group's events, whichever thread makes
//! them; `tT.E` instead of E targets thread T's E-th event (threads are numbered from 0 in
//! creation order). A delayed flip hits the thread that runs then.

use core::fmt;

use crate::fp::FpName;
use crate::regs::Arch;

/// Where the bit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Register {
        index: usize,
    },
    Memory {
        addr: Address<'a>,
    },
    /// Word `choice` (modulo their number) of the writable pages, or of the code pages.
    Word {
        code: bool,
        choice: u64,
    },
    Hang,
    /// The register the instruction at hand writes.
    Result,
    /// An FP/SIMD register.
    Fp {
        name: FpName,
    },
}

impl Target<'_> {
    pub fn is_fp(&self) -> bool {
        matches!(self, Target::Fp { .. })
    }
}

/// A memory address: absolute, or a symbol of the program plus an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address<'a> {
    Absolute(u64),
    Symbol { name: &'a str, offset: u64 },
}

/// One injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injection<'a> {
    pub replica: usize,
    /// 1-based externalization event (0 for delayed injections).
    pub event: u64,
    pub target: Target<'a>,
    pub bit: u32,
    /// Counter ticks after the start, instead of an event.
    pub delay: Option<u64>,
    /// A multithreaded program: `event` counts this thread's events (`tT.E` in the spec).
    pub thread: Option<usize>,
}

impl Injection<'_> {
    /// Checks the injection against a group of `replicas` and resolves a memory injection's
    /// address (a symbol through `symbol`, the program's symbol table); 0 for other targets.
    /// The error is the plan's mistake, for the group's `bad-plan`.
    pub fn resolve(
        &self,
        replicas: usize,
        symbol: impl Fn(&str) -> Option<u64>,
    ) -> Result<u64, alloc::string::String> {
        if self.replica >= replicas {
            return Err(alloc::format!(
                "no replica {} in {}",
                self.replica,
                crate::vote::mode_name(replicas)
            ));
        }
        Ok(match self.target {
            Target::Memory {
                addr: Address::Absolute(a),
            } => a,
            Target::Memory {
                addr: Address::Symbol { name, offset },
            } => symbol(name)
                .ok_or_else(|| alloc::format!("the program has no symbol {name:?}"))?
                .wrapping_add(offset),
            Target::Register { .. }
            | Target::Word { .. }
            | Target::Hang
            | Target::Result
            | Target::Fp { .. } => 0,
        })
    }

    /// The injection as a spec that [`parse`] reads back (symbols stay symbols).
    pub fn spec(&self, arch: Arch) -> impl fmt::Display + '_ {
        struct Spec<'s>(&'s Injection<'s>, Arch);
        /// The event field as [`parse`] reads it.
        struct EventField(Option<usize>, u64);
        impl fmt::Display for EventField {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0 {
                    Some(t) => write!(f, "t{t}.{}", self.1),
                    None => write!(f, "{}", self.1),
                }
            }
        }
        impl fmt::Display for Spec<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let (i, arch) = (self.0, self.1);
                let e = EventField(i.thread, i.event);
                let name = |index: usize| arch.register_names()[index];
                match (i.target, i.delay) {
                    (Target::Register { index }, Some(ticks)) => {
                        write!(f, "delay:{}:{ticks}:{}:{}", i.replica, name(index), i.bit)
                    }
                    (Target::Register { index }, None) => {
                        write!(f, "reg:{}:{e}:{}:{}", i.replica, name(index), i.bit)
                    }
                    (Target::Memory { addr }, _) => {
                        write!(f, "mem:{}:{e}:", i.replica)?;
                        match addr {
                            Address::Absolute(a) => write!(f, "{a:#x}")?,
                            Address::Symbol { name, offset: 0 } => f.write_str(name)?,
                            Address::Symbol { name, offset } => write!(f, "{name}+{offset:#x}")?,
                        }
                        write!(f, ":{}", i.bit)
                    }
                    (Target::Word { code, choice }, _) => write!(
                        f,
                        "{}:{}:{e}:{choice}:{}",
                        if code { "code" } else { "data" },
                        i.replica,
                        i.bit
                    ),
                    (Target::Hang, _) => write!(f, "hang:{}:{e}", i.replica),
                    (Target::Fp { name }, Some(ticks)) => {
                        write!(f, "fpdelay:{}:{ticks}:{name}:{}", i.replica, i.bit)
                    }
                    (Target::Fp { name }, None) => {
                        write!(f, "fpreg:{}:{e}:{name}:{}", i.replica, i.bit)
                    }
                    (Target::Result, ticks) => {
                        write!(f, "result:{}:{}:{}", i.replica, ticks.unwrap_or(0), i.bit)
                    }
                }
            }
        }
        Spec(self, arch)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectError<'a> {
    /// Not `reg:...` or `mem:...` with five fields.
    Syntax(&'a str),
    BadNumber(&'a str),
    UnknownRegister(&'a str),
    BitOutOfRange(u32),
    /// A bit past an FP/SIMD register's width (the width given).
    FpBitOutOfRange(u32, u32),
    /// Event numbers start at 1.
    EventZero,
}

impl fmt::Display for InjectError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InjectError::Syntax(s) => write!(
                f,
                "bad injection {s:?}: use reg:REPLICA:EVENT:REGISTER:BIT or mem:REPLICA:EVENT:ADDRESS:BIT"
            ),
            InjectError::BadNumber(s) => write!(f, "{s:?} is not a number"),
            InjectError::UnknownRegister(s) => write!(f, "no register {s:?} on this architecture"),
            InjectError::BitOutOfRange(b) => write!(f, "bit {b} is not in 0..=63"),
            InjectError::FpBitOutOfRange(b, w) => {
                write!(f, "bit {b} is not in 0..={} of that register", w - 1)
            }
            InjectError::EventZero => write!(f, "events are counted from 1"),
        }
    }
}

fn number(s: &str) -> Result<u64, InjectError<'_>> {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| InjectError::BadNumber(s))
}

/// Parses a spec for `arch`.
pub fn parse(spec: &str, arch: Arch) -> Result<Injection<'_>, InjectError<'_>> {
    if let Some(rest) = spec.strip_prefix("hang:") {
        let (replica, event) = rest.split_once(':').ok_or(InjectError::Syntax(spec))?;
        let (thread, event) = event_of(event)?;
        if event == 0 {
            return Err(InjectError::EventZero);
        }
        let replica = number(replica)? as usize;
        return Ok(Injection {
            replica,
            event,
            target: Target::Hang,
            bit: 0,
            delay: None,
            thread,
        });
    }
    if let Some(rest) = spec.strip_prefix("result:") {
        let mut it = rest.split(':');
        let (Some(replica), Some(ticks), Some(bit), None) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(InjectError::Syntax(spec));
        };
        let bit = number(bit)? as u32;
        if bit > 63 {
            return Err(InjectError::BitOutOfRange(bit));
        }
        return Ok(Injection {
            replica: number(replica)? as usize,
            event: 0,
            target: Target::Result,
            bit,
            delay: Some(number(ticks)?),
            thread: None,
        });
    }
    let mut it = spec.split(':');
    let (Some(kind), Some(replica), Some(event), Some(where_), Some(bit), None) = (
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ) else {
        return Err(InjectError::Syntax(spec));
    };
    let replica = number(replica)? as usize;
    let (thread, event) = event_of(event)?;
    if event == 0 {
        return Err(InjectError::EventZero);
    }
    let (event, delay) = if kind == "delay" || kind == "fpdelay" {
        if thread.is_some() {
            // A delayed flip hits the thread that runs then.
            return Err(InjectError::Syntax(spec));
        }
        (0, Some(event))
    } else {
        (event, None)
    };
    let bit = number(bit)? as u32;
    if kind == "fpreg" || kind == "fpdelay" {
        let name = FpName::parse(arch, where_).ok_or(InjectError::UnknownRegister(where_))?;
        if bit >= name.bits {
            return Err(InjectError::FpBitOutOfRange(bit, name.bits));
        }
        return Ok(Injection {
            replica,
            event,
            target: Target::Fp { name },
            bit,
            delay,
            thread,
        });
    }
    if bit > 63 {
        return Err(InjectError::BitOutOfRange(bit));
    }
    let target = match kind {
        "reg" | "delay" => Target::Register {
            index: arch
                .register_index(where_)
                .ok_or(InjectError::UnknownRegister(where_))?,
        },
        "mem" => Target::Memory {
            addr: if where_.starts_with("0x") {
                Address::Absolute(number(where_)?)
            } else {
                let (name, offset) = match where_.split_once('+') {
                    Some((name, offset)) => (name, number(offset)?),
                    None => (where_, 0),
                };
                if name.is_empty() {
                    return Err(InjectError::Syntax(spec));
                }
                Address::Symbol { name, offset }
            },
        },
        "data" | "code" => Target::Word {
            code: kind == "code",
            choice: number(where_)?,
        },
        _ => return Err(InjectError::Syntax(spec)),
    };
    Ok(Injection {
        replica,
        event,
        target,
        bit,
        delay,
        thread,
    })
}

/// An event field: `E`, or `tT.E` (thread T's E-th event).
fn event_of(s: &str) -> Result<(Option<usize>, u64), InjectError<'_>> {
    match s.strip_prefix('t').and_then(|rest| rest.split_once('.')) {
        Some((thread, event)) => Ok((Some(number(thread)? as usize), number(event)?)),
        None => Ok((None, number(s)?)),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn resolving_checks_the_replica_and_finds_the_symbol() {
        let symbols = |name: &str| (name == "SEED").then_some(0x4000);
        fn at(spec: &str) -> Injection<'_> {
            parse(spec, Arch::Aarch64).unwrap()
        }
        assert_eq!(at("mem:2:1:SEED:0").resolve(3, symbols), Ok(0x4000));
        assert_eq!(at("mem:2:1:SEED+8:0").resolve(3, symbols), Ok(0x4008));
        assert_eq!(at("mem:0:1:0x1234:0").resolve(1, symbols), Ok(0x1234));
        assert_eq!(at("reg:1:2:x20:5").resolve(2, symbols), Ok(0));
        assert_eq!(
            at("mem:2:1:SEED:0").resolve(2, symbols),
            Err("no replica 2 in dmr".into())
        );
        assert_eq!(
            at("mem:0:1:NOPE:0").resolve(3, symbols),
            Err("the program has no symbol \"NOPE\"".into())
        );
    }

    use super::*;

    #[test]
    fn register_and_memory_specs_parse() {
        assert_eq!(
            parse("reg:2:3:x5:7", Arch::Aarch64),
            Ok(Injection {
                replica: 2,
                event: 3,
                target: Target::Register { index: 8 },
                bit: 7,
                delay: None,
                thread: None,
            })
        );
        // A thread's own event count, read back as written.
        let at = parse("reg:1:t2.5:x19:3", Arch::Aarch64).unwrap();
        assert_eq!((at.thread, at.event), (Some(2), 5));
        assert_eq!(at.spec(Arch::Aarch64).to_string(), "reg:1:t2.5:x19:3");
        assert!(parse("delay:1:t2.5:x19:3", Arch::Aarch64).is_err());
        assert_eq!(
            parse("reg:1:t2.0:x19:3", Arch::Aarch64),
            Err(InjectError::EventZero)
        );
        assert_eq!(
            parse("reg:0:1:rip:63", Arch::X86_64).unwrap().target,
            Target::Register { index: 0 }
        );
        assert_eq!(
            parse("mem:1:1:0x20f008:0", Arch::X86_64).unwrap().target,
            Target::Memory {
                addr: Address::Absolute(0x20f008)
            }
        );
        assert_eq!(
            parse("mem:1:2:SEED+0x8:12", Arch::Aarch64).unwrap().target,
            Target::Memory {
                addr: Address::Symbol {
                    name: "SEED",
                    offset: 8
                }
            }
        );
    }

    #[test]
    fn campaign_specs_parse_and_print_back() {
        for (spec, arch) in [
            ("data:1:4:123456789:63", Arch::Aarch64),
            ("code:0:2:7:0", Arch::X86_64),
            ("delay:2:50000:sp:3", Arch::Aarch64),
            ("reg:1:2:r12:5", Arch::X86_64),
            ("mem:2:1:SEED:0", Arch::Aarch64),
            ("mem:2:1:SEED+0x8:0", Arch::Aarch64),
            ("mem:0:1:0x20f008:9", Arch::X86_64),
            ("hang:1:3", Arch::X86_64),
            ("result:1:40000:17", Arch::Aarch64),
            ("fpreg:1:3:q5:127", Arch::Aarch64),
            ("fpreg:0:2:d8:63", Arch::Aarch64),
            ("fpreg:2:9:xmm3:100", Arch::X86_64),
            ("fpdelay:1:40000:mxcsr:3", Arch::X86_64),
            ("fpdelay:0:7:fpcr:22", Arch::Aarch64),
        ] {
            let i = parse(spec, arch).unwrap();
            assert_eq!(format!("{}", i.spec(arch)), spec);
        }
        let r = parse("result:1:40000:17", Arch::X86_64).unwrap();
        assert_eq!(
            (r.target, r.delay, r.bit),
            (Target::Result, Some(40000), 17)
        );
        assert_eq!(
            parse("result:1:40000:64", Arch::X86_64),
            Err(InjectError::BitOutOfRange(64))
        );
        assert_eq!(
            parse("fpreg:1:3:d5:64", Arch::Aarch64),
            Err(InjectError::FpBitOutOfRange(64, 64))
        );
        assert_eq!(
            parse("fpreg:1:3:xmm5:1", Arch::Aarch64),
            Err(InjectError::UnknownRegister("xmm5"))
        );
        let f = parse("fpdelay:1:40000:q31:0", Arch::Aarch64).unwrap();
        assert_eq!((f.event, f.delay, f.target.is_fp()), (0, Some(40000), true));
        let d = parse("delay:2:50000:sp:3", Arch::Aarch64).unwrap();
        assert_eq!((d.event, d.delay), (0, Some(50000)));
        assert_eq!(
            parse("code:0:2:7:0", Arch::X86_64).unwrap().target,
            Target::Word {
                code: true,
                choice: 7
            }
        );
    }

    #[test]
    fn hang_specs_parse() {
        let h = parse("hang:1:3", Arch::X86_64).unwrap();
        assert_eq!((h.replica, h.event, h.target), (1, 3, Target::Hang));
        assert_eq!(
            parse("hang:1", Arch::X86_64),
            Err(InjectError::Syntax("hang:1"))
        );
        assert_eq!(parse("hang:1:0", Arch::X86_64), Err(InjectError::EventZero));
    }

    #[test]
    fn bad_specs_say_why() {
        let a = Arch::Aarch64;
        assert_eq!(
            parse("reg:1:2:x5", a),
            Err(InjectError::Syntax("reg:1:2:x5"))
        );
        assert_eq!(
            parse("reg:1:2:x5:1:9", a),
            Err(InjectError::Syntax("reg:1:2:x5:1:9"))
        );
        assert_eq!(
            parse("cpu:1:2:x5:1", a),
            Err(InjectError::Syntax("cpu:1:2:x5:1"))
        );
        assert_eq!(
            parse("reg:1:2:rax:1", a),
            Err(InjectError::UnknownRegister("rax"))
        );
        assert_eq!(
            parse("reg:1:2:x5:64", a),
            Err(InjectError::BitOutOfRange(64))
        );
        assert_eq!(parse("reg:1:0:x5:1", a), Err(InjectError::EventZero));
        assert_eq!(
            parse("reg:one:2:x5:1", a),
            Err(InjectError::BadNumber("one"))
        );
        assert_eq!(
            parse("mem:1:2:+8:1", a),
            Err(InjectError::Syntax("mem:1:2:+8:1"))
        );
        assert!(format!("{}", InjectError::Syntax("x")).contains("reg:REPLICA"));
    }
}
