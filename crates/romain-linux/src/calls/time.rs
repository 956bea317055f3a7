//! Time and randomness, performed once: every replica reads the same clock and the same
//! random bytes. The clocks count from the master's start (CLOCK_REALTIME too: the machine has
//! no calendar), at the master's counter's resolution. Sleeps return at once.

use romain_group::Shell;
use syscalls::Errno;

use crate::context::{Ctx, MAX_IO};
use crate::table::Call;

/// Clock ids Linux knows (CLOCK_REALTIME … CLOCK_TAI).
const MAX_CLOCK: u64 = 11;

fn timespec(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..].copy_from_slice(&(ns % 1_000_000_000).to_le_bytes());
    b
}

pub fn perform<S: Shell>(
    cx: &mut Ctx<'_, '_, '_, S>,
    call: Call,
    a: &[u64; 6],
) -> Option<Result<u64, Errno>> {
    Some(match call {
        Call::ClockGettime => (|| {
            if a[0] > MAX_CLOCK {
                return Err(Errno::EINVAL);
            }
            let now = cx.now_ns();
            cx.write(a[1], &timespec(now))?;
            Ok(0)
        })(),
        Call::ClockGetres => (|| {
            if a[0] > MAX_CLOCK {
                return Err(Errno::EINVAL);
            }
            if a[1] != 0 {
                let hz = cx.calls.counter_hz.max(1);
                cx.write(a[1], &timespec((1_000_000_000 / hz).max(1)))?;
            }
            Ok(0)
        })(),
        Call::Gettimeofday => (|| {
            let now = cx.now_ns();
            if a[0] != 0 {
                let mut b = [0u8; 16];
                b[..8].copy_from_slice(&(now / 1_000_000_000).to_le_bytes());
                b[8..].copy_from_slice(&((now % 1_000_000_000) / 1000).to_le_bytes());
                cx.write(a[0], &b)?;
            }
            if a[1] != 0 {
                cx.write(a[1], &[0; 8])?;
            }
            Ok(0)
        })(),
        Call::Time => (|| {
            let secs = cx.now_ns() / 1_000_000_000;
            if a[0] != 0 {
                cx.write(a[0], &secs.to_le_bytes())?;
            }
            Ok(secs)
        })(),
        Call::Nanosleep => sleep(cx, a[0]),
        Call::ClockNanosleep => {
            if a[0] > MAX_CLOCK {
                Err(Errno::EINVAL)
            } else {
                sleep(cx, a[2])
            }
        }
        Call::Getrandom => (|| {
            let len = a[1].min(MAX_IO);
            cx.writable(a[0], len)?;
            let mut bytes = alloc::vec::Vec::with_capacity(len as usize);
            while (bytes.len() as u64) < len {
                bytes.extend_from_slice(&cx.calls.shell.random().to_le_bytes());
            }
            bytes.truncate(len as usize);
            cx.write(a[0], &bytes)?;
            Ok(len)
        })(),
        _ => return None,
    })
}

/// A sleep with a valid request returns at once (the replicas' time is the master's).
fn sleep<S: Shell>(cx: &mut Ctx<'_, '_, '_, S>, req: u64) -> Result<u64, Errno> {
    let b = cx.read(req, 16)?;
    let nsec = u64::from_le_bytes(b[8..].try_into().expect("8"));
    if (i64::from_le_bytes(b[..8].try_into().expect("8"))) < 0 || nsec >= 1_000_000_000 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
