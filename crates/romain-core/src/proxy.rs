//! Checking and decoding the arguments of replica calls before the master performs them once.
//!
//! Arguments come from replicas (already compared and agreed on): still, they are the program's,
//! so every length and count is checked against what the call allows.

use romain_abi::{CallError, WRITE_CHUNK, unpack_bytes};

/// Decodes a `Write` call's message words (length, then the packed bytes) into `buf`; returns the
/// bytes to write.
pub fn decode_write<'b>(
    words: &[u64],
    buf: &'b mut [u8; WRITE_CHUNK],
) -> Result<&'b [u8], CallError> {
    let (&len, data) = words.split_first().ok_or(CallError::BadArgument)?;
    let len = usize::try_from(len).map_err(|_| CallError::BadArgument)?;
    if len > WRITE_CHUNK {
        return Err(CallError::BadArgument);
    }
    unpack_bytes(data, &mut buf[..len]).ok_or(CallError::BadArgument)?;
    Ok(&buf[..len])
}

/// The exit code of an `Exit` call (0 when the replica passed none).
pub fn decode_exit(words: &[u64]) -> i64 {
    words.first().map_or(0, |&w| w as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use romain_abi::pack_bytes;

    #[test]
    fn write_round_trips_the_runtime_encoding() {
        let text = b"the quick brown fox";
        let mut words = [0u64; 8];
        words[0] = text.len() as u64;
        let n = 1 + pack_bytes(text, &mut words[1..]);
        let mut buf = [0; WRITE_CHUNK];
        assert_eq!(decode_write(&words[..n], &mut buf), Ok(&text[..]));
    }

    #[test]
    fn write_rejects_wild_lengths() {
        let mut buf = [0; WRITE_CHUNK];
        assert_eq!(decode_write(&[], &mut buf), Err(CallError::BadArgument));
        assert_eq!(
            decode_write(&[u64::MAX, 0], &mut buf),
            Err(CallError::BadArgument)
        );
        assert_eq!(
            decode_write(&[WRITE_CHUNK as u64 + 1], &mut buf),
            Err(CallError::BadArgument)
        );
        // Claims 20 bytes but carries one word.
        assert_eq!(
            decode_write(&[20, 0], &mut buf),
            Err(CallError::BadArgument)
        );
        assert_eq!(decode_write(&[0], &mut buf), Ok(&[][..]));
    }

    #[test]
    fn exit_code_is_signed() {
        assert_eq!(decode_exit(&[(-3i64) as u64]), -3);
        assert_eq!(decode_exit(&[]), 0);
    }
}
