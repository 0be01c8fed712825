//! safetensors files with PyTorch names and layouts (export and import) and Keras layouts
//! (import).
//!
//! # PyTorch (`torch.nn.LSTM` + `torch.nn.Linear`): written and read
//! The tensors of a module with attributes `lstm = nn.LSTM(IN, H, batch_first=True)` and
//! `linear = nn.Linear(H, OUT)`, i.e. its `state_dict()`:
//!
//! | name | shape | content |
//! |---|---|---|
//! | `lstm.weight_ih_l0` | `[4H, IN]` | rows in gate order i, f, g, o |
//! | `lstm.weight_hh_l0` | `[4H, H]` | |
//! | `lstm.bias_ih_l0` | `[4H]` | on export: the kernel's whole bias `b` |
//! | `lstm.bias_hh_l0` | `[4H]` | on export: zeros (the kernel keeps one bias `b = b_ih + b_hh`) |
//! | `linear.weight` | `[OUT, H]` | |
//! | `linear.bias` | `[OUT]` | |
//!
//! On import the `lstm.` prefix is optional (a bare `nn.LSTM` state dict names them
//! `weight_ih_l0`, ...), and the biases are summed; if `bias_hh` is all zeros, `bias_ih` is
//! taken as is, so export + import is bit-exact (even for `-0.0`).
//!
//! Load in Python: `model.load_state_dict(safetensors.torch.load_file(path))`.
//!
//! # Keras (`keras.layers.LSTM` + `keras.layers.Dense`): read
//! | name | shape |
//! |---|---|
//! | `lstm.kernel` | `[IN, 4H]` (gate order i, f, c, o) |
//! | `lstm.recurrent_kernel` | `[H, 4H]` |
//! | `lstm.bias` | `[4H]` |
//! | `dense.kernel` | `[H, OUT]` |
//! | `dense.bias` | `[OUT]` |
//!
//! `/` may replace the `.` (`lstm/kernel`). docs/embedded.md shows how to write such a
//! file from Keras 3 (layers named `lstm` and `dense`, `safetensors.numpy.save_file`).
//!
//! # Metadata (the JSON header's `__metadata__`)
//! Written: `format: pt`, `producer: lstm-harness`, `recurrent_activation` (`sigmoid`,
//! `hard-sigmoid-keras2`, `hard-sigmoid-keras3`), `gate_order: i,f,g,o`,
//! `layout: torch`. Read: `recurrent_activation` if present (an unknown name is refused);
//! if absent, `sigmoid` (PyTorch's only choice; Keras 3's default).
//!
//! # Refusals
//! Every tensor must be `F32`, have the shape above for the expected `(IN, H, OUT)`, and be
//! finite; a missing tensor, an unknown one (e.g. `lstm.weight_ih_l1` of a second layer,
//! or a projection `weight_hr_l0`), or a mix of the two layouts is refused with a message
//! naming the tensor. Nothing is half-loaded: the model is built only after every check.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use lstm_kernel::{Dense, LstmModel, LstmWeights, RecurrentActivation};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::{SafeTensors, serialize};

use crate::model::activation_name;

/// Metadata key holding the recurrent activation's name.
pub const ACTIVATION_KEY: &str = "recurrent_activation";

/// The recurrent activation of a name written by [`activation_name`].
pub fn activation_from_name(name: &str) -> Option<RecurrentActivation> {
    RecurrentActivation::ALL
        .into_iter()
        .find(|&a| activation_name(a) == Some(name))
}

/// A safetensors error as a message. Its `Display` already includes its cause (`invalid
/// JSON in header: missing field ...`) and `source()` returns that cause again, so
/// converting it with `?` or `.context` would print the cause twice in `{:#}`.
fn st_error(e: safetensors::SafeTensorError) -> anyhow::Error {
    anyhow!("{e}")
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The safetensors bytes of `model` with PyTorch names and layouts (module docs).
///
/// # Errors
/// A weight is not finite, or the activation has no name.
pub fn to_torch_bytes<const IN: usize, const H: usize, const OUT: usize>(
    model: &LstmModel<IN, H, OUT, f32>,
) -> Result<Vec<u8>> {
    let w = &model.rnn.weights;
    let (mut wih, mut whh, mut b) = (
        vec![0.0; 4 * H * IN],
        vec![0.0; 4 * H * H],
        vec![0.0; 4 * H],
    );
    w.to_torch(&mut wih, &mut whh, &mut b)?;
    let zeros = vec![0.0_f32; 4 * H];
    let tensors: [(&str, Vec<usize>, &[f32]); 6] = [
        ("lstm.weight_ih_l0", vec![4 * H, IN], &wih),
        ("lstm.weight_hh_l0", vec![4 * H, H], &whh),
        ("lstm.bias_ih_l0", vec![4 * H], &b),
        ("lstm.bias_hh_l0", vec![4 * H], &zeros),
        ("linear.weight", vec![OUT, H], model.head.w.as_flattened()),
        ("linear.bias", vec![OUT], &model.head.b),
    ];
    for (name, _, values) in &tensors {
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            bail!("tensor {name} element {i} is not finite: refusing to export");
        }
    }
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| (n.to_string(), s.clone(), le_bytes(v)))
        .collect();
    let views = bytes
        .iter()
        .map(|(n, s, d)| {
            Ok((
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), d).map_err(st_error)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let Some(activation) = activation_name(model.rnn.activation) else {
        bail!(
            "recurrent activation {:?} has no file name yet",
            model.rnn.activation
        );
    };
    let metadata = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        ("producer".to_string(), "lstm-harness".to_string()),
        (ACTIVATION_KEY.to_string(), activation.to_string()),
        ("gate_order".to_string(), "i,f,g,o".to_string()),
        ("layout".to_string(), "torch".to_string()),
    ]);
    with_sorted_metadata(&serialize(views, None).map_err(st_error)?, metadata)
}

/// The JSON header of a safetensors file, with every map sorted by key.
#[derive(serde::Serialize, serde::Deserialize)]
struct SortedHeader {
    #[serde(
        rename = "__metadata__",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    metadata: BTreeMap<String, String>,
    #[serde(flatten)]
    tensors: BTreeMap<String, serde_json::Value>,
}

/// `file` (safetensors bytes from `serialize`) with `metadata` as its `__metadata__` and
/// its header written in key order. `serialize` takes the metadata as a `HashMap` and
/// writes it in that map's random iteration order, so two exports of one model would
/// differ in their bytes; this header makes them byte-identical. The tensor offsets are
/// relative to the end of the header, so a header of another length keeps them valid.
fn with_sorted_metadata(file: &[u8], metadata: BTreeMap<String, String>) -> Result<Vec<u8>> {
    let (len, rest) = file
        .split_first_chunk::<8>()
        .ok_or_else(|| anyhow!("safetensors output without a header"))?;
    let len = usize::try_from(u64::from_le_bytes(*len))?;
    let (header, data) = (rest.get(..len), rest.get(len..));
    let (Some(header), Some(data)) = (header, data) else {
        bail!("safetensors output shorter than its header length");
    };
    let mut header: SortedHeader = serde_json::from_slice(header)?;
    header.metadata = metadata;
    let mut text = serde_json::to_vec(&header)?;
    // safetensors pads the header with spaces to a multiple of 8 bytes (data alignment).
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + text.len() + data.len());
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(data);
    Ok(out)
}

/// Which naming scheme a file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// PyTorch `nn.LSTM` + `nn.Linear` names.
    Torch,
    /// Keras `LSTM` + `Dense` names.
    Keras,
}

/// A validated tensor: its values (row-major) after the dtype, shape and finiteness checks.
fn take(
    found: &BTreeMap<&'static str, (String, TensorView<'_>)>,
    key: &'static str,
    shape: &[usize],
) -> Result<Vec<f32>> {
    let (name, view) = found
        .get(key)
        .ok_or_else(|| anyhow!("tensor {key} is missing"))?;
    if view.dtype() != Dtype::F32 {
        bail!(
            "tensor {name} has dtype {:?}, expected F32 (convert with .float() / astype('float32'))",
            view.dtype()
        );
    }
    if view.shape() != shape {
        bail!(
            "tensor {name} has shape {:?}, expected {shape:?}",
            view.shape()
        );
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        bail!("tensor {name} element {i} is not finite");
    }
    Ok(values)
}

/// The canonical key (torch names with the `lstm.` prefix, keras names with `.`) of a
/// tensor name, and its layout; `None` if the name is not one this module reads.
fn canonical(name: &str) -> Option<(&'static str, Layout)> {
    const TORCH: [&str; 6] = [
        "lstm.weight_ih_l0",
        "lstm.weight_hh_l0",
        "lstm.bias_ih_l0",
        "lstm.bias_hh_l0",
        "linear.weight",
        "linear.bias",
    ];
    const KERAS: [&str; 5] = [
        "lstm.kernel",
        "lstm.recurrent_kernel",
        "lstm.bias",
        "dense.kernel",
        "dense.bias",
    ];
    let dotted = name.replace('/', ".");
    let key = if dotted.starts_with("weight_") || dotted.starts_with("bias_") {
        format!("lstm.{dotted}") // a bare nn.LSTM state dict
    } else {
        dotted
    };
    let torch = TORCH
        .iter()
        .find(|&&k| k == key)
        .map(|&k| (k, Layout::Torch));
    torch.or_else(|| {
        KERAS
            .iter()
            .find(|&&k| k == key)
            .map(|&k| (k, Layout::Keras))
    })
}

/// Reads a `LstmModel<IN, H, OUT>` from safetensors bytes in either layout (module docs).
/// Returns the model and the layout found.
///
/// # Errors
/// Not a safetensors file; a tensor missing, unknown, duplicated (`weight_ih_l0` and
/// `lstm.weight_ih_l0`), not `F32`, of the wrong shape or not finite; a mix of layouts; an
/// unknown `recurrent_activation`. The message names the tensor.
pub fn from_bytes<const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
) -> Result<(LstmModel<IN, H, OUT, f32>, Layout)> {
    let invalid = |e| st_error(e).context("not a valid safetensors file");
    let st = SafeTensors::deserialize(bytes).map_err(invalid)?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(invalid)?;
    let mut found: BTreeMap<&'static str, (String, TensorView<'_>)> = BTreeMap::new();
    let mut layout = None;
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    for name in &names {
        let Some((key, l)) = canonical(name) else {
            bail!(
                "tensor {name} is not part of a single-layer LSTM + dense head (this loader \
                 reads PyTorch lstm.weight_ih_l0 ... linear.bias or Keras lstm.kernel ... \
                 dense.bias; a second layer, projections or other modules are refused)"
            );
        };
        match layout {
            None => layout = Some((l, name.clone())),
            Some((first, ref first_name)) if first != l => {
                bail!("tensor {name} ({l:?} layout) mixed with {first_name} ({first:?} layout)")
            }
            _ => {}
        }
        let view = st.tensor(name).map_err(st_error)?;
        if let Some((other, _)) = found.insert(key, (name.clone(), view)) {
            bail!("tensors {other} and {name} are the same tensor {key}");
        }
    }
    let Some((layout, _)) = layout else {
        bail!("the file holds no tensors");
    };
    let activation = match meta.metadata().as_ref().and_then(|m| m.get(ACTIVATION_KEY)) {
        None => RecurrentActivation::Sigmoid,
        Some(name) => activation_from_name(name)
            .ok_or_else(|| anyhow!("unknown {ACTIVATION_KEY} {name:?} in the file's metadata"))?,
    };
    let (weights, head) = match layout {
        Layout::Torch => {
            let wih = take(&found, "lstm.weight_ih_l0", &[4 * H, IN])?;
            let whh = take(&found, "lstm.weight_hh_l0", &[4 * H, H])?;
            let bih = take(&found, "lstm.bias_ih_l0", &[4 * H])?;
            let bhh = take(&found, "lstm.bias_hh_l0", &[4 * H])?;
            let lw = take(&found, "linear.weight", &[OUT, H])?;
            let lb = take(&found, "linear.bias", &[OUT])?;
            let mut weights = if bhh.iter().all(|&v| v == 0.0) {
                // b = bias_ih exactly (adding zeros would turn -0.0 into 0.0).
                let zeros = vec![0.0; 4 * H];
                let mut w = LstmWeights::from_torch(&wih, &whh, &zeros, &zeros)?;
                w.b_flat_mut().copy_from_slice(&bih);
                w
            } else {
                LstmWeights::from_torch(&wih, &whh, &bih, &bhh)?
            };
            weights.b_flat_mut().iter().try_for_each(|b| {
                if b.is_finite() {
                    Ok(())
                } else {
                    Err(anyhow!("bias_ih_l0 + bias_hh_l0 overflows f32"))
                }
            })?;
            (weights, dense_from_rows(&lw, &lb))
        }
        Layout::Keras => {
            let k = take(&found, "lstm.kernel", &[IN, 4 * H])?;
            let rk = take(&found, "lstm.recurrent_kernel", &[H, 4 * H])?;
            let b = take(&found, "lstm.bias", &[4 * H])?;
            let dk = take(&found, "dense.kernel", &[H, OUT])?;
            let db = take(&found, "dense.bias", &[OUT])?;
            // Dense kernel [H, OUT] is the transpose of the head's [OUT, H].
            let rows: Vec<f32> = (0..OUT)
                .flat_map(|o| (0..H).map(move |j| (o, j)))
                .map(|(o, j)| dk[j * OUT + o])
                .collect();
            (
                LstmWeights::from_keras(&k, &rk, &b)?,
                dense_from_rows(&rows, &db),
            )
        }
    };
    let mut model = LstmModel::<IN, H, OUT, f32>::zeroed(activation);
    model.rnn.weights = weights;
    model.head = head;
    Ok((model, layout))
}

/// A head from `[OUT, H]` rows and `[OUT]` bias (lengths already checked).
fn dense_from_rows<const H: usize, const OUT: usize>(w: &[f32], b: &[f32]) -> Dense<H, OUT, f32> {
    let mut d = Dense::<H, OUT, f32>::zeroed();
    d.w.as_flattened_mut().copy_from_slice(w);
    d.b.copy_from_slice(b);
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HIDDEN, HarnessModel, keras_model};
    use lstm_kernel::Tensors;
    use std::collections::HashMap;

    type Tensor = (String, Vec<usize>, Vec<f32>);

    /// safetensors bytes from (name, shape, values), all F32, with optional metadata.
    fn file(tensors: &[Tensor], meta: Option<(&str, &str)>) -> Vec<u8> {
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
            .iter()
            .map(|(n, s, v)| (n.clone(), s.clone(), le_bytes(v)))
            .collect();
        let views: Vec<_> = bytes
            .iter()
            .map(|(n, s, d)| {
                (
                    n.clone(),
                    TensorView::new(Dtype::F32, s.clone(), d).unwrap(),
                )
            })
            .collect();
        let meta = meta.map(|(k, v)| HashMap::from([(k.to_string(), v.to_string())]));
        serialize(views, meta).unwrap()
    }

    /// The tensors `to_torch_bytes` writes, as (name, shape, values).
    fn torch_tensors(m: &HarnessModel) -> Vec<Tensor> {
        SafeTensors::deserialize(&to_torch_bytes(m).unwrap())
            .unwrap()
            .tensors()
            .into_iter()
            .map(|(n, v)| {
                let vals = v
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                (n, v.shape().to_vec(), vals)
            })
            .collect()
    }

    fn model() -> HarnessModel {
        keras_model(5, RecurrentActivation::Sigmoid)
    }

    fn load(bytes: &[u8]) -> Result<HarnessModel> {
        from_bytes::<1, HIDDEN, 1>(bytes).map(|(m, _)| m)
    }

    fn err(bytes: &[u8]) -> String {
        format!("{:#}", load(bytes).unwrap_err())
    }

    #[test]
    fn the_torch_export_uses_state_dict_names_shapes_and_metadata() {
        let bytes = to_torch_bytes(&model()).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let mut names = st.names();
        names.sort();
        assert_eq!(
            names,
            [
                "linear.bias",
                "linear.weight",
                "lstm.bias_hh_l0",
                "lstm.bias_ih_l0",
                "lstm.weight_hh_l0",
                "lstm.weight_ih_l0"
            ]
        );
        assert_eq!(st.tensor("lstm.weight_ih_l0").unwrap().shape(), [40, 1]);
        assert_eq!(st.tensor("lstm.weight_hh_l0").unwrap().shape(), [40, 10]);
        assert_eq!(st.tensor("linear.weight").unwrap().shape(), [1, 10]);
        let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = meta.metadata().clone().unwrap();
        assert_eq!(meta["recurrent_activation"], "sigmoid");
        assert_eq!(meta["format"], "pt");
        // Forget-gate rows 10..20 of bias_ih hold Keras' unit forget bias 1.
        let b = torch_tensors(&model())
            .into_iter()
            .find(|t| t.0 == "lstm.bias_ih_l0")
            .unwrap();
        assert_eq!(&b.2[10..20], &[1.0; 10]);
    }

    #[test]
    fn exports_of_one_model_are_byte_identical_with_the_metadata_in_key_order() {
        let m = model();
        let first = to_torch_bytes(&m).unwrap();
        // Each HashMap has its own random order: ten tries would all but surely differ.
        for _ in 0..10 {
            assert_eq!(to_torch_bytes(&m).unwrap(), first);
        }
        let n = usize::try_from(u64::from_le_bytes(first[..8].try_into().unwrap())).unwrap();
        assert_eq!(n % 8, 0, "header padded to the data alignment");
        let header = std::str::from_utf8(&first[8..8 + n]).unwrap();
        let keys = ["format", "gate_order", "layout", "producer", ACTIVATION_KEY];
        let at: Vec<usize> = keys
            .iter()
            .map(|k| header.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(at.is_sorted(), "metadata keys out of order in {header}");
        let (_, meta) = SafeTensors::read_metadata(&first).unwrap();
        assert_eq!(meta.metadata().as_ref().unwrap().len(), keys.len());
        assert_eq!(load(&first).unwrap(), m);
    }

    #[test]
    fn the_activation_is_stored_and_read_back() {
        let m = keras_model(5, RecurrentActivation::HardSigmoidKeras2);
        let back = load(&to_torch_bytes(&m).unwrap()).unwrap();
        assert_eq!(back.rnn.activation, RecurrentActivation::HardSigmoidKeras2);
        assert_eq!(back, m);
    }

    #[test]
    fn bare_lstm_names_and_nonzero_hh_biases_are_summed_like_pytorch() {
        let m = model();
        let mut ts = torch_tensors(&m);
        for t in &mut ts {
            if let Some(rest) = t.0.strip_prefix("lstm.") {
                t.0 = rest.to_string();
            }
            if t.0 == "bias_ih_l0" {
                t.2.iter_mut().for_each(|v| *v -= 0.25);
            }
            if t.0 == "bias_hh_l0" {
                t.2.iter_mut().for_each(|v| *v = 0.25);
            }
        }
        let back = load(&file(&ts, None)).unwrap();
        for (a, b) in back.rnn.weights.b_flat().iter().zip(m.rnn.weights.b_flat()) {
            // (b - 0.25) + 0.25 is within one rounding of b (|b| <= 1 here): 1.2e-7.
            assert!((a - b).abs() <= 1.2e-7, "{a} vs {b}");
        }
        assert_eq!(back.rnn.weights.w_hh, m.rnn.weights.w_hh);
    }

    #[test]
    fn a_keras_layout_file_loads_to_the_same_model() {
        let m = model();
        let w = &m.rnn.weights;
        let dense_kernel: Vec<f32> = m.head.w[0].to_vec(); // [H, 1] = [1, H] for OUT = 1
        let ts: Vec<Tensor> = vec![
            ("lstm/kernel".into(), vec![1, 40], w.w_ih_flat().to_vec()),
            (
                "lstm/recurrent_kernel".into(),
                vec![10, 40],
                w.w_hh_flat().to_vec(),
            ),
            ("lstm/bias".into(), vec![40], w.b_flat().to_vec()),
            ("dense/kernel".into(), vec![10, 1], dense_kernel),
            ("dense/bias".into(), vec![1], m.head.b.to_vec()),
        ];
        let (back, layout) = from_bytes::<1, HIDDEN, 1>(&file(&ts, None)).unwrap();
        assert_eq!(layout, Layout::Keras);
        for t in 0..<HarnessModel as Tensors<f32>>::COUNT {
            assert_eq!(back.tensor(t), m.tensor(t), "tensor {t}");
        }
    }

    #[test]
    fn a_tensor_of_the_wrong_shape_is_refused_by_name() {
        let mut ts = torch_tensors(&model());
        let t = ts.iter_mut().find(|t| t.0 == "lstm.weight_hh_l0").unwrap();
        t.1 = vec![10, 40]; // transposed (Keras orientation under a torch name)
        let e = err(&file(&ts, None));
        assert!(
            e.contains("lstm.weight_hh_l0") && e.contains("[40, 10]"),
            "{e}"
        );
    }

    #[test]
    fn a_model_of_another_size_is_refused_naming_the_first_tensor() {
        let big = keras_model(1, RecurrentActivation::Sigmoid);
        let bytes = to_torch_bytes(&big).unwrap();
        let e = format!("{:#}", from_bytes::<1, 12, 1>(&bytes).unwrap_err());
        assert!(e.contains("weight_ih_l0"), "{e}");
    }

    #[test]
    fn a_file_with_a_second_layer_is_refused_not_half_loaded() {
        let mut ts = torch_tensors(&model());
        ts.push(("lstm.weight_ih_l1".into(), vec![40, 10], vec![0.0; 400]));
        let e = err(&file(&ts, None));
        assert!(e.contains("lstm.weight_ih_l1"), "{e}");
    }

    #[test]
    fn a_missing_tensor_is_refused_by_name() {
        let ts: Vec<Tensor> = torch_tensors(&model())
            .into_iter()
            .filter(|t| t.0 != "linear.bias")
            .collect();
        let e = err(&file(&ts, None));
        assert!(e.contains("linear.bias") && e.contains("missing"), "{e}");
    }

    #[test]
    fn mixed_torch_and_keras_names_are_refused() {
        let mut ts = torch_tensors(&model());
        ts.retain(|t| t.0 != "linear.weight" && t.0 != "linear.bias");
        ts.push(("dense.kernel".into(), vec![10, 1], vec![0.0; 10]));
        ts.push(("dense.bias".into(), vec![1], vec![0.0]));
        let e = err(&file(&ts, None));
        assert!(e.contains("mixed"), "{e}");
    }

    #[test]
    fn a_nan_weight_is_refused_by_tensor_and_index() {
        let mut ts = torch_tensors(&model());
        ts.iter_mut().find(|t| t.0 == "linear.weight").unwrap().2[3] = f32::NAN;
        let e = err(&file(&ts, None));
        assert!(e.contains("linear.weight element 3"), "{e}");
    }

    #[test]
    fn a_non_f32_tensor_is_refused_with_its_dtype() {
        let ts = torch_tensors(&model());
        let mut owned: Vec<(String, Vec<usize>, Vec<u8>, Dtype)> = ts
            .iter()
            .map(|(n, s, v)| (n.clone(), s.clone(), le_bytes(v), Dtype::F32))
            .collect();
        let b = owned.iter_mut().find(|t| t.0 == "linear.bias").unwrap();
        b.2 = 0.5_f64.to_le_bytes().to_vec();
        b.3 = Dtype::F64;
        let views: Vec<_> = owned
            .iter()
            .map(|(n, s, d, t)| (n.clone(), TensorView::new(*t, s.clone(), d).unwrap()))
            .collect();
        let e = err(&serialize(views, None).unwrap());
        assert!(e.contains("linear.bias") && e.contains("F64"), "{e}");
    }

    #[test]
    fn a_malformed_header_is_refused_with_its_cause_said_once() {
        let mut header = br#"{"linear.bias":{"shape":[1],"data_offsets":[0,4]}}"#.to_vec();
        header.resize(header.len().next_multiple_of(8), b' ');
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(&[0; 4]);
        let e = err(&bytes);
        assert!(e.starts_with("not a valid safetensors file: "), "{e}");
        assert_eq!(e.matches("missing field `dtype`").count(), 1, "{e}");
    }

    #[test]
    fn an_unknown_activation_in_the_metadata_is_refused() {
        let ts = torch_tensors(&model());
        let e = err(&file(&ts, Some((ACTIVATION_KEY, "relu"))));
        assert!(e.contains("relu"), "{e}");
    }

    #[test]
    fn a_non_finite_weight_is_not_exported() {
        let mut m = model();
        m.rnn.weights.w_hh[2][1][3] = f32::INFINITY;
        let e = format!("{:#}", to_torch_bytes(&m).unwrap_err());
        assert!(e.contains("lstm.weight_hh_l0"), "{e}");
    }
}
