//! The calls' handlers, one module per family; `table.rs` says which handles which call.

pub(crate) mod identity;
pub(crate) mod io;
pub(crate) mod memory;
pub(crate) mod path;
pub mod per_thread;
pub(crate) mod poll;
pub(crate) mod process;
pub mod thread;
pub(crate) mod time;

/// Writes `value`'s low `size` bytes at `offset` of `buf`.
pub(crate) fn put(buf: &mut [u8], offset: usize, size: usize, value: u64) {
    buf[offset..offset + size].copy_from_slice(&value.to_le_bytes()[..size]);
}

/// The size of a structure's field, from an accessor (`|s: &stat| &s.st_size`).
pub(crate) fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    core::mem::size_of::<F>()
}

/// Sets a field of a Linux structure (layout from `linux-raw-sys`) in a byte buffer.
macro_rules! set {
    ($buf:expr, $ty:ty, $field:ident, $value:expr) => {
        crate::calls::put(
            &mut $buf,
            core::mem::offset_of!($ty, $field),
            crate::calls::field_size(|s: &$ty| &s.$field),
            $value as u64,
        )
    };
}
pub(crate) use set;
