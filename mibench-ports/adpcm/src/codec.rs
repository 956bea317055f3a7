//! `adpcm.c`: Jack Jansen's Intel/DVI ADPCM coder and decoder (version 1.2, 1992), the IMA
//! algorithm: 16-bit samples to 4-bit codes, two to a byte, high nibble first.

/// `indexTable`: how each code moves the step index.
pub const INDEX_TABLE: [i32; 16] = [-1, -1, -1, -1, 2, 4, 6, 8, -1, -1, -1, -1, 2, 4, 6, 8];

/// `stepsizeTable`: the 89 quantiser step sizes.
pub const STEPSIZE_TABLE: [i32; 89] = [
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66,
    73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449,
    494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272,
    2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493,
    10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
];

/// `struct adpcm_state`: what the coder and decoder carry from one call to the next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdpcmState {
    /// Previous output value.
    pub valprev: i16,
    /// Index into the step size table (a `char` in the C).
    pub index: i8,
}

/// The predictor update both sides share: `valpred` moved by the code's `vpdiff` and clamped.
fn clamp16(v: i32) -> i32 {
    v.clamp(-32768, 32767)
}

/// `adpcm_coder(indata, outdata, len, state)` for `len = indata.len()`: writes
/// `indata.len().div_ceil(2)` bytes to the front of `outdata`.
pub fn adpcm_coder(indata: &[i16], outdata: &mut [u8], state: &mut AdpcmState) {
    let mut valpred = i32::from(state.valprev);
    let mut index = i32::from(state.index);
    let mut step = STEPSIZE_TABLE[index as usize];
    let mut outputbuffer = 0i32;
    let mut bufferstep = true;
    let mut out = 0;

    for &sample in indata {
        let val = i32::from(sample);

        // Step 1: difference with the previous value.
        let mut diff = val - valpred;
        let sign = if diff < 0 { 8 } else { 0 };
        if sign != 0 {
            diff = -diff;
        }

        // Step 2: divide and clamp, by shifts: delta ~ diff*4/step, vpdiff ~ (delta+0.5)*step/4.
        let mut delta = 0;
        let mut vpdiff = step >> 3;
        if diff >= step {
            delta = 4;
            diff -= step;
            vpdiff += step;
        }
        step >>= 1;
        if diff >= step {
            delta |= 2;
            diff -= step;
            vpdiff += step;
        }
        step >>= 1;
        if diff >= step {
            delta |= 1;
            vpdiff += step;
        }

        // Steps 3 and 4: update and clamp the prediction.
        valpred = clamp16(if sign != 0 {
            valpred - vpdiff
        } else {
            valpred + vpdiff
        });

        // Step 5: the code, and the next step size.
        delta |= sign;
        index = (index + INDEX_TABLE[delta as usize]).clamp(0, 88);
        step = STEPSIZE_TABLE[index as usize];

        // Step 6: pack two codes to a byte, the first in the high nibble.
        if bufferstep {
            outputbuffer = (delta << 4) & 0xf0;
        } else {
            outdata[out] = ((delta & 0x0f) | outputbuffer) as u8;
            out += 1;
        }
        bufferstep = !bufferstep;
    }

    // An odd sample count leaves a half-filled last byte.
    if !bufferstep {
        outdata[out] = outputbuffer as u8;
    }

    state.valprev = valpred as i16;
    state.index = index as i8;
}

/// `adpcm_decoder(indata, outdata, len, state)` for `len = outdata.len()`: reads
/// `outdata.len().div_ceil(2)` bytes.
pub fn adpcm_decoder(indata: &[u8], outdata: &mut [i16], state: &mut AdpcmState) {
    let mut valpred = i32::from(state.valprev);
    let mut index = i32::from(state.index);
    let mut step = STEPSIZE_TABLE[index as usize];
    let mut inputbuffer = 0i32;
    let mut bufferstep = false;
    let mut inp = 0;

    for sample in outdata.iter_mut() {
        // Step 1: the next code, high nibble first.
        let mut delta = if bufferstep {
            inputbuffer & 0xf
        } else {
            inputbuffer = i32::from(indata[inp]);
            inp += 1;
            (inputbuffer >> 4) & 0xf
        };
        bufferstep = !bufferstep;

        // Step 2: the next index (used for the step after this sample).
        index = (index + INDEX_TABLE[delta as usize]).clamp(0, 88);

        // Step 3: sign and magnitude.
        let sign = delta & 8;
        delta &= 7;

        // Step 4: vpdiff = (delta+0.5)*step/4 by shifts, exactly as the coder computes it.
        let mut vpdiff = step >> 3;
        if delta & 4 != 0 {
            vpdiff += step;
        }
        if delta & 2 != 0 {
            vpdiff += step >> 1;
        }
        if delta & 1 != 0 {
            vpdiff += step >> 2;
        }

        // Step 5: update and clamp.
        valpred = clamp16(if sign != 0 {
            valpred - vpdiff
        } else {
            valpred + vpdiff
        });

        // Step 6: the new step size.
        step = STEPSIZE_TABLE[index as usize];

        *sample = valpred as i16;
    }

    state.valprev = valpred as i16;
    state.index = index as i8;
}
