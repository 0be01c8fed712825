//! The kernel's binary model file (`lstm_kernel::io`: magic, version, sizes, codes,
//! little-endian `f32`, CRC-32) read from and written to disk.

use anyhow::{Context, Result};
use lstm_kernel::io::{FormatError, decode, decode_into, encode, model_file_len};
use lstm_kernel::{LstmModel, Model, Recurrent};

/// The file's bytes for `model` (any stack; format version 3).
///
/// # Errors
/// A weight is NaN or infinite (the format refuses them).
pub fn to_bytes<R, const IN: usize, const H: usize, const OUT: usize>(
    model: &Model<R, IN, H, OUT, f32>,
) -> Result<Vec<u8>>
where
    R: Recurrent<IN, H, f32>,
{
    let len = model_file_len::<Model<R, IN, H, OUT, f32>>();
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

/// Reads any model from the file's bytes into `model` (the file's layer table must equal
/// the model type's); `model` is untouched on an error.
///
/// # Errors
/// Every refusal of `lstm_kernel::io::decode_into`, with its message; a file with another
/// layer count than the model type also says which `--layers` reads it.
pub fn read_into<R, const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
    model: &mut Model<R, IN, H, OUT, f32>,
) -> Result<()>
where
    R: Recurrent<IN, H, f32>,
{
    decode_into(bytes, model).map_err(|e| match e {
        FormatError::LayerCountMismatch { found, .. } => {
            anyhow::anyhow!("{e} (pass --layers {found} to read it)")
        }
        e => e.into(),
    })
}
