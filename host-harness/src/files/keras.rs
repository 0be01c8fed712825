//! Keras model files, read without Python: Keras 3's `.keras` (`model.save`: a zip of
//! `config.json`, `metadata.json` and `model.weights.h5`) and `.weights.h5`
//! (`model.save_weights`: the weights alone), and the legacy HDF5 `.h5` of Keras 2 (a whole
//! model, or its weights), all turned into safetensors bytes under the
//! names [`super::safetensors`] reads (Keras layout), so every command reads them.
//!
//! # `.keras`: the architecture from `config.json`
//! A `Sequential` model, or a `Functional` one whose layers form a chain (each layer fed by
//! the one before it), of: an optional `InputLayer`; `LSTM` and `GRU` layers; `Dropout`
//! layers and the recurrent layers' `dropout`/`recurrent_dropout` (inference runs without
//! dropout: noted); one `Dense` head, last. Read from each recurrent layer's config:
//! - `units` (checked against the weights' shapes);
//! - `activation` must be `tanh` (the kernel's cell activation); anything else is refused;
//! - `recurrent_activation`: `sigmoid`, or `hard_sigmoid`, whose formula is Keras 3's
//!   `relu6(x + 3) / 6` in a file that `metadata.json` says Keras 3 wrote and Keras 2's
//!   `clip(0.2 x + 0.5, 0, 1)` in one Keras 2 (2.13 and later write `.keras` too) wrote; a
//!   file without a version is refused for `hard_sigmoid` (the formula cannot be told);
//! - `use_bias: false`: the biases are zeros (shaped by `reset_after` for a GRU);
//! - `reset_after` (GRU): the variant, checked against the bias's shape;
//! - `go_backwards: true` is refused (the kernel runs forward in time); `stateful`,
//!   `return_sequences`, `unroll`, `unit_forget_bias` (an initialiser) change nothing the
//!   kernel computes per step.
//!
//! The `Dense` head's `activation`: `linear` (logits), `sigmoid` or `softmax`, written as the
//! model's head activation; any other is refused. `Bidirectional`, any other layer class,
//! and several `Dense` layers are refused by name.
//!
//! # The weights: `model.weights.h5`
//! Keras 3 writes each layer's variables as datasets `layers/<name>/vars/<i>` (`Dense`:
//! kernel, bias) or `layers/<name>/cell/vars/<i>` (`LSTM`, `GRU`: kernel, recurrent
//! kernel, bias), float32. They are read with `hdf5-pure` (pure Rust).
//!
//! # `.weights.h5` alone
//! Without a config, each layer's variables are named by their path
//! (`lstm/cell/kernel`, `dense/kernel`) and [`super::names::map`] orders and identifies them
//! by shape, as for any file without this tool's names; the recurrent activation is not
//! known (the readers warn and assume the sigmoid). A `Bidirectional` layer's weights are
//! refused.
//!
//! # The legacy HDF5 layout (`.h5`)
//! Keras 2's `model.save("m.h5")` (and Keras 3's, for an `.h5` name) writes the model's
//! config as the root attribute `model_config` and its weights under `model_weights/`: the
//! attribute `layer_names` lists the layers, and each layer group's `weight_names` the paths
//! of its datasets below it (`lstm/lstm_cell/kernel:0`), whose last part names the role.
//! Such a file is read like a `.keras` archive (the same config rules, the groups named by
//! the layers' own names), with `hard_sigmoid`'s formula told by the file's
//! `keras_version` (2.x: Keras 2's, 3.x: Keras 3's). Keras 2's `model.save_weights("w.h5")`
//! (`layer_names` at the root, no config) is read like a `.weights.h5`.

use std::collections::BTreeMap;
use std::io::Cursor;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use super::names;
use super::safetensors::{ACTIVATION_KEY, Family, HEAD_KEY};
use lstm_kernel::{HeadActivation, RecurrentActivation};

/// The first bytes of an HDF5 file (at offset 0: Keras writes no user block).
pub const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Whether `bytes` are an HDF5 file (a `.weights.h5`).
pub fn is_hdf5(bytes: &[u8]) -> bool {
    bytes.starts_with(HDF5_MAGIC)
}

/// Whether `bytes` are a `.keras` archive: a zip holding `config.json` and
/// `model.weights.h5`.
pub fn is_keras_zip(bytes: &[u8]) -> bool {
    zip::ZipArchive::new(Cursor::new(bytes)).is_ok_and(|z| {
        let names: Vec<String> = z
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect();
        ["config.json", "model.weights.h5"]
            .iter()
            .all(|want| names.iter().any(|n| n == want))
    })
}

/// A Keras file read as safetensors.
#[derive(Debug)]
pub struct Read {
    /// safetensors bytes: under this tool's Keras names with the architecture's settings in
    /// the metadata (`.keras`), or under the variables' paths (`.weights.h5` alone).
    pub safetensors: Vec<u8>,
    /// What the config said that the kernel ignores, one line each (dropout).
    pub notes: Vec<String>,
    /// Whether the architecture came with the weights (a `.keras` archive, a legacy HDF5
    /// whole-model file), rather than being told from the weights' shapes.
    pub architecture: bool,
}

/// One variable of a layer: its shape and values.
type Var = (Vec<usize>, Vec<f32>);

/// The variables of every layer of a Keras 3 weights file: `(path, vars)` with `path` the
/// layer's group under `layers/` (`lstm`, or `lstm/cell` for a recurrent layer's cell), in
/// the file's (alphabetical) order.
///
/// # Errors
/// No `layers` group, a variable that is not float32 or whose shape does not hold its
/// values, more values than the file can hold.
fn layer_vars(file: &hdf5_pure::File) -> Result<Vec<(String, Vec<Var>)>> {
    let root = file.root();
    let Ok(layers) = root.group("layers") else {
        bail!("no layers group: not a Keras 3 weights file (model.weights.h5)");
    };
    let mut out = Vec::new();
    let mut pending: Vec<(String, hdf5_pure::Group)> = layers
        .groups()
        .map_err(|e| anyhow!("HDF5 groups of layers: {e}"))?
        .into_iter()
        .filter_map(|n| layers.group(&n).ok().map(|g| (n, g)))
        .collect();
    pending.sort_by(|a, b| a.0.cmp(&b.0));
    // Depth-first (a stack) below each layer (a cell, a Bidirectional's forward_layer),
    // bounded; the result is sorted by path below, so the walk order does not show.
    let mut visited = 0usize;
    while let Some((path, group)) = pending.pop() {
        visited += 1;
        if visited > 4096 {
            bail!("more than 4096 groups under layers/: not a model this tool reads");
        }
        let children = group
            .groups()
            .map_err(|e| anyhow!("HDF5 groups of layers/{path}: {e}"))?;
        for c in children {
            if c == "vars" {
                let vars = group
                    .group("vars")
                    .map_err(|e| anyhow!("layers/{path}/vars: {e}"))?;
                out.push((path.clone(), read_vars(&vars, &path)?));
            } else if let Ok(g) = group.group(&c) {
                pending.push((format!("{path}/{c}"), g));
            }
        }
    }
    out.retain(|(_, v)| !v.is_empty());
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The datasets `0`, `1`, ... of a `vars` group, in index order.
fn read_vars(vars: &hdf5_pure::Group, path: &str) -> Result<Vec<Var>> {
    let mut names = vars
        .datasets()
        .map_err(|e| anyhow!("datasets of layers/{path}/vars: {e}"))?;
    names.sort_by_key(|n| n.parse::<usize>().unwrap_or(usize::MAX));
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if n.parse::<usize>().ok() != Some(i) {
            bail!("layers/{path}/vars/{n}: expected the variables 0, 1, ... in order");
        }
        let ds = vars
            .dataset(n)
            .map_err(|e| anyhow!("layers/{path}/vars/{n}: {e}"))?;
        out.push(read_var(&ds, &format!("layers/{path}/vars/{n}"))?);
    }
    Ok(out)
}

/// A float32 dataset's shape and values (`what` names it in errors).
fn read_var(ds: &hdf5_pure::Dataset, what: &str) -> Result<Var> {
    let dtype = ds.dtype().map_err(|e| anyhow!("{what}: {e}"))?;
    if dtype != hdf5_pure::DType::F32 {
        bail!(
            "{what} is {dtype:?}, expected float32 (a mixed-precision or float64 model: cast \
             it with model.set_dtype_policy(\"float32\") or save its float32 weights)"
        );
    }
    let shape: Vec<usize> = ds
        .shape()
        .map_err(|e| anyhow!("{what}: {e}"))?
        .into_iter()
        .map(usize::try_from)
        .collect::<Result<_, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&c| c <= super::MAX_MODEL_FILE_BYTES as usize / 4)
        .ok_or_else(|| anyhow!("{what}: shape {shape:?} is too large"))?;
    let values = ds.read_f32().map_err(|e| anyhow!("{what}: {e}"))?;
    if values.len() != count {
        bail!("{what}: {} values for shape {shape:?}", values.len());
    }
    Ok((shape, values))
}

/// The warning of a weights file read without its config: the head's activation is unknown.
const HEAD_UNKNOWN: &str = "warning: a weights file does not record the Dense layer's \
     activation: the outputs are its raw values (logits for a sigmoid or softmax model); give \
     the model's config (--config config.json) or read the .keras file for the model's own \
     outputs";

/// The layer kinds a `.weights.h5` without its config may hold: Keras 3 names each layer's
/// group by its class (`lstm`, `lstm_1`, `dense`), and these are the ones whose role the
/// variables' shapes tell (the others change what the model computes, with or without
/// variables: `add`, `masking`, `activation`, `time_distributed`, `conv1d`).
const WEIGHTS_ONLY_LAYERS: [&str; 5] = ["lstm", "gru", "dense", "dropout", "input_layer"];

/// Refuses a `.weights.h5` that names a layer outside [`WEIGHTS_ONLY_LAYERS`] (with or
/// without variables): without the config its part in the model is unknown, and leaving it
/// out would give other outputs than the model's.
fn refuse_unknown_layers(file: &hdf5_pure::File) -> Result<()> {
    let Ok(layers) = file.root().group("layers") else {
        return Ok(()); // layer_vars says what is wrong
    };
    let names = layers
        .groups()
        .map_err(|e| anyhow!("HDF5 groups of layers: {e}"))?;
    for name in names {
        let class = name
            .rsplit_once('_')
            .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .map_or(name.as_str(), |(c, _)| c);
        if class == "bidirectional" {
            bail!(
                "layers/{name}: a Bidirectional layer, which this kernel does not run (it runs \
                 layers forward in time only)"
            );
        }
        if !WEIGHTS_ONLY_LAYERS.contains(&class) {
            bail!(
                "layers/{name}: a {class} layer, whose part in the model a weights file alone \
                 does not tell (leaving it out would change the outputs); give the model's \
                 architecture with --config config.json (the .keras archive's, or \
                 model.to_json()), or read the .keras file"
            );
        }
    }
    Ok(())
}

/// Reads a `.weights.h5` (module docs: the variables named by their paths, for
/// [`super::names::map`]).
///
/// # Errors
/// As [`layer_vars`]; a `Bidirectional` layer; a layer with more variables than a Keras
/// `LSTM`, `GRU` or `Dense` has.
pub fn weights_to_safetensors(h5: &[u8]) -> Result<Read> {
    let file = open_h5(h5)?;
    if let Some(legacy) = legacy_layers(&file)? {
        return legacy_to_safetensors(legacy);
    }
    refuse_unknown_layers(&file)?;
    let mut tensors: Vec<(String, Var)> = Vec::new();
    for (path, vars) in layer_vars(&file)? {
        if path.contains("backward_layer") || path.contains("forward_layer") {
            bail!(
                "layers/{path}: a Bidirectional layer, which this kernel does not run (it runs \
                 layers forward in time only)"
            );
        }
        let roles: &[&str] = if path.ends_with("/cell") {
            &["kernel", "recurrent_kernel", "bias"]
        } else {
            &["kernel", "bias"]
        };
        if vars.len() > roles.len() {
            bail!(
                "layers/{path} has {} variables; a Keras LSTM, GRU or Dense layer has at most {}",
                vars.len(),
                roles.len()
            );
        }
        for (var, role) in vars.into_iter().zip(roles) {
            tensors.push((format!("{path}/{role}"), var));
        }
    }
    Ok(Read {
        // Group names, not the model's order: the mapping orders (and warns) by name.
        safetensors: to_safetensors(&tensors, BTreeMap::new(), false)?,
        notes: vec![HEAD_UNKNOWN.to_string()],
        architecture: false,
    })
}

/// Reads a Keras weights file `h5` (Keras 3's `.weights.h5`, or Keras 2's weights-only
/// legacy `.h5`) with its architecture from `config` (JSON: a `.keras` archive's
/// `config.json`, or `model.to_json()`), as a `.keras` archive is read. A `hard_sigmoid`
/// takes the formula of the weights file's Keras: 3 for the `.weights.h5` layout (only
/// Keras 3 writes it), the file's `keras_version` for the legacy one.
///
/// # Errors
/// `config` is not JSON; a whole legacy model (it has its own config); the refusals of
/// [`keras_to_safetensors`].
pub fn weights_with_config(h5: &[u8], config: &[u8]) -> Result<Read> {
    let config: Value = serde_json::from_slice(config).context("the config is not JSON")?;
    let file = open_h5(h5)?;
    if let Some(legacy) = legacy_layers(&file)? {
        if legacy.config.is_some() {
            bail!("a whole Keras model (legacy .h5 with its model_config): it needs no --config");
        }
        return legacy_to_safetensors(Legacy {
            config: Some(config),
            ..legacy
        });
    }
    let vars: BTreeMap<String, Vec<Var>> = layer_vars(&file)?.into_iter().collect();
    from_config(&config, Some(3), &vars, false)
}

/// safetensors bytes of `(name, (shape, values))`, all F32, with `meta`; when `ordered`
/// (the tensors are in the model's layer order, bottom first), that order is recorded for
/// the name mapping ([`names::ORDER_KEY`]).
pub(super) fn to_safetensors(
    tensors: &[(String, Var)],
    mut meta: BTreeMap<String, String>,
    ordered: bool,
) -> Result<Vec<u8>> {
    if ordered {
        let order: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
        meta.insert(names::ORDER_KEY.to_string(), order.join("\n"));
    }
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, (s, v))| {
            (
                n.clone(),
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(n, s, d)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d)
                .map(|v| (n.clone(), v))
                .map_err(|e| anyhow!("{n}: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = (!meta.is_empty()).then(|| meta.into_iter().collect());
    safetensors::serialize(views, meta).map_err(|e| anyhow!("{e}"))
}

/// A layer of the config, as this reader takes it: its kind, its name in the config, the
/// name of its group in `model.weights.h5`, and its config.
///
/// Keras 3 names a layer's weights group by its class in snake case, numbered per class in
/// the model's layer order (`lstm`, `lstm_1`, `dense`), not by the layer's own name
/// (`lstm_7`, a global counter).
enum Layer {
    /// An `LSTM` or `GRU` layer.
    Recurrent(Family, String, String, serde_json::Map<String, Value>),
    /// The `Dense` head.
    Dense(String, String, serde_json::Map<String, Value>),
}

/// The config value `key` of layer `name` as a bool (absent: `default`).
fn flag(c: &serde_json::Map<String, Value>, name: &str, key: &str, default: bool) -> Result<bool> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => bail!("layer {name}: {key} is {v}, expected true or false"),
    }
}

/// The config value `key` of layer `name` as a string (absent: `default`).
fn text<'a>(
    c: &'a serde_json::Map<String, Value>,
    name: &str,
    key: &str,
    default: &'a str,
) -> Result<&'a str> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(s)) => Ok(s),
        // Keras serialises a custom activation object as a dict.
        Some(v) => bail!("layer {name}: {key} is {v}; this reader takes the built-in names"),
    }
}

/// The layers of `config.json` in order (module docs: a Sequential model or a chain).
///
/// # Errors
/// Not a Keras model config; a functional model that is not a chain; a layer class this
/// kernel does not run (named).
fn config_layers(config: &Value, notes: &mut Vec<String>) -> Result<Vec<Layer>> {
    let class = config["class_name"].as_str().unwrap_or("?");
    if !matches!(class, "Sequential" | "Functional" | "Model") {
        bail!("a {class}, not a Sequential or Functional model");
    }
    let Some(layers) = config["config"]["layers"].as_array() else {
        bail!("no config.layers list");
    };
    let mut out = Vec::new();
    let mut previous: Option<String> = None;
    let mut per_class: BTreeMap<String, usize> = BTreeMap::new();
    for l in layers {
        let class = l["class_name"].as_str().unwrap_or("?");
        let Some(c) = l["config"].as_object() else {
            bail!("a {class} layer without a config");
        };
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        if class != "Sequential"
            && let Some(nodes) = l.get("inbound_nodes").and_then(Value::as_array)
        {
            // Functional: every layer must take the previous layer's output alone.
            // Keras 3: `{"args": [{"config": {"keras_history": [name, 0, 0]}}]}`; Keras 2:
            // `[[name, 0, 0, {}]]`.
            let sources: Vec<&str> = nodes
                .iter()
                .flat_map(|n| {
                    let keras3 = n["args"].as_array().into_iter().flatten();
                    let keras2 = n.as_array().into_iter().flatten();
                    keras3
                        .filter_map(|a| a["config"]["keras_history"][0].as_str())
                        .chain(keras2.filter_map(|a| a[0].as_str()))
                })
                .collect();
            let chained = match &previous {
                None => sources.is_empty(),
                Some(p) => sources == [p.as_str()],
            };
            if !chained || nodes.len() > 1 {
                bail!(
                    "layer {name} takes {:?}; this reader takes a chain of layers, \
                     each fed by the one before it",
                    sources
                );
            }
        }
        previous = Some(name.clone());
        let h5 = if class == "InputLayer" {
            String::new()
        } else {
            let base = snake_case(class);
            let n = per_class.entry(base.clone()).or_insert(0);
            let h5 = if *n == 0 { base } else { format!("{base}_{n}") };
            *n += 1;
            h5
        };
        match class {
            "InputLayer" => {}
            "LSTM" => out.push(Layer::Recurrent(Family::Lstm, name, h5, c.clone())),
            "GRU" => out.push(Layer::Recurrent(Family::Gru, name, h5, c.clone())),
            "Dense" => out.push(Layer::Dense(name, h5, c.clone())),
            "Dropout" => notes.push(format!(
                "layer {name} (Dropout) does nothing at inference; left out"
            )),
            "Bidirectional" => bail!(
                "layer {name} is Bidirectional, which this kernel does not run \
                 (it runs layers forward in time only)"
            ),
            other => bail!(
                "layer {name} is a {other}; this reader takes LSTM and GRU \
                 layers, Dropout, and one Dense head"
            ),
        }
    }
    Ok(out)
}

/// Keras' snake case of a class name (`LSTM` -> `lstm`, `GRU` -> `gru`, `Dense` ->
/// `dense`, `LayerNormalization` -> `layer_normalization`).
fn snake_case(class: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = class.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let after_lower = i > 0 && chars[i - 1].is_ascii_lowercase();
            let before_lower = i > 0 && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if after_lower || (before_lower && chars[i - 1].is_ascii_uppercase()) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The kernel's recurrent activation for Keras' `recurrent_activation` name, in a file
/// that Keras `major` wrote.
fn recurrent_activation(
    name: &str,
    layer: &str,
    major: Option<u64>,
) -> Result<RecurrentActivation> {
    match (name, major) {
        ("sigmoid", _) => Ok(RecurrentActivation::Sigmoid),
        ("hard_sigmoid", Some(3..)) => Ok(RecurrentActivation::HardSigmoidKeras3),
        ("hard_sigmoid", Some(1 | 2)) => Ok(RecurrentActivation::HardSigmoidKeras2),
        ("hard_sigmoid", _) => bail!(
            "layer {layer}: recurrent_activation hard_sigmoid in a file that does not say \
             which Keras wrote it (metadata.json keras_version): Keras 2's is clip(0.2x + \
             0.5) and Keras 3's relu6(x + 3)/6; read its .weights.h5 with \
             --assume-activation hard-sigmoid-keras2 or hard-sigmoid-keras3"
        ),
        (other, _) => bail!(
            "layer {layer}: recurrent_activation {other}; the kernel runs sigmoid and \
             hard_sigmoid"
        ),
    }
}

/// Reads a `.keras` archive (module docs).
///
/// # Errors
/// Not a zip with `config.json`, `metadata.json` and `model.weights.h5`, or stored
/// entries; the refusals of the module docs (each naming the layer and the setting); a
/// layer whose weights are missing or do not fit its config.
pub fn keras_to_safetensors(bytes: &[u8]) -> Result<Read> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).context("not a zip archive")?;
    let limit = bytes.len();
    let config: Value =
        serde_json::from_slice(&super::torch::read_entry(&mut zip, "config.json", limit)?)
            .context("config.json is not JSON")?;
    let major = match super::torch::read_entry(&mut zip, "metadata.json", limit) {
        Ok(m) => serde_json::from_slice::<Value>(&m).ok().and_then(|m| {
            m["keras_version"]
                .as_str()
                .and_then(|v| v.split('.').next())
                .and_then(|v| v.parse::<u64>().ok())
        }),
        Err(_) => None,
    };
    let h5 = super::torch::read_entry(&mut zip, "model.weights.h5", limit)?;
    let vars: BTreeMap<String, Vec<Var>> = layer_vars(&open_h5(&h5)?)?.into_iter().collect();
    from_config(&config, major, &vars, false)
}

/// The model of a Keras `config` (module docs) with the variables `vars` of each layer's
/// weights group (`lstm/cell` for a recurrent layer, `dense` for the head), written by
/// Keras `major`. The groups are named by class (Keras 3's `model.weights.h5`), or, with
/// `own_names`, by the layers' own names (the legacy HDF5 layout).
fn from_config(
    config: &Value,
    major: Option<u64>,
    vars: &BTreeMap<String, Vec<Var>>,
    own_names: bool,
) -> Result<Read> {
    // Errors name where the config came from: a .keras archive's (or --config's)
    // config.json, or a legacy .h5's model_config.
    let what = if own_names {
        "model_config"
    } else {
        "config.json"
    };
    read_config(config, major, vars, own_names).context(what)
}

/// [`from_config`] without the context.
fn read_config(
    config: &Value,
    major: Option<u64>,
    vars: &BTreeMap<String, Vec<Var>>,
    own_names: bool,
) -> Result<Read> {
    let mut notes = Vec::new();
    let mut layers = config_layers(config, &mut notes)?;
    if own_names {
        for l in &mut layers {
            match l {
                Layer::Recurrent(_, name, h5, _) | Layer::Dense(name, h5, _) => h5.clone_from(name),
            }
        }
    }
    let mut tensors: Vec<(String, Var)> = Vec::new();
    let mut meta = BTreeMap::from([
        ("layout".to_string(), "keras".to_string()),
        ("source".to_string(), "keras".to_string()),
    ]);
    let recurrent = layers
        .iter()
        .filter(|l| matches!(l, Layer::Recurrent(..)))
        .count();
    let mut k = 0;
    let mut head_seen = false;
    for layer in &layers {
        match layer {
            Layer::Recurrent(family, name, h5, c) => {
                if head_seen {
                    bail!("layer {name} comes after the Dense head");
                }
                if flag(c, name, "go_backwards", false)? {
                    bail!(
                        "layer {name}: go_backwards is true; this kernel runs layers forward \
                         in time only (refusing rather than running it the wrong way)"
                    );
                }
                let act = text(c, name, "activation", "tanh")?;
                if act != "tanh" {
                    bail!("layer {name}: activation {act}; the kernel's cells run tanh");
                }
                let ra = recurrent_activation(
                    text(c, name, "recurrent_activation", "sigmoid")?,
                    name,
                    major,
                )?;
                meta.insert(format!("{ACTIVATION_KEY}_l{k}"), ra.name().to_string());
                for key in ["dropout", "recurrent_dropout"] {
                    if c.get(key).and_then(Value::as_f64).is_some_and(|d| d != 0.0) {
                        notes.push(format!(
                            "layer {name}: {key} {} does nothing at inference; left out",
                            c[key]
                        ));
                    }
                }
                let units = c
                    .get("units")
                    .and_then(Value::as_u64)
                    .and_then(|u| usize::try_from(u).ok())
                    .filter(|&u| u > 0)
                    .ok_or_else(|| anyhow!("layer {name}: no positive units in its config"))?;
                let reset_after = *family == Family::Gru && flag(c, name, "reset_after", true)?;
                let use_bias = flag(c, name, "use_bias", true)?;
                let cell = format!("{h5}/cell");
                let Some(v) = vars.get(&cell) else {
                    bail!("layer {name}: model.weights.h5 has no layers/{cell}/vars");
                };
                let want = if use_bias { 3 } else { 2 };
                if v.len() != want {
                    bail!(
                        "layer {name}: layers/{cell}/vars holds {} variables, expected {want} \
                         (use_bias {use_bias})",
                        v.len()
                    );
                }
                let g = family.gates() * units;
                if v[1].0 != [units, g] {
                    bail!(
                        "layer {name}: its recurrent kernel has shape {:?}, expected [{units}, \
                         {g}] for units {units}",
                        v[1].0
                    );
                }
                let bias: Var = if use_bias {
                    v[2].clone()
                } else if reset_after {
                    (vec![2, g], vec![0.0; 2 * g])
                } else {
                    (vec![g], vec![0.0; g])
                };
                let bias_rows = if bias.0.len() == 2 { 2 } else { 1 };
                if *family == Family::Gru && (bias_rows == 2) != reset_after {
                    bail!(
                        "layer {name}: reset_after is {reset_after} but its bias has shape {:?}",
                        bias.0
                    );
                }
                let base = family.keras_name(k);
                tensors.push((format!("{base}/kernel"), v[0].clone()));
                tensors.push((format!("{base}/recurrent_kernel"), v[1].clone()));
                tensors.push((format!("{base}/bias"), bias));
                k += 1;
            }
            Layer::Dense(name, h5, c) => {
                if head_seen {
                    bail!(
                        "a second Dense layer ({name}); the kernel has one dense \
                         head after the recurrent layers"
                    );
                }
                if k == 0 {
                    bail!("Dense layer {name} before any LSTM or GRU layer");
                }
                head_seen = true;
                let head = match text(c, name, "activation", "linear")? {
                    "linear" => HeadActivation::Unspecified,
                    "sigmoid" => HeadActivation::Sigmoid,
                    "softmax" => HeadActivation::Softmax,
                    other => bail!(
                        "layer {name}: Dense activation {other}; the head runs linear (logits), \
                         sigmoid or softmax"
                    ),
                };
                if head != HeadActivation::Unspecified {
                    meta.insert(HEAD_KEY.to_string(), head.name().to_string());
                }
                let Some(v) = vars.get(h5.as_str()) else {
                    bail!("layer {name}: model.weights.h5 has no layers/{h5}/vars");
                };
                let use_bias = flag(c, name, "use_bias", true)?;
                let want = if use_bias { 2 } else { 1 };
                if v.len() != want || v[0].0.len() != 2 {
                    bail!(
                        "layer {name}: layers/{h5}/vars holds {} variables (kernel shape \
                         {:?}), expected {want} with a 2-D kernel",
                        v.len(),
                        v.first().map(|x| &x.0)
                    );
                }
                let out = v[0].0[1];
                let bias = if use_bias {
                    v[1].clone()
                } else {
                    (vec![out], vec![0.0; out])
                };
                tensors.push(("dense/kernel".to_string(), v[0].clone()));
                tensors.push(("dense/bias".to_string(), bias));
            }
        }
    }
    if recurrent == 0 || !head_seen {
        bail!("the model needs LSTM or GRU layers and a Dense head");
    }
    meta.insert("num_layers".to_string(), recurrent.to_string());
    Ok(Read {
        safetensors: to_safetensors(&tensors, meta, true)?,
        notes,
        architecture: true,
    })
}

/// An HDF5 file's bytes, opened.
fn open_h5(h5: &[u8]) -> Result<hdf5_pure::File> {
    hdf5_pure::File::from_bytes(h5.to_vec()).map_err(|e| anyhow!("not a readable HDF5 file: {e}"))
}

/// The strings of an HDF5 attribute (one string, or an array of them, in any of the
/// encodings h5py writes).
fn attr_strings(v: &hdf5_pure::AttrValue) -> Option<Vec<String>> {
    use hdf5_pure::AttrValue as A;
    match v {
        A::String(s) | A::AsciiString(s) | A::VarLenString(s) | A::VarLenAsciiString(s) => {
            Some(vec![s.clone()])
        }
        A::StringArray(v)
        | A::AsciiStringArray(v)
        | A::VarLenAsciiCharArray(v)
        | A::VarLenStringArray(v)
        | A::VarLenAsciiStringArray(v) => Some(v.clone()),
        A::StringSized { value, .. } | A::AsciiStringSized { value, .. } => {
            Some(vec![value.clone()])
        }
        A::StringArraySized { values, .. } | A::AsciiStringArraySized { values, .. } => {
            Some(values.clone())
        }
        _ => None,
    }
}

/// A file in the legacy HDF5 layout (`model.save("m.h5")` in Keras 2, and in Keras 3 for
/// an `.h5` name; `model.save_weights("w.h5")` in Keras 2).
struct Legacy {
    /// The root's `model_config` (a whole-model file), parsed.
    config: Option<Value>,
    /// The major version of the root's (or the weights group's) `keras_version`.
    major: Option<u64>,
    /// Each layer with weights, in `layer_names` order: its name and its variables by role
    /// (`kernel`, `recurrent_kernel`, `bias`), in that order.
    layers: Vec<(String, Vec<(&'static str, Var)>)>,
}

/// The major version in a `keras_version` string (`"2.15.0"` -> 2).
fn major_of(version: &str) -> Option<u64> {
    version.split('.').next().and_then(|v| v.parse().ok())
}

/// The file's legacy layout, if it has one: a root `layer_names` attribute (a weights
/// file) or a `model_weights` group holding one (a whole model). Each layer's
/// `weight_names` attribute gives its datasets' paths below its group
/// (`lstm/lstm_cell/kernel:0`); the last part names the role.
///
/// # Errors
/// Attributes or datasets that cannot be read; a weight whose role is not one of an LSTM,
/// GRU or Dense layer; more than 4096 layers.
fn legacy_layers(file: &hdf5_pure::File) -> Result<Option<Legacy>> {
    let root = file.root();
    let attrs = root
        .attrs()
        .map_err(|e| anyhow!("HDF5 root attributes: {e}"))?;
    let (weights, wattrs, config) = if attrs.contains_key("layer_names") {
        (root, attrs.clone(), None)
    } else if let Ok(g) = root.group("model_weights") {
        let a = g
            .attrs()
            .map_err(|e| anyhow!("model_weights attributes: {e}"))?;
        let Some(text) = attrs.get("model_config").and_then(attr_strings) else {
            bail!("a legacy HDF5 model without a model_config attribute");
        };
        let config: Value = serde_json::from_str(text.first().map_or("", String::as_str))
            .context("model_config is not JSON")?;
        (g, a, Some(config))
    } else {
        return Ok(None);
    };
    let major = [&wattrs, &attrs]
        .iter()
        .find_map(|a| a.get("keras_version").and_then(attr_strings))
        .and_then(|v| v.first().and_then(|v| major_of(v)));
    let Some(names) = wattrs.get("layer_names").and_then(attr_strings) else {
        bail!("a legacy HDF5 file whose layer_names is not a list of strings");
    };
    if names.len() > 4096 {
        bail!(
            "{} layers in layer_names: not a model this tool reads",
            names.len()
        );
    }
    let mut layers = Vec::new();
    for name in names {
        let group = weights
            .group(&name)
            .map_err(|e| anyhow!("layer {name} (in layer_names): {e}"))?;
        let a = group
            .attrs()
            .map_err(|e| anyhow!("layer {name}: attributes: {e}"))?;
        let weight_names = a
            .get("weight_names")
            .and_then(attr_strings)
            .unwrap_or_default();
        if weight_names.len() > 16 {
            bail!(
                "layer {name}: {} weights; an LSTM, GRU or Dense layer has at most 3",
                weight_names.len()
            );
        }
        let mut vars: Vec<(&'static str, Var)> = Vec::new();
        for w in &weight_names {
            let mut parts: Vec<&str> = w.split('/').collect();
            if parts
                .iter()
                .any(|p| p.starts_with("forward_") || p.starts_with("backward_"))
            {
                bail!(
                    "layer {name}: weight {w} is a Bidirectional layer's, which this kernel \
                     does not run (it runs layers forward in time only)"
                );
            }
            let Some(last) = parts.pop() else { continue };
            let role = match last.split(':').next().unwrap_or("") {
                "kernel" => "kernel",
                "recurrent_kernel" => "recurrent_kernel",
                "bias" => "bias",
                other => bail!(
                    "layer {name}: weight {w} ({other}) is not a kernel, recurrent_kernel or \
                     bias; this reader takes LSTM, GRU and Dense layers"
                ),
            };
            let mut g = group.clone();
            for p in &parts {
                g = g
                    .group(p)
                    .map_err(|e| anyhow!("layer {name}: weight {w}: {e}"))?;
            }
            let ds = g
                .dataset(last)
                .map_err(|e| anyhow!("layer {name}: weight {w}: {e}"))?;
            if vars.iter().any(|(r, _)| *r == role) {
                bail!("layer {name}: two {role} weights");
            }
            vars.push((role, read_var(&ds, &format!("layer {name}: weight {w}"))?));
        }
        let order = |r: &str| {
            ["kernel", "recurrent_kernel", "bias"]
                .iter()
                .position(|x| *x == r)
        };
        vars.sort_by_key(|(r, _)| order(r));
        if !vars.is_empty() {
            layers.push((name, vars));
        }
    }
    Ok(Some(Legacy {
        config,
        major,
        layers,
    }))
}

/// A legacy HDF5 file (see [`legacy_layers`]) as safetensors: through its `model_config`
/// like a `.keras` archive, or, for a weights file, under the variables' paths like a
/// `.weights.h5`.
fn legacy_to_safetensors(legacy: Legacy) -> Result<Read> {
    let recurrent = |vars: &[(&str, Var)]| vars.iter().any(|(r, _)| *r == "recurrent_kernel");
    if let Some(config) = &legacy.config {
        let vars: BTreeMap<String, Vec<Var>> = legacy
            .layers
            .iter()
            .map(|(name, vars)| {
                let key = if recurrent(vars) {
                    format!("{name}/cell")
                } else {
                    name.clone()
                };
                (key, vars.iter().map(|(_, v)| v.clone()).collect())
            })
            .collect();
        return from_config(config, legacy.major, &vars, true);
    }
    let mut tensors = Vec::new();
    for (name, vars) in &legacy.layers {
        let path = if recurrent(vars) {
            format!("{name}/cell")
        } else {
            name.clone()
        };
        for (role, var) in vars {
            tensors.push((format!("{path}/{role}"), var.clone()));
        }
    }
    Ok(Read {
        // `layer_names` lists the layers in the model's order.
        safetensors: to_safetensors(&tensors, BTreeMap::new(), true)?,
        notes: vec![HEAD_UNKNOWN.to_string()],
        architecture: false,
    })
}
