//! The personality as a component, on the host: a group driven through the master's proxy, the
//! component's server in a thread of its own, the link a pair of channels and a shared buffer.
//! The same calls give the same results, memory, output and summary as the personality in
//! place; a component that fails or sends garbage ends its group with `personality-error`.

#[path = "../../romain-linux/tests/common/mod.rs"]
mod common;

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use romain_core::regs::Arch;
use romain_core::summary::Status;
use romain_protocol::{Flow, Stop};
use romain_remote::Buffer;
use romain_remote::outbox::Outbox;
use romain_remote::proxy::{Proxy, SharedFile, Start};
use romain_remote::remote::Link;
use romain_remote::server::{self, Switches};
use romain_remote::wire::{Config, DATA_LEN, EXCHANGE_LEN, Message};

#[derive(Clone)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Buffer for Shared {
    fn with<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
}

/// The component's link: a channel each way.
struct ThreadLink {
    to_master: mpsc::Sender<Vec<u64>>,
    from_master: mpsc::Receiver<Vec<u64>>,
    buffer: Shared,
    outbox: Outbox,
}

impl Link for ThreadLink {
    fn call(&mut self, words: &[u64]) -> Message {
        if self.to_master.send(words.to_vec()).is_err() {
            return Message::new();
        }
        match self.from_master.recv() {
            Ok(w) => Message::from_slice(&w).unwrap(),
            Err(_) => Message::new(),
        }
    }
    fn with_buffer<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        self.buffer.with(f)
    }
    fn with_outbox<R>(&mut self, f: impl FnOnce(&mut Outbox) -> R) -> R {
        f(&mut self.outbox)
    }
    /// The master shares its embedded files' bytes: here, the same process's statics.
    fn shared(&mut self, addr: u64, len: u64) -> &'static [u8] {
        let (_, bytes) = FILES
            .iter()
            .find(|(_, b)| b.as_ptr() as u64 == addr && b.len() as u64 == len)
            .expect("a file the master shares");
        bytes
    }
}

/// The embedded files as the proxy offers them.
fn shared_files(files: &'static [(&'static str, &'static [u8])]) -> Vec<SharedFile> {
    files
        .iter()
        .map(|(name, bytes)| SharedFile {
            name,
            addr: bytes.as_ptr() as u64,
            len: bytes.len() as u64,
        })
        .collect()
}

fn gone() -> Stop {
    Stop::new(Status::PersonalityError, "the component ended")
}

/// A component serving in a thread: the shell's side of the link, and the buffer.
fn spawn(arch: Arch, switches: Switches) -> (Component, Shared) {
    let buffer = Shared(Arc::new(Mutex::new(vec![0; EXCHANGE_LEN])));
    let (to_master, from_component) = mpsc::channel();
    let (to_component, from_master) = mpsc::channel();
    let theirs = buffer.clone();
    std::thread::spawn(move || {
        let mut link = ThreadLink {
            to_master,
            from_master,
            buffer: theirs,
            outbox: Outbox::default(),
        };
        server::run(&mut link, arch, &switches);
    });
    let shell: Component = Box::new(move |send, receive| {
        if let Some(words) = send {
            to_component.send(words.to_vec()).map_err(|_| gone())?;
        }
        let words = from_component
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| gone())?;
        receive[..words.len()].copy_from_slice(&words);
        Ok(words.len())
    });
    (shell, buffer)
}

fn start() -> Start {
    Start {
        config: Config {
            seed: 1,
            brk_base: HEAP,
            quota_mb: 1,
            fs_budget: 1 << 20,
            fp_captured: false,
        },
        app: String::new(),
        args: String::new(),
        stdin: None,
        dump: None,
    }
}

/// A rig whose component's messages are counted.
fn counted(arch: Arch) -> (Rig<Proxy<Shared>>, std::rc::Rc<std::cell::Cell<usize>>) {
    let (mut shell, buffer) = spawn(arch, Switches::default());
    let count = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = count.clone();
    let mut fake = Fake::new(arch, 3, 256);
    fake.component = Some(Box::new(move |send, receive| {
        seen.set(seen.get() + 1);
        shell(send, receive)
    }));
    let proxy = Proxy::new(arch, sites(arch), buffer, shared_files(FILES), start());
    (Rig::around(arch, 3, proxy, fake), count)
}

/// A rig whose personality runs in a component, with `files`.
fn remote(
    arch: Arch,
    n: usize,
    files: &'static [(&'static str, &'static [u8])],
) -> Rig<Proxy<Shared>> {
    remote_with(arch, n, files, Switches::default())
}

fn remote_with(
    arch: Arch,
    n: usize,
    files: &'static [(&'static str, &'static [u8])],
    switches: Switches,
) -> Rig<Proxy<Shared>> {
    let (shell, buffer) = spawn(arch, switches);
    let mut fake = Fake::new(arch, n, 256);
    fake.component = Some(shell);
    let proxy = Proxy::new(arch, sites(arch), buffer, shared_files(files), start());
    Rig::around(arch, n, proxy, fake)
}

const FILES: &[(&str, &[u8])] = &[("/in.txt", b"the embedded input\n")];

/// Both rigs make the same calls; every result, the memory, the output and the summary agree.
fn same<P: romain_protocol::Personality>(
    a: &mut Rig,
    b: &mut Rig<P>,
    name: &str,
    args: &[u64],
) -> i64 {
    let number = nr(a.arch, name);
    let ra = a.call(number, args).unwrap();
    let rb = b.call(number, args).unwrap();
    assert_eq!(ra, rb, "{name}{args:x?}");
    for k in 0..a.fake.replicas.len() {
        assert_eq!(
            a.fake.replicas[k].pages, b.fake.replicas[k].pages,
            "{name}: memory"
        );
        assert_eq!(
            a.fake.replicas[k].regs, b.fake.replicas[k].regs,
            "{name}: registers"
        );
    }
    assert_eq!(a.fake.out, b.fake.out, "{name}: output");
    ra.1
}

#[test]
fn calls_in_the_component_do_what_they_do_in_place() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let mut a = Rig::with_quota(arch, 3, FILES, &Invocation::parse("", "", None), 1);
        let mut b = remote(arch, 3, FILES);
        let s = |rig: &mut Rig, b: &mut Rig<Proxy<Shared>>, at: u64, text: &str| {
            let mut bytes = text.as_bytes().to_vec();
            bytes.push(0);
            rig.fake.poke(at, &bytes);
            b.fake.poke(at, &bytes);
            at
        };
        let cwd = (-100i64) as u64;
        s(&mut a, &mut b, DATA, "hello, world\n");
        assert_eq!(same(&mut a, &mut b, "write", &[1, DATA, 13]), 13);
        // An embedded file read whole.
        let p = s(&mut a, &mut b, DATA + 0x100, "/in.txt");
        let fd = same(&mut a, &mut b, "openat", &[cwd, p, 0, 0]) as u64;
        assert_eq!(same(&mut a, &mut b, "read", &[fd, DATA + 0x200, 100]), 19);
        same(&mut a, &mut b, "write", &[1, DATA + 0x200, 19]);
        same(&mut a, &mut b, "fstat", &[fd, DATA + 0x400]);
        same(&mut a, &mut b, "close", &[fd]);
        // A file written, read back, listed.
        let p = s(&mut a, &mut b, DATA + 0x100, "/tmp/out");
        let fd = same(&mut a, &mut b, "openat", &[cwd, p, 0o102, 0o600]) as u64;
        same(&mut a, &mut b, "write", &[fd, DATA, 13]);
        same(&mut a, &mut b, "lseek", &[fd, 2, 0]);
        same(&mut a, &mut b, "read", &[fd, DATA + 0x600, 64]);
        // Memory: the break, a mapping of 256 KiB, 200 KiB through a file in pieces.
        let brk = same(&mut a, &mut b, "brk", &[0]) as u64;
        same(&mut a, &mut b, "brk", &[brk + 3 * PAGE]);
        let map = same(
            &mut a,
            &mut b,
            "mmap",
            &[0, 256 << 10, 3, 0x22, u64::MAX, 0],
        ) as u64;
        for i in 0..50u64 {
            let text = format!("{i:04} {}", "x".repeat(4090));
            s(&mut a, &mut b, map + i * PAGE, &text);
        }
        same(&mut a, &mut b, "lseek", &[fd, 0, 0]);
        assert_eq!(
            same(&mut a, &mut b, "write", &[fd, map, 200 << 10]),
            200 << 10
        );
        same(&mut a, &mut b, "lseek", &[fd, 0, 0]);
        let read = same(&mut a, &mut b, "read", &[fd, map + (8 << 10), 200 << 10]);
        assert_eq!(read, 200 << 10);
        // A mapping made again over part of it (MAP_FIXED) reads as zeros, in one request; over
        // memory never mapped it is ENOMEM.
        same(
            &mut a,
            &mut b,
            "mmap",
            &[map + PAGE + 8, 0, 3, 0x32, u64::MAX, 0],
        );
        assert_eq!(
            same(
                &mut a,
                &mut b,
                "mmap",
                &[map + PAGE, 3 * PAGE, 3, 0x32, u64::MAX, 0]
            ) as u64,
            map + PAGE
        );
        let after = a.fake.peek(0, map + 4 * PAGE, 4);
        assert_eq!(after, b.fake.peek(0, map + 4 * PAGE, 4));
        assert_ne!(after, [0; 4], "the page after the mapping untouched");
        for rig in [&a.fake, &b.fake] {
            assert_eq!(rig.peek(0, map, 4), b"0000");
            assert!(
                rig.peek(0, map + PAGE, 3 * PAGE as usize)
                    .iter()
                    .all(|&x| x == 0)
            );
        }
        same(
            &mut a,
            &mut b,
            "mmap",
            &[0x7000_0000_0000, PAGE, 3, 0x32, u64::MAX, 0],
        );
        // Bad pointers: EFAULT, nothing written.
        same(&mut a, &mut b, "read", &[fd, 0xdead_0000, 10]);
        same(&mut a, &mut b, "write", &[1, u64::MAX - 3, 10]);
        // Vectors, the clock, names, directories, an unknown call.
        let iov = DATA + 0x800;
        for (i, (base, len)) in [(DATA, 6u64), (DATA + 0x200, 4)].iter().enumerate() {
            let entry = [base.to_le_bytes(), len.to_le_bytes()].concat();
            a.fake.poke(iov + 16 * i as u64, &entry);
            b.fake.poke(iov + 16 * i as u64, &entry);
        }
        same(&mut a, &mut b, "writev", &[1, iov, 2]);
        same(&mut a, &mut b, "clock_gettime", &[1, DATA + 0x900]);
        same(&mut a, &mut b, "uname", &[DATA + 0xa00]);
        let d = s(&mut a, &mut b, DATA + 0x100, "/tmp/d");
        same(&mut a, &mut b, "mkdirat", &[cwd, d, 0o755]);
        let dfd = same(&mut a, &mut b, "openat", &[cwd, d, 0o200000, 0]) as u64;
        same(&mut a, &mut b, "getdents64", &[dfd, DATA + 0x1000, 4096]);
        let (ra, rb) = (a.call(999, &[]).unwrap(), b.call(999, &[]).unwrap());
        assert_eq!(ra, rb);
        // The end: the exit code, the files written, the ENOSYS count.
        let number = nr(arch, "exit_group");
        let (fa, fb) = (a.call(number, &[3]).unwrap(), b.call(number, &[3]).unwrap());
        assert_eq!((fa.0, fb.0), (Flow::End, Flow::End));
        assert_eq!(a.fake.out, b.fake.out);
        for s in [&a.summary, &b.summary] {
            assert_eq!(s.exit_code, Some(3));
        }
        assert_eq!(a.summary.files_written, b.summary.files_written);
        assert_eq!(a.summary.files_hash, b.summary.files_hash);
        assert_eq!(a.summary.linux_enosys, b.summary.linux_enosys);
        assert_eq!(a.summary.linux_enosys, 1);
        assert_eq!(a.summary.status, Status::Ok);
    }
}

/// Threads: creation, the tid word, a wait that switches, a wake-op, a sleep, a timed wait and
/// thread exit give the component's results, memory, registers and schedule as in place.
#[test]
fn thread_calls_in_the_component_do_what_they_do_in_place() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let mut a = Rig::with_quota(arch, 2, FILES, &Invocation::parse("", "", None), 1);
        let mut b = remote(arch, 2, FILES);
        let tid_word = DATA + 0x20;
        let clone_args = |stack: u64| match arch {
            Arch::X86_64 => [0x3d0f00, stack, tid_word, tid_word, 0x7000],
            Arch::Aarch64 => [0x3d0f00, stack, tid_word, 0x7000, tid_word],
        };
        let timeout = [0u64.to_le_bytes(), 3_000_000u64.to_le_bytes()].concat();
        a.fake.poke(DATA + 0x300, &timeout);
        b.fake.poke(DATA + 0x300, &timeout);
        assert_eq!(same(&mut a, &mut b, "set_tid_address", &[DATA + 0x40]), 100);
        assert_eq!(
            same(&mut a, &mut b, "clone", &clone_args(DATA + 4 * PAGE)),
            101
        );
        assert_eq!(
            same(&mut a, &mut b, "futex", &[tid_word, 128, 101, 0, 0, 0]),
            0
        );
        assert_eq!(
            (a.fake.running.clone(), b.fake.running.clone()),
            (vec![1; 2], vec![1; 2])
        );
        assert_eq!(same(&mut a, &mut b, "gettid", &[]), 101);
        // Wake-op on a word nobody waits on; a sleep while thread 0 waits: it runs on.
        same(
            &mut a,
            &mut b,
            "futex",
            &[DATA + 0x60, 128 | 5, 1, 1, DATA + 0x64, 1 << 28 | 1 << 12],
        );
        same(&mut a, &mut b, "nanosleep", &[DATA + 0x300, 0]);
        same(&mut a, &mut b, "clock_gettime", &[1, DATA + 0x400]);
        // A robust lock it holds with a waiter (a one-entry list, the word 8 bytes in): its
        // exit marks it and wakes one waiter there as well as the join.
        let (head, entry) = (DATA + 0x500, DATA + 0x540);
        for fake in [&mut a.fake, &mut b.fake] {
            fake.poke(head, &[entry, 8, 0].map(u64::to_le_bytes).concat());
            fake.poke(entry, &head.to_le_bytes());
            fake.poke(entry + 8, &(101u32 | 0x8000_0000).to_le_bytes());
        }
        assert_eq!(same(&mut a, &mut b, "set_robust_list", &[head, 24]), 0);
        // Its exit wakes the join.
        same(&mut a, &mut b, "exit", &[0]);
        for fake in [&a.fake, &b.fake] {
            assert_eq!(fake.peek(0, entry + 8, 4), 0xc000_0000u32.to_le_bytes());
        }
        assert_eq!(
            (a.fake.running.clone(), b.fake.running.clone()),
            (vec![0; 2], vec![0; 2])
        );
        same(
            &mut a,
            &mut b,
            "futex",
            &[DATA + 0x80, 128, 0, DATA + 0x300, 0, 0],
        );
        let number = nr(arch, "exit_group");
        let (fa, fb) = (a.call(number, &[0]).unwrap(), b.call(number, &[0]).unwrap());
        assert_eq!((fa.0, fb.0), (Flow::End, Flow::End));
        assert_eq!(a.summary.threads, b.summary.threads);
        assert_eq!(a.summary.threads.switches, 2);
        assert_eq!(b.summary.status, Status::Ok);
    }
}

/// What a call passes by reference goes with it: a call that only reads the program's memory is
/// one message each way; each write into the replicas (and its check) is one more.
#[test]
fn a_call_that_only_reads_is_one_exchange() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let (mut rig, count) = counted(arch);
        assert_eq!(rig.sys("getpid", &[]), 100);
        let exchanges = |rig: &mut Rig<Proxy<Shared>>, name: &str, args: &[u64]| {
            let before = count.get();
            let result = rig.sys(name, args);
            (result, count.get() - before)
        };
        rig.fake.poke(DATA, b"hello\n/in.txt\0");
        assert_eq!(exchanges(&mut rig, "write", &[1, DATA, 6]), (6, 1));
        let (fd, n) = exchanges(&mut rig, "openat", &[(-100i64) as u64, DATA + 6, 0, 0]);
        assert_eq!(n, 1);
        assert_eq!(exchanges(&mut rig, "getppid", &[]).1, 1);
        // A read: its buffer checked, then written.
        assert_eq!(
            exchanges(&mut rig, "read", &[fd as u64, DATA + 0x100, 64]),
            (19, 3)
        );
        assert_eq!(rig.fake.out, b"hello\n");
    }
}

#[test]
fn a_component_that_panics_ends_its_group_naming_the_call() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let switches = Switches {
            panic_on: Some("getppid"),
            ..Switches::default()
        };
        let mut rig = remote_with(arch, 2, FILES, switches);
        assert_eq!(rig.sys("getpid", &[]), 100);
        let number = nr(arch, "getppid");
        let (flow, _) = rig.call(number, &[]).unwrap();
        assert_eq!(flow, Flow::End);
        assert_eq!(rig.summary.status, Status::PersonalityError);
        let reason = rig.summary.error.to_string();
        assert!(
            reason.contains("the personality failed performing getppid"),
            "{reason}"
        );
    }
}

/// Cases per property: `PROPTEST_CASES`, else `default` (at volume: `PROPTEST_CASES=200000
/// cargo test -p romain-remote --release --test component`).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A component's message: arbitrary words, and an arbitrary effects log.
fn garbage() -> impl Strategy<Value = (Vec<u64>, Vec<u8>)> {
    // Kinds and small values, the fake program's memory and its edges, the buffer's limits.
    let word = prop_oneof![
        0u64..12,
        Just(0x101),
        Just(0x102),
        prop_oneof![
            Just(CODE),
            Just(DATA),
            Just(DATA + 16 * PAGE - 8),
            Just(HEAP)
        ],
        prop_oneof![
            Just(4096u64),
            Just(DATA_LEN as u64),
            Just(DATA_LEN as u64 + 1)
        ],
        any::<u64>(),
    ];
    (
        prop::collection::vec(word, 0..40),
        prop::collection::vec(any::<u8>(), 0..64),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2000), ..ProptestConfig::default() })]

    /// Whatever a component sends, the master never panics and never touches memory that is
    /// not the program's: the call is answered, or the group ends with `personality-error`.
    #[test]
    fn whatever_a_component_sends_the_proxy_holds(
        messages in prop::collection::vec(garbage(), 1..6),
        x86 in any::<bool>(),
    ) {
        let arch = if x86 { Arch::X86_64 } else { Arch::Aarch64 };
        let buffer = Shared(Arc::new(Mutex::new(vec![0; EXCHANGE_LEN])));
        let mut fake = Fake::new(arch, 3, 256);
        let mut queue = messages.into_iter();
        let mut theirs = buffer.clone();
        fake.component = Some(Box::new(move |_send, receive| {
            let (words, log) = queue.next().ok_or_else(gone)?;
            theirs.with(|b| {
                let at = romain_remote::wire::LOG_AT;
                b[at..at + log.len()].copy_from_slice(&log);
            });
            let n = words.len().min(receive.len());
            receive[..n].copy_from_slice(&words[..n]);
            Ok(n)
        }));
        let proxy = Proxy::new(arch, sites(arch), buffer, shared_files(FILES), start());
        let mut rig = Rig::around(arch, 3, proxy, fake);
        let number = nr(arch, "getpid");
        let (flow, _) = rig.call(number, &[]).unwrap();
        if flow == Flow::End {
            prop_assert_eq!(rig.summary.status, Status::PersonalityError);
        }
        for r in &rig.fake.replicas {
            for page in r.pages.keys() {
                prop_assert!(r.mine.iter().any(|m| m.contains(page)), "{page:#x}");
            }
        }
    }
}
