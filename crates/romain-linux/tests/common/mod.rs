//! A fake group for the Linux personality: replicas with a byte-addressed memory and register
//! files, driven through the real group core.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ops::Range;

use romain_core::event::{Event, EventKind, Words};
use romain_core::inject::Injection;
use romain_core::regs::{Arch, RegisterFile};
use romain_core::summary::Summary;
use romain_linux::fs::FileSystem;
pub use romain_linux::invocation::Invocation;
use romain_linux::linux::Linux;
use romain_linux::rewrite::Sites;
use romain_memory::{Repaired, Scope, Tracking};
use romain_protocol::{
    BadAddress, Config, Executed, Flow, Group, Injected, Input, OverQuota, Personality, Shell,
    Stop, World,
};

pub const PAGE: u64 = 4096;
/// The program's code page (the trap sites), data and the heap start.
pub const CODE: u64 = 0x40_0000;
pub const DATA: u64 = 0x60_0000;
pub const HEAP: u64 = 0x80_0000;

#[derive(Default, Clone)]
pub struct Replica {
    pub regs: Vec<u64>,
    pub pages: BTreeMap<u64, Vec<u8>>,
    /// Ranges the program owns (pages appear there on first touch).
    pub mine: Vec<Range<u64>>,
    pub heap_end: u64,
}

impl Replica {
    /// Whether the program owns `addr..addr + len` (within one page: the ranges are pages).
    fn owns(&self, addr: u64, len: u64) -> bool {
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        self.mine.iter().any(|r| r.start <= addr && end <= r.end)
    }
    pub fn byte(&self, addr: u64) -> u8 {
        let page = addr - addr % PAGE;
        self.pages
            .get(&page)
            .map_or(0, |p| p[(addr - page) as usize])
    }
    /// Copies `buf.len()` bytes at `addr` (within one page) out.
    fn get(&self, addr: u64, buf: &mut [u8]) {
        let page = addr - addr % PAGE;
        let at = (addr - page) as usize;
        match self.pages.get(&page) {
            Some(p) => buf.copy_from_slice(&p[at..at + buf.len()]),
            None => buf.fill(0),
        }
    }
    /// Copies `bytes` (within one page) in at `addr`.
    fn set(&mut self, addr: u64, bytes: &[u8]) {
        let page = addr - addr % PAGE;
        let at = (addr - page) as usize;
        self.pages
            .entry(page)
            .or_insert_with(|| vec![0; PAGE as usize])[at..at + bytes.len()]
            .copy_from_slice(bytes);
    }
}

/// `addr..addr + len` cut at page boundaries: (address, offset into the buffer, length).
fn pieces(addr: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize)> {
    let mut done = 0usize;
    std::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let at = addr.checked_add(done as u64)?;
        let n = ((PAGE - at % PAGE) as usize).min(len - done);
        let piece = (at, done, n);
        done += n;
        Some(piece)
    })
}

pub struct Fake {
    pub arch: Arch,
    /// Writes refused (not the program's memory, or its code page), and lazy mappings made.
    pub rejected_writes: u64,
    pub lazy_maps: Vec<Range<u64>>,
    pub replicas: Vec<Replica>,
    pub out: Vec<u8>,
    pub now: u64,
    pub quota_pages: u64,
    pub used_pages: u64,
    pub replies: usize,
    pub next_random: u64,
    /// A personality component to exchange messages with (`romain-remote`'s tests).
    pub component: Option<Component>,
    /// Each replica's running thread, and the threads it has (made by the core, in order).
    pub running: Vec<usize>,
    pub threads: Vec<usize>,
}

/// The shell's side of a personality component: [`World::exchange`].
pub type Component = Box<dyn FnMut(Option<&[u64]>, &mut [u64]) -> Result<usize, Stop>>;

impl Fake {
    /// `n` replicas owning the code page (read-only) and 16 pages of data, with a heap at
    /// [`HEAP`] and a memory quota of `quota_pages`.
    pub fn new(arch: Arch, n: usize, quota_pages: u64) -> Fake {
        let mine = vec![CODE..CODE + PAGE, DATA..DATA + 16 * PAGE];
        let replica = Replica {
            regs: vec![0; arch.num_registers()],
            mine,
            heap_end: HEAP,
            ..Default::default()
        };
        Fake {
            arch,
            rejected_writes: 0,
            lazy_maps: Vec::new(),
            replicas: vec![replica; n],
            out: Vec::new(),
            now: 0,
            quota_pages,
            used_pages: 0,
            replies: 0,
            next_random: 0,
            component: None,
            running: vec![0; n],
            threads: vec![1; n],
        }
    }

    pub fn poke(&mut self, addr: u64, bytes: &[u8]) {
        for r in &mut self.replicas {
            for (at, from, n) in pieces(addr, bytes.len()) {
                r.set(at, &bytes[from..from + n]);
            }
        }
    }
    pub fn peek(&self, k: usize, addr: u64, len: usize) -> Vec<u8> {
        (0..len as u64)
            .map(|i| self.replicas[k].byte(addr + i))
            .collect()
    }
}

impl World for Fake {
    fn now(&self) -> u64 {
        self.now
    }
    fn print(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
    fn end_line(&mut self) {}
    fn random(&mut self) -> u64 {
        self.next_random = self.next_random.wrapping_add(0x0101_0101_0101_0101);
        self.next_random
    }
    fn grow(&mut self, k: usize, bytes: u64) -> Result<u64, OverQuota> {
        let pages = bytes.div_ceil(PAGE);
        if k == 0 {
            if self.used_pages + pages > self.quota_pages {
                return Err(OverQuota);
            }
            self.used_pages += pages;
        }
        let r = &mut self.replicas[k];
        let old = r.heap_end;
        r.heap_end += pages * PAGE;
        let end = r.heap_end;
        r.mine.push(old..end);
        Ok(old)
    }
    fn ring_doorbell(&mut self) {}
    fn read_memory(&mut self, k: usize, addr: u64, buf: &mut [u8]) -> Result<(), BadAddress> {
        let r = &self.replicas[k];
        if addr.checked_add(buf.len() as u64).is_none() {
            return Err(BadAddress(addr));
        }
        for (at, from, n) in pieces(addr, buf.len()) {
            if !r.owns(at, n as u64) {
                return Err(BadAddress(at));
            }
            r.get(at, &mut buf[from..from + n]);
        }
        Ok(())
    }
    fn write_memory(&mut self, addr: u64, bytes: &[u8]) -> Result<(), BadAddress> {
        // All or nothing: every page checked before any byte is written.
        if addr.checked_add(bytes.len() as u64).is_none() {
            self.rejected_writes += 1;
            return Err(BadAddress(addr));
        }
        for (at, _, n) in pieces(addr, bytes.len()) {
            if !self.replicas[0].owns(at, n as u64) || (CODE..CODE + PAGE).contains(&at) {
                self.rejected_writes += 1;
                return Err(BadAddress(at));
            }
        }
        self.poke(addr, bytes);
        Ok(())
    }
    fn map_lazy(&mut self, range: Range<u64>, counted: bool) -> Result<(), OverQuota> {
        let pages = if counted {
            (range.end - range.start) / PAGE
        } else {
            0
        };
        if self.used_pages + pages > self.quota_pages {
            return Err(OverQuota);
        }
        self.lazy_maps.push(range.clone());
        self.used_pages += pages;
        for r in &mut self.replicas {
            r.mine.push(range.clone());
        }
        Ok(())
    }
    fn exchange(&mut self, send: Option<&[u64]>, receive: &mut [u64]) -> Result<usize, Stop> {
        match &mut self.component {
            Some(component) => component(send, receive),
            None => Err(Stop::new(
                romain_core::summary::Status::MasterError,
                "no component",
            )),
        }
    }
}

impl Shell for Fake {
    fn stop(&mut self, _k: usize) -> Result<(), Stop> {
        Ok(())
    }
    fn start(&mut self, _k: usize) -> Result<(), Stop> {
        Ok(())
    }
    fn forget_reply(&mut self, _k: usize) {}
    fn add_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        assert_eq!(t, self.threads[k], "threads are made in number order");
        self.threads[k] += 1;
        Ok(())
    }
    fn select_thread(&mut self, k: usize, t: usize) -> Result<(), Stop> {
        assert!(t < self.threads[k], "replica {k} has no thread {t}");
        self.running[k] = t;
        Ok(())
    }
    fn set_registers(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.replicas[k].regs = regs.words().to_vec();
        Ok(())
    }
    fn restart_at(&mut self, k: usize, regs: &RegisterFile) -> Result<(), Stop> {
        self.set_registers(k, regs)
    }
    fn reply(&mut self, _k: usize, _words: &[u64]) {
        self.replies += 1;
    }
    fn repair(
        &mut self,
        good: usize,
        bad: usize,
        regs: &RegisterFile,
        _scope: Scope,
    ) -> Result<Repaired, Stop> {
        let copy = self.replicas[good].clone();
        self.replicas[bad] = copy;
        self.replicas[bad].regs = regs.words().to_vec();
        Ok(Repaired {
            compared: 1,
            copied: 1,
        })
    }
    fn roll_back_memory(&mut self, _k: usize) -> Result<usize, Stop> {
        Ok(0)
    }
    fn agree_memory(&mut self, _k: usize) -> Result<(), Stop> {
        Ok(())
    }
    fn private_digest(&mut self, _k: usize, _event: &Event) -> Option<u64> {
        None
    }
    fn execute_shared(&mut self, _leader: usize, _event: &Event) -> Result<Executed, Stop> {
        unreachable!("no shared region")
    }
    fn inject(
        &mut self,
        _k: usize,
        _at: &Injection<'static>,
        _event: Option<&mut Event>,
        _running: bool,
    ) -> Result<Injected, Stop> {
        Ok(Injected::Applied)
    }
}

/// A group of `n` replicas of a program whose code page has system-call sites every 16 bytes.
pub struct Rig<P = Linux> {
    pub group: Group<P>,
    pub fake: Fake,
    pub summary: Summary<'static>,
    pub arch: Arch,
}

pub fn sites(arch: Arch) -> Sites {
    let mut sites = Sites::default();
    let mut code = vec![0u8; PAGE as usize];
    for at in (0..PAGE as usize).step_by(16) {
        match arch {
            Arch::X86_64 => code[at..at + 2].copy_from_slice(&[0x0f, 0x05]),
            Arch::Aarch64 => code[at..at + 4].copy_from_slice(&0xd400_0001u32.to_le_bytes()),
        }
    }
    if arch == Arch::X86_64 {
        // Padding that decodes as single-byte nops between the sites.
        for (i, b) in code.iter_mut().enumerate() {
            if i % 16 >= 2 {
                *b = 0x90;
            }
        }
    }
    sites.scan(arch, CODE, &code);
    sites
}

impl Rig {
    pub fn new(arch: Arch, n: usize, files: &[(&str, &'static [u8])], stdin: Option<&str>) -> Rig {
        let run = Invocation {
            stdin,
            ..Default::default()
        };
        Rig::with(arch, n, files, &run)
    }

    /// A rig whose program starts as `run` says (standard streams, working directory).
    pub fn with(
        arch: Arch,
        n: usize,
        files: &[(&str, &'static [u8])],
        run: &Invocation<'_>,
    ) -> Rig {
        Rig::with_quota(arch, n, files, run, 1)
    }

    /// A rig whose group has a memory quota of `quota_mb` (the files' byte budget; the fake
    /// replicas' memory stays 1 MiB unless the test raises `fake.quota_pages`).
    pub fn with_quota(
        arch: Arch,
        n: usize,
        files: &[(&str, &'static [u8])],
        run: &Invocation<'_>,
        quota_mb: u64,
    ) -> Rig {
        let fake = Fake::new(arch, n, 256);
        let linux = Linux::new(
            arch,
            sites(arch),
            FileSystem::new(files, run),
            HEAP,
            quota_mb,
            None,
        );
        Rig::around(arch, n, linux, fake)
    }

    /// A rig whose group's personality is `personality`, on `fake`.
    pub fn around<P: Personality>(arch: Arch, n: usize, personality: P, fake: Fake) -> Rig<P> {
        let config = Config {
            replicas: n,
            tracking: Tracking::Off,
            lag_ticks: 0,
            silence_ticks: 0,
            lag_ms: 0,
            silence_ms: 0,
            counter_hz: 1_000_000,
            shared: None,
            retry_ticks: 1,
            replicated_clock: true,
        };
        let entry = romain_linux::arch::initial(arch, CODE, DATA + 16 * PAGE);
        let summary = Summary::new(arch.name(), "test", if n == 3 { "tmr" } else { "dmr" }, n);
        Rig {
            group: Group::new(config, personality, entry, 0, None),
            fake,
            summary,
            arch,
        }
    }
}

impl<P: Personality> Rig<P> {
    /// The registers of a system call `number(args)` at site `site`.
    pub fn call_regs(&self, site: u64, number: u64, args: &[u64]) -> RegisterFile {
        call_regs(self.arch, site, number, args)
    }

    pub fn trap_event(&self, regs: RegisterFile) -> Event {
        trap_event(self.arch, regs)
    }

    /// Every replica makes the call; the result register of replica 0 afterwards.
    pub fn call(&mut self, number: u64, args: &[u64]) -> Result<(Flow, i64), Stop> {
        let regs = self.call_regs(1, number, args);
        let mut flow = Flow::Continue;
        for k in 0..self.fake.replicas.len() {
            let event = self.trap_event(regs.clone());
            flow = self.group.step(
                Input::Arrival { replica: k, event },
                &mut self.fake,
                &mut self.summary,
            )?;
        }
        Ok((flow, self.result(0)))
    }

    /// Every replica makes the call `name` (the `syscalls` crate's name on the rig's
    /// architecture): its result.
    pub fn sys(&mut self, name: &str, args: &[u64]) -> i64 {
        let number = nr(self.arch, name);
        self.call(number, args).unwrap().1
    }

    pub fn result(&self, k: usize) -> i64 {
        let i = match self.arch {
            Arch::X86_64 => 3,
            Arch::Aarch64 => 3,
        };
        self.fake.replicas[k].regs[i] as i64
    }

    pub fn pc(&self, k: usize) -> u64 {
        self.fake.replicas[k].regs[0]
    }
}

/// A Linux system call number on `arch`, by name.
pub fn nr(arch: Arch, name: &str) -> u64 {
    match arch {
        Arch::X86_64 => name.parse::<syscalls::x86_64::Sysno>().unwrap() as u64,
        Arch::Aarch64 => name.parse::<syscalls::aarch64::Sysno>().unwrap() as u64,
    }
}

pub const ARCHES: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

/// The registers of a system call `number(args)` on `arch` at site `site` of the code page.
pub fn call_regs(arch: Arch, site: u64, number: u64, args: &[u64]) -> RegisterFile {
    let mut w = vec![0u64; arch.num_registers()];
    w[0] = CODE + 16 * site;
    w[1] = DATA + 8 * PAGE;
    match arch {
        Arch::X86_64 => {
            w[3] = number;
            for (i, &a) in args.iter().enumerate() {
                w[[8, 7, 6, 12, 10, 11][i]] = a;
            }
        }
        Arch::Aarch64 => {
            w[11] = number;
            for (i, &a) in args.iter().enumerate() {
                w[3 + i] = a;
            }
        }
    }
    RegisterFile::new(arch, &w).unwrap()
}

/// The event of the trap at a rewritten site with registers `regs`.
pub fn trap_event(arch: Arch, regs: RegisterFile) -> Event {
    let number = match arch {
        Arch::X86_64 => romain_linux::arch::X86_64_UD_VECTOR,
        Arch::Aarch64 => romain_linux::arch::AARCH64_TRAP_ESR,
    };
    Event::new(
        EventKind::UserException { number, code: 0 },
        Words::new(),
        regs,
    )
}

/// The result register (rax, x0) of `regs`.
pub fn result_of(regs: &RegisterFile) -> i64 {
    regs.words()[3] as i64
}

/// A call's result for `e`, as the result register holds it.
pub fn err(e: syscalls::Errno) -> i64 {
    -(e.into_raw() as i64)
}

/// Puts the NUL-terminated `path` at `addr` of every replica; returns `addr`.
pub fn path(rig: &mut Rig, addr: u64, path: &str) -> u64 {
    let mut b = path.as_bytes().to_vec();
    b.push(0);
    rig.fake.poke(addr, &b);
    addr
}
