//! Time and randomness, performed once: every replica reads the same clock and the same
//! random bytes. The clocks count from the master's start (CLOCK_REALTIME too: the machine has
//! no calendar), at the master's counter's resolution; a multithreaded program's clock is the
//! core's replicated one. Sleeps are `calls::thread`'s.

use romain_protocol::World;
use syscalls::Errno;

use crate::context::Ctx;
use crate::linux::Outcome;

/// Clock ids Linux knows (CLOCK_REALTIME … CLOCK_TAI).
const MAX_CLOCK: u64 = 11;

fn timespec(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..].copy_from_slice(&(ns % 1_000_000_000).to_le_bytes());
    b
}

/// A `struct timeval` (seconds, microseconds) for `ns` nanoseconds.
pub(crate) fn timeval(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
    b
}

pub fn clock_gettime<W: World>(
    cx: &mut Ctx<'_, '_, '_, W>,
    clock: u64,
    ts: u64,
) -> Result<u64, Errno> {
    if clock > MAX_CLOCK {
        return Err(Errno::EINVAL);
    }
    let now = cx.now_ns();
    cx.write(ts, &timespec(now))?;
    Ok(0)
}

pub fn clock_getres<W: World>(
    cx: &mut Ctx<'_, '_, '_, W>,
    clock: u64,
    res: u64,
) -> Result<u64, Errno> {
    if clock > MAX_CLOCK {
        return Err(Errno::EINVAL);
    }
    if res != 0 {
        let hz = cx.calls.counter_hz.max(1);
        cx.write(res, &timespec((1_000_000_000 / hz).max(1)))?;
    }
    Ok(0)
}

pub fn gettimeofday<W: World>(cx: &mut Ctx<'_, '_, '_, W>, tv: u64, tz: u64) -> Result<u64, Errno> {
    let now = cx.now_ns();
    if tv != 0 {
        cx.write(tv, &timeval(now))?;
    }
    if tz != 0 {
        cx.write(tz, &[0; 8])?;
    }
    Ok(0)
}

pub fn time<W: World>(cx: &mut Ctx<'_, '_, '_, W>, at: u64) -> Result<u64, Errno> {
    let secs = cx.now_ns() / 1_000_000_000;
    if at != 0 {
        cx.write(at, &secs.to_le_bytes())?;
    }
    Ok(secs)
}

/// With other threads the caller sleeps on the program's clock (`TIMER_ABSTIME` in `flags`:
/// until the time given); alone it returns at once.
pub fn clock_nanosleep<W: World>(
    cx: &mut Ctx<'_, '_, '_, W>,
    clock: u64,
    flags: u64,
    req: u64,
) -> Outcome {
    if clock > MAX_CLOCK {
        return Err(Errno::EINVAL).into();
    }
    crate::calls::thread::sleep(cx, req, flags & 1 != 0)
}

/// Random bytes drawn once for all replicas (as `/dev/urandom` gives them).
pub fn getrandom<W: World>(cx: &mut Ctx<'_, '_, '_, W>, buf: u64, len: u64) -> Result<u64, Errno> {
    cx.fill(buf, len, |cx| cx.calls.shell.random())
}
