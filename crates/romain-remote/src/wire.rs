//! The messages between the master and the personality component.
//!
//! Every message is a few words of message registers; bytes go through the exchange buffer
//! ([`romain_abi::personality::EXCHANGE_PAGES`] pages, mapped in both): its first half carries a
//! message's data (bytes read or to write, strings, a file's piece), its second half the effects
//! log ([`crate::outbox`]). The component speaks first: it calls the master with an [`Ask`] and
//! waits; the master answers with an [`Answer`] or, for [`Ask::Ready`] and [`Ask::Done`], with
//! its next [`Request`].
//!
//! The master decodes what the component sends as it decodes a replica's messages: as untrusted
//! input, every length checked ([`WireError`]).

use heapless::Vec as Words;
use romain_abi::MAX_MESSAGE_WORDS;
use romain_core::regs::{Arch, MAX_REGS, RegisterFile};
use romain_linux::emulated::Insn;
use romain_linux::linux::Class;
use romain_protocol::thread::{EXIT_WAKES, Then, ThreadCall, ThreadOp, ThreadView};

/// Bytes of the exchange buffer.
pub const EXCHANGE_LEN: usize = romain_abi::personality::EXCHANGE_PAGES * 4096;
/// Its first half: a message's data.
pub const DATA_LEN: usize = EXCHANGE_LEN / 2;
/// Its second half: the effects log.
pub const LOG_AT: usize = DATA_LEN;
pub const LOG_LEN: usize = EXCHANGE_LEN - DATA_LEN;

/// A message's words.
pub type Message = Words<u64, MAX_MESSAGE_WORDS>;

/// What the master could not take from the component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// A message too short for its kind, or an unknown kind.
    Malformed(u64),
    /// A length past what the buffer or the call allows.
    TooLong(u64),
    /// A register file of the wrong size for the architecture.
    Registers(usize),
    /// An effects-log record that does not parse.
    Log,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WireError::Malformed(op) => write!(f, "a malformed message (kind {op:#x})"),
            WireError::TooLong(n) => write!(f, "a length of {n} bytes past the exchange buffer"),
            WireError::Registers(n) => write!(f, "{n} register words"),
            WireError::Log => write!(f, "a malformed effects log"),
        }
    }
}

mod op {
    pub const READY: u64 = 1;
    pub const FLUSH: u64 = 2;
    pub const READ: u64 = 3;
    pub const WRITE: u64 = 4;
    pub const WRITABLE: u64 = 5;
    pub const GROW: u64 = 6;
    pub const MAP_LAZY: u64 = 7;
    pub const FILE: u64 = 8;
    pub const DONE: u64 = 9;
    pub const ZERO: u64 = 10;

    pub const SETUP: u64 = 0x101;
    pub const PERFORM: u64 = 0x102;

    pub const OK: u64 = 0;
    pub const BAD: u64 = 1;
    pub const OVER: u64 = 2;
    pub const NONE: u64 = 3;
}

/// The component's messages to the master. Each carries the length of the effects log that
/// comes with it (applied first).
// One at a time, consumed at once: no reason to allocate for the registers.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Ready for a request (at its start, and when set up).
    Ready,
    /// Only the effects log (it was full).
    Flush,
    /// `len` bytes (at most [`DATA_LEN`]) of replica `k` at `addr`, into the data half.
    Read { k: usize, addr: u64, len: u64 },
    /// The data half's first `len` bytes at `addr` of every replica.
    Write { addr: u64, len: u64 },
    /// Whether `len` bytes at `addr` can be written (probed in replica `k`).
    Writable { k: usize, addr: u64, len: u64 },
    /// Grow replica `k`'s heap.
    Grow { k: usize, bytes: u64 },
    /// Lazy zero-filled memory for every replica.
    MapLazy { start: u64, end: u64, counted: bool },
    /// `start..end` of every replica zeroed (a mapping made again).
    Zero { start: u64, end: u64 },
    /// The embedded file `index`: its name (into the data half), and where the component sees
    /// its bytes.
    File { index: u64 },
    /// The call is performed.
    Done(Done),
}

/// What a performed call came to, with what it changes in the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub outcome: Outcome,
    /// Calls answered ENOSYS.
    pub enosys: u64,
    pub exit_code: Option<i64>,
    /// At exit: the files the program wrote, and their hash.
    pub files_written: u64,
    pub files_hash: u64,
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every replica continues with these registers.
    Resume(RegisterFile),
    /// The program ended.
    Exit,
    /// A fault of the program after all.
    Fault,
    /// A thread operation for the core.
    Thread(ThreadCall),
}

/// Words a thread operation takes after the calling thread's registers: the result register,
/// the operation and its seven fields (a new thread's registers follow a creation).
const THREAD_WORDS: usize = 9;

fn thread_words(call: &ThreadCall) -> [u64; THREAD_WORDS] {
    let option = |o: Option<u64>| (o.is_some() as u64, o.unwrap_or(0));
    let fields: (u64, [u64; 7]) = match &call.op {
        ThreadOp::Spawn { .. } => (0, [0; 7]),
        ThreadOp::Exit { wake, status } => {
            let mut f = [*status as u64, wake.len() as u64, 0, 0, 0, 0, 0];
            f[2..2 + wake.len()].copy_from_slice(wake);
            (1, f)
        }
        ThreadOp::Wait {
            addr,
            bitset,
            until,
            timed_out,
        } => {
            let (has, at) = option(*until);
            (2, [*addr, u64::from(*bitset), has, at, *timed_out, 0, 0])
        }
        ThreadOp::Wake {
            addr,
            bitset,
            count,
            then,
        } => {
            let then = match *then {
                Then::Nothing => [0, 0, 0, 0],
                Then::Requeue { to, max, counted } => [1, to, u64::from(max), counted as u64],
                Then::Wake { addr, count } => [2, addr, u64::from(count), 0],
            };
            let (b, c) = (u64::from(*bitset), u64::from(*count));
            (3, [*addr, b, c, then[0], then[1], then[2], then[3]])
        }
        ThreadOp::Yield => (4, [0; 7]),
        ThreadOp::Sleep { until } => (5, [*until, 0, 0, 0, 0, 0, 0]),
    };
    let mut w = [0u64; THREAD_WORDS];
    w[0] = call.result as u64;
    w[1] = fields.0;
    w[2..].copy_from_slice(&fields.1);
    w
}

/// A thread operation from its words (after `regs`, the caller's registers), checked: values
/// in range, a result register that exists, a new thread's registers of the right size.
fn thread_call(
    arch: Arch,
    regs: RegisterFile,
    words: &[u64],
    op: u64,
) -> Result<ThreadCall, WireError> {
    let bad = WireError::Malformed(op);
    let w = |i: usize| words.get(i).copied().ok_or(bad);
    let u32_of = |v: u64| u32::try_from(v).map_err(|_| bad);
    let option = |has: u64, v: u64| match has {
        0 => Ok(None),
        1 => Ok(Some(v)),
        _ => Err(bad),
    };
    let result = index(w(0)?, op)?;
    if result >= regs.words().len() {
        return Err(bad);
    }
    let op = match w(1)? {
        0 => {
            let n = regs.words().len();
            let child = words.get(THREAD_WORDS..THREAD_WORDS + n).ok_or(bad)?;
            ThreadOp::Spawn {
                child: registers(arch, child)?,
            }
        }
        1 => {
            let n = usize::try_from(w(3)?).map_err(|_| bad)?;
            if n > EXIT_WAKES {
                return Err(bad);
            }
            ThreadOp::Exit {
                wake: (0..n).map(|i| w(4 + i)).collect::<Result<_, _>>()?,
                status: w(2)? as i64,
            }
        }
        2 => ThreadOp::Wait {
            addr: w(2)?,
            bitset: u32_of(w(3)?)?,
            until: option(w(4)?, w(5)?)?,
            timed_out: w(6)?,
        },
        3 => ThreadOp::Wake {
            addr: w(2)?,
            bitset: u32_of(w(3)?)?,
            count: u32_of(w(4)?)?,
            then: match w(5)? {
                0 => Then::Nothing,
                1 => Then::Requeue {
                    to: w(6)?,
                    max: u32_of(w(7)?)?,
                    counted: w(8)? != 0,
                },
                2 => Then::Wake {
                    addr: w(6)?,
                    count: u32_of(w(7)?)?,
                },
                _ => return Err(bad),
            },
        },
        4 => ThreadOp::Yield,
        5 => ThreadOp::Sleep { until: w(2)? },
        _ => return Err(bad),
    };
    Ok(ThreadCall { op, regs, result })
}

/// The master's answer to an ask that is not [`Ask::Ready`] or [`Ask::Done`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Done; the values the ask returns (a heap's old end; a file's address in the component,
    /// its length and its name's length).
    Ok([u64; 3]),
    /// An address that is not the program's (or not writable).
    Bad(u64),
    /// Past the memory quota.
    OverQuota,
    /// No such file.
    None,
}

/// The master's requests, each the answer to [`Ask::Ready`] or [`Ask::Done`].
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Make the group's personality. The strings are in the data half, in this order.
    Setup(Setup),
    /// Perform the agreed call.
    Perform(Perform),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    pub config: Config,
    pub app_len: u64,
    pub args_len: u64,
    pub stdin_len: Option<u64>,
    pub dump_len: Option<u64>,
}

/// The numbers a group's personality is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Seeds the component's random numbers (drawn by the master: fresh per group).
    pub seed: u64,
    pub brk_base: u64,
    pub quota_mb: u64,
    /// The files' byte budget.
    pub fs_budget: u64,
    pub fp_captured: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Perform {
    /// What the event is: a system call, a vsyscall entry's call, a `cpuid` (never
    /// [`Class::Other`]: that is the program's fault, decided by the master).
    pub class: Class,
    pub leader: usize,
    pub replicas: usize,
    pub counter_hz: u64,
    /// The master's counter when it sent the call: the time every clock read of the call sees.
    pub now: u64,
    pub device: romain_protocol::Device,
    pub regs: RegisterFile,
    /// Bytes of the data half that hold what the call passes by reference, read by the master
    /// from the leading replica ([`crate::prefetch`]): the component needs no message for them.
    pub prefetched: u64,
    pub threads: ThreadView,
}

fn words<const N: usize>(w: [u64; N]) -> Message {
    Message::from_slice(&w).expect("fits")
}

fn option(w: u64) -> Option<u64> {
    w.checked_sub(1)
}

fn get(words: &[u64], i: usize, op: u64) -> Result<u64, WireError> {
    words.get(i).copied().ok_or(WireError::Malformed(op))
}

fn index(w: u64, op: u64) -> Result<usize, WireError> {
    usize::try_from(w).map_err(|_| WireError::Malformed(op))
}

fn data_len(len: u64) -> Result<u64, WireError> {
    if len > DATA_LEN as u64 {
        return Err(WireError::TooLong(len));
    }
    Ok(len)
}

fn registers(arch: Arch, words: &[u64]) -> Result<RegisterFile, WireError> {
    RegisterFile::new(arch, words).ok_or(WireError::Registers(words.len()))
}

impl Ask {
    /// The message, with `log_len` bytes of effects log.
    pub fn encode(&self, log_len: usize) -> Message {
        let log = log_len as u64;
        match self {
            Ask::Ready => words([op::READY, log]),
            Ask::Flush => words([op::FLUSH, log]),
            Ask::Read { k, addr, len } => words([op::READ, log, *k as u64, *addr, *len]),
            Ask::Write { addr, len } => words([op::WRITE, log, *addr, *len]),
            Ask::Writable { k, addr, len } => words([op::WRITABLE, log, *k as u64, *addr, *len]),
            Ask::Grow { k, bytes } => words([op::GROW, log, *k as u64, *bytes]),
            Ask::MapLazy {
                start,
                end,
                counted,
            } => words([op::MAP_LAZY, log, *start, *end, *counted as u64]),
            Ask::Zero { start, end } => words([op::ZERO, log, *start, *end]),
            Ask::File { index } => words([op::FILE, log, *index]),
            Ask::Done(done) => {
                let (kind, regs): (u64, &[u64]) = match &done.outcome {
                    Outcome::Resume(regs) => (0, regs.words()),
                    Outcome::Exit => (1, &[]),
                    Outcome::Fault => (2, &[]),
                    Outcome::Thread(call) => (3, call.regs.words()),
                };
                let mut m = words([
                    op::DONE,
                    log,
                    kind,
                    done.enosys,
                    done.exit_code.map_or(0, |_| 1),
                    done.exit_code.unwrap_or(0) as u64,
                    done.files_written,
                    done.files_hash,
                    regs.len() as u64,
                ]);
                m.extend_from_slice(regs).expect("a register file fits");
                if let Outcome::Thread(call) = &done.outcome {
                    m.extend_from_slice(&thread_words(call))
                        .expect("a thread operation fits");
                    if let ThreadOp::Spawn { child } = &call.op {
                        m.extend_from_slice(child.words())
                            .expect("two register files fit");
                    }
                }
                m
            }
        }
    }

    /// An ask and the length of its effects log, checked: lengths within the buffer, a
    /// register file of `arch`'s size.
    pub fn decode(arch: Arch, words: &[u64]) -> Result<(Ask, usize), WireError> {
        let op = words.first().copied().unwrap_or(0);
        let log = get(words, 1, op)?;
        if log > LOG_LEN as u64 {
            return Err(WireError::TooLong(log));
        }
        let w = |i| get(words, i, op);
        let ask = match op {
            op::READY => Ask::Ready,
            op::FLUSH => Ask::Flush,
            op::READ => Ask::Read {
                k: index(w(2)?, op)?,
                addr: w(3)?,
                len: data_len(w(4)?)?,
            },
            op::WRITE => Ask::Write {
                addr: w(2)?,
                len: data_len(w(3)?)?,
            },
            op::WRITABLE => Ask::Writable {
                k: index(w(2)?, op)?,
                addr: w(3)?,
                len: w(4)?,
            },
            op::GROW => Ask::Grow {
                k: index(w(2)?, op)?,
                bytes: w(3)?,
            },
            op::MAP_LAZY => Ask::MapLazy {
                start: w(2)?,
                end: w(3)?,
                counted: w(4)? != 0,
            },
            op::ZERO => Ask::Zero {
                start: w(2)?,
                end: w(3)?,
            },
            op::FILE => Ask::File { index: w(2)? },
            op::DONE => {
                let n = index(w(8)?, op)?;
                if n > MAX_REGS {
                    return Err(WireError::Registers(n));
                }
                let regs = words.get(9..9 + n).ok_or(WireError::Malformed(op))?;
                let outcome = match w(2)? {
                    0 => Outcome::Resume(registers(arch, regs)?),
                    1 => Outcome::Exit,
                    2 => Outcome::Fault,
                    3 => Outcome::Thread(thread_call(
                        arch,
                        registers(arch, regs)?,
                        &words[9 + n..],
                        op,
                    )?),
                    _ => return Err(WireError::Malformed(op)),
                };
                Ask::Done(Done {
                    outcome,
                    enosys: w(3)?,
                    exit_code: (w(4)? != 0).then_some(w(5)? as i64),
                    files_written: w(6)?,
                    files_hash: w(7)?,
                })
            }
            _ => return Err(WireError::Malformed(op)),
        };
        Ok((ask, log as usize))
    }
}

impl Answer {
    pub fn encode(&self) -> Message {
        match *self {
            Answer::Ok([a, b, c]) => words([op::OK, a, b, c]),
            Answer::Bad(addr) => words([op::BAD, addr]),
            Answer::OverQuota => words([op::OVER]),
            Answer::None => words([op::NONE]),
        }
    }

    pub fn decode(words: &[u64]) -> Option<Answer> {
        let w = |i: usize| words.get(i).copied();
        Some(match w(0)? {
            op::OK => Answer::Ok([w(1)?, w(2)?, w(3)?]),
            op::BAD => Answer::Bad(w(1)?),
            op::OVER => Answer::OverQuota,
            op::NONE => Answer::None,
            _ => return None,
        })
    }
}

impl Request {
    pub fn encode(&self) -> Message {
        match self {
            Request::Setup(s) => words([
                op::SETUP,
                s.config.seed,
                s.config.brk_base,
                s.config.quota_mb,
                s.config.fs_budget,
                s.config.fp_captured as u64,
                s.app_len,
                s.args_len,
                s.stdin_len.map_or(0, |n| n + 1),
                s.dump_len.map_or(0, |n| n + 1),
            ]),
            Request::Perform(p) => {
                let (base, len) = p.device.region.unwrap_or((0, 0));
                let mut m = words([
                    op::PERFORM,
                    match p.class {
                        Class::Syscall | Class::Other => 0,
                        Class::Emulated(Insn::Cpuid) => 1,
                        Class::Emulated(Insn::Rdtsc) => 2,
                        Class::Emulated(Insn::Rdtscp) => 3,
                        Class::Vsyscall(n) => n.saturating_add(4),
                    },
                    p.leader as u64,
                    p.replicas as u64,
                    p.counter_hz,
                    p.now,
                    p.device.region.is_some() as u64,
                    base,
                    len,
                    p.device.rung as u64,
                    p.device.done as u64,
                    p.prefetched,
                    p.threads.current as u64,
                    p.threads.next.map_or(0, |n| n as u64 + 1),
                    p.threads.live as u64,
                    p.regs.words().len() as u64,
                ]);
                m.extend_from_slice(p.regs.words())
                    .expect("a register file fits");
                m
            }
        }
    }

    pub fn decode(arch: Arch, words: &[u64]) -> Result<Request, WireError> {
        let op = words.first().copied().unwrap_or(0);
        let w = |i| get(words, i, op);
        match op {
            op::SETUP => Ok(Request::Setup(Setup {
                config: Config {
                    seed: w(1)?,
                    brk_base: w(2)?,
                    quota_mb: w(3)?,
                    fs_budget: w(4)?,
                    fp_captured: w(5)? != 0,
                },
                app_len: w(6)?,
                args_len: w(7)?,
                stdin_len: option(w(8)?),
                dump_len: option(w(9)?),
            })),
            op::PERFORM => {
                let n = index(w(15)?, op)?;
                let regs = words.get(16..16 + n).ok_or(WireError::Malformed(op))?;
                Ok(Request::Perform(Perform {
                    class: match w(1)? {
                        0 => Class::Syscall,
                        1 => Class::Emulated(Insn::Cpuid),
                        2 => Class::Emulated(Insn::Rdtsc),
                        3 => Class::Emulated(Insn::Rdtscp),
                        n => Class::Vsyscall(n - 4),
                    },
                    leader: index(w(2)?, op)?,
                    replicas: index(w(3)?, op)?,
                    counter_hz: w(4)?,
                    now: w(5)?,
                    device: romain_protocol::Device {
                        region: (w(6)? != 0).then_some((w(7)?, w(8)?)),
                        rung: w(9)? != 0,
                        done: w(10)? != 0,
                    },
                    regs: registers(arch, regs)?,
                    prefetched: data_len(w(11)?)?,
                    threads: ThreadView {
                        current: index(w(12)?, op)?,
                        next: option(w(13)?).map(|n| index(n, op)).transpose()?,
                        live: index(w(14)?, op)?,
                    },
                }))
            }
            _ => Err(WireError::Malformed(op)),
        }
    }
}
