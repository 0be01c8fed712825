//! safetensors files with PyTorch names and layouts and with Keras names and layouts (both
//! exported and imported), for any stack of LSTM and GRU layers and a dense head (the
//! kernel's [`Tensors`] walk says which tensors a model has; this module only names them).
//!
//! # PyTorch (`torch.nn.LSTM(num_layers = L)` + `torch.nn.Linear`): written and read
//! The tensors of a module with attributes `lstm = nn.LSTM(IN, H, num_layers=L,
//! batch_first=True)` and `linear = nn.Linear(H, OUT)`, i.e. its `state_dict()`; `k` is the
//! layer (0 = bottom), `in_k` its input size (`IN` for layer 0), `H_k` its hidden size:
//!
//! | name | shape | content |
//! |---|---|---|
//! | `lstm.weight_ih_l{k}` | `[4H_k, in_k]` | rows in gate order i, f, g, o |
//! | `lstm.weight_hh_l{k}` | `[4H_k, H_k]` | |
//! | `lstm.bias_ih_l{k}` | `[4H_k]` | on export: the kernel's whole bias `b` |
//! | `lstm.bias_hh_l{k}` | `[4H_k]` | on export: zeros (the kernel keeps one bias `b = b_ih + b_hh`) |
//! | `linear.weight` | `[OUT, H]` | |
//! | `linear.bias` | `[OUT]` | |
//!
//! (PyTorch's `nn.LSTM` has one `H` for every layer; stacks of other sizes are written with
//! the same names.) On import the `lstm.` prefix is optional (a bare `nn.LSTM` state dict
//! names them `weight_ih_l0`, ...), and the biases are summed; if `bias_hh` is all zeros,
//! `bias_ih` is taken as is, so export + import is bit-exact (even for `-0.0`).
//!
//! Load in Python: `model.load_state_dict(safetensors.torch.load_file(path))`.
//!
//! # Keras (`L` stacked `keras.layers.LSTM` + `keras.layers.Dense`): written and read
//! Layer `k` is named `lstm` (k = 0) or `lstm_{k}` (Keras' automatic names):
//!
//! | name | shape |
//! |---|---|
//! | `lstm{_k}.kernel` | `[in_k, 4H_k]` (gate order i, f, c, o) |
//! | `lstm{_k}.recurrent_kernel` | `[H_k, 4H_k]` |
//! | `lstm{_k}.bias` | `[4H_k]` |
//! | `dense.kernel` | `[H, OUT]` |
//! | `dense.bias` | `[OUT]` |
//!
//! `/` may replace the `.` (`lstm/kernel`). docs/embedded.md shows how to write such a
//! file from Keras 3 (`safetensors.numpy.save_file`).
//!
//! # GRU layers (`torch.nn.GRU`, `keras.layers.GRU`): written and read
//! A model of GRU layers (`LayerKind::Gru`) uses the prefix `gru` (PyTorch attribute
//! `gru = nn.GRU(IN, H, num_layers=L, batch_first=True)`; Keras layers `gru`, `gru_1`, ...):
//!
//! | name | shape | content |
//! |---|---|---|
//! | `gru.weight_ih_l{k}` | `[3H_k, in_k]` | rows in gate order r, z, n |
//! | `gru.weight_hh_l{k}` | `[3H_k, H_k]` | |
//! | `gru.bias_ih_l{k}` | `[3H_k]` | on export: `b` (r, z: `b_i + b_h`; n: `b_in`) |
//! | `gru.bias_hh_l{k}` | `[3H_k]` | on export: zero r and z blocks, then `b_hn` |
//! | `gru{_k}.kernel` | `[in_k, 3H_k]` | Keras, gate order z, r, h |
//! | `gru{_k}.recurrent_kernel` | `[H_k, 3H_k]` | |
//! | `gru{_k}.bias` | `[2, 3H_k]` or `[3H_k]` | `[2, 3H]`: `reset_after=True` (row 0 input, row 1 recurrent bias); `[3H]`: `reset_after=False` |
//!
//! PyTorch's GRU is Keras' `reset_after=True` ([`GruVariant::ResetAfter`]); the Keras bias
//! shape gives the variant on import. A reset-before layer cannot be written with PyTorch
//! names (PyTorch has no such cell): refused by name, use the Keras layout. A bare
//! `nn.GRU` state dict (no prefix) is told from a bare `nn.LSTM` by its row count (3H or
//! 4H). Written metadata `gate_order` is `r,z,n` (PyTorch) or `z,r,h` (Keras); on import a
//! GRU file's `gate_order`, when present, must be its layout's, else it is refused.
//!
//! # Metadata (the JSON header's `__metadata__`)
//! Written: `format: pt`, `producer: lstm-harness`, `gate_order: i,f,g,o`, `layout: torch`
//! (Keras layout: `format: np`, `gate_order: i,f,c,o`, `layout: keras`; GRU gate orders
//! above),
//! `num_layers`, and `recurrent_activation` and `maths` (the kernel's names,
//! `RecurrentActivation::name`, `Maths::name`) when every layer has the same, else
//! `recurrent_activation_l{k}` and `maths_l{k}` per layer. Read:
//! - `recurrent_activation` / `recurrent_activation_l{k}` (the per-layer key wins; absent:
//!   `sigmoid`, PyTorch's only choice and Keras 3's default), `maths` / `maths_l{k}`
//!   (absent: `exact`); an unknown name is refused with the accepted names (Keras'
//!   `hard_sigmoid` is ambiguous between its Keras 2 and Keras 3 formulas: name it);
//! - `gate_order`: a permutation of `i, f, g, o` (`c` for `g`, as Keras writes it) is
//!   honoured, e.g. ONNX's `i,o,f,c` is reordered on import; anything else is refused;
//! - `num_layers` and `layout` (`torch` / `keras`): when present they must agree with the
//!   tensor names, else the file is refused naming both;
//! - a `fit` model's pipeline: written as `input_mean`, `input_scale`, `output_scale`,
//!   `output_mean` (JSON arrays, the [`lstm_kernel::Scaling`] fields: `x' = (x -
//!   input_mean) * input_scale`, `y = z * output_scale + output_mean`), `head_activation`
//!   (`sigmoid`, `softmax`, `identity`) and `differenced: true` (inputs and outputs are
//!   first differences), so a PyTorch or Keras user can apply them; [`to_bin`] reads them
//!   into the binary file's head, scaling block and flag (so the size menu's commands serve
//!   such a file as its `.bin`), while [`read_into`], which fills a model type with weights
//!   only, refuses any of them (but a `sigmoid` or `logits` head) naming the commands that
//!   serve it;
//! - `go_backwards: true` (or `reverse`, `bidirectional`): refused by name (the kernel runs
//!   layers forward only; a reversed layer would run the wrong way); so are PyTorch's
//!   `*_reverse` tensors of a bidirectional LSTM.
//!
//! # Refusals
//! Every tensor must be `F32`, have the shape above for the expected model, and be finite; a
//! missing tensor, a mix of the two layouts, or any unused tensor is refused with a message
//! naming it (every unused tensor, not only the first, with the likely rename when a head
//! has another name, e.g. `fc.weight` -> `linear.weight`). A file with more or fewer layers
//! than the model type is refused with both counts. Nothing is half-loaded: the model is
//! written only after every check. [`to_bin`] reads the file at its own sizes (the shapes
//! give each layer's input and hidden size and the head's outputs; the sizes must chain)
//! and is the one reader: [`read_into`] is it followed by the binary file's reader.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, anyhow, bail};
use lstm_kernel::io::{FileSpec, GateOrder, LayerEntry, encode_spec};
use lstm_kernel::{
    GruVariant, HeadActivation, LayerKind, LstmModel, Maths, Model, Recurrent, RecurrentActivation,
    TensorKind,
};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::{SafeTensors, serialize};

use super::view::ModelView;

/// Metadata key holding the recurrent activation's name.
pub const ACTIVATION_KEY: &str = "recurrent_activation";
/// Metadata key holding the maths' name.
pub const MATHS_KEY: &str = "maths";
/// Metadata keys of a `fit` model's scaling block, in [`super::view::ScalingParts`] order (module docs).
pub const SCALING_KEYS: [&str; 4] = ["input_mean", "input_scale", "output_scale", "output_mean"];
/// Metadata key of the head activation (`HeadActivation::name`), written when known.
pub const HEAD_KEY: &str = "head_activation";
/// Metadata key written `true` for a model of first differences.
pub const DIFFERENCED_KEY: &str = "differenced";

/// The recurrent activation of a name written by the kernel's `RecurrentActivation::name`.
pub fn activation_from_name(name: &str) -> Option<RecurrentActivation> {
    RecurrentActivation::from_name(name)
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

/// `[rows, cols]` row-major to `[cols, rows]`.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| (r, c)))
        .map(|(r, c)| m[r * cols + c])
        .collect()
}

/// The safetensors bytes of `model` with PyTorch names and layouts (module docs).
///
/// # Errors
/// A weight is not finite.
pub fn to_torch_bytes<V: ModelView + ?Sized>(model: &V) -> Result<Vec<u8>> {
    to_bytes(model, Layout::Torch)
}

/// The safetensors bytes of `model` with Keras names and layouts (module docs): the
/// tensors `keras.layers.LSTM` and `Dense` hold, for `layer.set_weights` or a `.weights.h5`
/// converter.
///
/// # Errors
/// A weight is not finite.
pub fn to_keras_bytes<V: ModelView + ?Sized>(model: &V) -> Result<Vec<u8>> {
    to_bytes(model, Layout::Keras)
}

/// A tensor as written: name, shape, values (row-major).
type Named = (String, Vec<usize>, Vec<f32>);

/// Every tensor `model` is written as in `layout`.
fn named_tensors<V: ModelView + ?Sized>(model: &V, layout: Layout) -> Result<Vec<Named>> {
    let mut tensors: Vec<Named> = Vec::new();
    for i in 0..model.count() {
        let Some(t) = model.tensor_info(i) else {
            bail!("tensor {i} of the model has no description");
        };
        let v = model.values(i);
        let [a, g, h] = t.dims;
        let k = t.layer;
        let kind = if t.kind.is_head() {
            LayerKind::Lstm
        } else {
            model
                .kind(k)
                .ok_or_else(|| anyhow!("layer {k} of the model has no cell kind"))?
        };
        let family = Family::of(kind);
        if layout == Layout::Torch && kind == LayerKind::Gru(GruVariant::ResetBefore) {
            bail!(
                "layer {k} is a reset-before GRU (Keras reset_after=False), which PyTorch's \
                 nn.GRU cannot run; export it with --format safetensors-keras"
            );
        }
        let (torch, keras) = (family.torch_prefix(), family.keras_name(k));
        // The kernel's `[K][G][H]` storage is PyTorch's gate order; Keras' GRU stores z, r, h.
        let to_keras = |v: &[f32], h: usize| permuted(v, h, family.keras_order());
        match (layout, t.kind) {
            (Layout::Torch, TensorKind::InputWeights) => tensors.push((
                format!("{torch}.weight_ih_l{k}"),
                vec![g * h, a],
                transpose(v, a, g * h),
            )),
            (Layout::Torch, TensorKind::RecurrentWeights) => tensors.push((
                format!("{torch}.weight_hh_l{k}"),
                vec![g * h, a],
                transpose(v, a, g * h),
            )),
            (Layout::Torch, TensorKind::Bias) => {
                tensors.push((format!("{torch}.bias_ih_l{k}"), vec![v.len()], v.to_vec()));
                // LSTM: zeros (one bias b = b_ih + b_hh). GRU: zero r, z blocks, then b_hn
                // (the next tensor of the walk).
                let mut hh = vec![0.0; v.len()];
                if family == Family::Gru {
                    // Bias dims are [G, H, 1]: the n block starts at 2H.
                    hh[2 * g..].copy_from_slice(model.values(i + 1));
                }
                tensors.push((format!("{torch}.bias_hh_l{k}"), vec![v.len()], hh));
            }
            // Written with the bias (PyTorch: in bias_hh; Keras: in the bias's second row or,
            // reset-before, added to the n block).
            (_, TensorKind::RecurrentBias) => {}
            (Layout::Torch, TensorKind::HeadWeights) => {
                tensors.push(("linear.weight".into(), vec![a, g], v.to_vec()));
            }
            (Layout::Torch, TensorKind::HeadBias) => {
                tensors.push(("linear.bias".into(), vec![a], v.to_vec()));
            }
            (Layout::Keras, TensorKind::InputWeights) => {
                tensors.push((format!("{keras}.kernel"), vec![a, g * h], to_keras(v, h)));
            }
            (Layout::Keras, TensorKind::RecurrentWeights) => tensors.push((
                format!("{keras}.recurrent_kernel"),
                vec![a, g * h],
                to_keras(v, h),
            )),
            (Layout::Keras, TensorKind::Bias) => match kind {
                LayerKind::Lstm => {
                    tensors.push((format!("{keras}.bias"), vec![v.len()], v.to_vec()));
                }
                LayerKind::Gru(variant) => {
                    let b_hn = model.values(i + 1);
                    let mut input = v.to_vec();
                    let mut recurrent = vec![0.0; v.len()];
                    // Bias dims are [G, H, 1]: H is g, the n block starts at 2H.
                    recurrent[2 * g..].copy_from_slice(b_hn);
                    if variant == GruVariant::ResetBefore {
                        for (d, &c) in input[2 * g..].iter_mut().zip(b_hn) {
                            *d += c;
                        }
                    }
                    let mut bias = to_keras(&input, g);
                    let shape = if variant == GruVariant::ResetAfter {
                        bias.extend(to_keras(&recurrent, g));
                        vec![2, v.len()]
                    } else {
                        vec![v.len()]
                    };
                    tensors.push((format!("{keras}.bias"), shape, bias));
                }
            },
            (Layout::Keras, TensorKind::HeadWeights) => {
                tensors.push(("dense.kernel".into(), vec![g, a], transpose(v, a, g)));
            }
            (Layout::Keras, TensorKind::HeadBias) => {
                tensors.push(("dense.bias".into(), vec![a], v.to_vec()));
            }
            (_, other) => bail!("tensor kind {other:?} has no {layout:?} name yet"),
        }
    }
    Ok(tensors)
}

/// The safetensors bytes of `model` in `layout`, with the metadata of the module docs.
fn to_bytes<V: ModelView + ?Sized>(model: &V, layout: Layout) -> Result<Vec<u8>> {
    let tensors = named_tensors(model, layout)?;
    for (name, _, values) in &tensors {
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            bail!("tensor {name} element {i} is not finite: refusing to export");
        }
    }
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| (n.clone(), s.clone(), le_bytes(v)))
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
    let layers = model.layer_count();
    let gru = (0..layers).any(|k| matches!(model.kind(k), Some(LayerKind::Gru(_))));
    let (format, gate_order, layout_name) = match (layout, gru) {
        (Layout::Torch, false) => ("pt", "i,f,g,o", "torch"),
        (Layout::Keras, false) => ("np", "i,f,c,o", "keras"),
        (Layout::Torch, true) => ("pt", "r,z,n", "torch"),
        (Layout::Keras, true) => ("np", "z,r,h", "keras"),
    };
    let mut metadata = BTreeMap::from([
        ("format".to_string(), format.to_string()),
        ("producer".to_string(), "lstm-harness".to_string()),
        ("gate_order".to_string(), gate_order.to_string()),
        ("layout".to_string(), layout_name.to_string()),
        ("num_layers".to_string(), layers.to_string()),
    ]);
    let settings: Vec<_> = (0..layers).filter_map(|k| model.settings(k)).collect();
    let activations: Vec<&str> = settings.iter().map(|s| s.activation.name()).collect();
    let maths: Vec<&str> = settings.iter().map(|s| s.maths.name()).collect();
    for (key, names) in [(ACTIVATION_KEY, activations), (MATHS_KEY, maths)] {
        // One key when every layer agrees, else one per layer (module docs).
        match names.as_slice() {
            [first, rest @ ..] if rest.iter().all(|n| n == first) => {
                metadata.insert(key.to_string(), first.to_string());
            }
            _ => {
                for (k, n) in names.iter().enumerate() {
                    metadata.insert(format!("{key}_l{k}"), n.to_string());
                }
            }
        }
    }
    // What runs around the model (a `fit` model's pipeline): the weights alone would give
    // other numbers, so a reader that cannot apply it refuses the file.
    if let Some(parts) = model.scaling() {
        for (key, values) in SCALING_KEYS.iter().zip(parts) {
            metadata.insert(key.to_string(), serde_json::to_string(values)?);
        }
    }
    if model.head() != HeadActivation::Unspecified {
        metadata.insert(HEAD_KEY.to_string(), model.head().name().to_string());
    }
    if model.differenced() {
        metadata.insert(DIFFERENCED_KEY.to_string(), "true".to_string());
    }
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

/// Whether PyTorch computes what `model` computes once its PyTorch-named export is loaded
/// into `nn.LSTM`/`nn.GRU`: those cells run the sigmoid only, so a layer of another
/// recurrent activation (Keras' `hard_sigmoid`) would silently give other outputs.
///
/// # Errors
/// A layer's activation is not the sigmoid; the message names the layer and the activation
/// and says what to write instead.
pub fn torch_runs<V: ModelView + ?Sized>(model: &V) -> Result<()> {
    for k in 0..model.layer_count() {
        let Some(s) = model.settings(k) else { continue };
        if s.activation != RecurrentActivation::Sigmoid {
            bail!(
                "layer {k} runs {}, and PyTorch's nn.LSTM and nn.GRU run the sigmoid only: \
                 loaded into them, this export would compute other outputs without any error; \
                 write Keras names (--format safetensors-keras) or the .bin, or pass \
                 --torch-names-anyway to write PyTorch names anyway (the metadata records the activation)",
                s.activation.name()
            );
        }
    }
    Ok(())
}

/// The cell family of a layer's tensor names: `lstm` or `gru` (the PyTorch module prefix
/// and the Keras layer name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// `lstm.weight_ih_l{k}`, Keras `lstm{_k}/kernel`.
    Lstm,
    /// `gru.weight_ih_l{k}`, Keras `gru{_k}/kernel`.
    Gru,
}

impl Family {
    /// The family of a layer kind.
    pub fn of(kind: LayerKind) -> Self {
        match kind {
            LayerKind::Lstm => Self::Lstm,
            LayerKind::Gru(_) => Self::Gru,
        }
    }

    /// The PyTorch module attribute the names start with: `lstm`, `gru`.
    pub fn torch_prefix(self) -> &'static str {
        match self {
            Self::Lstm => "lstm",
            Self::Gru => "gru",
        }
    }

    /// Gates per step of this family's cell (`LayerKind::gates`: 4 LSTM, 3 GRU).
    pub fn gates(self) -> usize {
        match self {
            Self::Lstm => LayerKind::Lstm.gates(),
            Self::Gru => LayerKind::Gru(GruVariant::ResetAfter).gates(),
        }
    }

    /// Keras' automatic name of layer `k` of this family: `lstm`, `lstm_1`, ... or `gru`, ...
    pub fn keras_name(self, k: usize) -> String {
        match k {
            0 => self.torch_prefix().to_string(),
            k => format!("{}_{k}", self.torch_prefix()),
        }
    }

    /// For each of the kernel's gate blocks, the block Keras stores it in: the LSTM's order
    /// is Keras' (i, f, c, o); the GRU's r, z, n are Keras' blocks 1, 0, 2 (z, r, h).
    pub fn keras_order(self) -> &'static [usize] {
        match self {
            Self::Lstm => &[0, 1, 2, 3],
            Self::Gru => &lstm_kernel::gru_weights::KERAS_BLOCK,
        }
    }
}

/// `v` (rows of `at.len()` blocks of `h` values) with block `q` of every row moved to
/// block `at[q]`. For the GRU's r/z swap this is its own inverse.
fn permuted(v: &[f32], h: usize, at: &[usize]) -> Vec<f32> {
    let mut out = v.to_vec();
    if h == 0 {
        return out;
    }
    for (row, src) in out
        .chunks_exact_mut(at.len() * h)
        .zip(v.chunks_exact(at.len() * h))
    {
        for (q, &to) in at.iter().enumerate() {
            row[to * h..(to + 1) * h].copy_from_slice(&src[q * h..(q + 1) * h]);
        }
    }
    out
}

/// Which naming scheme a file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layout {
    /// PyTorch `nn.LSTM` + `nn.Linear` names.
    Torch,
    /// Keras `LSTM` + `Dense` names.
    Keras,
}

/// What a tensor name stands for: its layout, the layer (`None` for the head) and the
/// tensor's role in that layout (`weight_ih`, `kernel`, `weight`, ...).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    layout: Layout,
    layer: Option<usize>,
    /// The cell family the name says (`None` for the head and for a bare PyTorch
    /// `weight_ih_l0`, which an `nn.LSTM` and an `nn.GRU` state dict share).
    family: Option<Family>,
    role: &'static str,
}

/// The [`Key`] of a tensor name, if it is one this module reads.
fn key_of(name: &str) -> Option<Key> {
    let dotted = name.replace('/', ".");
    // PyTorch: [lstm.|gru.]weight_ih_l{k} ..., linear.weight, linear.bias.
    let (family, bare) = match (dotted.strip_prefix("lstm."), dotted.strip_prefix("gru.")) {
        (Some(b), _) => (Some(Family::Lstm), b),
        (_, Some(b)) => (Some(Family::Gru), b),
        _ => (None, dotted.as_str()),
    };
    for role in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] {
        if let Some(k) = bare
            .strip_prefix(role)
            .and_then(|r| r.strip_prefix("_l"))
            .and_then(|k| k.parse::<usize>().ok())
        {
            return Some(Key {
                layout: Layout::Torch,
                layer: Some(k),
                family,
                role,
            });
        }
    }
    let head = |layout, role| {
        Some(Key {
            layout,
            layer: None,
            family: None,
            role,
        })
    };
    match dotted.as_str() {
        "linear.weight" => return head(Layout::Torch, "weight"),
        "linear.bias" => return head(Layout::Torch, "bias"),
        "dense.kernel" => return head(Layout::Keras, "kernel"),
        "dense.bias" => return head(Layout::Keras, "bias"),
        _ => {}
    }
    // Keras: lstm.kernel (layer 0), lstm_{k}.kernel, ... (gru, gru_{k} likewise).
    let (layer, role) = dotted.split_once('.')?;
    let (family, k) = [Family::Lstm, Family::Gru].into_iter().find_map(|f| {
        let p = f.torch_prefix();
        if layer == p {
            return Some((f, 0));
        }
        let k = layer
            .strip_prefix(p)?
            .strip_prefix('_')?
            .parse::<usize>()
            .ok()?;
        Some((f, k))
    })?;
    let role = ["kernel", "recurrent_kernel", "bias"]
        .into_iter()
        .find(|&r| r == role)?;
    Some(Key {
        layout: Layout::Keras,
        layer: Some(k),
        family: Some(family),
        role,
    })
}

/// Whether `name` is one this module reads as it is (so [`super::names::map`] can pass a
/// file of such names through unchanged).
pub(crate) fn known_name(name: &str) -> bool {
    key_of(name).is_some()
}

/// The tensor of `key`, under its family's name or (PyTorch) the bare `weight_ih_l{k}`.
fn lookup<'a, 'b>(
    found: &'a BTreeMap<Key, (String, TensorView<'b>)>,
    key: &Key,
) -> Option<&'a (String, TensorView<'b>)> {
    found.get(key).or_else(|| {
        found.get(&Key {
            family: None,
            ..key.clone()
        })
    })
}

/// A validated tensor: its values (row-major) after the dtype, shape and finiteness checks.
fn take(
    found: &BTreeMap<Key, (String, TensorView<'_>)>,
    key: &Key,
    shape: &[usize],
) -> Result<Vec<f32>> {
    let (name, view) =
        lookup(found, key).ok_or_else(|| anyhow!("tensor {} is missing", expected_name(key)))?;
    if view.dtype() != Dtype::F32 {
        bail!(
            "tensor {name} has dtype {:?}, expected F32 (convert with .float() / astype('float32'))",
            view.dtype()
        );
    }
    if view.shape() != shape {
        bail!(
            "tensor {name} has shape {:?}, expected {shape:?} (the sizes the layer's weights \
             give)",
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

/// The name this module writes (torch) or expects (keras) for a key.
fn expected_name(key: &Key) -> String {
    let f = key.family.unwrap_or(Family::Lstm);
    match (key.layout, key.layer) {
        (Layout::Torch, Some(k)) => format!("{}.{}_l{k}", f.torch_prefix(), key.role),
        (Layout::Torch, None) => format!("linear.{}", key.role),
        (Layout::Keras, Some(k)) => format!("{}/{}", f.keras_name(k), key.role),
        (Layout::Keras, None) => format!("dense/{}", key.role),
    }
}

/// The metadata's `num_layers` and `layout`, when present, must say what the tensor names
/// say (a file whose header contradicts its tensors was edited or written by a buggy
/// tool; neither side is trusted silently).
///
/// # Errors
/// Either disagrees; the message names both values.
fn check_declared(meta: &BTreeMap<String, String>, layers: usize, layout: Layout) -> Result<()> {
    if let Some(n) = meta.get("num_layers")
        && n.trim().parse::<usize>().ok() != Some(layers)
    {
        bail!("the file's metadata says num_layers {n:?}, its tensor names {layers} layer(s)");
    }
    if let Some(l) = meta.get("layout") {
        let named = match layout {
            Layout::Torch => "torch",
            Layout::Keras => "keras",
        };
        if !l.trim().eq_ignore_ascii_case(named) {
            bail!("the file's metadata says layout {l:?}, its tensor names are {named}'s");
        }
    }
    Ok(())
}

/// The file's gate order as the index, in the file, of each of the kernel's gates i, f, g, o
/// (module docs: a permutation of `i, f, g|c, o`).
fn gate_order(meta: &BTreeMap<String, String>, gru: bool, layout: Layout) -> Result<[usize; 4]> {
    let Some(order) = meta.get("gate_order") else {
        return Ok([0, 1, 2, 3]);
    };
    let canonical = order.replace(' ', "").to_ascii_lowercase();
    if gru {
        // A GRU's gates are only read in its framework's own order.
        let want = match layout {
            Layout::Torch => "r,z,n",
            Layout::Keras => "z,r,h",
        };
        if canonical == want {
            return Ok([0, 1, 2, 3]);
        }
        bail!(
            "gate_order {order:?} in the file's metadata: GRU layers are read in {want} \
             ({layout:?} layout) only"
        );
    }
    let letters: Vec<String> = order
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase().replace('c', "g"))
        .collect();
    let mut at = [usize::MAX; 4];
    for (pos, l) in letters.iter().enumerate() {
        let gate = ["i", "f", "g", "o"].iter().position(|g| g == l);
        match gate {
            Some(q) if at[q] == usize::MAX && letters.len() == 4 => at[q] = pos,
            _ => bail!(
                "gate_order {order:?} in the file's metadata is not a permutation of i, f, g, o \
                 (PyTorch and this kernel: i,f,g,o; Keras: i,f,c,o; ONNX: i,o,f,c)"
            ),
        }
    }
    Ok(at)
}

/// Reorders the gate blocks of a `[rows][4][h]` tensor (flat) from the file's order to the
/// kernel's: block `q` of every row becomes the file's block `at[q]`.
fn reorder_gates(v: &mut [f32], h: usize, at: [usize; 4]) {
    if at == [0, 1, 2, 3] || h == 0 {
        return;
    }
    for row in v.chunks_exact_mut(4 * h) {
        let old = row.to_vec();
        for (q, &from) in at.iter().enumerate() {
            row[q * h..(q + 1) * h].copy_from_slice(&old[from * h..(from + 1) * h]);
        }
    }
}

/// The metadata value for layer `k`: `{key}_l{k}` if present, else `{key}`.
fn layer_meta<'a>(meta: &'a BTreeMap<String, String>, key: &str, k: usize) -> Option<&'a String> {
    meta.get(&format!("{key}_l{k}")).or_else(|| meta.get(key))
}

/// Refuses a file whose metadata asks for a pipeline around the weights (a `fit` model's
/// scaling, first differences, or a head activation other than the sigmoid of the raw
/// logits these readers' callers assume): loading the weights alone would compute other
/// numbers. The `.bin` file `fit` wrote carries all of it.
fn check_pipeline(meta: &BTreeMap<String, String>) -> Result<()> {
    let found: Vec<&str> = SCALING_KEYS
        .iter()
        .copied()
        .filter(|k| meta.contains_key(*k))
        .chain(
            meta.get(DIFFERENCED_KEY)
                .filter(|v| v.as_str() != "false")
                .map(|_| DIFFERENCED_KEY),
        )
        .chain(
            meta.get(HEAD_KEY)
                .filter(|v| !matches!(v.as_str(), "sigmoid" | "logits"))
                .map(|_| HEAD_KEY),
        )
        .collect();
    if !found.is_empty() {
        bail!(
            "the file's metadata has {}: a model with an input normalisation, output \
             de-normalisation, differencing or head activation around its weights, which \
             filling a model with weights only would drop: `eval MODEL --data FILE`, \
             `predict`, `inspect` and `export` serve it",
            found.join(", ")
        );
    }
    Ok(())
}

/// Refuses metadata the kernel cannot honour (module docs).
fn check_direction(meta: &BTreeMap<String, String>) -> Result<()> {
    for key in ["go_backwards", "reverse", "bidirectional"] {
        for (k, v) in meta {
            let is_key = k == key || k.strip_prefix(key).is_some_and(|r| r.starts_with("_l"));
            if is_key && !matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "0" | "") {
                bail!(
                    "metadata {k}: {v} asks for a layer that runs backwards in time; this \
                     kernel runs layers forward only (refusing rather than running it the \
                     wrong way)"
                );
            }
        }
    }
    Ok(())
}

/// The message for tensors no expected name matched: all of them, with a rename
/// suggestion for a head under another name.
fn unused_message(unused: &[String], head_missing: bool, layout: Option<Layout>) -> String {
    let mut msg = format!(
        "the file has {} tensor(s) this model does not use: {}",
        unused.len(),
        unused.join(", ")
    );
    if unused.iter().any(|n| n.contains("_reverse")) {
        msg.push_str(
            "; *_reverse tensors belong to a bidirectional LSTM or GRU, which this kernel does not run",
        );
    }
    if head_missing {
        let prefixes: BTreeSet<&str> = unused
            .iter()
            .filter_map(|n| {
                let d = n.rsplit_once(['.', '/'])?;
                matches!(d.1, "weight" | "bias" | "kernel").then_some(d.0)
            })
            .collect();
        for p in prefixes {
            let hint = match layout {
                Some(Layout::Keras) => format!(
                    "; if {p} is the head: --map {p}/kernel=dense/kernel --map {p}/bias=dense/bias"
                ),
                _ => format!(
                    "; if {p} is the head: --map {p}.weight=linear.weight --map {p}.bias=linear.bias"
                ),
            };
            msg.push_str(&hint);
        }
    }
    msg.push_str(
        " (this loader reads PyTorch lstm.weight_ih_l{k} or gru.weight_ih_l{k} ... linear.bias \
         or Keras lstm{_k}/kernel or gru{_k}/kernel ... dense/bias; projections and other \
         modules are refused)",
    );
    msg
}

/// Reads an [`LstmModel<IN, H, OUT>`](LstmModel) from safetensors bytes in either layout
/// (module docs). Returns the model and the layout found.
///
/// # Errors
/// Those of [`read_into`].
pub fn from_bytes<const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
) -> Result<(LstmModel<IN, H, OUT, f32>, Layout)> {
    let mut m = LstmModel::<IN, H, OUT, f32>::zeroed(RecurrentActivation::Sigmoid);
    let layout = read_into(bytes, &mut m)?;
    Ok((m, layout))
}

/// The number of recurrent layers a safetensors file holds (the highest layer any tensor
/// name of either layout refers to, plus one), so a caller can pick the model type.
///
/// # Errors
/// Not a safetensors file.
pub fn layer_count(bytes: &[u8]) -> Result<usize> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| st_error(e).context("not a valid safetensors file"))?;
    Ok(st
        .names()
        .into_iter()
        .filter_map(|n| key_of(n)?.layer)
        .map(|k| k + 1)
        .max()
        .unwrap_or(0))
}

/// Reads any model (a stack of LSTM and GRU layers and a head, the type of `model`) from
/// safetensors bytes in either layout (module docs) into `model`, and returns the layout
/// found: [`to_bin`], then the binary file's own reader ([`super::binfile::read_into`]), so
/// both readers check the same things. `model` is written only if every check passes.
///
/// # Errors
/// Those of [`to_bin`]; metadata of a pipeline around the weights (scaling, first
/// differences, a softmax or identity head: such a model is served from its `.bin`); a file
/// of other sizes, cells or layer count than the model type (the message names both and
/// the `--cell` or `--layers` that reads it).
pub fn read_into<R, const IN: usize, const H: usize, const OUT: usize>(
    bytes: &[u8],
    model: &mut Model<R, IN, H, OUT, f32>,
) -> Result<Layout>
where
    R: Recurrent<IN, H, f32>,
{
    check_pipeline(&metadata(bytes)?)?;
    let read = to_bin(bytes, None)?;
    super::binfile::read_into(&read.bin, model)?;
    Ok(read.layout)
}

/// The `__metadata__` map of safetensors bytes (empty when absent).
///
/// # Errors
/// Not a safetensors file.
fn metadata(bytes: &[u8]) -> Result<BTreeMap<String, String>> {
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| st_error(e).context("not a valid safetensors file"))?;
    Ok(meta
        .metadata()
        .clone()
        .map(|m| m.into_iter().collect())
        .unwrap_or_default())
}

/// One recurrent layer of a file, as its tensors' shapes give it.
#[derive(Clone, Copy, Debug)]
struct FileLayer {
    kind: LayerKind,
    input: usize,
    hidden: usize,
}

/// The shape of the 2-D tensor of `key`, and its name.
///
/// # Errors
/// The file lacks it, or it is not 2-D (the message names it).
fn dims2(
    found: &BTreeMap<Key, (String, TensorView<'_>)>,
    key: &Key,
) -> Result<(String, [usize; 2])> {
    let (name, view) =
        lookup(found, key).ok_or_else(|| anyhow!("tensor {} is missing", expected_name(key)))?;
    match view.shape() {
        &[rows, cols] => Ok((name.clone(), [rows, cols])),
        other => bail!("tensor {name} has shape {other:?}, expected 2 dimensions"),
    }
}

/// Layer `k`'s `(input, hidden)` from the shapes of its weights (PyTorch `weight_ih_l{k}`
/// `[G·H, in]` and `weight_hh_l{k}` `[G·H, H]`; Keras `kernel` `[in, G·H]` and
/// `recurrent_kernel` `[H, G·H]`).
///
/// # Errors
/// A weight is missing or its shape is not one of a `kind` layer (the message names it and
/// the shape expected).
fn layer_dims(
    found: &BTreeMap<Key, (String, TensorView<'_>)>,
    layout: Layout,
    k: usize,
    kind: LayerKind,
) -> Result<(usize, usize)> {
    let g = kind.gates();
    let key = |role| Key {
        layout,
        layer: Some(k),
        family: Some(Family::of(kind)),
        role,
    };
    let (input_role, recurrent_role) = match layout {
        Layout::Torch => ("weight_ih", "weight_hh"),
        Layout::Keras => ("kernel", "recurrent_kernel"),
    };
    let (rec_name, [r, c]) = dims2(found, &key(recurrent_role))?;
    let (in_name, [ir, ic]) = dims2(found, &key(input_role))?;
    // (hidden, its gates axis), (input, its gates axis).
    let ((hidden, gh), (input, gh_in), form) = match layout {
        Layout::Torch => ((c, r), (ic, ir), ("[G*H, H]", "[G*H, inputs]")),
        Layout::Keras => ((r, c), (ir, ic), ("[H, G*H]", "[inputs, G*H]")),
    };
    let cell = kind.name();
    if hidden == 0 || Some(gh) != g.checked_mul(hidden) {
        bail!(
            "tensor {rec_name} has shape [{r}, {c}]: the recurrent weights of a {cell} layer are \
             {} with G = {g}",
            form.0
        );
    }
    if input == 0 || gh_in != gh {
        bail!(
            "tensor {in_name} has shape [{ir}, {ic}]: the input weights of a {cell} layer of \
             {hidden} hidden units (as {rec_name} says) are {} with G*H = {gh} and inputs >= 1",
            form.1
        );
    }
    Ok((input, hidden))
}

/// A safetensors file as [`to_bin`] read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// The kernel's binary model file of the same model.
    pub bin: Vec<u8>,
    /// The names the file used.
    pub layout: Layout,
    /// The layers whose recurrent activation the metadata does not give (each read as the
    /// `assume` of [`to_bin`], else as the sigmoid), bottom first.
    pub assumed: Vec<usize>,
}

/// The model of safetensors bytes in either layout (module docs), at the sizes its tensors
/// have (any number of inputs, hidden units per layer, layers up to
/// [`lstm_kernel::io::MAX_LAYERS`], outputs), as the bytes of the kernel's binary model
/// file (format version 3, [`lstm_kernel::io`]), with the layers' activations and maths and,
/// for a `fit` model's export, its head activation, scaling and differencing from the
/// metadata. A layer whose activation the metadata does not give runs `assume`, or the
/// sigmoid (PyTorch's only choice, the Keras >= 2.3 default) when `assume` is `None`; the
/// result lists those layers so a caller can warn. Every reader of a model (the post's
/// commands, the size menu's, `inspect`) reads safetensors through this one function.
///
/// # Errors
/// Not a safetensors file; a tensor missing, unused, duplicated (`weight_ih_l0` and
/// `lstm.weight_ih_l0`), not `F32`, of a shape that does not fit its layer, or not finite;
/// layers whose sizes do not chain (layer `k`'s input is not the hidden size below it; the
/// head's input not the top layer's); a mix of layouts; metadata the kernel cannot honour
/// (an unknown activation, maths or head activation, a gate order that is not a
/// permutation, a reversed layer, scaling of the wrong length); an `assume` other than the
/// activation the metadata gives a layer. The message names the tensor or the key.
pub fn to_bin(bytes: &[u8], assume: Option<RecurrentActivation>) -> Result<Converted> {
    let invalid = |e| st_error(e).context("not a valid safetensors file");
    let st = SafeTensors::deserialize(bytes).map_err(invalid)?;
    let meta = metadata(bytes)?;
    check_direction(&meta)?;
    let mut seen: BTreeMap<(Layout, Option<usize>, &'static str), String> = BTreeMap::new();
    let mut found: BTreeMap<Key, (String, TensorView<'_>)> = BTreeMap::new();
    let mut layout: Option<(Layout, String)> = None;
    let mut unused = Vec::new();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    for name in &names {
        let Some(key) = key_of(name) else {
            unused.push(name.clone());
            continue;
        };
        match &layout {
            None => layout = Some((key.layout, name.clone())),
            Some((first, first_name)) if *first != key.layout => bail!(
                "tensor {name} ({:?} layout) mixed with {first_name} ({first:?} layout)",
                key.layout
            ),
            _ => {}
        }
        let view = st.tensor(name).map_err(st_error)?;
        if let Some(other) = seen.insert((key.layout, key.layer, key.role), name.clone()) {
            bail!(
                "tensors {other} and {name} are the same tensor {}",
                expected_name(&key)
            );
        }
        found.insert(key, (name.clone(), view));
    }
    let layout = layout.map(|l| l.0);
    let head_missing = !found.keys().any(|k| k.layer.is_none());
    if !unused.is_empty() {
        bail!("{}", unused_message(&unused, head_missing, layout));
    }
    let Some(layout) = layout else {
        bail!("the file holds no tensors");
    };
    let kinds = layer_kinds(bytes)?;
    check_declared(&meta, kinds.len(), layout)?;
    if kinds.len() > lstm_kernel::io::MAX_LAYERS {
        bail!(
            "the file has {} recurrent layers; the model file format holds at most {}",
            kinds.len(),
            lstm_kernel::io::MAX_LAYERS
        );
    }
    let gru = kinds.iter().any(|k| Family::of(*k) == Family::Gru);
    let order = gate_order(&meta, gru, layout)?;
    // The layers' sizes, which must chain from the bottom up to the head.
    let mut layers: Vec<FileLayer> = Vec::with_capacity(kinds.len());
    for (k, &kind) in kinds.iter().enumerate() {
        let (input, hidden) = layer_dims(&found, layout, k, kind)?;
        if let Some(below) = layers.last()
            && below.hidden != input
        {
            bail!(
                "layer {k} takes {input} inputs per step, but layer {} below it has {} hidden \
                 units (its {} tensor's shape): the layers do not chain",
                k - 1,
                below.hidden,
                expected_name(&Key {
                    layout,
                    layer: Some(k),
                    family: Some(Family::of(kind)),
                    role: if layout == Layout::Torch {
                        "weight_ih"
                    } else {
                        "kernel"
                    },
                })
            );
        }
        layers.push(FileLayer {
            kind,
            input,
            hidden,
        });
    }
    let top = layers.last().map_or(0, |l| l.hidden);
    let head_key = |role| Key {
        layout,
        layer: None,
        family: None,
        role,
    };
    let (head_name, [r, c]) = dims2(
        &found,
        &head_key(if layout == Layout::Torch {
            "weight"
        } else {
            "kernel"
        }),
    )?;
    let (head_in, output) = match layout {
        Layout::Torch => (c, r),
        Layout::Keras => (r, c),
    };
    if head_in != top || output == 0 {
        bail!(
            "head tensor {head_name} has shape [{r}, {c}]: it takes {head_in} inputs and gives \
             {output} outputs, but the top recurrent layer has {top} hidden units (a head is \
             {} with outputs >= 1)",
            if layout == Layout::Torch {
                "[outputs, H]"
            } else {
                "[H, outputs]"
            }
        );
    }
    // Per-layer settings from the metadata.
    let mut entries = Vec::with_capacity(layers.len());
    let mut assumed = Vec::new();
    for (k, l) in layers.iter().enumerate() {
        let activation = match layer_meta(&meta, ACTIVATION_KEY, k) {
            None => {
                assumed.push(k);
                assume.unwrap_or(RecurrentActivation::Sigmoid)
            }
            Some(name) => activation_from_name(name).ok_or_else(|| {
                let names: Vec<_> = RecurrentActivation::ALL.iter().map(|a| a.name()).collect();
                anyhow!(
                    "unknown {ACTIVATION_KEY} {name:?} in the file's metadata (layer {k}); \
                     accepted: {} (Keras' hard_sigmoid is clip(0.2x + 0.5) in Keras 1/2 and \
                     relu6(x + 3)/6 in Keras 3: name the one the model was trained with)",
                    names.join(", ")
                )
            })?,
        };
        if let Some(a) = assume
            && a != activation
        {
            bail!(
                "layer {k}: the file's metadata says {ACTIVATION_KEY} {}, the activation to \
                 assume is {} (drop it: it is for files that do not say)",
                activation.name(),
                a.name()
            );
        }
        let maths = match layer_meta(&meta, MATHS_KEY, k) {
            None => Maths::Exact,
            Some(name) => Maths::from_name(name).ok_or_else(|| {
                anyhow!("unknown {MATHS_KEY} {name:?} in the file's metadata (layer {k}); accepted: exact, fast")
            })?,
        };
        entries.push(LayerEntry {
            kind: l.kind,
            gate_order: GateOrder::Pytorch,
            settings: lstm_kernel::LayerSettings { activation, maths },
            input: u32::try_from(l.input)?,
            hidden: u32::try_from(l.hidden)?,
        });
    }
    // Every tensor of the kernel's walk at these sizes, in the kernel's layout.
    let mut values: Vec<f32> = Vec::new();
    for (k, l) in layers.iter().enumerate() {
        let family = Family::of(l.kind);
        let key = |role| Key {
            layout,
            layer: Some(k),
            family: Some(family),
            role,
        };
        let mut j = 0;
        while let Some(t) = l.kind.tensor_info(j, l.input, l.hidden) {
            let t = t.shifted(k);
            values.extend(match family {
                Family::Gru => gru_tensor(&found, layout, t, &key)?,
                Family::Lstm => plain_tensor(&found, layout, t, order, &key)?,
            });
            j += 1;
        }
    }
    let mut j = 0;
    while let Some(t) = lstm_kernel::head_tensor(j, top, output) {
        values.extend(plain_tensor(
            &found,
            layout,
            t.shifted(layers.len()),
            order,
            &head_key,
        )?);
        j += 1;
    }
    let (head, scaling, differenced) = pipeline(&meta, layers[0].input, output)?;
    let spec = FileSpec {
        input: u32::try_from(layers[0].input)?,
        output: u32::try_from(output)?,
        layers: &entries,
        head,
        scaling: scaling
            .as_ref()
            .map(|[a, b, c, d]| [&a[..], &b[..], &c[..], &d[..]]),
        differenced,
    };
    let len = spec
        .file_len()
        .ok_or_else(|| anyhow!("the file's sizes do not describe a model file"))?;
    let mut bin = vec![0; len];
    let n = encode_spec(&spec, values, &mut bin)?;
    bin.truncate(n);
    Ok(Converted {
        bin,
        layout,
        assumed,
    })
}

/// A four-part scaling block, as [`FileSpec::scaling`] takes it.
type ScalingVecs = [Vec<f32>; 4];

/// What the metadata says runs around the weights (a `fit` model's export, module docs):
/// the head activation (absent: unspecified logits), the scaling block (all four keys or
/// none) and first differencing (only for one input).
///
/// # Errors
/// An unknown head activation, some but not all scaling keys, a scaling value that is not
/// a JSON array of `inputs` or `outputs` finite numbers, or a `differenced` that is not
/// `true`/`false` or is set on a model of several inputs (the message names the key).
fn pipeline(
    meta: &BTreeMap<String, String>,
    inputs: usize,
    outputs: usize,
) -> Result<(HeadActivation, Option<ScalingVecs>, bool)> {
    let head = match meta.get(HEAD_KEY) {
        None => HeadActivation::Unspecified,
        Some(v) => HeadActivation::ALL
            .into_iter()
            .find(|h| h.name() == v.trim())
            .ok_or_else(|| {
                let names: Vec<_> = HeadActivation::ALL.iter().map(|h| h.name()).collect();
                anyhow!(
                    "unknown {HEAD_KEY} {v:?} in the file's metadata; accepted: {}",
                    names.join(", ")
                )
            })?,
    };
    let present: Vec<&str> = SCALING_KEYS
        .iter()
        .copied()
        .filter(|k| meta.contains_key(*k))
        .collect();
    let scaling = match present.len() {
        0 => None,
        4 => {
            let mut parts: ScalingVecs = Default::default();
            for (i, (key, part)) in SCALING_KEYS.iter().zip(&mut parts).enumerate() {
                let want = if i < 2 { inputs } else { outputs };
                let v: Vec<f32> = serde_json::from_str(&meta[*key])
                    .map_err(|e| anyhow!("metadata {key} is not a JSON array of numbers: {e}"))?;
                if v.len() != want || v.iter().any(|x| !x.is_finite()) {
                    bail!(
                        "metadata {key} holds {} values, expected {want} finite ones (the \
                         model's {})",
                        v.len(),
                        if i < 2 { "inputs" } else { "outputs" }
                    );
                }
                *part = v;
            }
            Some(parts)
        }
        _ => bail!(
            "the file's metadata has {} but not all of {}: a scaling block needs all four",
            present.join(", "),
            SCALING_KEYS.join(", ")
        ),
    };
    let differenced = match meta.get(DIFFERENCED_KEY).map(|v| v.trim()) {
        None | Some("false") => false,
        Some("true") if inputs == 1 => true,
        Some("true") => bail!(
            "metadata {DIFFERENCED_KEY}: true on a model of {inputs} inputs; differencing is \
             of one series (1 input)"
        ),
        Some(v) => bail!("metadata {DIFFERENCED_KEY} is {v:?}; accepted: true, false"),
    };
    Ok((head, scaling, differenced))
}

/// One tensor of an LSTM layer or of the head (`t`, of the kernel's walk) from the file's
/// tensors, in the kernel's layout (module docs), gate blocks reordered by `order`
/// ([`gate_order`]).
fn plain_tensor(
    found: &BTreeMap<Key, (String, TensorView<'_>)>,
    layout: Layout,
    t: lstm_kernel::TensorInfo,
    order: [usize; 4],
    key: &dyn Fn(&'static str) -> Key,
) -> Result<Vec<f32>> {
    let [a, g, h] = t.dims;
    Ok(match (layout, t.kind) {
        (Layout::Torch, TensorKind::InputWeights) => {
            let mut v = transpose(&take(found, &key("weight_ih"), &[g * h, a])?, g * h, a);
            reorder_gates(&mut v, h, order);
            v
        }
        (Layout::Torch, TensorKind::RecurrentWeights) => {
            let mut v = transpose(&take(found, &key("weight_hh"), &[g * h, a])?, g * h, a);
            reorder_gates(&mut v, h, order);
            v
        }
        (Layout::Torch, TensorKind::Bias) => {
            let bih = take(found, &key("bias_ih"), &[a * g])?;
            let bhh = take(found, &key("bias_hh"), &[a * g])?;
            // b = bias_ih exactly when bias_hh is zero (adding zeros would turn -0.0 into
            // 0.0).
            let mut v: Vec<f32> = if bhh.iter().all(|&x| x == 0.0) {
                bih
            } else {
                bih.iter().zip(&bhh).map(|(x, y)| x + y).collect()
            };
            if v.iter().any(|x| !x.is_finite()) {
                bail!("bias_ih_l{} + bias_hh_l{} overflows f32", t.layer, t.layer);
            }
            reorder_gates(&mut v, g, order);
            v
        }
        (Layout::Torch, TensorKind::HeadWeights) => take(found, &key("weight"), &[a, g])?,
        (Layout::Torch, TensorKind::HeadBias) => take(found, &key("bias"), &[a])?,
        (Layout::Keras, TensorKind::InputWeights) => {
            let mut v = take(found, &key("kernel"), &[a, g * h])?;
            reorder_gates(&mut v, h, order);
            v
        }
        (Layout::Keras, TensorKind::RecurrentWeights) => {
            let mut v = take(found, &key("recurrent_kernel"), &[a, g * h])?;
            reorder_gates(&mut v, h, order);
            v
        }
        (Layout::Keras, TensorKind::Bias) => {
            let mut v = take(found, &key("bias"), &[a * g])?;
            reorder_gates(&mut v, g, order);
            v
        }
        // Dense kernel [H, OUT] is the transpose of the head's [OUT, H].
        (Layout::Keras, TensorKind::HeadWeights) => {
            transpose(&take(found, &key("kernel"), &[g, a])?, g, a)
        }
        (Layout::Keras, TensorKind::HeadBias) => take(found, &key("bias"), &[a])?,
        (_, other) => bail!("tensor kind {other:?} has no file name yet"),
    })
}

/// One tensor of a GRU layer (`t`, of the kernel's walk) from the file's tensors, in the
/// kernel's layout (module docs; the variant, from the Keras bias's shape, is
/// [`layer_kinds`]'s).
fn gru_tensor(
    found: &BTreeMap<Key, (String, TensorView<'_>)>,
    layout: Layout,
    t: lstm_kernel::TensorInfo,
    key: &dyn Fn(&'static str) -> Key,
) -> Result<Vec<f32>> {
    let [a, g, h] = t.dims;
    let keras = |v: &[f32], h: usize| permuted(v, h, Family::Gru.keras_order());
    let k = t.layer;
    Ok(match (layout, t.kind) {
        (Layout::Torch, TensorKind::InputWeights) => {
            transpose(&take(found, &key("weight_ih"), &[g * h, a])?, g * h, a)
        }
        (Layout::Torch, TensorKind::RecurrentWeights) => {
            transpose(&take(found, &key("weight_hh"), &[g * h, a])?, g * h, a)
        }
        (Layout::Torch, TensorKind::Bias) => {
            let bih = take(found, &key("bias_ih"), &[a * g])?;
            let bhh = take(found, &key("bias_hh"), &[a * g])?;
            // r and z: b_ih + b_hh (b_ih as is when b_hh's blocks are zero, keeping -0.0);
            // n: b_ih alone (b_hn is the next tensor). Dims [3, H, 1]: H is g.
            let rz = 2 * g;
            let mut v = bih;
            if bhh[..rz].iter().any(|&x| x != 0.0) {
                for (d, &y) in v[..rz].iter_mut().zip(&bhh) {
                    *d += y;
                }
            }
            if v.iter().any(|x| !x.is_finite()) {
                bail!("bias_ih_l{k} + bias_hh_l{k} overflows f32");
            }
            v
        }
        // Dims [1, H, 1]: H is g.
        (Layout::Torch, TensorKind::RecurrentBias) => {
            let bhh = take(found, &key("bias_hh"), &[3 * g])?;
            bhh[2 * g..].to_vec()
        }
        (Layout::Keras, TensorKind::InputWeights) => {
            keras(&take(found, &key("kernel"), &[a, g * h])?, h)
        }
        (Layout::Keras, TensorKind::RecurrentWeights) => {
            keras(&take(found, &key("recurrent_kernel"), &[a, g * h])?, h)
        }
        (Layout::Keras, TensorKind::Bias | TensorKind::RecurrentBias) => {
            // Dims [3, H, 1] (bias) or [1, H, 1] (b_hn): H is g.
            let (hidden, n) = (g, 3 * g);
            let two_rows = lookup(found, &key("bias")).is_some_and(|(_, v)| v.shape().len() == 2);
            if two_rows {
                let b = take(found, &key("bias"), &[2, n])?;
                let (input, recurrent) = (keras(&b[..n], hidden), keras(&b[n..], hidden));
                if t.kind == TensorKind::RecurrentBias {
                    recurrent[2 * hidden..].to_vec()
                } else {
                    let mut v = input;
                    for (d, &y) in v[..2 * hidden].iter_mut().zip(&recurrent) {
                        *d += y;
                    }
                    if v.iter().any(|x| !x.is_finite()) {
                        bail!("layer {k}: input bias + recurrent bias overflows f32");
                    }
                    v
                }
            } else {
                let b = take(found, &key("bias"), &[n])?;
                if t.kind == TensorKind::RecurrentBias {
                    vec![0.0; hidden]
                } else {
                    keras(&b, hidden)
                }
            }
        }
        (_, other) => bail!("tensor kind {other:?} has no GRU file name"),
    })
}

/// The cell of every layer of a safetensors file, from its names (`lstm.`/`gru.`, Keras
/// `lstm`/`gru` layers; a bare PyTorch `weight_hh_l{k}` `[G·H, H]` by its gate count `G`)
/// and, for a Keras GRU, its bias's shape (`[3H]`: reset-before).
///
/// # Errors
/// Not a safetensors file, or a layer whose cell cannot be told.
pub fn layer_kinds(bytes: &[u8]) -> Result<Vec<LayerKind>> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| st_error(e).context("not a valid safetensors file"))?;
    let mut kinds: BTreeMap<usize, LayerKind> = BTreeMap::new();
    for name in st.names() {
        let Some(key) = key_of(name) else { continue };
        let Some(k) = key.layer else { continue };
        let view = st.tensor(name).map_err(st_error)?;
        let family = match key.family {
            Some(f) => f,
            None if key.role == "weight_hh" => match view.shape() {
                [rows, h] if *h > 0 && rows == &(3 * h) => Family::Gru,
                _ => Family::Lstm,
            },
            None => continue,
        };
        let kind = match family {
            Family::Lstm => LayerKind::Lstm,
            Family::Gru
                if key.layout == Layout::Keras && key.role == "bias" && view.shape().len() == 1 =>
            {
                LayerKind::Gru(GruVariant::ResetBefore)
            }
            Family::Gru => match kinds.get(&k) {
                Some(LayerKind::Gru(GruVariant::ResetBefore)) => continue,
                _ => LayerKind::Gru(GruVariant::ResetAfter),
            },
        };
        kinds.insert(k, kind);
    }
    let count = layer_count(bytes)?;
    if count == 0 {
        let mut names = st.names();
        names.sort();
        bail!(
            "no recurrent layer: the tensors are {}; this loader reads PyTorch names \
             lstm.weight_ih_l{{k}} or gru.weight_ih_l{{k}} (the module's attribute must be lstm \
             or gru: rename e.g. rnn.weight_ih_l0 to gru.weight_ih_l0) and Keras names \
             lstm{{_k}}/kernel or gru{{_k}}/kernel",
            names.join(", ")
        );
    }
    (0..count)
        .map(|k| {
            kinds.get(&k).copied().ok_or_else(|| {
                let found: Vec<String> = kinds.keys().map(usize::to_string).collect();
                anyhow!(
                    "layer {k}: no tensor names it, though the names go up to layer {}: \
                     layers are numbered by their names (PyTorch *_l{{k}}; Keras lstm or gru \
                     for layer 0, lstm_1 or gru_1 for layer 1, ...: rename Keras' automatic \
                     gru_3, gru_4 to gru, gru_1); the file names layers {}",
                    count - 1,
                    found.join(", ")
                )
            })
        })
        .collect()
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
        tensors_of(&to_torch_bytes(m).unwrap())
    }

    /// A recurrent module under another attribute name (`rnn.*`) and Keras' automatic
    /// layer names (`gru_3`, `gru_4`) are refused naming the tensors and the rename.
    #[test]
    fn misnamed_recurrent_tensors_are_refused_with_their_names_and_the_rename() {
        let renamed = |from: &str, to: &str, bytes: &[u8]| {
            let ts: Vec<Tensor> = tensors_of(bytes)
                .into_iter()
                .map(|(n, s, v)| (n.replacen(from, to, 1), s, v))
                .collect();
            format!("{:#}", layer_kinds(&file(&ts, None)).unwrap_err())
        };
        let e = renamed("lstm.", "rnn.", &to_torch_bytes(&model()).unwrap());
        assert!(
            e.contains("rnn.weight_ih_l0") && e.contains("rename e.g. rnn.weight_ih_l0"),
            "{e}"
        );
        let g =
            crate::model::keras_model_of::<crate::model::OneGru>(2, RecurrentActivation::Sigmoid);
        let e = renamed("gru.", "gru_3.", &to_keras_bytes(&g).unwrap());
        assert!(
            e.contains("layer 0: no tensor names it") && e.contains("gru_3, gru_4 to gru, gru_1"),
            "{e}"
        );
    }

    /// Metadata that contradicts the tensor names is refused, naming both.
    #[test]
    fn num_layers_or_layout_metadata_contradicting_the_names_is_refused() {
        let ts = torch_tensors(&model());
        let mut m = model();
        for (key, value, want) in [
            ("num_layers", "2", "num_layers \"2\", its tensor names 1"),
            (
                "layout",
                "keras",
                "layout \"keras\", its tensor names are torch's",
            ),
        ] {
            let e = format!(
                "{:#}",
                read_into(&file(&ts, Some((key, value))), &mut m).unwrap_err()
            );
            assert!(e.contains(want), "{e}");
        }
        read_into(&file(&ts, Some(("num_layers", "1"))), &mut m).unwrap();
    }

    /// The tensors of a safetensors file, as (name, shape, values).
    fn tensors_of(bytes: &[u8]) -> Vec<Tensor> {
        SafeTensors::deserialize(bytes)
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
        let keys = [
            "format",
            "gate_order",
            "layout",
            MATHS_KEY,
            "num_layers",
            "producer",
            ACTIVATION_KEY,
        ];
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
            e.contains("lstm.weight_hh_l0") && e.contains("[10, 40]") && e.contains("[G*H, H]"),
            "{e}"
        );
    }

    #[test]
    fn a_model_of_another_size_is_refused_naming_both_sizes_and_the_commands_that_read_it() {
        let small = keras_model(1, RecurrentActivation::Sigmoid);
        let bytes = to_torch_bytes(&small).unwrap();
        let e = format!("{:#}", from_bytes::<1, 12, 1>(&bytes).unwrap_err());
        assert!(
            e.contains("(lstm, 1, 10)") && e.contains("(lstm, 1, 12)") && e.contains("eval --data"),
            "{e}"
        );
    }

    /// The run-time reader: a size-menu model (3 inputs, 8 hidden units, 4 outputs, a softmax
    /// head and a scaling block, as `fit` trains) exported in either layout reads back as
    /// the very bytes of the `.bin` the model saves, for each cell; a reset-before GRU only
    /// from Keras names (PyTorch has no such cell).
    #[test]
    fn a_menu_model_of_other_sizes_reads_back_as_the_bin_it_would_save() {
        use crate::menu::{Sizes, build};
        for cell in [
            LayerKind::Lstm,
            LayerKind::Gru(GruVariant::ResetAfter),
            LayerKind::Gru(GruVariant::ResetBefore),
        ] {
            let sizes = Sizes {
                features: 3,
                hidden: 8,
                outputs: 4,
                layers: 1,
                cell,
            };
            let mut net = build(sizes).unwrap();
            net.init_keras(11);
            net.set_head(HeadActivation::Softmax);
            let scaling = [
                vec![0.5, -1.0, 2.0],
                vec![1.5, 0.25, 4.0],
                vec![1.0; 4],
                vec![0.0; 4],
            ];
            net.set_scaling(Some(scaling)).unwrap();
            let view = net.view();
            let bin = super::super::binfile::to_bytes(&*view).unwrap();
            let keras = to_keras_bytes(&*view).unwrap();
            let back = to_bin(&keras, None).unwrap();
            assert_eq!((&back.bin, back.layout), (&bin, Layout::Keras), "{cell:?}");
            // The export writes the activation, so nothing was assumed.
            assert!(back.assumed.is_empty());
            if cell != LayerKind::Gru(GruVariant::ResetBefore) {
                let back = to_bin(&to_torch_bytes(&*view).unwrap(), None).unwrap();
                assert_eq!((&back.bin, back.layout), (&bin, Layout::Torch), "{cell:?}");
            }
        }
    }

    #[test]
    fn layers_whose_sizes_do_not_chain_and_a_head_of_another_width_are_refused() {
        let m = stack_model();
        let mut ts = tensors_of(&to_torch_bytes(&m).unwrap());
        for t in ts.iter_mut().filter(|t| t.0 == "lstm.weight_ih_l1") {
            // Layer 1 reads 7 inputs; layer 0 gives 10.
            t.1 = vec![24, 7];
            t.2.truncate(24 * 7);
        }
        let e = format!("{:#}", to_bin(&file(&ts, None), None).unwrap_err());
        assert!(
            e.contains("layer 1 takes 7 inputs") && e.contains("do not chain"),
            "{e}"
        );
        let mut ts = tensors_of(&to_torch_bytes(&model()).unwrap());
        for t in ts.iter_mut().filter(|t| t.0 == "linear.weight") {
            t.1 = vec![1, 9];
            t.2.truncate(9);
        }
        let e = format!("{:#}", to_bin(&file(&ts, None), None).unwrap_err());
        assert!(
            e.contains("linear.weight") && e.contains("10 hidden units"),
            "{e}"
        );
    }

    #[test]
    fn pipeline_metadata_of_the_wrong_length_or_an_unknown_head_is_refused_by_key() {
        let ts = torch_tensors(&model());
        for (key, value, said) in [
            ("head_activation", "tanh", "unknown head_activation"),
            ("differenced", "yes", "differenced"),
            ("input_mean", "[0.0]", "not all of"),
        ] {
            let e = format!(
                "{:#}",
                to_bin(&file(&ts, Some((key, value))), None).unwrap_err()
            );
            assert!(e.contains(said), "{key}: {e}");
        }
    }

    #[test]
    fn a_second_layer_with_only_some_of_its_tensors_is_refused_naming_a_missing_one() {
        let mut ts = torch_tensors(&model());
        ts.push(("lstm.weight_ih_l1".into(), vec![40, 10], vec![0.0; 400]));
        let e = err(&file(&ts, None));
        assert!(e.contains("tensor lstm.weight_hh_l1 is missing"), "{e}");
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

    type Stack2 = lstm_kernel::Lstm2<1, HIDDEN, 6>;
    type StackModel = Model<Stack2, 1, 6, 2>;

    fn stack_model() -> StackModel {
        let mut m: StackModel = Model::new(
            lstm_kernel::Stack::new(
                lstm_kernel::Lstm::zeroed(RecurrentActivation::Sigmoid),
                lstm_kernel::Lstm::zeroed(RecurrentActivation::HardSigmoidKeras3),
            ),
            lstm_kernel::Dense::zeroed(),
        );
        let mut i = 0_u32;
        for t in 0..<StackModel as Tensors<f32>>::COUNT {
            for v in m.tensor_mut(t) {
                *v = (i as f32 * 0.37).sin();
                i += 1;
            }
        }
        m
    }

    fn zero_stack() -> StackModel {
        Model::new(
            lstm_kernel::Stack::new(
                lstm_kernel::Lstm::zeroed(RecurrentActivation::Sigmoid),
                lstm_kernel::Lstm::zeroed(RecurrentActivation::Sigmoid),
            ),
            lstm_kernel::Dense::zeroed(),
        )
    }

    #[test]
    fn a_two_layer_stack_round_trips_with_nn_lstm_names_and_per_layer_activations() {
        let m = stack_model();
        let bytes = to_torch_bytes(&m).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("lstm.weight_ih_l1").unwrap().shape(), [24, 10]);
        assert_eq!(st.tensor("lstm.weight_hh_l1").unwrap().shape(), [24, 6]);
        let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = meta.metadata().clone().unwrap();
        assert_eq!(meta["recurrent_activation_l1"], "hard-sigmoid-keras3");
        assert_eq!(meta["num_layers"], "2");
        let mut back = zero_stack();
        assert_eq!(read_into(&bytes, &mut back).unwrap(), Layout::Torch);
        assert_eq!(back, m);
        // The one-layer model refuses it by layer count.
        let e = err(&bytes);
        assert!(
            e.contains("2 recurrent layers, the model type 1") && e.contains("--layers 2"),
            "{e}"
        );
    }

    /// The Keras writer: the names and shapes of stacked `keras.layers.LSTM` + `Dense`
    /// (`lstm`, `lstm_1`; kernels `[in, 4H]` as stored, the dense kernel transposed), the
    /// values of the hand-built Keras file below, and a bit-exact round trip.
    #[test]
    fn a_two_layer_stack_round_trips_with_keras_names() {
        let m = stack_model();
        let bytes = to_keras_bytes(&m).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "dense.bias",
                "dense.kernel",
                "lstm.bias",
                "lstm.kernel",
                "lstm.recurrent_kernel",
                "lstm_1.bias",
                "lstm_1.kernel",
                "lstm_1.recurrent_kernel"
            ]
        );
        assert_eq!(st.tensor("lstm.kernel").unwrap().shape(), [1, 40]);
        assert_eq!(st.tensor("lstm_1.kernel").unwrap().shape(), [10, 24]);
        assert_eq!(
            st.tensor("lstm_1.recurrent_kernel").unwrap().shape(),
            [6, 24]
        );
        assert_eq!(st.tensor("dense.kernel").unwrap().shape(), [6, 2]);
        // dense.kernel[j][o] = head.w[o][j] (Keras `Dense.kernel` is `[H, OUT]`).
        let dk = st.tensor("dense.kernel").unwrap();
        let dk: Vec<f32> = dk
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(dk[1], m.head.w[1][0]);
        assert_eq!(dk[2], m.head.w[0][1]);
        let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = meta.metadata().clone().unwrap();
        assert_eq!(meta["layout"], "keras");
        assert_eq!(meta["gate_order"], "i,f,c,o");
        let mut back = zero_stack();
        assert_eq!(read_into(&bytes, &mut back).unwrap(), Layout::Keras);
        assert_eq!(back, m);
        // Keras and PyTorch exports of one model are two files of the same model.
        let mut via_torch = zero_stack();
        read_into(&to_torch_bytes(&m).unwrap(), &mut via_torch).unwrap();
        assert_eq!(via_torch, back);
    }

    #[test]
    fn stacked_keras_layers_named_lstm_and_lstm_1_load() {
        let m = stack_model();
        let (lo, up) = (&m.rnn.lower.weights, &m.rnn.upper.weights);
        let dk: Vec<f32> = (0..6)
            .flat_map(|j| (0..2).map(move |o| (o, j)))
            .map(|(o, j)| m.head.w[o][j])
            .collect();
        let ts: Vec<Tensor> = vec![
            ("lstm/kernel".into(), vec![1, 40], lo.w_ih_flat().to_vec()),
            (
                "lstm/recurrent_kernel".into(),
                vec![10, 40],
                lo.w_hh_flat().to_vec(),
            ),
            ("lstm/bias".into(), vec![40], lo.b_flat().to_vec()),
            (
                "lstm_1/kernel".into(),
                vec![10, 24],
                up.w_ih_flat().to_vec(),
            ),
            (
                "lstm_1/recurrent_kernel".into(),
                vec![6, 24],
                up.w_hh_flat().to_vec(),
            ),
            ("lstm_1/bias".into(), vec![24], up.b_flat().to_vec()),
            ("dense/kernel".into(), vec![6, 2], dk),
            ("dense/bias".into(), vec![2], m.head.b.to_vec()),
        ];
        let mut back = zero_stack();
        let bytes = file(
            &ts,
            Some(("recurrent_activation_l1", "hard-sigmoid-keras3")),
        );
        assert_eq!(read_into(&bytes, &mut back).unwrap(), Layout::Keras);
        assert_eq!(back, m);
    }

    #[test]
    fn an_onnx_gate_order_is_honoured_by_reordering_the_gate_blocks() {
        let m = model();
        // Rewrite every [4H, ..] tensor's blocks from i, f, g, o to ONNX's i, o, f, c.
        let onnx = [0, 3, 1, 2]; // file block p holds our gate onnx[p]
        let ts: Vec<Tensor> = torch_tensors(&m)
            .into_iter()
            .map(|(n, shape, v)| {
                if !n.starts_with("lstm.") {
                    return (n, shape, v);
                }
                let rows = shape[0] / 4;
                let cols = v.len() / shape[0];
                let block = rows * cols;
                let mut out = Vec::with_capacity(v.len());
                for &q in &onnx {
                    out.extend_from_slice(&v[q * block..(q + 1) * block]);
                }
                (n, shape, out)
            })
            .collect();
        let back = load(&file(&ts, Some(("gate_order", "i,o,f,c")))).unwrap();
        assert_eq!(back, m);
        // Without the field the same bytes would be another (wrong) model.
        assert_ne!(load(&file(&ts, None)).unwrap(), m);
        let e = err(&file(&ts, Some(("gate_order", "i,f,f,o"))));
        assert!(e.contains("not a permutation") && e.contains("ONNX"), "{e}");
    }

    #[test]
    fn a_reversed_layer_is_refused_by_name() {
        let ts = torch_tensors(&model());
        let e = err(&file(&ts, Some(("go_backwards", "true"))));
        assert!(
            e.contains("go_backwards") && e.contains("forward only"),
            "{e}"
        );
        assert!(load(&file(&ts, Some(("go_backwards", "false")))).is_ok());
        let mut bi = ts.clone();
        bi.push((
            "lstm.weight_ih_l0_reverse".into(),
            vec![40, 1],
            vec![0.0; 40],
        ));
        let e = err(&file(&bi, None));
        assert!(
            e.contains("lstm.weight_ih_l0_reverse") && e.contains("bidirectional"),
            "{e}"
        );
    }

    #[test]
    fn keras_hard_sigmoid_is_refused_with_the_accepted_names() {
        let ts = torch_tensors(&model());
        let e = err(&file(&ts, Some((ACTIVATION_KEY, "hard_sigmoid"))));
        for name in ["sigmoid", "hard-sigmoid-keras2", "hard-sigmoid-keras3"] {
            assert!(e.contains(name), "{e}");
        }
    }

    #[test]
    fn every_unused_tensor_is_listed_with_the_head_rename_suggested() {
        let mut ts = torch_tensors(&model());
        for t in &mut ts {
            t.0 = t.0.replace("linear.", "fc.");
        }
        ts.push(("extra.scale".into(), vec![1], vec![1.0]));
        let e = err(&file(&ts, None));
        for n in [
            "fc.weight",
            "fc.bias",
            "extra.scale",
            "--map fc.weight=linear.weight --map fc.bias=linear.bias",
        ] {
            assert!(e.contains(n), "{n} not in: {e}");
        }
    }

    /// A 2-layer GRU (each variant) through both layouts and back, bit-exact where the
    /// layout can hold it: PyTorch (reset-after only) and Keras (either; reset-before keeps
    /// the sum `b_in + b_hn` with `b_hn` zero, the same model).
    #[test]
    fn gru_stacks_round_trip_through_both_layouts_and_pytorch_refuses_reset_before() {
        use crate::model::{PostModel, TwoGrus, keras_model_of, same_bits, set_cell};
        use lstm_kernel::Tensors as _;
        for variant in GruVariant::ALL {
            let mut m: PostModel<TwoGrus> =
                keras_model_of::<TwoGrus>(9, RecurrentActivation::HardSigmoidKeras3);
            set_cell(&mut m, LayerKind::Gru(variant)).unwrap();
            // Nonzero b and b_hn in every layer (Keras' init leaves them zero).
            for t in 0..<PostModel<TwoGrus> as Tensors<f32>>::COUNT {
                for (j, v) in m.tensor_mut(t).iter_mut().enumerate() {
                    *v += 0.01 * (j as f32 + t as f32).sin();
                }
            }
            let mut back =
                PostModel::<TwoGrus>::new(TwoGrus::default(), lstm_kernel::Dense::zeroed());
            let keras = to_keras_bytes(&m).unwrap();
            assert_eq!(read_into(&keras, &mut back).unwrap(), Layout::Keras);
            assert_eq!(layer_kinds(&keras).unwrap(), [LayerKind::Gru(variant); 2]);
            let names: Vec<String> = SafeTensors::deserialize(&keras)
                .unwrap()
                .names()
                .into_iter()
                .map(String::from)
                .collect();
            assert!(
                names.contains(&"gru_1.recurrent_kernel".to_string()),
                "{names:?}"
            );
            match variant {
                GruVariant::ResetAfter => {
                    assert!(same_bits(&back, &m), "{variant:?} keras");
                    let torch = to_torch_bytes(&m).unwrap();
                    let mut t =
                        PostModel::<TwoGrus>::new(TwoGrus::default(), lstm_kernel::Dense::zeroed());
                    assert_eq!(read_into(&torch, &mut t).unwrap(), Layout::Torch);
                    assert!(same_bits(&t, &m), "torch");
                    assert_eq!(layer_kinds(&torch).unwrap(), [LayerKind::Gru(variant); 2]);
                }
                GruVariant::ResetBefore => {
                    // Same outputs: the n bias is one sum in this variant.
                    let mut s1 = <TwoGrus as Recurrent<1, HIDDEN, f32>>::State::default();
                    let mut s2 = s1;
                    for t in 0..20 {
                        let x = [(t as f32 * 0.3).sin()];
                        assert_eq!(m.step(&x, &mut s1), back.step(&x, &mut s2));
                    }
                    assert_eq!(back.rnn.lower.variant, GruVariant::ResetBefore);
                    let e = to_torch_bytes(&m).unwrap_err().to_string();
                    assert!(
                        e.contains("reset-before") && e.contains("safetensors-keras"),
                        "{e}"
                    );
                }
            }
        }
    }

    /// Reading a GRU file into an LSTM model (or the reverse) names the cell and the flag.
    #[test]
    fn a_gru_file_into_an_lstm_model_is_refused_naming_the_cell() {
        use crate::model::{OneGru, PostModel, keras_model_of};
        let g = keras_model_of::<OneGru>(2, RecurrentActivation::Sigmoid);
        for bytes in [to_torch_bytes(&g).unwrap(), to_keras_bytes(&g).unwrap()] {
            let e = format!("{:#}", from_bytes::<1, HIDDEN, 1>(&bytes).unwrap_err());
            assert!(e.contains("gru") && e.contains("--cell gru"), "{e}");
        }
        let mut into_gru =
            PostModel::<OneGru>::new(OneGru::default(), lstm_kernel::Dense::zeroed());
        let e = format!(
            "{:#}",
            read_into(&to_torch_bytes(&model()).unwrap(), &mut into_gru).unwrap_err()
        );
        assert!(e.contains("--cell lstm"), "{e}");
        // A bare nn.GRU state dict (no `gru.` prefix) is told apart by its gate count.
        let bare: Vec<Tensor> = tensors_of(&to_torch_bytes(&g).unwrap())
            .into_iter()
            .map(|(n, s, v)| (n.replace("gru.", ""), s, v))
            .collect();
        let bytes = file(&bare, None);
        assert_eq!(
            layer_kinds(&bytes).unwrap(),
            [LayerKind::Gru(GruVariant::ResetAfter)]
        );
        read_into(&bytes, &mut into_gru).unwrap();
        assert!(crate::model::same_bits(&into_gru, &g));
    }
}
