//! The device files programs open by name: `/dev/null`, `/dev/zero`, `/dev/full`, `/dev/random`
//! and `/dev/urandom` (the group's replicated random source: every replica reads the same
//! bytes). `/dev/tty` is ENXIO, as for a process without a controlling terminal.

/// A device file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// Reads end at once, writes are dropped.
    Null,
    /// Reads give zeros, writes are dropped.
    Zero,
    /// Reads give zeros, writes are ENOSPC.
    Full,
    /// Reads give the replicated random bytes (`/dev/random` and `/dev/urandom`).
    Random,
}

/// The devices by name, with Linux's device numbers (major, minor).
pub const DEVICES: [(&str, Device, (u64, u64)); 5] = [
    ("/dev/full", Device::Full, (1, 7)),
    ("/dev/null", Device::Null, (1, 3)),
    ("/dev/random", Device::Random, (1, 8)),
    ("/dev/urandom", Device::Random, (1, 9)),
    ("/dev/zero", Device::Zero, (1, 5)),
];

/// Where the devices are.
pub const DEV: &str = "/dev";

/// The device `name` (normalised) is, if any.
pub fn by_name(name: &str) -> Option<Device> {
    DEVICES
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, d, _)| *d)
}

/// Names the program may not open here (ENXIO): a terminal it does not have.
pub fn absent(name: &str) -> bool {
    name == "/dev/tty" || name == "/dev/console"
}

impl Device {
    /// `st_rdev` as glibc's `makedev` encodes it.
    pub fn rdev(self) -> u64 {
        let (major, minor) = DEVICES
            .iter()
            .find(|(_, d, _)| *d == self)
            .map_or((1, 3), |(_, _, n)| *n);
        ((major & 0xffff_f000) << 32)
            | ((major & 0xfff) << 8)
            | ((minor & 0xffff_ff00) << 12)
            | (minor & 0xff)
    }

    /// Inode number (in the range of no file's).
    pub fn ino(self) -> u64 {
        0xd000_0000 | self.rdev()
    }
}
