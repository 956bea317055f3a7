//! Fuzzing the Linux personality as the protocol drives it: for every call, each replica's
//! [`Personality::fingerprint`] and then [`Personality::perform`], with arbitrary call numbers
//! (mostly the table's, on both architectures), arbitrary argument registers (mostly values
//! that matter: 0, small numbers, pointers into the program's memory and just before its end,
//! descriptors, flags, `u64::MAX`, `1 << 63`), arbitrary memory contents, and sequences of
//! calls against one group's state. After every call:
//!
//! - nothing panicked (a panic is a failed case);
//! - the personality wrote no memory outside the program's without answering EFAULT (the fake
//!   memory refuses and counts such writes), and mapped nothing outside the mapping area or
//!   over memory mapped before;
//! - the file store's owned bytes are within its budget and its tables agree
//!   ([`FileSystem::verify`]); the mappings do not overlap each other or the free ranges;
//! - every replica computed the same fingerprint and has the same memory (at the end).
//!
//! Cases: `PROPTEST_CASES` (100 by default, to keep `cargo test` fast). At volume, in release
//! with the overflow checks kept (docs/linux.md):
//! `CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true
//! PROPTEST_CASES=200000 cargo test -p romain-linux --release --test fuzz`.

mod common;

use common::*;
use proptest::prelude::*;
use romain_core::regs::Arch;
use romain_core::summary::Summary;
use romain_linux::fs::FileSystem;
use romain_linux::linux::{Linux, MMAP_AREA};
use romain_linux::table::LinuxCall;
use romain_protocol::{Action, CallScope, Device, Personality, ThreadView};

const EFAULT: i64 = -14;
const REPLICAS: usize = 2;
/// Most bytes one call moves (`context::MAX_IO`).
const MAX_IO: u64 = 1 << 20;

/// Cases per property: `PROPTEST_CASES`, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An embedded file as large as the largest budget here (copy on write runs out of room).
static BIG: [u8; 1 << 20] = [0x5a; 1 << 20];

/// Paths at fixed places of the data pages, `PATH_AT + 16 * i`.
const PATHS: [&str; 8] = ["f", "/d/h", "new", "d", "/", "big", "d/../f", "n2"];
const PATH_AT: u64 = DATA;
/// Where the arbitrary words go (iovec arrays, timespecs, ...).
const WORDS_AT: u64 = DATA + 0x100;
/// Where a well-formed iovec array goes (after the words).
const IOV_AT: u64 = DATA + 0x300;

/// A call: one of the table's (by its index in [`LinuxCall::ALL`]) or any number.
#[derive(Debug, Clone)]
enum Number {
    Table(usize),
    Raw(u64),
}

/// How often a call of the table comes: the files and memory calls most, the calls that end
/// the program seldom (they end the sequence).
fn weight(call: LinuxCall) -> u32 {
    use LinuxCall::*;
    match call {
        Exit | ExitGroup | Kill | Tgkill => 1,
        Read | Write | Readv | Writev | Pread64 | Pwrite64 | Openat | Open | Close | Lseek
        | Ftruncate | Truncate | Unlink | Unlinkat | Rename | Renameat | Dup | Dup2 | Dup3
        | Fcntl | Mmap | Munmap | Mremap | Brk | Fstat => 40,
        _ => 8,
    }
}

fn number() -> impl Strategy<Value = Number> {
    let table: Vec<(u32, BoxedStrategy<Number>)> = (0..LinuxCall::ALL.len())
        .map(|i| (weight(LinuxCall::ALL[i]), Just(Number::Table(i)).boxed()))
        .collect();
    prop_oneof![
        30 => proptest::strategy::Union::new_weighted(table),
        1 => (0u64..500).prop_map(Number::Raw),
        1 => any::<u64>().prop_map(Number::Raw),
    ]
}

/// An argument: a [`value`] of any kind, or (`typed`) one of the kind its name in the table
/// asks for, drawn with `seed` (see [`typed`]).
#[derive(Debug, Clone)]
struct Arg {
    value: u64,
    seed: u64,
    typed: bool,
}

fn arg() -> impl Strategy<Value = Arg> {
    (value(), any::<u64>(), proptest::bool::weighted(0.85)).prop_map(|(value, seed, typed)| Arg {
        value,
        seed,
        typed,
    })
}

/// The names of a table call's arguments, from its signature.
fn arg_names(call: LinuxCall) -> Vec<&'static str> {
    let sig = call.signature();
    let Some(inner) = sig.split_once('(').map(|(_, rest)| rest) else {
        return Vec::new();
    };
    let inner = inner.strip_suffix(')').unwrap_or(inner);
    inner
        .split(',')
        .map(|a| a.split(':').next().unwrap_or("").trim())
        .filter(|a| !a.is_empty())
        .collect()
}

/// A value of the kind argument `name` of `call` takes, drawn with `seed`: descriptors that
/// may be open, paths that may exist, buffers in the program's memory, well-formed iovec
/// arrays, lengths around the files' and the budget's sizes, the flags the calls know.
fn typed(call: LinuxCall, name: &str, seed: u64) -> u64 {
    use LinuxCall::*;
    let pick = |list: &[u64]| list[(seed % list.len() as u64) as usize];
    let s = seed >> 8;
    match (call, name) {
        (Openat | Open, "flags") => pick(&[
            0, 0o1101, 0o102, 0o2101, 0o2102, 0o302, 0o1102, 2, 1, 0o200000,
        ]),
        (Mmap, "flags") => pick(&[0x22, 0x22, 0x02, 0x02, 0x32, 0x12, 0x100022, 0x21]),
        (Mremap, "flags") => pick(&[1, 1, 0, 3]),
        (Mmap, "addr") | (Mremap | Munmap | Mprotect | Madvise, "old" | "addr") => {
            pick(&[
                0,
                MMAP_AREA.start,
                MMAP_AREA.start + PAGE,
                MMAP_AREA.start + 16 * PAGE,
            ]) + (s % 4) * PAGE
        }
        (Mmap | Munmap | Mprotect | Madvise, "len") | (Mremap, "old_len" | "new_len") => pick(&[
            PAGE,
            2 * PAGE,
            16 * PAGE,
            300 * PAGE,
            1,
            5000,
            MAX_IO + PAGE,
        ]),
        (Mmap, "offset") => (s % 3) * PAGE,
        (Mmap, "prot") => 3,
        (Brk, "addr") => HEAP + pick(&[0, 1, PAGE, 10_000, 40 * PAGE, 1 << 30]) + s % 64,
        (Lseek, "offset") => pick(&[0, 1, 7, 5000, MAX_IO, (-3i64) as u64, 1 << 20]) + s % 3,
        (Lseek, "whence") => s % 4,
        (Pread64 | Pwrite64, "at") => {
            pick(&[
                0,
                3,
                5000,
                1 << 19,
                MAX_IO - 100,
                MAX_IO - 1,
                2 * MAX_IO - 100,
            ]) + s % 9
        }
        (Ftruncate | Truncate, "length") => pick(&[
            0,
            3,
            100,
            4999,
            5001,
            MAX_IO - 4,
            MAX_IO,
            3 * MAX_IO,
            1 << 62,
        ]),
        (Dup2 | Dup3, "to") => 3 + s % 6,
        (_, "fd" | "dirfd" | "olddir" | "newdir") => {
            pick(&[3, 3, 3, 4, 4, 5, 6, 0, 1, 2, -100i64 as u64])
        }
        (_, "name" | "from" | "to") => PATH_AT + 16 * (s % PATHS.len() as u64),
        (Readv | Writev, "iov") => IOV_AT,
        (Readv | Writev, "count") => s % 10,
        (_, "buf") => DATA + 0x1000 + pick(&[0, 1, 0x800, 0x3000, 15 * PAGE - 0x1000 - 40]),
        (_, "count" | "size" | "len") => {
            pick(&[0, 1, 3, 100, 4096, 5000, 64 << 10, 300 << 10, MAX_IO]) + s % 2
        }
        (_, "req" | "new" | "act" | "set" | "ts" | "tv" | "old" | "res" | "usage") => {
            WORDS_AT + 8 * (s % 32)
        }
        _ => pick(&[0, 1, 2, 3, 6, 9, 15, 64]),
    }
}

/// A register value: mostly one that means something to some call.
fn value() -> impl Strategy<Value = u64> {
    let end = DATA + 16 * PAGE;
    prop_oneof![
        4 => Just(0u64),
        6 => 0u64..8,
        3 => 0u64..6000,
        5 => (0u64..8).prop_map(|i| PATH_AT + 16 * i),
        3 => (0u64..64).prop_map(|i| WORDS_AT + 8 * i),
        4 => (0u64..16 * PAGE).prop_map(|o| DATA + o),
        3 => (1u64..64).prop_map(move |o| end - o),
        2 => (0u64..8 * PAGE).prop_map(|o| HEAP + o),
        2 => (0u64..64).prop_map(|p| MMAP_AREA.start + p * PAGE),
        1 => (0u64..2 * PAGE).prop_map(|o| MMAP_AREA.start + o),
        1 => Just(CODE),
        2 => (1u64..300).prop_map(|p| p * PAGE),
        1 => prop_oneof![Just(MAX_IO), Just(MAX_IO + 1), Just(MAX_IO - 1)],
        // Open, mmap and mremap flags; AT_FDCWD.
        2 => prop_oneof![
            Just(0o1101u64), Just(0o102), Just(0o2101), Just(0o302), Just(0o2), Just(0o200000),
            Just(0x22), Just(0x32), Just(0x02), Just(0x12), Just(0x100022), Just(1),
        ],
        1 => Just(-100i64 as u64),
        3 => prop_oneof![
            Just(u64::MAX), Just(1u64 << 63), Just(i64::MAX as u64), Just(1u64 << 62),
            Just(u64::MAX - PAGE + 1), Just((1u64 << 63) - 1 - 100),
        ],
        1 => (1u64..4096).prop_map(|d| u64::MAX - d),
        1 => (1u64..4096).prop_map(|d| (-(d as i64)) as u64),
        2 => any::<u64>(),
    ]
}

/// Memory the program has: words at [`WORDS_AT`] and bytes anywhere in its data pages.
#[derive(Debug, Clone)]
struct Memory {
    words: Vec<(u64, u64)>,
    bytes: Vec<(u64, Vec<u8>)>,
    /// iovec entries at [`IOV_AT`] (buffers in the data pages, a few of any kind).
    iov: Vec<(u64, u64)>,
}

fn memory() -> impl Strategy<Value = Memory> {
    (
        proptest::collection::vec((0u64..64, value()), 0..48),
        proptest::collection::vec(
            (
                0x400u64..16 * PAGE,
                proptest::collection::vec(any::<u8>(), 0..48),
            ),
            0..8,
        ),
        proptest::collection::vec(
            prop_oneof![
                8 => (0x1000u64..15 * PAGE, 0u64..6000).prop_map(|(o, n)| (DATA + o, n)),
                1 => (0u64..8, 0u64..8).prop_map(|(o, n)| (HEAP + o * PAGE, MAX_IO - n)),
                1 => (value(), value()),
            ],
            0..10,
        ),
    )
        .prop_map(|(words, bytes, iov)| Memory { words, bytes, iov })
}

/// A group of [`REPLICAS`] as the protocol sees it, with the Linux personality.
struct Machine {
    arch: Arch,
    linux: Linux,
    fake: Fake,
    summary: Summary<'static>,
    device: Device,
    /// Alone, or one of three threads (the thread calls then go to the core).
    threads: ThreadView,
}

impl Machine {
    fn new(arch: Arch, quota_mb: u64, memory: &Memory) -> Machine {
        let files: &[(&str, &'static [u8])] =
            &[("f", b"contents"), ("d/h", &BIG[..5000]), ("big", &BIG)];
        let run = Invocation {
            stdin: Some("f"),
            ..Default::default()
        };
        let linux = Linux::new(
            arch,
            sites(arch),
            FileSystem::new(files, &run),
            HEAP,
            quota_mb,
            None,
        );
        let mut fake = Fake::new(arch, REPLICAS, 1024);
        for (i, p) in PATHS.iter().enumerate() {
            let mut b = p.as_bytes().to_vec();
            b.push(0);
            fake.poke(PATH_AT + 16 * i as u64, &b);
        }
        for &(slot, word) in &memory.words {
            fake.poke(WORDS_AT + 8 * slot, &word.to_le_bytes());
        }
        for (i, (base, len)) in memory.iov.iter().enumerate() {
            fake.poke(IOV_AT + 16 * i as u64, &base.to_le_bytes());
            fake.poke(IOV_AT + 16 * i as u64 + 8, &len.to_le_bytes());
        }
        for (at, bytes) in &memory.bytes {
            let room = (16 * PAGE - at) as usize;
            fake.poke(DATA + at, &bytes[..bytes.len().min(room)]);
        }
        Machine {
            arch,
            linux,
            fake,
            summary: Summary::new(arch.name(), "fuzz", "dmr", REPLICAS),
            device: Device::default(),
            threads: if memory.words.len() & 1 == 0 {
                ThreadView::SINGLE
            } else {
                ThreadView {
                    current: 1,
                    next: Some(3),
                    live: 3,
                }
            },
        }
    }

    /// Performs one call; its result, or `None` when the program ended.
    fn call(&mut self, number: u64, args: &[u64; 6]) -> Option<i64> {
        let event = trap_event(self.arch, call_regs(self.arch, 1, number, args));
        let prints: Vec<Option<u64>> = (0..REPLICAS)
            .map(|k| self.linux.fingerprint(k, &event, &mut self.fake))
            .collect();
        assert!(
            prints.windows(2).all(|w| w[0] == w[1]),
            "replicas with the same memory hash differently: {prints:?}"
        );
        let refused = self.fake.rejected_writes;
        let mapped = self.fake.lazy_maps.len();
        let scope = CallScope {
            shell: &mut self.fake,
            summary: &mut self.summary,
            device: &mut self.device,
            replicas: REPLICAS,
            leader: 0,
            counter_hz: 1_000_000,
            threads: self.threads,
        };
        // Linux ignores a tid address it cannot write (clone's, a thread's exit's).
        let mut ignores_bad_tid_address = false;
        let result = match self.linux.perform(&event, scope) {
            Action::Resume(regs) => {
                let pc = CODE + 16 + romain_linux::arch::trap_len(self.arch);
                assert_eq!(regs.pc(), pc, "the call returns past its trap");
                Some(result_of(&regs))
            }
            Action::End => None,
            // Clone, futex, exit, yield, sleep: the core's to perform; the caller's result
            // (a new thread's tid) is in its registers.
            Action::Thread(call) => {
                ignores_bad_tid_address = true;
                let pc = CODE + 16 + romain_linux::arch::trap_len(self.arch);
                assert_eq!(call.regs.pc(), pc, "the call returns past its trap");
                Some(result_of(&call.regs))
            }
            other => panic!("a Linux call answered {other:?}"),
        };
        if self.fake.rejected_writes > refused && !ignores_bad_tid_address {
            assert_eq!(
                result,
                Some(EFAULT),
                "call {number} {args:x?} tried to write outside the program's memory"
            );
        }
        self.check_maps(mapped);
        let fs = &self.linux.fs;
        assert!(
            fs.owned_bytes() <= fs.budget(),
            "files hold {} bytes, the budget is {}",
            fs.owned_bytes(),
            fs.budget()
        );
        if let Err(e) = fs.verify() {
            panic!("the file tables disagree after call {number} {args:x?}: {e}");
        }
        result
    }

    /// The lazy mappings made since `before` lie in the mapping area, page-aligned, over no
    /// earlier one; the personality's mappings and free ranges do not overlap.
    fn check_maps(&self, before: usize) {
        let maps = &self.fake.lazy_maps;
        for (i, r) in maps.iter().enumerate().skip(before) {
            assert!(r.start < r.end, "an empty or inverted mapping {r:x?}");
            assert!(
                MMAP_AREA.start <= r.start && r.end <= MMAP_AREA.end,
                "a mapping outside the mapping area: {r:x?}"
            );
            assert!(r.start % PAGE == 0 && r.end % PAGE == 0, "{r:x?}");
            for earlier in &maps[..i] {
                assert!(
                    r.end <= earlier.start || earlier.end <= r.start,
                    "{r:x?} maps over {earlier:x?}"
                );
            }
        }
        let linux = &self.linux;
        let mut last_end = MMAP_AREA.start;
        for (&s, &e) in &linux.maps {
            assert!(
                last_end <= s && s < e && e <= linux.next_map,
                "{:x?}",
                linux.maps
            );
            last_end = e;
        }
        for (i, f) in linux.free.iter().enumerate() {
            assert!(MMAP_AREA.start <= f.start && f.start < f.end && f.end <= linux.next_map);
            for (&s, &e) in &linux.maps {
                assert!(
                    f.end <= s || e <= f.start,
                    "free {f:x?} is mapped at {s:x}..{e:x}"
                );
            }
            for g in &linux.free[..i] {
                assert!(
                    f.end <= g.start || g.end <= f.start,
                    "free {f:x?} and {g:x?}"
                );
            }
        }
        assert!(linux.brk_base <= linux.brk && linux.brk_base <= linux.grown);
    }

    fn finish(&self) {
        let names: Vec<&str> = self.linux.fs.written().map(|(n, _)| n).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        let (a, b) = (&self.fake.replicas[0], &self.fake.replicas[1]);
        assert!(a.pages == b.pages, "the replicas' memories differ");
    }
}

/// Open flags the cases start with: read-write, created, appending, read-only, truncating.
const OPEN_FLAGS: [u64; 5] = [0o102, 0o102, 0o2102, 0, 0o1102];

fn run(
    x86: bool,
    quota_mb: u64,
    memory: &Memory,
    opens: &[(u64, usize)],
    calls: &[(Number, [Arg; 6])],
) {
    let arch = if x86 { Arch::X86_64 } else { Arch::Aarch64 };
    let mut m = Machine::new(arch, quota_mb, memory);
    // Descriptors to work on from the start (3, 4, ... when the opens succeed).
    let openat = LinuxCall::Openat.number(arch).unwrap_or(0);
    for &(path, flags) in opens {
        let name = PATH_AT + 16 * path;
        m.call(
            openat,
            &[-100i64 as u64, name, OPEN_FLAGS[flags], 0o644, 0, 0],
        );
    }
    for (number, args) in calls {
        let mut regs: [u64; 6] = std::array::from_fn(|i| args[i].value);
        let number = match *number {
            Number::Table(i) => {
                let call = LinuxCall::ALL[i];
                for (r, (name, a)) in regs.iter_mut().zip(arg_names(call).iter().zip(args)) {
                    if a.typed {
                        *r = typed(call, name, a.seed);
                    }
                }
                call.number(arch).unwrap_or(1000 + i as u64)
            }
            Number::Raw(n) => n,
        };
        if m.call(number, &regs).is_none() {
            break;
        }
    }
    m.finish();
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(100),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        max_shrink_iters: 20_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_sequence_of_calls_keeps_memory_files_and_budget_sound(
        x86 in any::<bool>(),
        quota_mb in prop_oneof![1 => Just(0u64), 4 => Just(1), 2 => Just(2)],
        memory in memory(),
        opens in proptest::collection::vec((0..PATHS.len() as u64, 0..OPEN_FLAGS.len()), 0..5),
        calls in proptest::collection::vec(
            (number(), proptest::array::uniform6(arg())), 1..50),
    ) {
        run(x86, quota_mb, &memory, &opens, &calls);
    }
}
