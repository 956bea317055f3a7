//! Measures the bare seL4 IPC round trip to the master: `Null` calls, which the master answers at
//! once without comparing. Prints `roundtrip: N calls, T ticks per call` (T from the master's
//! replicated clock), the floor against which the benchmark sets the master's cost per event.
#![no_std]
#![no_main]

use romain_abi::Call;
use romain_replica::{args, call, println, time};

romain_replica::main!(main);

fn main() -> i32 {
    let calls: u64 = args().first().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let (start, hz) = time();
    for _ in 0..calls {
        let _ = call(Call::Null, 0);
    }
    let (end, _) = time();
    let ticks = end.saturating_sub(start);
    println!(
        "roundtrip: {calls} calls, {} ticks per call ({hz} Hz)",
        ticks / calls.max(1)
    );
    0
}
