//! ONNX model files (`.onnx`), read without Python or onnxruntime: a chain of `LSTM` / `GRU`
//! operators and a dense head, as `torch.onnx.export` (both its TorchScript and its dynamo
//! exporter) and tf2onnx write them, turned into safetensors bytes under the names
//! [`super::safetensors`] reads (Keras layout), so every command reads them.
//!
//! # What is read
//! The graph is followed from its one input to its one output along the *data path* (the
//! tensors computed from the input); every node on it must be one of:
//! - `LSTM` and `GRU` (ONNX operator set 7 and later): `W` `[1][G*H][IN]`, `R` `[1][G*H][H]`
//!   and `B` `[1][2*G*H]` (`[Wb, Rb]`; absent: zeros) as constants, in the operator's gate
//!   order (LSTM i, o, f, c; GRU z, r, h). Attributes: `hidden_size`; `direction` `forward`
//!   only (`reverse` and `bidirectional` are refused by name: the kernel runs forward in
//!   time); `layout` 0 only (1, batch-first, which onnxruntime does not run either, is
//!   refused); `activations` `[f, g, h]` (LSTM) or `[f, g]` (GRU) with f `Sigmoid` or
//!   `HardSigmoid` (alpha 0.2 and beta 0.5: Keras 2's hard sigmoid; alpha 1/6, beta 0.5:
//!   Keras 3's) and g, h `Tanh`; any other activation, `clip`, `input_forget = 1`, the
//!   peephole input `P` and a `sequence_lens` input are refused by name; `linear_before_reset`
//!   (GRU) 1 is the kernel's reset-after variant (PyTorch's GRU), 0 its reset-before one
//!   (Keras' `reset_after=False`, whose `Rb` is then added to `Wb`: ONNX adds it outside the
//!   reset gate). The initial state inputs must be absent or zeros (a constant, or an
//!   `Expand` / `ConstantOfShape` of zeros, as both torch exporters write them); a graph input
//!   that is the initial state is refused by name.
//! - one head: `Gemm` (`alpha = beta = 1`, `transA = 0`, `B` as `[H][OUT]` or, with
//!   `transB = 1`, `[OUT][H]`; `C` `[OUT]`) on the last step, or `MatMul` by a constant
//!   `[H][OUT]` with an optional `Add` of a constant `[OUT]` (on the last step, or on every
//!   step: sequence labelling); then optionally `Sigmoid` or `Softmax` over the outputs,
//!   the model's head activation.
//! - shape operators that only move axes: `Transpose`, `Squeeze`, `Unsqueeze`, `Reshape`,
//!   `Flatten` (no axis of the sequence, batch or features merged with another), `Identity`,
//!   `Cast` to float, `Dropout` (nothing at inference); `Gather` and `Slice` that select the
//!   *last* step (index -1, or the traced length minus one) or the one direction of a layer.
//!   A head reading another step (`out[:, 5]`) is refused, naming the step.
//!
//! Anything else on the data path (another operator, two branches, a custom domain, a
//! second graph input or output, the cell state `Y_c` used as an output) is refused by
//! name. Nodes off the data path (the exporters' `Shape`/`Concat` arithmetic for the
//! initial state) are only read where an input above needs their value.
//!
//! # External data
//! A tensor whose values are in an external file (`data_location = EXTERNAL`, the dynamo
//! exporter's default: `model.onnx.data` beside `model.onnx`) is read through the caller's
//! `external` function, given the `location` as written in the file; [`super::read_bin`]
//! resolves it in the model's folder and refuses a location outside it.
//!
//! # What is written
//! The Keras layout of [`super::safetensors`]: per layer `lstm{_k}` / `gru{_k}` with
//! `kernel` `[IN][G*H]` (`W` transposed), `recurrent_kernel` `[H][G*H]` and `bias` (LSTM:
//! `[G*H]` = `Wb + Rb`; GRU reset-after `[2][G*H]` = `[Wb; Rb]`; GRU reset-before `[G*H]` =
//! `Wb + Rb`), gate blocks in Keras' order (LSTM i, f, c, o; GRU z, r, h), and `dense/kernel`
//! `[H][OUT]`, `dense/bias` `[OUT]`; metadata `layout`, `source = onnx`, `num_layers`, each
//! layer's `recurrent_activation` and the `head_activation`.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::{Result, anyhow, bail};
use prost::Message;

use super::safetensors::{ACTIVATION_KEY, Family, HEAD_KEY};
use lstm_kernel::{HeadActivation, RecurrentActivation};

mod proto;
mod shape;
mod tensor;

use tensor::{Const, External, FLOAT, MAX_VALUES, Values, tensor_values};

/// Whether `bytes` decode as an ONNX model: a `ModelProto` with an IR version, an operator
/// set and a graph of at least one node (protobuf has no magic number).
pub fn is_onnx(bytes: &[u8]) -> bool {
    proto::Model::decode(bytes).is_ok_and(|m| {
        m.ir_version.is_some()
            && !m.opset_import.is_empty()
            && m.graph.as_ref().is_some_and(|g| !g.node.is_empty())
    })
}

/// An ONNX file read as safetensors.
#[derive(Debug)]
pub struct Read {
    /// safetensors bytes under this tool's Keras names, the settings in the metadata.
    pub safetensors: Vec<u8>,
    /// What the graph held that the kernel leaves out (dropout), one line each.
    pub notes: Vec<String>,
    /// What the file says of itself (its producer and operator set, the input's axes,
    /// whether the head runs on every step), one line each, for `inspect`.
    pub about: Vec<String>,
}

/// What an axis of a tensor on the data path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ax {
    /// Axis `i` of the graph's input, before the first layer says what it is.
    Input(usize),
    /// The sequence's steps.
    Time,
    /// The batch's sequences.
    Batch,
    /// The features (inputs, a layer's hidden units, the head's outputs).
    Feat,
    /// An axis of one entry (a layer's one direction, an unsqueezed axis).
    One,
}

/// An axis and its size, if the graph tells it.
type Axis = (Ax, Option<i64>);

/// A tensor's shape and values.
type Var = (Vec<usize>, Vec<f32>);

/// Where on the data path a tensor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// The graph's input, possibly moved.
    Input,
    /// The output of the last recurrent layer so far.
    Layer,
    /// After a `MatMul` head, before its `Add`.
    MatMul,
    /// After the head.
    Head,
    /// After the head's activation.
    Activated,
}

/// A tensor on the data path: its axes (each with its size, if the graph tells) and stage.
#[derive(Clone, Debug)]
struct Val {
    axes: Vec<Axis>,
    stage: Stage,
    /// Whether the last step has been selected (`Y_h`, or `Gather`/`Slice` of the last).
    last: bool,
}

/// One recurrent layer as read, in Keras layout (module docs).
struct Layer {
    family: Family,
    kernel: Var,
    recurrent: Var,
    bias: Var,
    activation: RecurrentActivation,
}

/// The graph being read.
struct Reader<'g, 'e> {
    consts: HashMap<&'g str, &'g proto::Tensor>,
    producer: HashMap<&'g str, &'g proto::Node>,
    external: External<'e>,
    opset: i64,
    vals: HashMap<String, Val>,
    cell_states: HashSet<String>,
    graph_inputs: HashSet<&'g str>,
    layers: Vec<Layer>,
    head: Option<(Var, Var)>,
    head_act: HeadActivation,
    notes: Vec<String>,
    about: Vec<String>,
}

fn op_of(n: &proto::Node) -> &str {
    n.op_type.as_deref().unwrap_or("")
}

/// `Gemm node /fc/Gemm` (or `Gemm node #3` when unnamed).
fn node_label(n: &proto::Node, index: usize) -> String {
    match n.name.as_deref() {
        Some(name) if !name.is_empty() => format!("{} node {name}", op_of(n)),
        _ => format!("{} node #{index}", op_of(n)),
    }
}

fn attr<'n>(n: &'n proto::Node, name: &str) -> Option<&'n proto::Attribute> {
    n.attribute.iter().find(|a| a.name.as_deref() == Some(name))
}

fn attr_int(n: &proto::Node, name: &str, default: i64) -> i64 {
    attr(n, name).and_then(|a| a.i).unwrap_or(default)
}

fn attr_float(n: &proto::Node, name: &str, default: f32) -> f32 {
    attr(n, name).and_then(|a| a.f).unwrap_or(default)
}

fn attr_text(n: &proto::Node, name: &str) -> Option<String> {
    attr(n, name)
        .and_then(|a| a.s.as_ref())
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

/// An axis argument `a` of a tensor of rank `rank` (negative from the end).
fn axis(a: i64, rank: usize, label: &str) -> Result<usize> {
    let r = rank as i64;
    let a = if a < 0 { a + r } else { a };
    if !(0..r).contains(&a) {
        bail!("{label}: axis {a} of a tensor of rank {rank}");
    }
    Ok(a as usize)
}

impl<'g> Reader<'g, '_> {
    /// The constant `name` (an initializer or a `Constant` node's value).
    fn constant(&mut self, name: &str, label: &str) -> Result<Const> {
        if let Some(t) = self.consts.get(name) {
            return tensor_values(t, &mut self.external);
        }
        if let Some(n) = self.producer.get(name)
            && op_of(n) == "Constant"
        {
            if let Some(t) = attr(n, "value").and_then(|a| a.t.as_ref()) {
                return tensor_values(t, &mut self.external);
            }
            if let Some(a) = attr(n, "value_ints") {
                return Ok(Const {
                    dims: vec![a.ints.len()],
                    values: Values::I64(a.ints.clone()),
                });
            }
            if let Some(i) = attr(n, "value_int").and_then(|a| a.i) {
                return Ok(Const {
                    dims: vec![],
                    values: Values::I64(vec![i]),
                });
            }
            if let Some(f) = attr(n, "value_float").and_then(|a| a.f) {
                return Ok(Const {
                    dims: vec![],
                    values: Values::F32(vec![f]),
                });
            }
            bail!("{label}: input {name} is a Constant of a kind this reader does not read");
        }
        match self.producer.get(name) {
            Some(n) => bail!(
                "{label}: input {name} is computed by a {} node; this reader needs it as a \
                 constant (an initializer or a Constant node)",
                op_of(n)
            ),
            None => bail!("{label}: input {name} is not a constant of the graph"),
        }
    }

    /// Whether `name` is zeros whatever the input: a zero constant, `ConstantOfShape` of
    /// zero, or `Expand`, `Identity`, `Cast`, `Reshape`, `Squeeze`, `Unsqueeze`, `Slice`,
    /// `Gather`, `Transpose`, `Tile` of zeros (how exporters build a zero state of a dynamic
    /// batch).
    fn is_zero(&mut self, name: &str, depth: usize) -> Result<bool> {
        if depth > 64 {
            return Ok(false);
        }
        if self.consts.contains_key(name) {
            return Ok(self.constant(name, "initial state")?.is_zero());
        }
        let Some(n) = self.producer.get(name).copied() else {
            return Ok(false);
        };
        match op_of(n) {
            "Constant" => Ok(self.constant(name, "initial state")?.is_zero()),
            "ConstantOfShape" => match attr(n, "value").and_then(|a| a.t.as_ref()) {
                None => Ok(true),
                Some(t) => Ok(tensor_values(t, &mut self.external)?.is_zero()),
            },
            "Expand" | "Identity" | "Cast" | "Reshape" | "Squeeze" | "Unsqueeze" | "Slice"
            | "Gather" | "Transpose" | "Tile" => match n.input.first() {
                Some(i) => self.is_zero(i, depth + 1),
                None => Ok(false),
            },
            _ => Ok(false),
        }
    }

    /// The integer constant input `i` of node `n`, or its attribute `name` (the operator's
    /// form before opset 13 / 10), or `None` if neither is given.
    fn ints_arg(
        &mut self,
        n: &proto::Node,
        i: usize,
        name: &str,
        label: &str,
    ) -> Result<Option<Vec<i64>>> {
        if let Some(a) = attr(n, name) {
            return Ok(Some(a.ints.clone()));
        }
        match n.input.get(i).filter(|s| !s.is_empty()) {
            Some(input) => {
                let input = input.clone();
                Ok(Some(self.constant(&input, label)?.ints(&input)?.to_vec()))
            }
            None => Ok(None),
        }
    }
}

/// Reads an ONNX model (module docs); `external` gives the bytes of an external data file
/// named by its `location`.
///
/// # Errors
/// Not an ONNX model; the refusals of the module docs, each naming the node, attribute or
/// tensor; weights whose shapes do not fit the operator.
pub fn onnx_to_safetensors(
    bytes: &[u8],
    external: &mut dyn FnMut(&str) -> Result<Vec<u8>>,
) -> Result<Read> {
    let model = proto::Model::decode(bytes).map_err(|e| anyhow!("not an ONNX model: {e}"))?;
    let Some(graph) = model.graph.as_ref() else {
        bail!("not an ONNX model: no graph");
    };
    let opset = model
        .opset_import
        .iter()
        .find(|o| matches!(o.domain.as_deref(), None | Some("") | Some("ai.onnx")))
        .and_then(|o| o.version)
        .ok_or_else(|| anyhow!("the model imports no version of the standard ONNX operators"))?;
    let mut about = Vec::new();
    if let Some(p) = model.producer_name.as_deref().filter(|p| !p.is_empty()) {
        let version = model.producer_version.as_deref().unwrap_or("");
        let by = format!("{p} {version}");
        about.push(format!(
            "written by {}, ONNX operator set {opset}",
            by.trim_end()
        ));
    }
    let mut r = Reader {
        consts: graph
            .initializer
            .iter()
            .filter_map(|t| t.name.as_deref().map(|n| (n, t)))
            .collect(),
        producer: HashMap::new(),
        external: External::new(external),
        opset,
        vals: HashMap::new(),
        cell_states: HashSet::new(),
        graph_inputs: HashSet::new(),
        layers: Vec::new(),
        head: None,
        head_act: HeadActivation::Unspecified,
        notes: Vec::new(),
        about,
    };
    for n in &graph.node {
        for o in &n.output {
            r.producer.insert(o.as_str(), n);
        }
    }
    // The one data input (older files list the initializers among the inputs too).
    let inputs: Vec<&proto::ValueInfo> = graph
        .input
        .iter()
        .filter(|i| !r.consts.contains_key(i.name.as_deref().unwrap_or("")))
        .collect();
    let [input] = inputs.as_slice() else {
        let names: Vec<&str> = inputs.iter().filter_map(|i| i.name.as_deref()).collect();
        bail!(
            "the graph has {} inputs ({}); this reader takes one, the input sequences (a \
             model that takes its initial state as an input: export it starting from zeros, \
             the kernel carries the state itself)",
            names.len(),
            names.join(", ")
        );
    };
    let input_name = input.name.clone().unwrap_or_default();
    let dims: Vec<Option<i64>> = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .and_then(|t| t.shape.as_ref())
        .map(|s| {
            s.dim
                .iter()
                .map(|d| d.dim_value.filter(|&v| v > 0))
                .collect()
        })
        .unwrap_or_else(|| vec![None; 3]);
    if dims.len() != 3 {
        bail!(
            "graph input {input_name} has {} axes; a sequence model's input has 3 (batch, \
             steps, features in some order)",
            dims.len()
        );
    }
    r.graph_inputs.insert(input.name.as_deref().unwrap_or(""));
    r.vals.insert(
        input_name.clone(),
        Val {
            axes: dims
                .iter()
                .enumerate()
                .map(|(i, &d)| (Ax::Input(i), d))
                .collect(),
            stage: Stage::Input,
            last: false,
        },
    );
    // Each data tensor feeds one node of the data path (`Shape` reads only its shape).
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut seen: HashSet<&str> = graph
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .chain(graph.input.iter().filter_map(|i| i.name.as_deref()))
        .collect();
    seen.insert("");
    for (index, n) in graph.node.iter().enumerate() {
        let label = node_label(n, index);
        for i in &n.input {
            if !seen.contains(i.as_str()) {
                bail!(
                    "{label}: input {i} is not computed before it (the graph is not \
                     topologically sorted, or the input is missing)"
                );
            }
            consumers.entry(i.as_str()).or_default().push(index);
        }
        seen.extend(n.output.iter().map(String::as_str));
    }
    for (index, n) in graph.node.iter().enumerate() {
        let label = node_label(n, index);
        let data: Vec<usize> = (0..n.input.len())
            .filter(|&i| r.vals.contains_key(&n.input[i]))
            .collect();
        if data.is_empty() || matches!(op_of(n), "Shape" | "Size") {
            continue;
        }
        if let Some(i) = n.input.iter().find(|i| r.cell_states.contains(*i)) {
            bail!(
                "{label} reads {i}, an LSTM's cell state Y_c; the kernel's head reads the \
                 hidden state h"
            );
        }
        if data.len() > 1 {
            bail!(
                "{label} combines {} tensors of the model's data path; this reader takes a \
                 chain of LSTM/GRU layers and one dense head",
                data.len()
            );
        }
        let at = data[0];
        let name = n.input[at].clone();
        let users: Vec<usize> = consumers[name.as_str()]
            .iter()
            .copied()
            .filter(|&u| !matches!(op_of(&graph.node[u]), "Shape" | "Size"))
            .collect();
        if users.len() > 1 {
            bail!(
                "tensor {name} feeds {} nodes ({}); this reader takes a chain without branches",
                users.len(),
                users
                    .iter()
                    .map(|&u| node_label(&graph.node[u], u))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if matches!(n.domain.as_deref(), Some(d) if !d.is_empty() && d != "ai.onnx") {
            bail!(
                "{label} is of domain {}, not a standard ONNX operator",
                n.domain.as_deref().unwrap_or("")
            );
        }
        let val = r.vals[&name].clone();
        step(&mut r, n, &label, at, val)?;
    }
    // The one output: the head's (after its activation, if any).
    let [output] = graph.output.as_slice() else {
        let names: Vec<&str> = graph
            .output
            .iter()
            .filter_map(|o| o.name.as_deref())
            .collect();
        bail!(
            "the graph has {} outputs ({}); this reader takes one, the head's outputs (a \
             model that also returns its state: the kernel carries the state itself)",
            names.len(),
            names.join(", ")
        );
    };
    let out_name = output.name.as_deref().unwrap_or("");
    match r.vals.get(out_name) {
        Some(v) if matches!(v.stage, Stage::Head | Stage::Activated | Stage::MatMul) => {
            if !v.last {
                r.about.push(
                    "the head runs on every step (the graph's output is one row per step)"
                        .to_string(),
                );
            }
        }
        Some(_) => bail!(
            "graph output {out_name} is not after a dense head (Gemm, or MatMul and Add) on the \
             recurrent layers' output; the kernel's models end in one"
        ),
        None => {
            // A loop's body reads the data path from the outer scope, not through its
            // inputs, so the walk stops before it: name it.
            if let Some((index, n)) = graph
                .node
                .iter()
                .enumerate()
                .find(|(_, n)| matches!(op_of(n), "Loop" | "Scan" | "If"))
            {
                bail!(
                    "{}: this reader does not run loops (tf2onnx writes a recurrent layer it \
                     cannot fuse into an ONNX LSTM/GRU operator as a Loop of its steps, e.g. a \
                     Keras GRU with reset_after=False); read the Keras file (.keras or .h5) \
                     instead",
                    node_label(n, index)
                )
            }
            bail!(
                "graph output {out_name} is not computed from the graph input {input_name} \
                 through LSTM/GRU layers and a dense head"
            )
        }
    }
    finish(r)
}

/// Follows node `n` of the data path (its data input is input `at`, of value `val`) and
/// records the values of its outputs.
fn step(r: &mut Reader<'_, '_>, n: &proto::Node, label: &str, at: usize, val: Val) -> Result<()> {
    let op = op_of(n);
    if at != 0 && op != "Add" {
        bail!(
            "{label}: the model's data path is its input {at}; this reader reads {op} with the \
             data as its first input"
        );
    }
    let result = match op {
        "Identity" => val,
        "Dropout" => {
            r.notes.push(format!(
                "{label}: dropout does nothing at inference; left out"
            ));
            val
        }
        "Cast" => {
            let to = attr_int(n, "to", 0);
            if to != i64::from(FLOAT) {
                bail!("{label}: a Cast to data type {to}; the kernel runs float32 (1)");
            }
            val
        }
        "Transpose" => {
            let rank = val.axes.len();
            let perm: Vec<i64> = attr(n, "perm")
                .map(|a| a.ints.clone())
                .unwrap_or_else(|| (0..rank as i64).rev().collect());
            let mut used = vec![false; rank];
            let mut axes = Vec::with_capacity(rank);
            for &p in &perm {
                match usize::try_from(p).ok().filter(|&p| p < rank && !used[p]) {
                    Some(p) => {
                        used[p] = true;
                        axes.push(val.axes[p]);
                    }
                    None => bail!("{label}: perm {perm:?} is not a permutation of {rank} axes"),
                }
            }
            if axes.len() != rank {
                bail!("{label}: perm {perm:?} is not a permutation of {rank} axes");
            }
            Val { axes, ..val }
        }
        "Squeeze" => squeeze(r, n, label, val)?,
        "Unsqueeze" => {
            let Some(axes) = r.ints_arg(n, 1, "axes", label)? else {
                bail!("{label}: Unsqueeze without axes");
            };
            let rank = val.axes.len() + axes.len();
            let mut at: Vec<usize> = axes
                .iter()
                .map(|&a| axis(a, rank, label))
                .collect::<Result<_>>()?;
            at.sort_unstable();
            at.dedup();
            if at.len() != axes.len() {
                bail!("{label}: axes {axes:?} repeat an axis");
            }
            let mut out = val.axes.clone();
            for &a in &at {
                out.insert(a.min(out.len()), (Ax::One, Some(1)));
            }
            Val { axes: out, ..val }
        }
        "Reshape" => reshape(r, n, label, val)?,
        "Flatten" => {
            let rank = val.axes.len();
            let a = attr_int(n, "axis", 1);
            let a = if a == rank as i64 {
                rank
            } else {
                axis(a, rank, label)?
            };
            let group = |part: &[Axis]| -> Result<Axis> {
                let real: Vec<&Axis> = part.iter().filter(|x| !is_one(x)).collect();
                match real.as_slice() {
                    [] => Ok((Ax::One, Some(1))),
                    [x] => Ok(**x),
                    _ => bail!(
                        "{label}: Flatten at axis {a} merges axes that hold several entries \
                         ({real:?}); this reader follows operators that only move axes"
                    ),
                }
            };
            let axes = vec![group(&val.axes[..a])?, group(&val.axes[a..])?];
            Val { axes, ..val }
        }
        "Gather" => gather(r, n, label, val)?,
        "Slice" => slice(r, n, label, val)?,
        "LSTM" | "GRU" => return recurrent(r, n, label, val),
        "Gemm" => gemm(r, n, label, val)?,
        "MatMul" => {
            let (h, rows) = head_input(r, label, &val, "MatMul")?;
            let b = n.input.get(1).cloned().unwrap_or_default();
            let w = r.constant(&b, label)?;
            if w.dims.len() != 2 || w.dims[0] != h {
                bail!(
                    "{label}: B has shape {:?}, expected [{h}, outputs] for the layer's {h} \
                     units",
                    w.dims
                );
            }
            let out = w.dims[1];
            let kernel = (w.dims.clone(), w.f32(&b)?.to_vec());
            r.head = Some((kernel, (vec![out], vec![0.0; out])));
            let mut axes = rows;
            axes.push((Ax::Feat, Some(out as i64)));
            Val {
                axes,
                stage: Stage::MatMul,
                ..val
            }
        }
        "Add" => {
            if val.stage != Stage::MatMul {
                bail!(
                    "{label}: an Add on the model's data path outside a MatMul + Add head; this \
                     reader takes no other arithmetic"
                );
            }
            let other = n.input.get(1 - at.min(1)).cloned().unwrap_or_default();
            let c = r.constant(&other, label)?;
            let out = r.head.as_ref().map_or(0, |h| h.1.0[0]);
            let v = c.f32(&other)?;
            let shape_ok =
                c.dims.last() == Some(&out) && c.dims.iter().rev().skip(1).all(|&d| d == 1);
            if !shape_ok || v.len() != out {
                bail!(
                    "{label}: the bias {other} has shape {:?}, expected [{out}] for the head's \
                     {out} outputs",
                    c.dims
                );
            }
            if let Some(head) = r.head.as_mut() {
                head.1 = (vec![out], v.to_vec());
            }
            Val {
                stage: Stage::Head,
                ..val
            }
        }
        "Sigmoid" | "Softmax" => {
            if !matches!(val.stage, Stage::Head | Stage::MatMul) {
                bail!(
                    "{label}: a {op} on the model's data path {}; the kernel's models apply \
                     it to the head's outputs only",
                    if val.stage == Stage::Activated {
                        "after the head's activation"
                    } else {
                        "before the dense head"
                    }
                );
            }
            let rank = val.axes.len();
            if op == "Softmax" {
                let default = if r.opset >= 13 { -1 } else { 1 };
                let a = axis(attr_int(n, "axis", default), rank, label)?;
                if a + 1 != rank {
                    bail!(
                        "{label}: Softmax over axis {a} of {rank}; the head's softmax runs over \
                         the outputs (the last axis)"
                    );
                }
            }
            r.head_act = if op == "Sigmoid" {
                HeadActivation::Sigmoid
            } else {
                HeadActivation::Softmax
            };
            Val {
                stage: Stage::Activated,
                ..val
            }
        }
        other => bail!(
            "{label} on the model's data path: this reader takes LSTM and GRU layers, a Gemm or \
             MatMul + Add head with Sigmoid or Softmax, and the shape operators Transpose, \
             Squeeze, Unsqueeze, Reshape, Flatten, Gather, Slice, Identity, Cast and Dropout \
             ({other} is none of them)"
        ),
    };
    if let Some(o) = n.output.first() {
        r.vals.insert(o.clone(), result);
    }
    Ok(())
}

/// Whether an axis holds one entry.
fn is_one(x: &Axis) -> bool {
    x.0 == Ax::One || x.1 == Some(1)
}

fn squeeze(r: &mut Reader<'_, '_>, n: &proto::Node, label: &str, val: Val) -> Result<Val> {
    let rank = val.axes.len();
    let drop: Vec<usize> = match r.ints_arg(n, 1, "axes", label)? {
        Some(axes) => axes
            .iter()
            .map(|&a| axis(a, rank, label))
            .collect::<Result<_>>()?,
        None => {
            if let Some(x) = val.axes.iter().find(|x| x.1.is_none() && x.0 != Ax::One) {
                bail!(
                    "{label}: a Squeeze without axes of a tensor whose {:?} axis has no known \
                     size",
                    x.0
                );
            }
            (0..rank).filter(|&a| is_one(&val.axes[a])).collect()
        }
    };
    for &a in &drop {
        let x = val.axes[a];
        if !is_one(&x) || matches!(x.0, Ax::Time | Ax::Feat) {
            bail!(
                "{label}: squeezes axis {a} ({:?}, size {:?}); this reader removes only axes of \
                 one entry",
                x.0,
                x.1
            );
        }
    }
    let axes = (0..rank)
        .filter(|a| !drop.contains(a))
        .map(|a| val.axes[a])
        .collect();
    Ok(Val { axes, ..val })
}

/// A Reshape that only adds or removes axes of one entry (module docs).
fn reshape(r: &mut Reader<'_, '_>, n: &proto::Node, label: &str, val: Val) -> Result<Val> {
    let shape_name = n.input.get(1).cloned().unwrap_or_default();
    let data = n.input.first().cloned().unwrap_or_default();
    let Some(dims) = r.shape_dims(&shape_name, &data, val.axes.len(), 0)? else {
        // Not a constant nor a shape computed from the tensor's own: say which.
        r.constant(&shape_name, label)?;
        bail!("{label}: shape {shape_name} is not a list of integers");
    };
    let shape: Vec<String> = dims.iter().map(ToString::to_string).collect();
    let shape = format!("[{}]", shape.join(", "));
    let allowzero = attr_int(n, "allowzero", 0) != 0;
    // Each target entry: a copied input axis (0, or an axis of the tensor's own shape),
    // the inferred one (-1) or a size.
    let mut resolved: Vec<(Option<Axis>, Option<i64>)> = Vec::new();
    for (i, d) in dims.iter().enumerate() {
        // The entry's axes that are not of one entry: at most one can be followed.
        let real: Vec<usize> = d
            .axes
            .iter()
            .copied()
            .filter(|&a| val.axes.get(a).is_some_and(|x| !is_one(x)))
            .collect();
        match (d.axes.is_empty(), d.factor, real.as_slice()) {
            (true, 0, _) if !allowzero => match val.axes.get(i) {
                Some(&x) => resolved.push((Some(x), x.1)),
                None => bail!(
                    "{label}: shape {shape} copies axis {i} of a tensor of rank {}",
                    val.axes.len()
                ),
            },
            (true, -1, _) => resolved.push((None, None)),
            (_, s, []) if s > 0 => resolved.push((None, Some(s))),
            (false, 1, [a]) => resolved.push((Some(val.axes[*a]), val.axes[*a].1)),
            _ => bail!(
                "{label}: shape {shape}: entry {i} ({d}) merges axes {:?} of a tensor of axes \
                 {:?}; this reader follows a Reshape that only adds or removes axes of one \
                 entry",
                d.axes,
                val.axes
            ),
        }
    }
    if dims
        .iter()
        .filter(|d| d.axes.is_empty() && d.factor == -1)
        .count()
        > 1
    {
        bail!("{label}: shape {shape} infers more than one axis");
    }
    let real_in: Vec<Axis> = val.axes.iter().copied().filter(|x| !is_one(x)).collect();
    let keep: Vec<usize> = (0..resolved.len())
        .filter(|&i| match resolved[i] {
            (Some(x), _) => !is_one(&x),
            (None, size) => size != Some(1),
        })
        .collect();
    let refuse = || {
        anyhow!(
            "{label}: Reshape of a tensor of axes {:?} to {shape}; this reader follows a \
             Reshape that only adds or removes axes of one entry",
            val.axes
        )
    };
    if keep.len() != real_in.len() {
        return Err(refuse());
    }
    let mut axes: Vec<Axis> = resolved
        .iter()
        .map(|&(copied, size)| copied.unwrap_or((Ax::One, size.or(Some(1)))))
        .collect();
    for (&i, &x) in keep.iter().zip(&real_in) {
        match resolved[i] {
            (Some(c), _) if c.0 != x.0 => return Err(refuse()),
            (None, Some(s)) if x.1.is_some_and(|d| d != s) => return Err(refuse()),
            (None, size) => axes[i] = (x.0, size.or(x.1)),
            _ => axes[i] = x,
        }
    }
    // A batch of one (a graph traced with one sequence) is an axis of one entry like a
    // layer's direction axis: keep its label on the unit axis that sits after as many
    // real axes as it did (`[T, B=1, 1, H]` to `[T, 1, H]`: the 1 is the batch).
    if let Some(at) = val.axes.iter().position(|x| x.0 == Ax::Batch)
        && is_one(&val.axes[at])
        && !axes.iter().any(|x| x.0 == Ax::Batch)
    {
        let before = val.axes[..at].iter().filter(|x| !is_one(x)).count();
        let mut real = 0;
        for (i, x) in axes.iter_mut().enumerate() {
            if keep.contains(&i) {
                real += 1;
            } else if real == before {
                *x = (Ax::Batch, Some(1));
                break;
            }
        }
    }
    Ok(Val { axes, ..val })
}

/// Whether step `index` of `size` steps (negative from the end) is the last one.
fn is_last(index: i64, size: Option<i64>) -> bool {
    index == -1 || size.is_some_and(|t| index == t - 1)
}

fn gather(r: &mut Reader<'_, '_>, n: &proto::Node, label: &str, val: Val) -> Result<Val> {
    let rank = val.axes.len();
    let a = axis(attr_int(n, "axis", 0), rank, label)?;
    let idx_name = n.input.get(1).cloned().unwrap_or_default();
    let idx = r.constant(&idx_name, label)?;
    let values = idx.ints(&idx_name)?.to_vec();
    let [index] = values.as_slice() else {
        bail!(
            "{label}: gathers {} entries; this reader follows the selection of one",
            values.len()
        );
    };
    let last = select(label, &val, a, *index)?;
    let mut axes = val.axes.clone();
    if idx.dims.is_empty() {
        axes.remove(a);
    } else {
        axes[a] = (Ax::One, Some(1));
    }
    Ok(Val {
        axes,
        last: val.last || last,
        ..val
    })
}

/// Checks that selecting entry `index` of axis `a` keeps the model's meaning: the last step
/// of the sequence, or the one entry of an axis of one; returns whether it was the last step.
fn select(label: &str, val: &Val, a: usize, index: i64) -> Result<bool> {
    let (ax, size) = val.axes[a];
    match ax {
        Ax::Time if is_last(index, size) => Ok(true),
        Ax::Time => bail!(
            "{label}: the model reads step {index} of the sequence (counting from 0); the \
             kernel's models read the last step (index -1) or every step"
        ),
        _ if is_one(&val.axes[a]) && (index == 0 || index == -1) => Ok(false),
        Ax::Batch => bail!("{label}: selects sequence {index} of the batch"),
        Ax::Feat => bail!("{label}: selects feature {index}; the kernel's layers read them all"),
        _ => {
            bail!("{label}: selects entry {index} of axis {a} of the input before the first layer")
        }
    }
}

fn slice(r: &mut Reader<'_, '_>, n: &proto::Node, label: &str, val: Val) -> Result<Val> {
    let rank = val.axes.len();
    let (starts, ends) = match (
        r.ints_arg(n, 1, "starts", label)?,
        r.ints_arg(n, 2, "ends", label)?,
    ) {
        (Some(s), Some(e)) if s.len() == e.len() => (s, e),
        _ => bail!("{label}: a Slice without matching constant starts and ends"),
    };
    let axes = r
        .ints_arg(n, 3, "axes", label)?
        .unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = r
        .ints_arg(n, 4, "steps", label)?
        .unwrap_or_else(|| vec![1; starts.len()]);
    if axes.len() != starts.len() || steps.len() != starts.len() {
        bail!("{label}: starts, ends, axes and steps of different lengths");
    }
    let mut out = val.clone();
    // "To the end": exporters write INT64_MAX; anything past i32::MAX is taken as that.
    let to_end =
        |e: i64, size: Option<i64>| e >= i64::from(i32::MAX) || size.is_some_and(|t| e >= t);
    for k in 0..starts.len() {
        let a = axis(axes[k], rank, label)?;
        let (s, e) = (starts[k], ends[k]);
        if steps[k] != 1 {
            bail!("{label}: a Slice with step {}", steps[k]);
        }
        let (ax, size) = val.axes[a];
        let full = (s == 0 || size.is_some_and(|t| s <= -t)) && to_end(e, size);
        if full {
            continue;
        }
        if to_end(e, size) && ax == Ax::Time && is_last(s, size) {
            out.axes[a] = (Ax::One, Some(1));
            out.last = true;
            continue;
        }
        if ax == Ax::Time {
            bail!(
                "{label}: the model reads steps {s}..{e} of the sequence; the kernel's models \
                 read the last step or every step"
            );
        }
        bail!("{label}: slices entries {s}..{e} of a {ax:?} axis; this reader follows whole axes");
    }
    Ok(out)
}

/// The units of the last layer and the axes before the features, for a head reading `val`.
fn head_input(r: &Reader<'_, '_>, label: &str, val: &Val, op: &str) -> Result<(usize, Vec<Axis>)> {
    if val.stage != Stage::Layer {
        bail!(
            "{label}: a {op} on the model's data path {}; the kernel's models have one dense \
             head after the recurrent layers",
            if val.stage == Stage::Input {
                "before any LSTM or GRU layer"
            } else {
                "after the head"
            }
        );
    }
    let h = r.layers.last().map_or(0, |l| l.recurrent.0[0]);
    match val.axes.split_last() {
        Some((&(Ax::Feat, _), rows)) if !rows.iter().any(|x| x.0 == Ax::Feat) => {
            Ok((h, rows.to_vec()))
        }
        _ => bail!(
            "{label}: the head reads a tensor of axes {:?}; it must hold the layer's units last",
            val.axes
        ),
    }
}

fn gemm(r: &mut Reader<'_, '_>, n: &proto::Node, label: &str, val: Val) -> Result<Val> {
    let (h, rows) = head_input(r, label, &val, "Gemm")?;
    if rows.len() != 1 {
        bail!("{label}: a Gemm of a tensor of axes {:?}", val.axes);
    }
    for (name, want) in [("alpha", 1.0), ("beta", 1.0)] {
        let v = attr_float(n, name, 1.0);
        if v != want {
            bail!("{label}: {name} {v}; this reader reads a Gemm head with alpha = beta = 1");
        }
    }
    if attr_int(n, "transA", 0) != 0 {
        bail!("{label}: transA 1 (the data transposed)");
    }
    let trans_b = attr_int(n, "transB", 0) != 0;
    let b_name = n.input.get(1).cloned().unwrap_or_default();
    let b = r.constant(&b_name, label)?;
    let (rows_b, cols_b) = match b.dims.as_slice() {
        &[x, y] => (x, y),
        d => bail!("{label}: B has shape {d:?}, expected 2 axes"),
    };
    let (hb, out) = if trans_b {
        (cols_b, rows_b)
    } else {
        (rows_b, cols_b)
    };
    if hb != h {
        bail!(
            "{label}: B has shape {:?} (transB {}); the layer below has {h} units",
            b.dims,
            u8::from(trans_b)
        );
    }
    let v = b.f32(&b_name)?;
    let kernel: Vec<f32> = if trans_b {
        (0..h)
            .flat_map(|i| (0..out).map(move |o| v[o * h + i]))
            .collect()
    } else {
        v.to_vec()
    };
    let bias = match n.input.get(2).filter(|c| !c.is_empty()) {
        None => vec![0.0; out],
        Some(c_name) => {
            let c_name = c_name.clone();
            let c = r.constant(&c_name, label)?;
            let cv = c.f32(&c_name)?;
            if cv.len() == out && c.dims.iter().rev().skip(1).all(|&d| d == 1) {
                cv.to_vec()
            } else if cv.len() == 1 {
                vec![cv[0]; out]
            } else {
                bail!(
                    "{label}: C has shape {:?}, expected [{out}] for the head's {out} outputs",
                    c.dims
                );
            }
        }
    };
    r.head = Some(((vec![h, out], kernel), (vec![out], bias)));
    Ok(Val {
        axes: vec![rows[0], (Ax::Feat, Some(out as i64))],
        stage: Stage::Head,
        ..val
    })
}

/// For each of Keras' gate blocks (LSTM i, f, c, o; GRU z, r, h), the ONNX operator's
/// block holding it (LSTM i, o, f, c; GRU z, r, h).
fn onnx_block(family: Family) -> &'static [usize] {
    match family {
        Family::Lstm => &[0, 2, 3, 1],
        Family::Gru => &[0, 1, 2],
    }
}

/// The recurrent activation of activations `names` (f first) with their `alpha`/`beta`
/// lists (consumed in order by the activations that take them, ONNX's rule).
fn activations(
    label: &str,
    names: &[String],
    alpha: &[f32],
    beta: &[f32],
) -> Result<RecurrentActivation> {
    let (mut a, mut b) = (alpha.iter(), beta.iter());
    let mut f = RecurrentActivation::Sigmoid;
    for (k, name) in names.iter().enumerate() {
        let lower = name.to_ascii_lowercase();
        // The parameters each ONNX activation function takes (they shift the lists).
        let (pa, pb) = match lower.as_str() {
            "hardsigmoid" => (
                a.next().copied().unwrap_or(0.2),
                b.next().copied().unwrap_or(0.5),
            ),
            "affine" | "scaledtanh" => (
                a.next().copied().unwrap_or(0.0),
                b.next().copied().unwrap_or(0.0),
            ),
            "leakyrelu" | "thresholdedrelu" | "elu" => (a.next().copied().unwrap_or(0.0), 0.0),
            _ => (0.0, 0.0),
        };
        match (k, lower.as_str()) {
            (0, "sigmoid") => f = RecurrentActivation::Sigmoid,
            (0, "hardsigmoid") if pb == 0.5 && (pa - 0.2).abs() < 1e-6 => {
                f = RecurrentActivation::HardSigmoidKeras2;
            }
            (0, "hardsigmoid") if pb == 0.5 && (pa - 1.0 / 6.0).abs() < 1e-6 => {
                f = RecurrentActivation::HardSigmoidKeras3;
            }
            (0, "hardsigmoid") => bail!(
                "{label}: HardSigmoid with alpha {pa} and beta {pb}; the kernel runs Keras 2's \
                 (alpha 0.2, beta 0.5) and Keras 3's (alpha 1/6, beta 0.5)"
            ),
            (0, _) => {
                bail!("{label}: gate activation {name}; the kernel runs Sigmoid and HardSigmoid")
            }
            (_, "tanh") => {}
            _ => bail!(
                "{label}: activation {name} (activations[{k}]); the kernel's cells run Tanh there"
            ),
        }
    }
    Ok(f)
}

/// Reads an `LSTM` or `GRU` node (module docs) into a layer and records its outputs.
fn recurrent(r: &mut Reader<'_, '_>, n: &proto::Node, label: &str, val: Val) -> Result<()> {
    let family = if op_of(n) == "LSTM" {
        Family::Lstm
    } else {
        Family::Gru
    };
    let g = family.gates();
    // The attributes of both operators, and each one's own.
    const COMMON: [&str; 7] = [
        "hidden_size",
        "direction",
        "layout",
        "activations",
        "activation_alpha",
        "activation_beta",
        "clip",
    ];
    let own = match family {
        Family::Lstm => "input_forget",
        Family::Gru => "linear_before_reset",
    };
    for a in &n.attribute {
        let name = a.name.as_deref().unwrap_or("");
        if name != own && !COMMON.contains(&name) {
            bail!("{label}: attribute {name} is not one this reader knows; refusing to ignore it");
        }
    }
    match attr_text(n, "direction").as_deref() {
        None | Some("forward") => {}
        Some(d) => bail!(
            "{label}: direction {d}; this kernel runs layers forward in time only (refusing \
             rather than running it the wrong way)"
        ),
    }
    if attr_int(n, "layout", 0) != 0 {
        bail!(
            "{label}: layout 1 (batch-first X and Y); this reader takes layout 0, as PyTorch's and tf2onnx's exports write (onnxruntime runs only that too)"
        );
    }
    if let Some(c) = attr(n, "clip") {
        bail!(
            "{label}: clip {}; the kernel's cells do not clip their gates",
            c.f.unwrap_or(0.0)
        );
    }
    if attr_int(n, "input_forget", 0) != 0 {
        bail!(
            "{label}: input_forget 1 (coupled input and forget gates); the kernel's LSTM has both"
        );
    }
    if val.stage != Stage::Input && val.stage != Stage::Layer {
        bail!("{label}: a recurrent layer after the dense head");
    }
    if val.last {
        bail!("{label} reads only the last step of the layer below, not its sequence");
    }
    let x_axes: Vec<Ax> = val.axes.iter().map(|x| x.0).collect();
    let ok = match val.stage {
        Stage::Input => matches!(
            x_axes.as_slice(),
            [Ax::Input(_), Ax::Input(_), Ax::Input(_)]
        ),
        _ => x_axes == [Ax::Time, Ax::Batch, Ax::Feat],
    };
    if !ok {
        bail!("{label} reads X with axes {x_axes:?}; ONNX's layout 0 is (steps, batch, features)");
    }
    if let [(Ax::Input(t), _), (Ax::Input(b), _), (Ax::Input(f), _)] = val.axes.as_slice() {
        let mut names = ["?"; 3];
        names[*t] = "steps";
        names[*b] = "batch";
        names[*f] = "features";
        r.about
            .push(format!("graph input axes: [{}]", names.join(", ")));
    }
    let input = |i: usize| n.input.get(i).filter(|s| !s.is_empty()).cloned();
    let (w_name, r_name) = match (input(1), input(2)) {
        (Some(w), Some(r)) => (w, r),
        _ => bail!("{label}: W or R missing"),
    };
    let w = r.constant(&w_name, label)?;
    let rr = r.constant(&r_name, label)?;
    let h = match attr(n, "hidden_size").and_then(|a| a.i) {
        Some(h) if h > 0 && h <= MAX_VALUES as i64 => h as usize,
        Some(h) => bail!("{label}: hidden_size {h}"),
        // R is at most MAX_VALUES values, so its last axis is too.
        None => rr
            .dims
            .get(2)
            .copied()
            .filter(|&h| h > 0)
            .ok_or_else(|| anyhow!("{label}: no hidden_size"))?,
    };
    let inputs = w.dims.get(2).copied().unwrap_or(0);
    if w.dims.len() != 3 || w.dims[0] != 1 || w.dims[1] != g * h || inputs == 0 {
        bail!(
            "{label}: W has shape {:?}, expected [1, {}, inputs] (hidden_size {h})",
            w.dims,
            g * h
        );
    }
    if rr.dims != [1, g * h, h] {
        bail!(
            "{label}: R has shape {:?}, expected [1, {}, {h}] (hidden_size {h})",
            rr.dims,
            g * h
        );
    }
    if let Some(f) = val.axes[2].1
        && f != inputs as i64
    {
        bail!("{label}: X has {f} features, W takes {inputs}");
    }
    let b = match input(3) {
        Some(b_name) => {
            let b = r.constant(&b_name, label)?;
            if b.dims != [1, 2 * g * h] {
                bail!(
                    "{label}: B has shape {:?}, expected [1, {}]",
                    b.dims,
                    2 * g * h
                );
            }
            b.f32(&b_name)?.to_vec()
        }
        None => vec![0.0; 2 * g * h],
    };
    if input(4).is_some() {
        bail!(
            "{label}: a sequence_lens input; this reader takes graphs that run every sequence \
             to its end (the kernel runs each sequence at its own length itself)"
        );
    }
    let states: &[(usize, &str)] = match family {
        Family::Lstm => &[(5, "initial_h"), (6, "initial_c")],
        Family::Gru => &[(5, "initial_h")],
    };
    for &(i, what) in states {
        if let Some(s) = input(i) {
            if r.graph_inputs.contains(s.as_str()) || r.vals.contains_key(&s) {
                bail!(
                    "{label}: {what} is the graph's input {s}; this reader takes models that start from the zero state (the kernel carries its state itself)"
                );
            }
            if !r.is_zero(&s, 0)? {
                bail!(
                    "{label}: {what} ({s}) is not zeros; the kernel's models start from the zero state"
                );
            }
        }
    }
    if family == Family::Lstm && input(7).is_some() {
        bail!("{label}: peephole weights P; the kernel's LSTM has no peepholes");
    }
    let names: Vec<String> = match attr(n, "activations") {
        Some(a) => a
            .strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
        None => Vec::new(),
    };
    if !names.is_empty() && names.len() != g - 1 {
        bail!(
            "{label}: {} activations; a forward {} takes {}",
            names.len(),
            op_of(n),
            g - 1
        );
    }
    let floats = |k: &str| attr(n, k).map(|a| a.floats.clone()).unwrap_or_default();
    let activation = activations(
        label,
        &names,
        &floats("activation_alpha"),
        &floats("activation_beta"),
    )?;
    let reset_after = family == Family::Gru && attr_int(n, "linear_before_reset", 0) != 0;
    let (wv, rv) = (w.f32(&w_name)?, rr.f32(&r_name)?);
    let src = onnx_block(family);
    let gh = g * h;
    let transposed = |m: &[f32], cols: usize| -> Vec<f32> {
        let mut out = vec![0.0; cols * gh];
        for (q, &from) in src.iter().enumerate() {
            for j in 0..h {
                for i in 0..cols {
                    out[i * gh + q * h + j] = m[(from * h + j) * cols + i];
                }
            }
        }
        out
    };
    let gates = |v: &[f32]| -> Vec<f32> {
        src.iter()
            .flat_map(|&from| v[from * h..(from + 1) * h].iter().copied())
            .collect()
    };
    let (wb, rb) = (gates(&b[..gh]), gates(&b[gh..]));
    let bias = if reset_after {
        (vec![2, gh], [wb, rb].concat())
    } else {
        (vec![gh], wb.iter().zip(&rb).map(|(a, b)| a + b).collect())
    };
    r.layers.push(Layer {
        family,
        kernel: (vec![inputs, gh], transposed(wv, inputs)),
        recurrent: (vec![h, gh], transposed(rv, h)),
        bias,
        activation,
    });
    let (t, batch) = (val.axes[0].1, val.axes[1].1);
    let hh = Some(h as i64);
    if let Some(y) = n.output.first().filter(|s| !s.is_empty()) {
        r.vals.insert(
            y.clone(),
            Val {
                axes: vec![
                    (Ax::Time, t),
                    (Ax::One, Some(1)),
                    (Ax::Batch, batch),
                    (Ax::Feat, hh),
                ],
                stage: Stage::Layer,
                last: false,
            },
        );
    }
    if let Some(y_h) = n.output.get(1).filter(|s| !s.is_empty()) {
        r.vals.insert(
            y_h.clone(),
            Val {
                axes: vec![(Ax::One, Some(1)), (Ax::Batch, batch), (Ax::Feat, hh)],
                stage: Stage::Layer,
                last: true,
            },
        );
    }
    if let Some(y_c) = n.output.get(2).filter(|s| !s.is_empty()) {
        r.cell_states.insert(y_c.clone());
    }
    Ok(())
}

/// The layers and head read, as safetensors in Keras layout (module docs).
fn finish(r: Reader<'_, '_>) -> Result<Read> {
    let Some((kernel, bias)) = r.head else {
        bail!("the graph has no dense head (Gemm, or MatMul and Add)");
    };
    if r.layers.is_empty() {
        bail!("the graph has no LSTM or GRU layer");
    }
    let mut meta = BTreeMap::from([
        ("layout".to_string(), "keras".to_string()),
        ("source".to_string(), "onnx".to_string()),
        ("num_layers".to_string(), r.layers.len().to_string()),
    ]);
    if r.head_act != HeadActivation::Unspecified {
        meta.insert(HEAD_KEY.to_string(), r.head_act.name().to_string());
    }
    let mut tensors = Vec::new();
    for (k, l) in r.layers.into_iter().enumerate() {
        meta.insert(
            format!("{ACTIVATION_KEY}_l{k}"),
            l.activation.name().to_string(),
        );
        let base = l.family.keras_name(k);
        tensors.push((format!("{base}/kernel"), l.kernel));
        tensors.push((format!("{base}/recurrent_kernel"), l.recurrent));
        tensors.push((format!("{base}/bias"), l.bias));
    }
    tensors.push(("dense/kernel".to_string(), kernel));
    tensors.push(("dense/bias".to_string(), bias));
    Ok(Read {
        safetensors: super::keras::to_safetensors(&tensors, meta, true)?,
        notes: r.notes,
        about: r.about,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// The gate activation follows ONNX's list rule: alpha/beta are consumed by the
    /// activations that take them, with HardSigmoid's defaults 0.2 and 0.5 when absent.
    #[test]
    fn activations_map_to_the_kernels_or_are_refused_by_name() {
        let f = |a: &[&str], alpha: &[f32], beta: &[f32]| activations("n", &names(a), alpha, beta);
        assert_eq!(f(&[], &[], &[]).unwrap(), RecurrentActivation::Sigmoid);
        assert_eq!(
            f(&["Sigmoid", "Tanh", "Tanh"], &[], &[]).unwrap(),
            RecurrentActivation::Sigmoid
        );
        assert_eq!(
            f(&["HardSigmoid", "Tanh", "Tanh"], &[], &[]).unwrap(),
            RecurrentActivation::HardSigmoidKeras2
        );
        assert_eq!(
            f(&["HardSigmoid", "Tanh"], &[1.0 / 6.0], &[0.5]).unwrap(),
            RecurrentActivation::HardSigmoidKeras3
        );
        let e = f(&["HardSigmoid", "Tanh"], &[0.3], &[0.5])
            .unwrap_err()
            .to_string();
        assert!(e.contains("alpha 0.3"), "{e}");
        let e = f(&["Relu", "Tanh"], &[], &[]).unwrap_err().to_string();
        assert!(e.contains("gate activation Relu"), "{e}");
        let e = f(&["Sigmoid", "Softsign"], &[], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("activation Softsign (activations[1])"), "{e}");
    }

    /// Protobuf has no magic: other model formats and junk are not taken for ONNX.
    #[test]
    fn only_an_onnx_model_is_taken_for_one() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        assert!(is_onnx(
            &std::fs::read(dir.join("onnx/lstm1.onnx")).unwrap()
        ));
        for other in [
            "torch/lstm1.safetensors",
            "torch/lstm1.pt",
            "keras/lstm1.keras",
            "keras/lstm1.weights.h5",
        ] {
            assert!(
                !is_onnx(&std::fs::read(dir.join(other)).unwrap()),
                "{other}"
            );
        }
        assert!(!is_onnx(b""));
        assert!(!is_onnx(&lstm_kernel::io::MAGIC));
    }

    /// The ONNX LSTM's blocks i, o, f, c land in Keras' i, f, c, o; the GRU's z, r, h stay.
    #[test]
    fn onnx_gate_blocks_map_to_keras_order() {
        let onnx = ["i", "o", "f", "c"];
        let keras: Vec<&str> = onnx_block(Family::Lstm).iter().map(|&b| onnx[b]).collect();
        assert_eq!(keras, ["i", "f", "c", "o"]);
        assert_eq!(onnx_block(Family::Gru), [0, 1, 2]);
    }
}
