//! The call interface between Romain replicas and the master.
//!
//! A replica reaches the outside world only through the master. It makes a *call* as an seL4 IPC
//! `Call` on the endpoint capability in slot [`slot::MASTER_EP`] of its CNode slice, with the
//! message label `CALL_LABEL_BASE | call number` and the arguments in the message registers.
//! Faults of the replica arrive at the master on the same endpoint (installed as the replica's fault
//! endpoint), with seL4's fault labels, which are all below [`CALL_LABEL_BASE`]. The badge of both
//! names the replica (see [`ReplicaBadge`]).
//!
//! The master answers every call once for all replicas with the same reply: label 0 and the result
//! word in message register 0 (a negative value is a [`CallError`]).
#![no_std]

/// Slots of every replica's CNode slice: the same layout in every replica.
pub mod slot {
    /// Always empty: seL4 treats CPtr 0 as null.
    pub const NULL: u64 = 0;
    /// The badged endpoint to the master (calls and faults).
    pub const MASTER_EP: u64 = 1;
    /// A companion component only: the notification the master signals when the replicas
    /// [`Signal`](crate::Call::Signal) its region (the companion waits on it).
    pub const DOORBELL_WAIT: u64 = 2;
    /// A companion component only: a notification to signal to wake replicas that
    /// [`Wait`](crate::Call::Wait) on its region.
    pub const DOORBELL_RING: u64 = 3;
    /// Size of the slice in bits: slots `0..1 << BITS`. Everything else a replica names is empty.
    pub const BITS: usize = 4;
}

/// Labels of call messages start here; seL4 fault labels are small numbers below it.
pub const CALL_LABEL_BASE: u64 = 0x5200;

/// Message registers seL4 gives one IPC message (`seL4_MsgMaxLength`).
pub const MAX_MESSAGE_WORDS: usize = 120;

/// Bytes a single `Write` call carries (the runtime splits longer writes).
pub const WRITE_CHUNK: usize = 896;

/// The calls a replica can make. The numbering is the ABI: never reuse a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Call {
    /// Write bytes to the console. MR0 = length, MR1.. = the bytes, packed little-endian.
    /// Returns the number of bytes written.
    Write = 1,
    /// End the program. MR0 = exit code. Never returns.
    Exit = 2,
    /// The program's arguments, as given in the run plan: no arguments. The reply's MR0 is the
    /// length of the argument string (at most [`WRITE_CHUNK`] bytes), MR1.. its bytes, packed;
    /// arguments are separated by `+`.
    Args = 3,
    /// The time, read once by the master and given to every replica alike (a replica reading a
    /// clock itself would diverge from its siblings). Reply: MR0 = counter ticks, MR1 = ticks per
    /// second (0 where the hardware does not tell).
    Time = 4,
    /// Does nothing and is answered at once, without waiting for the other replicas or
    /// comparing: it externalizes nothing. It measures the bare seL4 IPC round trip to the
    /// master, the floor of the cost of an event. Returns 0.
    Null = 5,
    /// 64 random bits, drawn once by the master and given to every replica alike (not for
    /// cryptography: seeded from the cycle counter at boot). Reply: MR0.
    Random = 6,
    /// Gives up the processor: a point where all replicas meet; returns 0.
    Yield = 7,
    /// Grows the heap: MR0 = bytes to add (rounded up to pages; 0 asks where the heap ends).
    /// Returns the old end of the heap, where the new memory starts; it is mapped, zeroed, on
    /// first touch, at the same address in every replica. Fails with
    /// [`CallError::OutOfMemory`] beyond the replica's memory quota.
    Grow = 8,
    /// Attaches shared region MR0 (see [`region`]): memory shared with a component outside the
    /// replica group. Returns its address (MR0, the same in every replica) and length in bytes
    /// (MR1). Replicas do not map it: every access faults to the master, which performs it once
    /// for all (copy & execute). Fails with [`CallError::BadArgument`] for a region that does
    /// not exist.
    Attach = 9,
    /// Signals the outside party of shared region MR0: the master signals the companion's
    /// doorbell notification once for all replicas. Returns 0.
    Signal = 10,
    /// Waits until the outside party of shared region MR0 signals (its doorbell notification
    /// to the master), or returns at once when it signalled since the last wait; every replica
    /// returns at the same point. Returns 0, or [`CallError::Gone`] once the outside party has
    /// ended.
    Wait = 11,
}

/// The link between the master and a Linux program's personality component (a component of its
/// own per group: see `romain-remote`). Not a call of the replica ABI: only the component's
/// endpoint takes it; a replica using the label makes an unknown call.
pub mod personality {
    /// The label of every message the component sends the master (MR0 says which).
    pub const LABEL: u64 = super::CALL_LABEL_BASE | 0x80;
    /// Where the exchange buffer is in the component's address space.
    pub const EXCHANGE_VA: u64 = 0x30_0000_0000;
    /// Its size in pages: half for a call's data, half for the effects log.
    pub const EXCHANGE_PAGES: usize = 32;
    /// Where the component sees the files embedded in the master's image: the master's own
    /// read-only pages, mapped on first touch.
    pub const FILES_VA: u64 = 0x40_0000_0000;
}

/// Shared regions.
pub mod region {
    /// The region of a group's companion component (`<app>-device`), if it has one.
    pub const DEVICE: u64 = 1;
    /// Its size in pages.
    pub const DEVICE_PAGES: usize = 4;
}

impl Call {
    pub const ALL: [Call; 11] = [
        Call::Write,
        Call::Exit,
        Call::Args,
        Call::Time,
        Call::Null,
        Call::Random,
        Call::Yield,
        Call::Grow,
        Call::Attach,
        Call::Signal,
        Call::Wait,
    ];

    pub const fn label(self) -> u64 {
        CALL_LABEL_BASE | self as u64
    }

    /// The call a message label names; `None` for faults and unknown calls.
    pub fn from_label(label: u64) -> Option<Call> {
        let number = label.checked_sub(CALL_LABEL_BASE)?;
        Self::ALL.into_iter().find(|c| *c as u64 == number)
    }

    pub const fn name(self) -> &'static str {
        match self {
            Call::Write => "write",
            Call::Exit => "exit",
            Call::Args => "args",
            Call::Time => "time",
            Call::Null => "null",
            Call::Random => "random",
            Call::Yield => "yield",
            Call::Grow => "grow",
            Call::Attach => "attach",
            Call::Signal => "signal",
            Call::Wait => "wait",
        }
    }
}

/// Separates the arguments in the argument string of [`Call::Args`].
pub const ARG_SEPARATOR: char = '+';

/// Errors the master returns for a call, as the negated value in MR0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum CallError {
    /// A length or pointer outside what the replica owns or the call allows.
    BadArgument = 1,
    /// The label names no call.
    UnknownCall = 2,
    /// The replica's memory quota does not allow it.
    OutOfMemory = 3,
    /// The other side of a shared region has ended.
    Gone = 4,
}

impl CallError {
    pub const fn as_result_word(self) -> u64 {
        (self as u64).wrapping_neg()
    }

    pub fn from_result_word(word: u64) -> Option<CallError> {
        match word.wrapping_neg() {
            1 => Some(CallError::BadArgument),
            2 => Some(CallError::UnknownCall),
            3 => Some(CallError::OutOfMemory),
            4 => Some(CallError::Gone),
            _ => None,
        }
    }
}

/// The badge of a replica's endpoint capability: group number and replica index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaBadge {
    pub group: u8,
    pub replica: u8,
}

impl ReplicaBadge {
    /// The replica index of a group's companion component (not a replica: it is not compared).
    pub const COMPANION: u8 = 0xff;
    /// The replica number of a Linux group's personality component (on its own endpoint).
    pub const PERSONALITY: u8 = 0xfe;

    /// Set in every replica badge so that no replica badge is 0 (an unbadged message).
    const MARK: u64 = 1 << 16;

    pub const fn to_word(self) -> u64 {
        Self::MARK | (self.group as u64) << 8 | self.replica as u64
    }

    pub fn from_word(word: u64) -> Option<ReplicaBadge> {
        (word & !0xffff == Self::MARK).then_some(ReplicaBadge {
            group: (word >> 8) as u8,
            replica: word as u8,
        })
    }
}

/// Packs `bytes` little-endian into `words`; returns how many words were used.
/// `words` must hold `bytes.len().div_ceil(8)` words.
pub fn pack_bytes(bytes: &[u8], words: &mut [u64]) -> usize {
    let n = bytes.len().div_ceil(8);
    for (word, chunk) in words[..n].iter_mut().zip(bytes.chunks(8)) {
        let mut buf = [0u8; 8];
        buf[..chunk.len()].copy_from_slice(chunk);
        *word = u64::from_le_bytes(buf);
    }
    n
}

/// Unpacks `out.len()` bytes from little-endian `words`. Returns `None` if `words` is too short.
pub fn unpack_bytes(words: &[u64], out: &mut [u8]) -> Option<()> {
    if words.len() < out.len().div_ceil(8) {
        return None;
    }
    for (chunk, word) in out.chunks_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes()[..chunk.len()]);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_stay_clear_of_fault_labels() {
        for call in Call::ALL {
            assert_eq!(Call::from_label(call.label()), Some(call));
        }
        for fault_label in 0..16 {
            assert_eq!(Call::from_label(fault_label), None);
        }
        assert_eq!(Call::from_label(CALL_LABEL_BASE + 99), None);
    }

    #[test]
    fn badge_round_trip_and_never_zero() {
        for group in [0u8, 1, 255] {
            for replica in [0u8, 1, 2, 255] {
                let b = ReplicaBadge { group, replica };
                assert_ne!(b.to_word(), 0);
                assert_eq!(ReplicaBadge::from_word(b.to_word()), Some(b));
            }
        }
        assert_eq!(ReplicaBadge::from_word(0), None);
        assert_eq!(ReplicaBadge::from_word(5), None);
    }

    #[test]
    fn bytes_pack_and_unpack() {
        let text = b"hello, replicated world!";
        let mut words = [0u64; 4];
        assert_eq!(pack_bytes(text, &mut words), 3);
        assert_eq!(words[0], u64::from_le_bytes(*b"hello, r"));
        let mut back = [0u8; 24];
        unpack_bytes(&words, &mut back).unwrap();
        assert_eq!(&back, text);
        assert!(unpack_bytes(&words[..2], &mut back).is_none());
    }

    #[test]
    fn errors_are_negative_words() {
        for e in [
            CallError::BadArgument,
            CallError::UnknownCall,
            CallError::OutOfMemory,
            CallError::Gone,
        ] {
            assert!((e.as_result_word() as i64) < 0);
            assert_eq!(CallError::from_result_word(e.as_result_word()), Some(e));
        }
        assert_eq!(CallError::from_result_word(12), None);
    }

    #[test]
    fn a_write_chunk_fits_one_message() {
        // The length word and the packed bytes.
        assert!(WRITE_CHUNK.div_ceil(8) < MAX_MESSAGE_WORDS);
    }
}
