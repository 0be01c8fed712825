//! The checkpoint file of a `fit` run (`<out>.ckpt`, written atomically after every epoch,
//! read by `--resume`): a safetensors file whose tensors are the [`Checkpoint`]'s weight
//! groups (`weights.<i>`, `best.<i>`, `adam_m.<i>`, `adam_v.<i>`, `i` the tensor's index in
//! the model's walk, flattened) and whose metadata holds the rest as JSON (`state`: epochs
//! done with their figures, best epoch and loss, Adam's step count, the shuffle's word
//! position and order) and the run's fingerprint (`run`: task, sizes, data counts and the
//! settings a resumed run must share).

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result, bail};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::{SafeTensors, serialize};

use crate::fit::{Checkpoint, EpochLog};

/// The metadata key of the run's fingerprint.
const RUN_KEY: &str = "run";
/// The metadata key of the loop's state.
const STATE_KEY: &str = "state";
/// The metadata key of the run's other outputs (`--json`, `--plot`: absolute paths), which
/// a resumed run may replace.
const OUTPUTS_KEY: &str = "outputs";
/// The weight groups, in file order.
const GROUPS: [&str; 4] = ["weights", "best", "adam_m", "adam_v"];

#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    epochs: Vec<EpochLog>,
    best_epoch: usize,
    best_loss: f64,
    t: u32,
    rng_word_pos: String,
    order: Vec<usize>,
    /// CRC-32 of every tensor's bytes in file order (absent in older checkpoints).
    #[serde(default)]
    crc32: Option<u32>,
}

/// CRC-32 of the weight groups' f32 bytes, group after group, tensor after tensor.
fn groups_crc(groups: [&Vec<Vec<f32>>; 4]) -> u32 {
    let bytes: Vec<u8> = groups
        .iter()
        .flat_map(|g| g.iter().flatten())
        .flat_map(|v| v.to_le_bytes())
        .collect();
    lstm_kernel::io::crc32(&bytes)
}

/// The bytes of `c` for a run described by `run` (key, value pairs compared on resume)
/// whose other outputs are `outputs` (recorded absolute, see [`outputs`]).
///
/// # Errors
/// A value is not finite (a diverged run is not checkpointed).
pub fn to_bytes(
    c: &Checkpoint,
    run: &BTreeMap<String, String>,
    outputs: &[&std::path::Path],
) -> Result<Vec<u8>> {
    let groups = [&c.weights, &c.best, &c.m, &c.v];
    let mut data: Vec<(String, Vec<u8>, usize)> = Vec::new();
    for (name, group) in GROUPS.iter().zip(groups) {
        for (i, t) in group.iter().enumerate() {
            if let Some(j) = t.iter().position(|v| !v.is_finite()) {
                bail!("checkpoint {name}.{i}[{j}] is not finite: not saved");
            }
            let bytes: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
            data.push((format!("{name}.{i:03}"), bytes, t.len()));
        }
    }
    let views = data
        .iter()
        .map(|(n, b, len)| Ok((n.clone(), TensorView::new(Dtype::F32, vec![*len], b)?)))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| anyhow::anyhow!("checkpoint: {e}"))?;
    let state = State {
        epochs: c.epochs.clone(),
        best_epoch: c.best_epoch,
        best_loss: c.best_loss,
        t: c.t,
        rng_word_pos: c.rng_word_pos.to_string(),
        order: c.order.clone(),
        crc32: Some(groups_crc(groups)),
    };
    let outputs: Vec<String> = outputs
        .iter()
        .filter_map(|p| std::path::absolute(p).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let meta = HashMap::from([
        (STATE_KEY.to_string(), serde_json::to_string(&state)?),
        (RUN_KEY.to_string(), serde_json::to_string(run)?),
        (OUTPUTS_KEY.to_string(), serde_json::to_string(&outputs)?),
    ]);
    serialize(views, Some(meta)).map_err(|e| anyhow::anyhow!("checkpoint: {e}"))
}

/// Whether `path` is one of the outputs (`--json`, `--plot`) the run that wrote checkpoint
/// `bytes` recorded, so its resumption may replace it; `false` for anything unreadable.
pub fn owns_output(bytes: &[u8], path: &std::path::Path) -> bool {
    let Ok(path) = std::path::absolute(path) else {
        return false;
    };
    SafeTensors::read_metadata(bytes)
        .ok()
        .and_then(|(_, m)| m.metadata().clone())
        .and_then(|m| serde_json::from_str::<Vec<String>>(m.get(OUTPUTS_KEY)?).ok())
        .is_some_and(|o| o.iter().any(|o| std::path::Path::new(o) == path))
}

/// Reads a checkpoint and checks it belongs to a run described by `run`.
///
/// # Errors
/// Not a checkpoint file, or one of another run (the differing settings are named).
pub fn from_bytes(bytes: &[u8], run: &BTreeMap<String, String>) -> Result<Checkpoint> {
    let (_, meta) = SafeTensors::read_metadata(bytes).context("not a checkpoint file")?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let theirs: BTreeMap<String, String> = serde_json::from_str(
        meta.get(RUN_KEY)
            .context("not a checkpoint of lstm-harness fit (no run description)")?,
    )?;
    let differ: Vec<String> = run
        .iter()
        .filter(|(k, v)| theirs.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{k}: checkpoint {}, now {v}",
                theirs.get(k).map_or("(none)", String::as_str)
            )
        })
        .collect();
    if !differ.is_empty() {
        bail!(
            "the checkpoint is of another run ({}); resume with the same data and settings",
            differ.join("; ")
        );
    }
    let state: State =
        serde_json::from_str(meta.get(STATE_KEY).context("checkpoint without state")?)?;
    let file = SafeTensors::deserialize(bytes).context("checkpoint tensors")?;
    let mut groups: [Vec<Vec<f32>>; 4] = Default::default();
    for (g, name) in groups.iter_mut().zip(GROUPS) {
        for i in 0.. {
            let Ok(t) = file.tensor(&format!("{name}.{i:03}")) else {
                break;
            };
            if t.dtype() != Dtype::F32 {
                bail!("checkpoint tensor {name}.{i} is not f32");
            }
            g.push(
                t.data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            );
        }
    }
    if let Some(want) = state.crc32 {
        let got = groups_crc([&groups[0], &groups[1], &groups[2], &groups[3]]);
        if got != want {
            bail!("its tensors' CRC-32 is {got:08x}, written {want:08x}: the file is damaged");
        }
    }
    let [weights, best, m, v] = groups;
    Ok(Checkpoint {
        epochs: state.epochs,
        best_epoch: state.best_epoch,
        best_loss: state.best_loss,
        weights,
        best,
        m,
        v,
        t: state.t,
        rng_word_pos: state
            .rng_word_pos
            .parse()
            .context("checkpoint shuffle position")?,
        order: state.order,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint reads back as written, and one changed tensor byte is refused.
    #[test]
    fn a_damaged_checkpoint_is_refused() {
        let c = Checkpoint {
            epochs: Vec::new(),
            best_epoch: 1,
            best_loss: 0.5,
            weights: vec![vec![1.0, 2.0], vec![3.0]],
            best: vec![vec![1.5, 2.5], vec![3.5]],
            m: vec![vec![0.0, 0.1], vec![0.2]],
            v: vec![vec![0.3, 0.4], vec![0.5]],
            t: 7,
            rng_word_pos: 9,
            order: vec![1, 0],
        };
        let run = BTreeMap::from([("task".to_string(), "classify".to_string())]);
        let log = std::path::Path::new("log.json");
        let bytes = to_bytes(&c, &run, &[log]).unwrap();
        assert!(owns_output(&bytes, log) && !owns_output(&bytes, std::path::Path::new("x.json")));
        let back = from_bytes(&bytes, &run).unwrap();
        assert_eq!((back.weights, back.v, back.t), (c.weights, c.v, 7));
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 0x01; // the last tensor's data
        let e = from_bytes(&bad, &run).err().unwrap().to_string();
        assert!(e.contains("CRC-32") && e.contains("damaged"), "{e}");
    }
}
