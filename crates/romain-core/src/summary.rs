//! The result line of a run: `ROMAIN-SUMMARY {json}`, exactly one per run.
//!
//! Host tools and tests parse it; keep field names stable and only add fields.

use core::fmt::{self, Write};

use heapless::Vec;

use crate::vote::MAX_REPLICAS;

/// Prefix of the summary line.
pub use romain_records::SUMMARY as PREFIX;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every replica exited through the exit call, all in agreement.
    Ok,
    /// The program image could not be loaded (malformed ELF, does not fit).
    BadImage,
    /// The plan names a program the image does not contain.
    UnknownApp,
    /// The group ran out of its memory quota while being built or run.
    OutOfMemory,
    /// All replicas agreed on a fault that the master cannot resolve: a bug of the program,
    /// not a hardware fault.
    AppFault,
    /// Replicas differed and could not be outvoted (DMR mismatch, split vote).
    Mismatch,
    /// A replica broke the protocol (a message that cannot be its event).
    ProtocolError,
    /// The master failed to create or drive the group (an seL4 invocation failed).
    MasterError,
    /// The run's injection spec is malformed or names what the program does not have.
    BadPlan,
    /// Replicas did not reach an event in time and no majority could go on without them.
    Hang,
    /// The personality failed performing a call (a panic, an overflow, its heap budget
    /// exhausted): the group ends, the master and the plan go on.
    PersonalityError,
    /// The run used up its budget of events or time (a program that never ends).
    OverBudget,
    /// Every thread of the program waits and none has a timeout: nothing can wake them.
    Deadlock,
    /// A thread ran for the silence bound without a call while others wait on it (or computed
    /// longer than the bound).
    Livelock,
}

impl Status {
    pub const fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::BadImage => "bad-image",
            Status::UnknownApp => "unknown-app",
            Status::OutOfMemory => "out-of-memory",
            Status::AppFault => "app-fault",
            Status::Mismatch => "mismatch",
            Status::ProtocolError => "protocol-error",
            Status::MasterError => "master-error",
            Status::BadPlan => "bad-plan",
            Status::Hang => "hang",
            Status::PersonalityError => "personality-error",
            Status::OverBudget => "over-budget",
            Status::Deadlock => "deadlock",
            Status::Livelock => "livelock",
        }
    }
}

/// Longest error text kept in the summary.
pub const MAX_ERROR: usize = 160;

/// Everything the summary line reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary<'a> {
    pub arch: &'a str,
    pub app: &'a str,
    pub mode: &'a str,
    pub replicas: usize,
    /// The core each replica was pinned to.
    pub cores: Vec<usize, MAX_REPLICAS>,
    /// Externalization events decided (one per point, not per replica).
    pub events: u64,
    /// Words (message words and registers, over all replicas) compared.
    pub compared_words: u64,
    /// FP/SIMD bytes (over all replicas) compared: 0 where the group does not capture them.
    pub fp_bytes: u64,
    pub mismatches: u64,
    pub recoveries: u64,
    /// Mismatches that stopped the group because they could not be corrected (DMR fail-stop).
    pub detected: u64,
    /// DMR rollbacks: both replicas returned to the last agreed event and re-executed.
    pub rollbacks: u64,
    /// What a repair copies: `written` (pages written since the last agreed event) or `all`.
    pub repair: &'a str,
    /// Pages a repair compared between a majority replica and outvoted ones.
    pub pages_compared: u64,
    /// Of those, the pages that differed and were copied.
    pub pages_copied: u64,
    /// Replica page faults the master served without an event: lazy pages mapped and first
    /// writes to write-protected pages.
    pub memory_faults: u64,
    /// Pages the first replica had mapped at the end.
    pub pages: u64,
    /// Accesses to shared memory performed by copy & execute (once each for all replicas).
    pub shm_accesses: u64,
    /// Times the watchdog found replicas late at an event.
    pub watchdog_fired: u64,
    /// What was injected, if the run's injection happened.
    pub injected: Option<heapless::String<MAX_ERROR>>,
    pub exit_code: Option<i64>,
    /// FNV-1a of the program's output.
    pub output_hash: u64,
    /// Guest counter ticks from the start of the first replica to the group's end.
    pub cycles: u64,
    /// Of those, the ticks the master spent handling replica messages (comparing, voting,
    /// repairing, performing calls): divided by `events`, the master's cost per event.
    pub master_cycles: u64,
    /// Frequency of that counter in Hz (0 where unknown).
    pub counter_hz: u64,
    /// CPU time of the replicas (summed) and of the master during the run, as the kernel
    /// accounts it (its timestamp counter: the PMU cycle counter on aarch64, the TSC on x86_64).
    /// Only the debug kernel accounts it (`KERNEL=debug`): `None`, and not printed, otherwise.
    pub replica_cpu: Option<u64>,
    pub master_cpu: Option<u64>,
    /// Which kernel ran: `production` or `debug`.
    pub kernel: &'static str,
    /// The master's seL4 invocations from the replicas' start to the group's end.
    pub invocations: Invocations,
    /// The call ABI the program was run with: `native` or `linux`.
    pub personality: &'static str,
    /// Linux programs: system calls answered ENOSYS (not in the master's table).
    pub linux_enosys: u64,
    /// Files the program wrote (Linux programs), and FNV-1a over their names and contents:
    /// program output, like the console's.
    pub files_written: u64,
    pub files_hash: u64,
    /// A multithreaded program's threads and its schedule.
    pub threads: ThreadCounts,
    pub status: Status,
    /// Human-readable reason when `status` is not ok.
    pub error: heapless::String<MAX_ERROR>,
}

impl<'a> Summary<'a> {
    pub fn new(arch: &'a str, app: &'a str, mode: &'a str, replicas: usize) -> Self {
        Self {
            arch,
            app,
            mode,
            replicas,
            cores: Vec::new(),
            events: 0,
            compared_words: 0,
            fp_bytes: 0,
            mismatches: 0,
            recoveries: 0,
            detected: 0,
            rollbacks: 0,
            repair: "all",
            pages_compared: 0,
            pages_copied: 0,
            memory_faults: 0,
            pages: 0,
            shm_accesses: 0,
            watchdog_fired: 0,
            injected: None,
            exit_code: None,
            output_hash: 0,
            cycles: 0,
            master_cycles: 0,
            counter_hz: 0,
            replica_cpu: None,
            master_cpu: None,
            kernel: "production",
            invocations: Invocations::default(),
            personality: "native",
            linux_enosys: 0,
            files_written: 0,
            files_hash: 0,
            threads: ThreadCounts::default(),
            status: Status::Ok,
            error: heapless::String::new(),
        }
    }

    /// Records what was injected.
    pub fn set_injected(&mut self, what: fmt::Arguments<'_>) {
        let mut text = heapless::String::new();
        let _ = Truncating(&mut text).write_fmt(what);
        self.injected = Some(text);
    }

    /// Records a failure: the first one wins, later ones are consequences.
    pub fn fail(&mut self, status: Status, reason: fmt::Arguments<'_>) {
        if self.status != Status::Ok {
            return;
        }
        self.status = status;
        self.error.clear();
        // Truncation of a long reason is fine: the master logged it in full.
        let _ = Truncating(&mut self.error).write_fmt(reason);
    }
}

/// How many events each thread had (the first [`SHOWN_THREADS`]), and the schedule's digest.
pub const SHOWN_THREADS: usize = 16;

/// A multithreaded program's threads as the summary reports them (printed when it had more
/// than one): what must be the same in every run of the same program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadCounts {
    /// Threads the program had, its first included.
    pub threads: u64,
    /// Times the running thread changed.
    pub switches: u64,
    /// FNV-1a over (event, thread) at every switch: the schedule, in one word.
    pub schedule: u64,
    /// Events decided for each of the first [`SHOWN_THREADS`] threads.
    pub events: Vec<u64, SHOWN_THREADS>,
}

/// seL4 invocations of the master, by kind: what it costs, independent of host and timing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Invocations {
    /// Receives on its endpoints.
    pub recv: u64,
    /// Replies to replicas.
    pub reply: u64,
    pub read_regs: u64,
    pub write_regs: u64,
    /// Frames and translation tables mapped.
    pub map: u64,
    pub retype: u64,
    /// TCB suspend and resume, capability copies and deletes, signals, yields, I/O ports.
    pub other: u64,
    /// Of the total: spent serving page faults (from the receive that brought the fault to the
    /// reply that restarts it), and executing agreed shared accesses in the sandbox.
    pub paging: u64,
    pub shared: u64,
    /// Of the total: spent writing to the console (x86_64's COM1 is I/O ports: per byte).
    pub console: u64,
}

impl Invocations {
    pub fn total(&self) -> u64 {
        self.recv
            + self.reply
            + self.read_regs
            + self.write_regs
            + self.map
            + self.retype
            + self.other
    }

    /// The counts since `earlier`.
    pub fn since(&self, earlier: &Invocations) -> Invocations {
        Invocations {
            recv: self.recv - earlier.recv,
            reply: self.reply - earlier.reply,
            read_regs: self.read_regs - earlier.read_regs,
            write_regs: self.write_regs - earlier.write_regs,
            map: self.map - earlier.map,
            retype: self.retype - earlier.retype,
            other: self.other - earlier.other,
            paging: self.paging - earlier.paging,
            shared: self.shared - earlier.shared,
            console: self.console - earlier.console,
        }
    }

    /// The invocations of events themselves: the total without page service, shared accesses
    /// and console output.
    pub fn of_events(&self) -> u64 {
        self.total() - self.paging - self.shared - self.console
    }
}

struct Truncating<'s, const N: usize>(&'s mut heapless::String<N>);

impl<const N: usize> Write for Truncating<'_, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}

pub use romain_records::JsonStr;

impl fmt::Display for Summary<'_> {
    /// The whole line, prefix included, without a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}{{\"arch\":{},\"app\":{},\"mode\":{},\"replicas\":{},\"cores\":[",
            JsonStr(self.arch),
            JsonStr(self.app),
            JsonStr(self.mode),
            self.replicas
        )?;
        for (i, c) in self.cores.iter().enumerate() {
            write!(f, "{}{c}", if i > 0 { "," } else { "" })?;
        }
        write!(
            f,
            "],\"events\":{},\"compared_words\":{},\"fp_bytes\":{},\"mismatches\":{},\"recoveries\":{},\"detected\":{},\"rollbacks\":{},\"repair\":{},\"pages_compared\":{},\"pages_copied\":{},\"memory_faults\":{},\"pages\":{},\"shm_accesses\":{},\"watchdog_fired\":{},\"injected\":",
            self.events,
            self.compared_words,
            self.fp_bytes,
            self.mismatches,
            self.recoveries,
            self.detected,
            self.rollbacks,
            JsonStr(self.repair),
            self.pages_compared,
            self.pages_copied,
            self.memory_faults,
            self.pages,
            self.shm_accesses,
            self.watchdog_fired
        )?;
        match &self.injected {
            Some(what) => write!(f, "{}", JsonStr(what))?,
            None => f.write_str("null")?,
        }
        f.write_str(",\"exit_code\":")?;
        match self.exit_code {
            Some(code) => write!(f, "{code}")?,
            None => f.write_str("null")?,
        }
        write!(
            f,
            ",\"cycles\":{},\"master_cycles\":{},\"counter_hz\":{},\"kernel\":{}",
            self.cycles,
            self.master_cycles,
            self.counter_hz,
            JsonStr(self.kernel),
        )?;
        let i = &self.invocations;
        write!(
            f,
            ",\"invocations\":{{\"total\":{},\"recv\":{},\"reply\":{},\"read_regs\":{},\"write_regs\":{},\"map\":{},\"retype\":{},\"other\":{},\"paging\":{},\"shared\":{},\"console\":{}}}",
            i.total(),
            i.recv,
            i.reply,
            i.read_regs,
            i.write_regs,
            i.map,
            i.retype,
            i.other,
            i.paging,
            i.shared,
            i.console
        )?;
        if let (Some(replica), Some(master)) = (self.replica_cpu, self.master_cpu) {
            write!(f, ",\"replica_cpu\":{replica},\"master_cpu\":{master}")?;
        }
        write!(f, ",\"personality\":{}", JsonStr(self.personality))?;
        if self.personality == "linux" {
            write!(
                f,
                ",\"linux_enosys\":{},\"files_written\":{},\"files_hash\":\"{:016x}\"",
                self.linux_enosys, self.files_written, self.files_hash
            )?;
        }
        let t = &self.threads;
        if t.threads > 1 {
            write!(
                f,
                ",\"threads\":{},\"switches\":{},\"schedule\":\"{:016x}\",\"thread_events\":[",
                t.threads, t.switches, t.schedule
            )?;
            for (i, n) in t.events.iter().enumerate() {
                write!(f, "{}{n}", if i > 0 { "," } else { "" })?;
            }
            f.write_str("]")?;
        }
        write!(
            f,
            ",\"status\":{},\"error\":{}}}",
            JsonStr(self.status.name()),
            JsonStr(&self.error)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> serde_json::Value {
        let json = line.strip_prefix(PREFIX).expect("prefix");
        serde_json::from_str(json).expect("valid JSON")
    }

    #[test]
    fn a_good_run_is_valid_json_with_every_field() {
        let mut s = Summary::new("aarch64", "hello", "tmr", 3);
        s.cores.extend_from_slice(&[1, 2, 3]).unwrap();
        s.events = 12;
        s.compared_words = 1234;
        s.exit_code = Some(0);
        s.cycles = 99;
        s.counter_hz = 62_500_000;
        let v = parse(&s.to_string());
        assert_eq!(v["arch"], "aarch64");
        assert_eq!(v["replicas"], 3);
        assert_eq!(v["cores"], serde_json::json!([1, 2, 3]));
        assert_eq!(v["events"], 12);
        assert_eq!(v["mismatches"], 0);
        assert_eq!(v["fp_bytes"], 0);
        assert_eq!(v["recoveries"], 0);
        assert_eq!(v["pages_copied"], 0);
        assert_eq!(v["watchdog_fired"], 0);
        assert_eq!(v["detected"], 0);
        assert_eq!(v["rollbacks"], 0);
        assert_eq!(v["repair"], "all");
        assert_eq!(v["injected"], serde_json::Value::Null);
        assert_eq!(v["exit_code"], 0);
        assert_eq!(v["cycles"], 99);
        assert_eq!(v["master_cycles"], 0);
        assert_eq!(v["status"], "ok");
        assert_eq!(v["error"], "");
        assert_eq!(v["invocations"]["total"], 0);
    }

    #[test]
    fn invocations_are_reported_by_kind_with_their_total() {
        let mut s = Summary::new("aarch64", "sha", "tmr", 3);
        let before = Invocations {
            recv: 1,
            ..Invocations::default()
        };
        let after = Invocations {
            recv: 4,
            reply: 3,
            read_regs: 3,
            write_regs: 0,
            map: 2,
            retype: 1,
            other: 5,
            paging: 4,
            shared: 0,
            console: 2,
        };
        s.invocations = after.since(&before);
        let v = parse(&s.to_string());
        assert_eq!(v["invocations"]["total"], 17);
        assert_eq!(v["invocations"]["recv"], 3);
        assert_eq!(v["invocations"]["map"], 2);
        assert_eq!(v["invocations"]["other"], 5);
        assert_eq!(v["invocations"]["paging"], 4);
        assert_eq!(v["invocations"]["console"], 2);
        assert_eq!(s.invocations.of_events(), 11);
    }

    #[test]
    fn the_first_failure_wins_and_text_is_escaped_and_bounded() {
        let mut s = Summary::new("x86_64", "we\"ird\\app", "dmr", 2);
        s.fail(
            Status::AppFault,
            format_args!("vm fault at {:#x}\n\"quoted\"", 0x10),
        );
        s.fail(Status::MasterError, format_args!("later"));
        s.set_injected(format_args!("reg {} bit {}", "x5", 3));
        let v = parse(&s.to_string());
        assert_eq!(v["app"], "we\"ird\\app");
        assert_eq!(v["status"], "app-fault");
        assert_eq!(v["error"], "vm fault at 0x10\n\"quoted\"");
        assert_eq!(v["exit_code"], serde_json::Value::Null);
        assert_eq!(v["injected"], "reg x5 bit 3");

        let mut s = Summary::new("x86_64", "a", "none", 1);
        s.fail(Status::Mismatch, format_args!("{}", "x".repeat(1000)));
        assert_eq!(
            parse(&s.to_string())["error"].as_str().unwrap().len(),
            MAX_ERROR
        );
    }
}
