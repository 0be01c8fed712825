//! The kernel's binary model file (`lstm_kernel::io`: magic, version, sizes, codes,
//! little-endian `f32`, CRC-32) read from and written to disk.

use anyhow::{Context, Result};
use lstm_kernel::io::{
    FileSpec, FormatError, GateOrder, LayerEntry, decode, decode_into, encode_spec,
};
use lstm_kernel::{LayerKind, LstmModel, Model, Recurrent};

use super::view::ModelView;

/// The file's bytes for `model` (any stack, any [`ModelView`]: a model or a size-menu
/// model at its true sizes; format version 3, with the view's head activation and scaling
/// block).
///
/// # Errors
/// A weight or scaling value is NaN or infinite (the format refuses them), or the view
/// cannot be written (more layers than the format holds).
pub fn to_bytes<V: ModelView + ?Sized>(model: &V) -> Result<Vec<u8>> {
    let sizes = model.layer_sizes();
    let layers = sizes
        .iter()
        .enumerate()
        .map(|(k, &(input, hidden))| {
            Ok(LayerEntry {
                kind: model.kind(k).context("a layer without a cell kind")?,
                gate_order: GateOrder::Pytorch,
                settings: model.settings(k).context("a layer without settings")?,
                input: u32::try_from(input)?,
                hidden: u32::try_from(hidden)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let scaling = model
        .scaling()
        .map(|[a, b, c, d]| [&a[..], &b[..], &c[..], &d[..]]);
    let spec = FileSpec {
        input: u32::try_from(model.input())?,
        output: u32::try_from(model.output())?,
        layers: &layers,
        head: model.head(),
        scaling,
        differenced: model.differenced(),
    };
    let len = spec
        .file_len()
        .context("the model's sizes do not describe a file")?;
    let mut buf = vec![0; len];
    let values = (0..model.count()).flat_map(|i| model.values(i).iter().copied());
    let n = encode_spec(&spec, values, &mut buf).context("cannot encode the model")?;
    buf.truncate(n);
    Ok(buf)
}

/// The layer kind of a layer-table code.
fn kind_of(code: u32) -> Option<LayerKind> {
    u8::try_from(code).ok().and_then(LayerKind::from_code)
}

/// Whether two layer-table codes are of one cell (GRU variants alike).
fn same_cell(a: u32, b: u32) -> bool {
    matches!((kind_of(a), kind_of(b)), (Some(a), Some(b)) if a.same_cell(b))
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
        FormatError::LayerMismatch {
            expected, found, ..
        } if !same_cell(expected[0], found[0]) => {
            let cell = match kind_of(found[0]) {
                Some(LayerKind::Gru(_)) => "gru",
                _ => "lstm",
            };
            anyhow::anyhow!("{e} (pass --cell {cell} to read it)")
        }
        FormatError::LayerMismatch { .. } | FormatError::OutputMismatch { .. } => {
            anyhow::anyhow!(
                "{e} (the post's commands run its sizes, 1 input, {} hidden units per layer, \
                 1 output; `inspect`, `eval --data`, `predict` and `export` read a model of \
                 other sizes as it is)",
                crate::model::HIDDEN
            )
        }
        FormatError::ScalingNotRead => anyhow::anyhow!(
            "a model `fit` trained (it normalises its inputs): `eval MODEL --data FILE`, \
             `predict`, `inspect` and `export` serve it; `train` and `eval` without --data \
             run the post's own model and data"
        ),
        e => e.into(),
    })
}
