//! The kernel's binary model file (`lstm_kernel::io`: magic, version, sizes, codes,
//! little-endian `f32`, CRC-32) read from and written to disk.

use anyhow::{Context, Result};
use lstm_kernel::LstmModel;
use lstm_kernel::io::{decode, encode, encoded_len};

/// The file's bytes for `model`.
///
/// # Errors
/// A weight is NaN or infinite (the format refuses them).
pub fn to_bytes<const IN: usize, const H: usize, const OUT: usize>(
    model: &LstmModel<IN, H, OUT, f32>,
) -> Result<Vec<u8>> {
    let len = encoded_len(IN, H, OUT).context("model too large for the binary format")?;
    let mut buf = vec![0; len];
    let n = encode(model, &mut buf).context("cannot encode the model")?;
    buf.truncate(n);
    Ok(buf)
}

/// Reads a `LstmModel<IN, H, OUT>` from the file's bytes.
///
/// # Errors
/// Every refusal of `lstm_kernel::io::decode` (bad magic, version, sizes, truncation, CRC,
/// non-finite weight, unknown codes), with its message.
pub fn from_bytes<const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
) -> Result<LstmModel<IN, H, OUT, f32>> {
    Ok(decode::<IN, H, OUT>(bytes)?)
}
