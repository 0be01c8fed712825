//! Tensor names as found in the wild, mapped to the names [`super::safetensors`] reads, by
//! each tensor's role and shape: what a user's own PyTorch module or Keras model saved,
//! without renaming anything by hand.
//!
//! # What is recognised
//! - **PyTorch recurrent modules** under any attribute path (`rnn.`, `model.encoder.`, or
//!   none): `nn.LSTM`/`nn.GRU` tensors `{P}weight_ih_l{k}`, `weight_hh_l{k}`,
//!   `bias_ih_l{k}`, `bias_hh_l{k}`, and `nn.LSTMCell`/`nn.GRUCell` tensors
//!   `{P}weight_ih`, `weight_hh`, `bias_ih`, `bias_hh` (one layer). The cell is told by
//!   `weight_hh`'s shape `[G·H, H]`: `G = 4` LSTM, `G = 3` GRU (whatever the attribute is
//!   called).
//! - **Keras recurrent layers** under any path: `{P}/kernel`, `{P}/recurrent_kernel`,
//!   `{P}/bias` (`.` for `/` too), e.g. Keras 3's variable paths `lstm_4/lstm_cell/kernel`;
//!   the cell is told by `recurrent_kernel`'s shape `[H, G·H]`.
//! - **The head**: the one other 2-D weight, PyTorch `{Q}weight` `[OUT, H]` (an
//!   `nn.Linear` under any name: `fc`, `head`, `model.out`) or Keras `{Q}/kernel`
//!   `[H, OUT]` (a `Dense` under any name: `dense_4`), with its `bias` if there is one.
//! - **Layers without bias** (`bias=False`, Keras `use_bias=False`): the missing biases are
//!   zeros, which is what such a layer computes (a Keras GRU without bias is refused: its
//!   `reset_after` cannot be told from the tensors).
//!
//! Layers are ordered bottom first: the layers of one `nn.LSTM`/`nn.GRU` by `k`; several
//! modules (or cells, or Keras layers) in the order the file lists them when it records one
//! (a `torch.save` state dict lists its modules in registration order, which the PyTorch
//! reader carries in the metadata entry [`ORDER_KEY`]), else by their paths in natural
//! order (`lstm_4` before `lstm_10`, `rnn1` before `rnn2`), with a warning when names that
//! differ in more than their numbers decide the order (`encoder`, `decoder`). A `--map` of a recurrent layer's tensors
//! overrides the file's order: the layers then sort by their names after the renames. Each layer's input size must be the
//! hidden size below it, else the file is refused naming the order tried. A user whose names this does
//! not resolve (two dense candidates, modules whose names do not sort bottom first) renames
//! them with [`Rename`]s (`OLD=NEW`, the CLI's `--map`), applied first.
//!
//! Tensors that match no role keep their names, so the importer refuses them, each by
//! name. A file whose names are all the importer's own (this tool's exports) and that
//! lacks no bias is passed through unchanged, byte for byte.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Result, anyhow, bail};
use safetensors::SafeTensors;
use safetensors::tensor::{Dtype, TensorView};

use super::safetensors::{Family, known_name};

/// The safetensors metadata key under which a reader records the file's order of tensor
/// names (one per line): the order separate modules are stacked in. Not written to any
/// output file.
pub const ORDER_KEY: &str = "lstm_harness.tensor_order";

/// One `--map OLD=NEW` rename: a whole tensor name, or, when `old` ends with `.` or `/`, a
/// prefix (`--map encoder.=lstm.` renames every tensor under `encoder.`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rename {
    /// The name (or prefix) in the file.
    pub old: String,
    /// What it becomes.
    pub new: String,
}

impl std::str::FromStr for Rename {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('=') {
            Some((old, new)) if !old.is_empty() && !new.is_empty() => Ok(Self {
                old: old.to_string(),
                new: new.to_string(),
            }),
            _ => Err(format!(
                "{s:?} is not OLD=NEW (e.g. fc.weight=linear.weight, or encoder.=lstm.)"
            )),
        }
    }
}

impl Rename {
    /// `name` after this rename, if it applies.
    fn apply(&self, name: &str) -> Option<String> {
        if self.old.ends_with(['.', '/']) {
            name.strip_prefix(&self.old)
                .map(|r| format!("{}{r}", self.new))
        } else {
            (name == self.old).then(|| self.new.clone())
        }
    }
}

/// The file after mapping: safetensors bytes under the importer's names, and one line per
/// rename or synthesised tensor (`fc.weight -> linear.weight`, `lstm.bias_ih_l0: zeros
/// (the layer has no bias)`), empty when the file was passed through.
#[derive(Debug)]
pub struct Mapped {
    /// The safetensors file to import (the input's metadata kept).
    pub bytes: Vec<u8>,
    /// What was done, one line each (for a caller to report: `inspect` lists them, the
    /// other commands count them).
    pub notes: Vec<String>,
    /// What the caller must show the user (each line starts `warning:`).
    pub warnings: Vec<String>,
    /// Each renamed tensor: `(name here, name in the file)`, so a later error about a
    /// tensor can name it as the file does.
    pub origins: Vec<(String, String)>,
}

/// Whether a name is PyTorch-style (`weight_ih`, `weight`) or Keras-style (`kernel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Torch,
    Keras,
}

/// One recurrent layer found: its path, the layer index within its module (`None` for a
/// cell or a Keras layer), and its tensors by role.
#[derive(Debug)]
struct Group {
    style: Style,
    path: String,
    index: Option<usize>,
    roles: BTreeMap<&'static str, String>,
}

const TORCH_ROLES: [&str; 4] = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];

/// Splits `{path}{role}{_l{k}}` (PyTorch) into path, role and `k`.
fn torch_parts(name: &str) -> Option<(String, &'static str, Option<usize>)> {
    let (path, last) = match name.rfind(['.', '/']) {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    };
    for role in TORCH_ROLES {
        if let Some(rest) = last.strip_prefix(role) {
            if rest.is_empty() {
                return Some((path.to_string(), role, None));
            }
            if let Some(k) = rest
                .strip_prefix("_l")
                .and_then(|k| k.parse::<usize>().ok())
            {
                return Some((path.to_string(), role, Some(k)));
            }
        }
    }
    None
}

/// Splits `{path}/{kernel|recurrent_kernel|bias}` (Keras; `.` too) into path and role.
fn keras_parts(name: &str) -> Option<(String, &'static str)> {
    let (path, last) = name.rsplit_once(['.', '/'])?;
    let role = ["kernel", "recurrent_kernel", "bias", "weight"]
        .into_iter()
        .find(|&r| r == last)?;
    Some((path.to_string(), role))
}

/// Natural order of paths: digit runs compare as numbers (`lstm_4` < `lstm_10`).
fn natural(a: &str, b: &str) -> Ordering {
    fn runs(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let d = c.is_ascii_digit();
            match out.last_mut() {
                Some((ld, run)) if *ld == d => run.push(c),
                _ => out.push((d, c.to_string())),
            }
        }
        out
    }
    let (ra, rb) = (runs(a), runs(b));
    for (x, y) in ra.iter().zip(&rb) {
        let o = match (x.0 && y.0, x.1.parse::<u128>(), y.1.parse::<u128>()) {
            (true, Ok(p), Ok(q)) => p.cmp(&q),
            _ => x.1.cmp(&y.1),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ra.len().cmp(&rb.len())
}

/// A layer's sizes and cell from its weights: (family, input, hidden).
fn layer_sizes(g: &Group, shapes: &HashMap<String, Vec<usize>>) -> Result<(Family, usize, usize)> {
    let shape = |role: &str| g.roles.get(role).map(|n| (n, shapes[n].as_slice()));
    let (rec, inp) = match g.style {
        Style::Torch => ("weight_hh", "weight_ih"),
        Style::Keras => ("recurrent_kernel", "kernel"),
    };
    let (Some((rn, rs)), Some((iname, is))) = (shape(rec), shape(inp)) else {
        let missing = if shape(rec).is_none() { rec } else { inp };
        bail!(
            "the recurrent layer {} has no {missing} tensor",
            describe(g)
        );
    };
    let (gh, h) = match (g.style, rs) {
        (Style::Torch, [gh, h]) => (*gh, *h),
        (Style::Keras, [h, gh]) => (*gh, *h),
        _ => bail!("tensor {rn} has shape {rs:?}, not the 2-D recurrent weights of an LSTM or GRU"),
    };
    let family = match (h, gh) {
        (h, gh) if h > 0 && gh == 4 * h => Family::Lstm,
        (h, gh) if h > 0 && gh == 3 * h => Family::Gru,
        _ => bail!(
            "tensor {rn} has shape {rs:?}: neither an LSTM's (4H x H) nor a GRU's (3H x H) \
             recurrent weights"
        ),
    };
    let input = match (g.style, is) {
        (Style::Torch, [r, i]) if *r == gh => *i,
        (Style::Keras, [i, c]) if *c == gh => *i,
        _ => bail!("tensor {iname} has shape {is:?}, which does not match {rn} {rs:?}"),
    };
    Ok((family, input, h))
}

fn describe(g: &Group) -> String {
    let path = if g.path.is_empty() {
        "(no prefix)"
    } else {
        g.path.as_str()
    };
    match g.index {
        Some(k) => format!("{path} layer {k}"),
        None => path.to_string(),
    }
}

/// Maps the tensors of safetensors `bytes` to the importer's names (module docs), after
/// the `--map` renames.
///
/// # Errors
/// Not a safetensors file; a rename that matches no tensor or makes two tensors one name;
/// a recurrent layer without its weights or with shapes of no LSTM or GRU; layers whose
/// sizes do not chain in the order found; more than one head candidate; a Keras GRU
/// without bias; PyTorch and Keras names mixed. (A head whose input is not the top layer's
/// hidden size is left to the importer, which refuses its shape.)
pub fn map(bytes: &[u8], renames: &[Rename]) -> Result<Mapped> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| anyhow!("not a valid safetensors file: {e}"))?;
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    // --map first.
    let mut current: BTreeMap<String, String> = BTreeMap::new(); // new name -> file name
    let mut notes = Vec::new();
    let mut used = vec![false; renames.len()];
    for n in &names {
        let mut name = n.clone();
        if let Some((i, r)) = renames
            .iter()
            .enumerate()
            .find_map(|(i, r)| Some((i, r.apply(n)?)))
        {
            used[i] = true;
            notes.push(format!("{n} -> {r} (--map)"));
            name = r;
        }
        if let Some(other) = current.insert(name.clone(), n.clone()) {
            bail!("--map makes {other} and {n} both {name}");
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        bail!(
            "--map {}={}: no tensor is named {} (the file's tensors: {})",
            renames[i].old,
            renames[i].new,
            renames[i].old,
            names.join(", ")
        );
    }
    let shapes: HashMap<String, Vec<usize>> = current
        .iter()
        .map(|(new, old)| {
            Ok((
                new.clone(),
                st.tensor(old).map_err(|e| anyhow!("{e}"))?.shape().to_vec(),
            ))
        })
        .collect::<Result<_>>()?;

    // Recurrent groups.
    let mut groups: BTreeMap<(String, Option<usize>, u8), Group> = BTreeMap::new();
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    for name in current.keys() {
        if let Some((path, role, k)) = torch_parts(name) {
            let g = groups.entry((path.clone(), k, 0)).or_insert_with(|| Group {
                style: Style::Torch,
                path,
                index: k,
                roles: BTreeMap::new(),
            });
            g.roles.insert(role, name.clone());
            claimed.insert(name.clone());
        }
    }
    let keras_paths: Vec<String> = current
        .keys()
        .filter_map(|n| match keras_parts(n) {
            Some((p, "recurrent_kernel")) => Some(p),
            _ => None,
        })
        .collect();
    for name in current.keys() {
        if let Some((path, role)) = keras_parts(name)
            && keras_paths.contains(&path)
            && role != "weight"
        {
            let g = groups
                .entry((path.clone(), None, 1))
                .or_insert_with(|| Group {
                    style: Style::Keras,
                    path,
                    index: None,
                    roles: BTreeMap::new(),
                });
            g.roles.insert(role, name.clone());
            claimed.insert(name.clone());
        }
    }
    let mut layers: Vec<Group> = groups.into_values().collect();
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| anyhow!("{e}"))?;
    let mut meta: HashMap<String, String> = meta.metadata().clone().unwrap_or_default();
    let listed = meta.remove(ORDER_KEY);
    // A --map of a recurrent tensor puts its layers where their new names sort: the user's
    // override of the file's order.
    let renamed_layer = layers
        .iter()
        .flat_map(|g| g.roles.values())
        .any(|n| current[n] != *n);
    let mut warnings = Vec::new();
    match listed.as_ref().filter(|_| !renamed_layer) {
        Some(order) => {
            // Position of a group: where the file lists its first tensor (by file name).
            let at: HashMap<&str, usize> = order.lines().enumerate().map(|(i, n)| (n, i)).collect();
            let first = |g: &Group| {
                g.roles
                    .values()
                    .filter_map(|n| at.get(current[n].as_str()).copied())
                    .min()
                    .unwrap_or(usize::MAX)
            };
            layers.sort_by_key(|g| (first(g), g.index));
        }
        None => {
            layers.sort_by(|a, b| natural(&a.path, &b.path).then(a.index.cmp(&b.index)));
            // Names that differ only in their numbers (`lstm`, `lstm_1`; `rnn1`, `rnn2`)
            // are numbered in order; names that differ otherwise are a guess.
            let stem = |p: &str| -> String {
                p.chars()
                    .filter(|c| !c.is_ascii_digit() && *c != '_')
                    .collect()
            };
            let stems: BTreeSet<String> = layers.iter().map(|g| stem(&g.path)).collect();
            if stems.len() > 1 && !renamed_layer {
                let order: Vec<String> = layers.iter().map(describe).collect();
                warnings.push(format!(
                    "warning: the file does not record the order of its recurrent modules; \
                     they were stacked bottom first in the order of their names: {} (if the \
                     model runs them in another order, rename them with --map OLD=NEW so \
                     they sort bottom first, or read the file the framework saved, which \
                     records it: the .pt or the .keras)",
                    order.join(", ")
                ));
            }
        }
    }
    if layers.iter().any(|g| g.style != layers[0].style) {
        bail!(
            "the file mixes PyTorch recurrent names ({}) with Keras ones ({}); rename one (--map OLD=NEW)",
            layers
                .iter()
                .find(|g| g.style == Style::Torch)
                .map(describe)
                .unwrap_or_default(),
            layers
                .iter()
                .find(|g| g.style == Style::Keras)
                .map(describe)
                .unwrap_or_default(),
        );
    }
    let style = layers.first().map_or(Style::Torch, |g| g.style);

    // Sizes, chained bottom first.
    let mut sized: Vec<(&Group, Family, usize)> = Vec::new();
    for g in &layers {
        let (family, input, hidden) = layer_sizes(g, &shapes)?;
        if let Some(&(_, _, below)) = sized.last()
            && input != below
        {
            let order: Vec<String> = layers.iter().map(describe).collect();
            bail!(
                "layer {} ({}) takes {input} inputs but the layer below it has {below} hidden \
                 units; layers were taken in the order {} (PyTorch layer index, then paths in \
                 natural order): rename them (--map OLD=NEW, a prefix when OLD ends in . or /) so \
                 they sort bottom first",
                sized.len(),
                describe(g),
                order.join(", ")
            );
        }
        sized.push((g, family, hidden));
    }

    // The head: 2-D weights not claimed by a recurrent layer.
    let head_role = match style {
        Style::Torch => "weight",
        Style::Keras => "kernel",
    };
    let candidates: Vec<&String> = current
        .keys()
        .filter(|n| !claimed.contains(*n))
        .filter(|n| {
            let last = n.rsplit_once(['.', '/']).map_or(n.as_str(), |p| p.1);
            last == head_role && shapes[*n].len() == 2
        })
        .collect();
    let head = match candidates.as_slice() {
        [] => None,
        [one] => Some((*one).clone()),
        many => bail!(
            "{} dense-layer candidates for the one head this kernel has: {} (a head of \
             several layers is not supported; if one of them is the head, --map it to {})",
            many.len(),
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if style == Style::Torch {
                "linear.weight"
            } else {
                "dense/kernel"
            }
        ),
    };

    // New names (`taken`: new -> current), and zero biases where a layer has none.
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    let mut zeros: Vec<(String, usize)> = Vec::new();
    for (k, &(g, family, hidden)) in sized.iter().enumerate() {
        let gh = family.gates() * hidden;
        let roles: &[&'static str] = match style {
            Style::Torch => &TORCH_ROLES,
            Style::Keras => &["kernel", "recurrent_kernel", "bias"],
        };
        for &role in roles {
            let new = match style {
                Style::Torch => format!("{}.{role}_l{k}", family.torch_prefix()),
                Style::Keras => format!("{}/{role}", family.keras_name(k)),
            };
            match g.roles.get(role) {
                Some(cur) => {
                    taken.insert(new, cur.clone());
                }
                None if style == Style::Keras && family == Family::Gru => bail!(
                    "the GRU layer {} has no bias (use_bias=False): whether it is reset_after \
                     cannot be told from its tensors; give the model's config (--config \
                     config.json), read the .keras file, or save it with use_bias=True",
                    describe(g)
                ),
                None => {
                    notes.push(format!(
                        "{new}: zeros (layer {k}: the file's {} has no bias)",
                        describe(g)
                    ));
                    zeros.push((new, gh));
                }
            }
        }
    }
    if let Some(w) = head {
        let path = &w[..w.len() - head_role.len()];
        let bias = format!("{path}bias");
        let (wn, bn, outputs) = match style {
            Style::Torch => ("linear.weight", "linear.bias", shapes[&w][0]),
            Style::Keras => ("dense/kernel", "dense/bias", shapes[&w][1]),
        };
        taken.insert(wn.to_string(), w.clone());
        if current.contains_key(&bias) && !claimed.contains(&bias) {
            taken.insert(bn.to_string(), bias);
        } else {
            notes.push(format!("{bn}: zeros (the head {w} has no bias)"));
            zeros.push((bn.to_string(), outputs));
        }
    }
    let renamed: BTreeMap<&String, &String> = taken.iter().map(|(n, c)| (c, n)).collect();
    let mut out: Vec<(String, TensorView<'_>)> = Vec::new();
    let mut origins = Vec::new();
    for (cur, orig) in &current {
        let name = renamed
            .get(cur)
            .map_or_else(|| cur.clone(), |n| (*n).clone());
        if name != *cur {
            notes.push(format!("{orig} -> {name}"));
        }
        if name != *orig {
            origins.push((name.clone(), orig.clone()));
        }
        out.push((name, st.tensor(orig).map_err(|e| anyhow!("{e}"))?));
    }
    if notes.is_empty() && listed.is_none() && current.keys().all(|n| known_name(n)) {
        return Ok(Mapped {
            bytes: bytes.to_vec(),
            notes,
            warnings,
            origins,
        });
    }
    let zero_bytes: Vec<(String, usize, Vec<u8>)> = zeros
        .into_iter()
        .map(|(n, len)| (n, len, vec![0; 4 * len]))
        .collect();
    for (n, len, data) in &zero_bytes {
        let v = TensorView::new(Dtype::F32, vec![*len], data)
            .map_err(|e| anyhow!("tensor {n}: {e}"))?;
        out.push((n.clone(), v));
    }
    let mut seen = BTreeSet::new();
    for (n, _) in &out {
        if !seen.insert(n.as_str()) {
            bail!("two tensors map to {n}; rename one (--map OLD=NEW)");
        }
    }
    let bytes = safetensors::serialize(out, Some(meta)).map_err(|e| anyhow!("{e}"))?;
    Ok(Mapped {
        bytes,
        notes,
        warnings,
        origins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::safetensors::to_torch_bytes;
    use crate::model::keras_model;
    use lstm_kernel::RecurrentActivation;

    /// A safetensors file of zero-filled F32 tensors with these names and shapes.
    fn file(tensors: &[(&str, &[usize])]) -> Vec<u8> {
        let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
            .iter()
            .map(|(n, s)| {
                (
                    n.to_string(),
                    s.to_vec(),
                    vec![0; 4 * s.iter().product::<usize>()],
                )
            })
            .collect();
        let views: Vec<(String, TensorView<'_>)> = data
            .iter()
            .map(|(n, s, d)| {
                (
                    n.clone(),
                    TensorView::new(Dtype::F32, s.clone(), d).unwrap(),
                )
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    }

    fn names_of(bytes: &[u8]) -> Vec<String> {
        let st = SafeTensors::deserialize(bytes).unwrap();
        let mut n: Vec<String> = st.names().into_iter().map(str::to_string).collect();
        n.sort();
        n
    }

    fn err(bytes: &[u8], renames: &[Rename]) -> String {
        format!("{:#}", map(bytes, renames).unwrap_err())
    }

    #[test]
    fn this_tools_own_export_passes_through_byte_for_byte() {
        let bytes = to_torch_bytes(&keras_model(3, RecurrentActivation::Sigmoid)).unwrap();
        let m = map(&bytes, &[]).unwrap();
        assert_eq!(m.bytes, bytes);
        assert!(m.notes.is_empty(), "{:?}", m.notes);
    }

    #[test]
    fn paths_sort_naturally_so_lstm_10_comes_after_lstm_9() {
        let mut v = vec!["lstm_10", "lstm_9", "lstm", "rnn2.", "rnn10.", "rnn1."];
        v.sort_by(|a, b| natural(a, b));
        assert_eq!(v, ["lstm", "lstm_9", "lstm_10", "rnn1.", "rnn2.", "rnn10."]);
    }

    #[test]
    fn separate_modules_stack_in_natural_order_and_a_head_without_bias_gets_zeros() {
        let f = file(&[
            ("enc2.weight_ih", &[40, 10]),
            ("enc2.weight_hh", &[40, 10]),
            ("enc1.weight_ih", &[30, 3]),
            ("enc1.weight_hh", &[30, 10]),
            ("enc1.bias_ih", &[30]),
            ("enc1.bias_hh", &[30]),
            ("out.weight", &[2, 10]),
        ]);
        let m = map(&f, &[]).unwrap();
        assert_eq!(
            names_of(&m.bytes),
            [
                "gru.bias_hh_l0",
                "gru.bias_ih_l0",
                "gru.weight_hh_l0",
                "gru.weight_ih_l0",
                "linear.bias",
                "linear.weight",
                "lstm.bias_hh_l1",
                "lstm.bias_ih_l1",
                "lstm.weight_hh_l1",
                "lstm.weight_ih_l1",
            ]
        );
        let notes = m.notes.join("\n");
        assert!(
            notes.contains("enc1.weight_ih -> gru.weight_ih_l0"),
            "{notes}"
        );
        assert!(notes.contains("lstm.bias_ih_l1: zeros"), "{notes}");
        assert!(
            notes.contains("linear.bias: zeros (the head out.weight has no bias)"),
            "{notes}"
        );
    }

    #[test]
    fn layers_whose_sizes_do_not_chain_are_refused_with_the_order_tried() {
        let f = file(&[
            ("b.weight_ih", &[40, 1]),
            ("b.weight_hh", &[40, 10]),
            ("a.weight_ih", &[40, 10]),
            ("a.weight_hh", &[40, 10]),
        ]);
        let e = err(&f, &[]);
        assert!(
            e.contains("takes 1 inputs") && e.contains("a., b.") && e.contains("--map OLD=NEW"),
            "{e}"
        );
        // --map fixes it: a prefix rename puts b first.
        let fix: Rename = "b.=a0.".parse().unwrap();
        let m = map(&f, &[fix]).unwrap();
        assert!(
            m.notes
                .iter()
                .any(|n| n == "b.weight_ih -> a0.weight_ih (--map)"),
            "{:?}",
            m.notes
        );
        assert!(
            m.notes
                .iter()
                .any(|n| n.starts_with("b.weight_ih -> lstm.weight_ih_l0")),
            "{:?}",
            m.notes
        );
    }

    #[test]
    fn renames_that_match_nothing_or_collide_and_bad_shapes_are_refused_by_name() {
        let f = file(&[
            ("lstm.weight_ih_l0", &[40, 1]),
            ("lstm.weight_hh_l0", &[40, 10]),
        ]);
        let e = err(&f, &["fc.weight=linear.weight".parse().unwrap()]);
        assert!(e.contains("no tensor is named fc.weight"), "{e}");
        let e = err(
            &f,
            &["lstm.weight_ih_l0=lstm.weight_hh_l0".parse().unwrap()],
        );
        assert!(e.contains("both lstm.weight_hh_l0"), "{e}");
        assert!("nothing".parse::<Rename>().is_err());
        let odd = file(&[
            ("rnn.weight_ih_l0", &[20, 1]),
            ("rnn.weight_hh_l0", &[20, 10]),
        ]);
        let e = err(&odd, &[]);
        assert!(
            e.contains("rnn.weight_hh_l0") && e.contains("neither an LSTM"),
            "{e}"
        );
    }

    #[test]
    fn two_head_candidates_and_a_keras_gru_without_bias_are_refused() {
        let f = file(&[
            ("lstm/kernel", &[1, 40]),
            ("lstm/recurrent_kernel", &[10, 40]),
            ("lstm/bias", &[40]),
            ("dense_1/kernel", &[10, 10]),
            ("dense_2/kernel", &[10, 1]),
        ]);
        let e = err(&f, &[]);
        assert!(
            e.contains("dense_1/kernel, dense_2/kernel") && e.contains("dense/kernel"),
            "{e}"
        );
        let g = file(&[
            ("gru_7/gru_cell/kernel", &[1, 30]),
            ("gru_7/gru_cell/recurrent_kernel", &[10, 30]),
        ]);
        let e = err(&g, &[]);
        assert!(
            e.contains("gru_7/gru_cell") && e.contains("reset_after"),
            "{e}"
        );
    }
}
