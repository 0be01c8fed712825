//! Training on a user's data (issue 11): **sequence classification**, **sequence
//! regression** (many-to-one) and **sequence labelling** (many-to-many) ([`Task`]), generic
//! over the model's sizes and layers. Each sequence runs at its own length from the zero
//! state (no padding reaches the state or the gradients); a mini-batch of `B` sequences
//! averages their gradients (each loss gradient scaled by `1/B`) into one Adam update,
//! after an optional clip of the global gradient norm. The training order is reshuffled
//! every epoch from the seed. Early stopping watches the validation loss: after `warmup`
//! epochs, `patience` epochs without a new best stop the run, and the best epoch's weights
//! are restored.
//!
//! A mini-batch runs in lock step ([`lstm_kernel::lockstep`]): its rows are cut into shards
//! of [`SHARD_ROWS`], each worker thread runs a shard's forward and backward passes into a
//! gradient of its own, and the shards' gradients are added in shard order, so the result
//! is the same bits for any number of threads ([`FitConfig::threads`]).
//!
//! Classification and labelling: BCE on the logit for one output (classes 0 and 1),
//! softmax CE for two or more; accuracy. Regression: MSE over the outputs; MAE and RMSE. A
//! labelled sequence's loss is the mean over its steps (Keras' and PyTorch's mean over
//! steps and outputs). The gradients are the kernel's BPTT through the whole sequence.
//!
//! A model may be compiled with more outputs than it uses (the CLI's size menu pads them):
//! `outputs` names how many are the model's; the loss reads only those
//! ([`Loss::evaluate_first`]), so the padded head rows get no gradient and stay zero.

use std::time::Instant;

use anyhow::{Result, bail};
use lstm_kernel::{Adam, AdamConfig, Grads, Loss, Model, Recurrent, StreamState, Tape, Tensors};
use rand::seq::SliceRandom;
use rayon::ThreadPool;
use rayon::prelude::*;

use crate::rng::{Stream, stream};
use crate::sequences::streams::StatefulStreams;

/// One sequence: steps `xs` `[T][IN]` and targets `ys`: one `[OUT]` row (many-to-one: the
/// last step's target; for classification the class as [`class_target`] writes it) or one
/// per step (many-to-many).
#[derive(Clone, Debug, PartialEq)]
pub struct Example<const IN: usize, const OUT: usize> {
    /// The inputs, one row per step.
    pub xs: Vec<[f32; IN]>,
    /// The targets: one row (scored at the last step) or `xs.len()` rows (every step).
    pub ys: Vec<[f32; OUT]>,
}

/// What the head's outputs mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Class logits: one (classes 0 and 1, BCE) or `OUT` (softmax CE), at the last step.
    Classify,
    /// Real values (MSE) at the last step.
    Regress,
    /// Class logits (as [`Self::Classify`]) at every step.
    Label,
}

impl Task {
    /// The loss this task trains with, for `out` outputs.
    pub fn loss(self, out: usize) -> Loss {
        match self {
            Self::Classify | Self::Label if out == 1 => Loss::Bce,
            Self::Classify | Self::Label => Loss::SoftmaxCe,
            Self::Regress => Loss::Mse,
        }
    }

    /// The name used on the command line and in reports: `classify`, `regress`, `label`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Classify => "classify",
            Self::Regress => "regress",
            Self::Label => "label",
        }
    }
}

/// Figures of a model on some sequences.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metrics {
    /// Mean loss per sequence (the task's loss).
    pub loss: f64,
    /// Classification: fraction of scored rows (sequences, or steps for labelling) whose
    /// predicted class is the target's.
    pub accuracy: Option<f64>,
    /// Regression: mean absolute error over every scored output (in the targets' units).
    pub mae: Option<f64>,
    /// Regression: root mean squared error over every scored output.
    pub rmse: Option<f64>,
}

/// Settings of a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct FitConfig {
    /// Passes over the training data at most.
    pub epochs: usize,
    /// Sequences per Adam update (the last batch of an epoch may be smaller).
    pub batch: usize,
    /// Adam's learning rate (Keras' betas and eps, [`AdamConfig::keras`]).
    pub lr: f32,
    /// Clip the global L2 norm of each update's gradient to this, if set.
    pub clip_norm: Option<f32>,
    /// Epochs without a better validation loss before stopping (after `warmup`).
    pub patience: usize,
    /// Epochs that never stop the run (a tiny validation set is noisy at first).
    pub warmup: usize,
    /// Seed of the shuffles ([`Stream::FitShuffle`]).
    pub seed: u64,
    /// Give the per-epoch callback a [`Checkpoint`] (a copy of the weights and moments).
    pub checkpoints: bool,
    /// Worker threads of [`fit`]'s mini-batch shards ([`SHARD_ROWS`] rows each); 0 is one
    /// per core. The results are the same bits for any count.
    pub threads: usize,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            epochs: 100,
            batch: 32,
            lr: 1e-3,
            clip_norm: Some(1.0),
            patience: 10,
            warmup: 10,
            seed: 42,
            checkpoints: false,
            threads: 0,
        }
    }
}

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochLog {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss of the epoch (per sequence, before each update).
    pub train_loss: f64,
    /// The validation figures after the epoch.
    pub val: Metrics,
    /// Wall time of the epoch's training and validation (s).
    pub seconds: f64,
}

/// What a run did.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Every epoch run, in order.
    pub epochs: Vec<EpochLog>,
    /// The epoch whose weights the model holds at the end (1-based).
    pub best_epoch: usize,
    /// Wall time of the run (s).
    pub seconds: f64,
    /// Whether the run was stopped from outside (the callback said so) before its end.
    pub interrupted: bool,
}

/// Everything a [`fit`] run needs to continue exactly where it stopped (`--resume`): the
/// epochs done, the current and the best weights (each tensor of the model's [`Tensors`]
/// walk), Adam's moments and step count, and the shuffle's position. A run of `n` epochs
/// and a run stopped after `k` and resumed for the other `n - k` end with the same weights
/// bit for bit.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The epochs run so far, in order.
    pub epochs: Vec<EpochLog>,
    /// The best epoch so far (1-based) and its validation loss.
    pub best_epoch: usize,
    /// Validation loss of `best_epoch`.
    pub best_loss: f64,
    /// The weights after the last epoch.
    pub weights: Vec<Vec<f32>>,
    /// The weights of the best epoch.
    pub best: Vec<Vec<f32>>,
    /// Adam's first moments.
    pub m: Vec<Vec<f32>>,
    /// Adam's second moments.
    pub v: Vec<Vec<f32>>,
    /// Adam's step count.
    pub t: u32,
    /// Word position of the shuffle stream ([`Stream::FitShuffle`]) after the last epoch.
    pub rng_word_pos: u128,
    /// The training order after the last epoch's shuffle (each shuffle permutes it).
    pub order: Vec<usize>,
}

/// The tensors of `x` in walk order.
pub fn tensors_of<T: Tensors<f32>>(x: &T) -> Vec<Vec<f32>> {
    (0..T::COUNT).map(|i| x.tensor(i).to_vec()).collect()
}

/// Writes `values` (as [`tensors_of`] gives them) into `x`.
///
/// # Errors
/// Another number of tensors, or a tensor of another length (named).
pub fn restore<T: Tensors<f32>>(x: &mut T, values: &[Vec<f32>], what: &str) -> Result<()> {
    if values.len() != T::COUNT {
        bail!(
            "{what}: {} tensors, the model has {}",
            values.len(),
            T::COUNT
        );
    }
    for (i, v) in values.iter().enumerate() {
        let dst = x.tensor_mut(i);
        if dst.len() != v.len() {
            bail!(
                "{what}: tensor {i} has {} values, the model's {}",
                v.len(),
                dst.len()
            );
        }
        dst.copy_from_slice(v);
    }
    Ok(())
}

/// What the per-epoch callback of [`fit`] tells the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop now, keeping the best weights so far (e.g. Ctrl-C).
    Stop,
}

/// Which of a model's outputs are scored, and in what units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored<'a> {
    /// The first `count` outputs are the model's (the rest padding).
    pub count: usize,
    /// Output `k`'s errors are multiplied by `units[k]` for MAE and RMSE (the output
    /// de-normalisation's scale, so they are in the targets' units); missing entries are 1.
    pub units: &'a [f32],
}

impl Scored<'_> {
    /// The first `count` outputs, in the model's units.
    pub const fn first(count: usize) -> Self {
        Self { count, units: &[] }
    }
}

/// Rows of a mini-batch (or of a validation pass) that one worker thread runs in lock step
/// into buffers of its own. The shards' gradients and sums are added in shard order, so a
/// run gives the same bits on any number of threads ([`FitConfig::threads`]).
pub const SHARD_ROWS: usize = 8;

/// The sums of [`evaluate`] over some sequences, added shard by shard in order.
#[derive(Clone, Copy, Default)]
struct Tally {
    /// Sum over sequences of each sequence's mean loss over its scored steps.
    loss: f64,
    /// Scored steps, and those whose class was right.
    rows: usize,
    correct: usize,
    /// Sums of |error| and error² over the scored outputs (in `Scored::units`), and their count.
    abs: f64,
    sq: f64,
    values: usize,
}

impl Tally {
    fn add(mut self, o: Self) -> Self {
        self.loss += o.loss;
        self.rows += o.rows;
        self.correct += o.correct;
        self.abs += o.abs;
        self.sq += o.sq;
        self.values += o.values;
        self
    }
}

/// The [`Metrics`] of `model` on `data` for `task`, over the `scored` outputs (each
/// sequence streamed from the zero state, scored at its last step or at every step).
/// [`SHARD_ROWS`] sequences at a time run in lock step, the shards on `pool` (rayon's
/// current pool if `None`).
pub fn evaluate<R, const IN: usize, const H: usize, const OUT: usize>(
    model: &Model<R, IN, H, OUT>,
    task: Task,
    scored: Scored<'_>,
    data: &[Example<IN, OUT>],
    pool: Option<&ThreadPool>,
) -> Metrics
where
    R: Recurrent<IN, H, f32> + Sync,
{
    evaluate_with(task, scored, data, pool, &|chunk, visit| {
        let xs: Vec<&[[f32; IN]]> = chunk.iter().map(|ex| ex.xs.as_slice()).collect();
        let mut states = vec![R::State::zeroed(); chunk.len()];
        let ran = model.stream_batch(&xs, &mut states, |b, step, state| {
            visit(b, step, &model.head.forward(R::output(state)));
        });
        // One state per sequence was allocated above, so the batch cannot be refused.
        debug_assert!(ran.is_ok());
    })
}

/// What [`evaluate_with`] calls per chunk: streams each sequence `b` of the chunk and calls
/// the visitor with `(b, step, outputs)` after every step.
pub type ChunkRunner<'a, const IN: usize, const OUT: usize> =
    dyn Fn(&[Example<IN, OUT>], &mut dyn FnMut(usize, usize, &[f32; OUT])) + Sync + 'a;

/// [`evaluate`] of any model that streams sequences: `run(chunk, visit)` streams each
/// sequence `b` of `chunk` from the zero state and calls `visit(b, step, outputs)` after
/// every step (the head's outputs, logits in the model's units). The one scoring of
/// sequences, for the float models and the int8 ones ([`crate::qnet`]); `run` is a trait
/// object so this body is compiled once per `(IN, OUT)`, not once per menu model.
pub fn evaluate_with<const IN: usize, const OUT: usize>(
    task: Task,
    scored: Scored<'_>,
    data: &[Example<IN, OUT>],
    pool: Option<&ThreadPool>,
    run: &ChunkRunner<'_, IN, OUT>,
) -> Metrics {
    let k = scored.count.clamp(1, OUT);
    let loss_kind = task.loss(k);
    let tally = |chunk: &[Example<IN, OUT>]| {
        let mut t = Tally::default();
        let mut seq_loss = vec![0.0f64; chunk.len()];
        run(chunk, &mut |b, step, out| {
            let (Some(ex), Some(seq_loss)) = (chunk.get(b), seq_loss.get_mut(b)) else {
                return;
            };
            let first_scored = ex.xs.len() - ex.ys.len().min(ex.xs.len());
            let Some(target) = step.checked_sub(first_scored).and_then(|i| ex.ys.get(i)) else {
                return;
            };
            *seq_loss += f64::from(loss_kind.evaluate_first(out, target, k).0.loss);
            t.rows += 1;
            if task != Task::Regress {
                t.correct += usize::from(predicted(&out[..k]) == target_class(&target[..k]));
            }
            for (j, (&o, &y)) in out.iter().zip(target).take(k).enumerate() {
                let unit = f64::from(scored.units.get(j).copied().unwrap_or(1.0));
                let d = (f64::from(o) - f64::from(y)) * unit;
                t.abs += d.abs();
                t.sq += d * d;
                t.values += 1;
            }
        });
        for (ex, l) in chunk.iter().zip(seq_loss) {
            t.loss += l / ex.ys.len().max(1) as f64;
        }
        t
    };
    let tally = &tally;
    let shards: Vec<Tally> = run_jobs(
        pool,
        data.chunks(SHARD_ROWS)
            .map(|chunk| Box::new(move || tally(chunk)) as Job<'_, Tally>)
            .collect(),
    );
    let t = shards.into_iter().fold(Tally::default(), Tally::add);
    let n = data.len().max(1) as f64;
    let values = t.values.max(1) as f64;
    match task {
        Task::Classify | Task::Label => Metrics {
            loss: t.loss / n,
            accuracy: Some(t.correct as f64 / t.rows.max(1) as f64),
            mae: None,
            rmse: None,
        },
        Task::Regress => Metrics {
            loss: t.loss / n,
            accuracy: None,
            mae: Some(t.abs / values),
            rmse: Some((t.sq / values).sqrt()),
        },
    }
}

/// The target of class `class` for a model of `outputs` outputs (of `OUT`, the rest zero):
/// `[class]` for one logit (0 or 1), one-hot otherwise.
///
/// # Errors
/// `class` is not one of the model's classes (2 for one output, else `outputs`).
pub fn class_target<const OUT: usize>(class: usize, outputs: usize) -> Result<[f32; OUT]> {
    let classes = if outputs == 1 { 2 } else { outputs };
    if class >= classes {
        bail!(
            "class {class}: the model has {classes} classes (0..={})",
            classes - 1
        );
    }
    let mut t = [0.0; OUT];
    if outputs == 1 {
        t[0] = class as f32;
    } else if let Some(v) = t.get_mut(class) {
        *v = 1.0;
    }
    Ok(t)
}

/// Trains `model` for `task` on `train`, validating on `val` after every epoch (see the
/// module docs); `T` is the longest sequence the tape holds, `scored` the model's outputs
/// (of `OUT`) and the units of the validation figures. `model` ends with the best epoch's weights (lowest validation loss).
/// `on_epoch` sees every epoch's figures as it ends (and, if `checkpoints`, the run's
/// [`Checkpoint`] after it) and may stop the run; `resume` continues a run from its
/// checkpoint (the same data and settings; `config.epochs` counts the epochs done too).
///
/// # Errors
/// Empty `train` or `val`, a sequence longer than `T` or empty, targets that are neither
/// one row nor one per step (or one per step for a many-to-one task), a non-finite target,
/// `batch` or `epochs` zero, an error of `on_epoch`, or non-finite gradients (Adam refuses
/// the update; the message names the epoch).
#[allow(clippy::too_many_arguments)]
pub fn fit<R, const IN: usize, const H: usize, const OUT: usize, const T: usize>(
    model: &mut Model<R, IN, H, OUT>,
    task: Task,
    scored: Scored<'_>,
    train: &[Example<IN, OUT>],
    val: &[Example<IN, OUT>],
    config: &FitConfig,
    resume: Option<&Checkpoint>,
    on_epoch: &mut dyn FnMut(&EpochLog, Option<&Checkpoint>) -> Result<Control>,
) -> Result<FitReport>
where
    R: Recurrent<IN, H, f32> + Clone + Sync,
{
    let start = Instant::now();
    if train.is_empty() || val.is_empty() {
        bail!("training and validation data must both hold sequences");
    }
    if config.batch == 0 || config.epochs == 0 {
        bail!("batch and epochs must be at least 1");
    }
    let k = scored.count.clamp(1, OUT);
    for (i, ex) in train.iter().chain(val).enumerate() {
        let steps = ex.xs.len();
        if steps == 0 || steps > T {
            bail!("sequence {i} has {steps} steps; 1 to {T} fit");
        }
        let rows_ok = match task {
            Task::Label => ex.ys.len() == steps,
            Task::Classify | Task::Regress => ex.ys.len() == 1,
        };
        if !rows_ok {
            bail!(
                "sequence {i}: {} target rows for {steps} steps ({} takes {})",
                ex.ys.len(),
                task.name(),
                if task == Task::Label {
                    "one per step"
                } else {
                    "one"
                }
            );
        }
        if !ex.ys.iter().flatten().all(|v| v.is_finite()) {
            bail!("sequence {i}: a target is not finite");
        }
    }
    let loss = task.loss(k);
    let mut adam = keras_adam(config.lr);
    let mut grads: Grads<R::Grads, H, OUT, f32> = Grads::zeroed();
    let rows_max = config.batch.min(train.len());
    let mut shards: Vec<Shard<R, IN, H, OUT, T>> = (0..rows_max.div_ceil(SHARD_ROWS))
        .map(|_| Shard::new(SHARD_ROWS.min(rows_max)))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| anyhow::anyhow!("starting {} worker threads: {e}", config.threads))?;
    let mut rng = stream(config.seed, Stream::FitShuffle);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut best = BestSoFar::new(model);
    let mut epochs = Vec::new();
    let mut interrupted = false;
    if let Some(c) = resume {
        if c.order.len() != train.len() {
            bail!(
                "the checkpoint is of another run ({} training sequences); this run has {}",
                c.order.len(),
                train.len()
            );
        }
        restore_run(c, config, model, &mut best, &mut adam, &mut epochs)?;
        rng.set_word_pos(c.rng_word_pos);
        order.clone_from(&c.order);
    }
    for epoch in epochs.len() + 1..=config.epochs {
        let epoch_start = Instant::now();
        order.shuffle(&mut rng);
        let mut train_loss = 0.0;
        for batch in order.chunks(config.batch) {
            let scale = 1.0 / batch.len() as f32;
            let used = batch.len().div_ceil(SHARD_ROWS);
            let m: &Model<R, IN, H, OUT> = model;
            let losses = run_jobs(
                Some(&pool),
                shards[..used]
                    .iter_mut()
                    .zip(batch.chunks(SHARD_ROWS))
                    .map(|(shard, rows)| {
                        Box::new(move || shard.run(m, train, rows, loss, k, scale))
                            as Job<'_, Result<f64>>
                    })
                    .collect(),
            );
            for l in losses {
                train_loss += l?;
            }
            grads.zero();
            for shard in &shards[..used] {
                add_into(&mut grads, &shard.grads);
            }
            update(model, &mut adam, &mut grads, config, epoch)?;
        }
        let metrics = evaluate(model, task, scored, val, Some(&pool));
        let log = EpochLog {
            epoch,
            train_loss: train_loss / train.len() as f64,
            val: metrics,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        epochs.push(log);
        let stop_early = best.record(epoch, metrics.loss, model, config);
        let checkpoint = config
            .checkpoints
            .then(|| best.checkpoint(model, &adam, &epochs, rng.get_word_pos(), order.clone()));
        let control = on_epoch(&epochs[epochs.len() - 1], checkpoint.as_ref())?;
        if control == Control::Stop {
            interrupted = epoch < config.epochs;
            break;
        }
        if stop_early {
            break;
        }
    }
    Ok(best.finish(model, epochs, start, interrupted))
}

/// The one-step-ahead [`Metrics`] (MSE, MAE, RMSE) of `model` on `series[from..to]`: the
/// series is streamed from the zero state from its start (inputs `series[t]` in channel 0),
/// and the outputs after step `t` are scored against `series[t + 1 ..= t + OUT_k]` for
/// every target that lies in `from..to` (forecasting, `k = scored.count` values ahead).
pub fn evaluate_series<R, const IN: usize, const H: usize, const OUT: usize>(
    model: &Model<R, IN, H, OUT>,
    scored: Scored<'_>,
    series: &[f32],
    from: usize,
    to: usize,
) -> Metrics
where
    R: Recurrent<IN, H, f32>,
{
    let mut state = R::State::zeroed();
    evaluate_series_with(scored, series, from, to, &mut |x| model.step(x, &mut state))
}

/// [`evaluate_series`] of any stateful model: `step(x)` advances it by one step and
/// returns the head's outputs (the float models and the int8 ones, [`crate::qnet`]).
pub fn evaluate_series_with<const IN: usize, const OUT: usize>(
    scored: Scored<'_>,
    series: &[f32],
    from: usize,
    to: usize,
    step: &mut dyn FnMut(&[f32; IN]) -> [f32; OUT],
) -> Metrics {
    let k = scored.count.clamp(1, OUT);
    let to = to.min(series.len());
    let (mut loss, mut abs, mut sq, mut values, mut rows) = (0.0, 0.0, 0.0, 0usize, 0usize);
    for t in 0..to.saturating_sub(1) {
        let mut x = [0.0; IN];
        x[0] = series[t];
        let out = step(&x);
        if t + 1 < from || t + k >= to {
            continue;
        }
        let mut target = [0.0; OUT];
        target[..k].copy_from_slice(&series[t + 1..=t + k]);
        loss += f64::from(Loss::Mse.evaluate_first(&out, &target, k).0.loss);
        rows += 1;
        for (j, (&o, &y)) in out.iter().zip(&target).take(k).enumerate() {
            let unit = f64::from(scored.units.get(j).copied().unwrap_or(1.0));
            let d = (f64::from(o) - f64::from(y)) * unit;
            abs += d.abs();
            sq += d * d;
            values += 1;
        }
    }
    let values = values.max(1) as f64;
    Metrics {
        loss: loss / rows.max(1) as f64,
        accuracy: None,
        mae: Some(abs / values),
        rmse: Some((sq / values).sqrt()),
    }
}

/// Forecasting with **stateful truncated BPTT** (the post's long-series regime, Keras
/// `stateful=True`, `shuffle=False`): `series[..train_end]` is cut into `config.batch`
/// streams and windows of `window` steps ([`StatefulStreams`]); each epoch starts every
/// stream from the zero state, and row `i` of window `n + 1` starts from row `i`'s final
/// state of window `n` (gradients stop at window boundaries). Every step is scored (MSE
/// against the next `k` values, the loss of a row the mean over its steps); one Adam
/// update per window averages the rows. Validation: one-step-ahead on
/// `series[train_end..val_end]` ([`evaluate_series`]). Early stopping and the best weights
/// as [`fit`]; shuffling is not done (it would break the streams' order). `on_epoch` and
/// `resume` as [`fit`] (the checkpoint's shuffle order is empty: the state between epochs
/// is the weights, Adam's and the epochs done).
///
/// # Errors
/// The series too short for the streams, `window` longer than `T`, `epochs` zero, an
/// empty validation range, a checkpoint of a sequence task or of as many epochs as
/// `config.epochs`, an error of `on_epoch`, or non-finite gradients.
#[allow(clippy::too_many_arguments)]
pub fn fit_stateful<R, const IN: usize, const H: usize, const OUT: usize, const T: usize>(
    model: &mut Model<R, IN, H, OUT>,
    scored: Scored<'_>,
    series: &[f32],
    train_end: usize,
    val_end: usize,
    window: usize,
    config: &FitConfig,
    resume: Option<&Checkpoint>,
    on_epoch: &mut dyn FnMut(&EpochLog, Option<&Checkpoint>) -> Result<Control>,
) -> Result<FitReport>
where
    R: Recurrent<IN, H, f32> + Clone,
{
    let start = Instant::now();
    let k = scored.count.clamp(1, OUT);
    if window == 0 || window > T {
        bail!("--window {window}: 1 to {T} steps");
    }
    if config.epochs == 0 {
        bail!("epochs must be at least 1");
    }
    if val_end <= train_end + k || val_end > series.len() {
        bail!(
            "the validation part ({} values after the first {train_end}) is too short for a target {k} ahead",
            val_end.saturating_sub(train_end)
        );
    }
    let streams = StatefulStreams::new(&series[..train_end], config.batch, window, k)?;
    let loss = Loss::Mse;
    let mut adam = keras_adam(config.lr);
    let mut grads: Grads<R::Grads, H, OUT, f32> = Grads::zeroed();
    let mut tape = Box::new(Tape::<T, R::Record>::new());
    let mut dlogits = vec![[0.0f32; OUT]; T];
    // Every window's rows once, inputs already in channel 0 of `[IN]` steps.
    let windows: Vec<Vec<_>> = (0..streams.windows())
        .map(|n| {
            streams
                .window_rows(n)
                .into_iter()
                .map(|(xs, ys)| {
                    let xs: Vec<[f32; IN]> = xs
                        .iter()
                        .map(|&v| {
                            let mut x = [0.0; IN];
                            x[0] = v;
                            x
                        })
                        .collect();
                    (xs, ys)
                })
                .collect()
        })
        .collect();
    let mut best = BestSoFar::new(model);
    let mut epochs = Vec::new();
    let mut interrupted = false;
    if let Some(c) = resume {
        if !c.order.is_empty() {
            bail!("the checkpoint is of a shuffling run (a sequence task), not of forecasting");
        }
        restore_run(c, config, model, &mut best, &mut adam, &mut epochs)?;
    }
    // Every epoch starts the streams from the zero state and nothing is shuffled, so the
    // weights, Adam's moments and the epochs done are the whole state between epochs.
    for epoch in epochs.len() + 1..=config.epochs {
        let epoch_start = Instant::now();
        let mut states = vec![R::State::zeroed(); streams.streams];
        let (mut train_loss, mut rows_seen) = (0.0, 0usize);
        for rows in &windows {
            grads.zero();
            let scale = 1.0 / rows.len() as f32;
            for ((xs, ys), state) in rows.iter().zip(&mut states) {
                model
                    .forward_window(xs, state, &mut tape)
                    .map_err(|e| anyhow::anyhow!("window: {e}"))?;
                let per_step = scale / xs.len().max(1) as f32;
                let mut sum = 0.0;
                for (t, (d, y)) in dlogits.iter_mut().zip(ys).enumerate() {
                    let out = model.logits_at(&tape, t).unwrap_or([0.0; OUT]);
                    let mut target = [0.0; OUT];
                    target[..k].copy_from_slice(&y[..k]);
                    let (s, g) = loss.evaluate_first(&out, &target, k);
                    sum += f64::from(s.loss);
                    *d = g.map(|v| v * per_step);
                }
                train_loss += sum / ys.len().max(1) as f64;
                rows_seen += 1;
                model.backward_sequence_with::<<f32 as lstm_kernel::Float>::Kernels, T>(
                    &tape,
                    &dlogits[..ys.len()],
                    &R::State::zeroed(),
                    &mut grads,
                );
            }
            update(model, &mut adam, &mut grads, config, epoch)?;
        }
        let metrics = evaluate_series(model, scored, series, train_end, val_end);
        let log = EpochLog {
            epoch,
            train_loss: train_loss / rows_seen.max(1) as f64,
            val: metrics,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        epochs.push(log);
        let stop_early = best.record(epoch, metrics.loss, model, config);
        let checkpoint = config
            .checkpoints
            .then(|| best.checkpoint(model, &adam, &epochs, 0, Vec::new()));
        let control = on_epoch(&epochs[epochs.len() - 1], checkpoint.as_ref())?;
        if control == Control::Stop {
            interrupted = epoch < config.epochs;
            break;
        }
        if stop_early {
            break;
        }
    }
    Ok(best.finish(model, epochs, start, interrupted))
}

/// One worker's part of a mini-batch: [`SHARD_ROWS`] rows' tapes, states and loss
/// gradients, and the gradient of its rows (buffers reused by every batch).
struct Shard<
    R: Recurrent<IN, H, f32>,
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const T: usize,
> {
    tapes: Vec<Tape<T, R::Record>>,
    states: Vec<R::State>,
    d_states: Vec<R::State>,
    dlogits: Vec<Vec<[f32; OUT]>>,
    grads: Grads<R::Grads, H, OUT, f32>,
}

impl<R, const IN: usize, const H: usize, const OUT: usize, const T: usize> Shard<R, IN, H, OUT, T>
where
    R: Recurrent<IN, H, f32>,
{
    fn new(rows: usize) -> Self {
        Self {
            tapes: (0..rows).map(|_| Tape::new()).collect(),
            states: vec![R::State::zeroed(); rows],
            d_states: vec![R::State::zeroed(); rows],
            dlogits: vec![Vec::new(); rows],
            grads: Grads::zeroed(),
        }
    }

    /// The forward and backward passes of the sequences `train[i]`, `i` in `batch` (at most
    /// [`SHARD_ROWS`]), in lock step ([`Model::forward_batch`], [`Model::backward_batch`]),
    /// into `self.grads` (zeroed first), each loss gradient scaled by `scale` (`1/B`) and
    /// by `1/steps` for labelling. Returns the sum of the sequences' mean losses.
    fn run(
        &mut self,
        model: &Model<R, IN, H, OUT>,
        train: &[Example<IN, OUT>],
        batch: &[usize],
        loss: Loss,
        k: usize,
        scale: f32,
    ) -> Result<f64> {
        let n = batch.len();
        let xs: Vec<&[[f32; IN]]> = batch.iter().map(|&i| train[i].xs.as_slice()).collect();
        let (states, tapes) = (&mut self.states[..n], &mut self.tapes[..n]);
        states.fill(R::State::zeroed());
        model
            .forward_batch(&xs, states, tapes)
            .map_err(|e| anyhow::anyhow!("batch of sequences {batch:?}: {e}"))?;
        let mut train_loss = 0.0;
        for (((&i, state), tape), dl) in batch
            .iter()
            .zip(&*states)
            .zip(&*tapes)
            .zip(&mut self.dlogits)
        {
            let ex = &train[i];
            let rows = ex.ys.len();
            let per_row = scale / rows as f32;
            let mut sum = 0.0;
            dl.clear();
            for (r, y) in ex.ys.iter().enumerate() {
                let step = ex.xs.len() - rows + r;
                let out = if rows == 1 {
                    model.head.forward(R::output(state))
                } else {
                    model
                        .logits_at(tape, step)
                        .unwrap_or_else(|| model.head.forward(R::output(state)))
                };
                let (s, g) = loss.evaluate_first(&out, y, k);
                sum += f64::from(s.loss);
                dl.push(g.map(|v| v * per_row));
            }
            train_loss += sum / rows as f64;
        }
        let dls: Vec<&[[f32; OUT]]> = self.dlogits[..n].iter().map(Vec::as_slice).collect();
        let d = &mut self.d_states[..n];
        d.fill(R::State::zeroed());
        self.grads.zero();
        model
            .backward_batch(tapes, &dls, d, &mut self.grads)
            .map_err(|e| anyhow::anyhow!("batch of sequences {batch:?}: {e}"))?;
        Ok(train_loss)
    }
}

/// One shard's work for [`run_jobs`].
type Job<'a, T> = Box<dyn FnOnce() -> T + Send + 'a>;

/// Runs `jobs` on `pool` (rayon's current pool if `None`) and returns their results in job
/// order. The jobs are trait objects so that rayon's machinery is compiled once per result
/// type, not once for each of the size menu's 72 model types (it was a sixth of the
/// harness' code).
fn run_jobs<T: Send>(pool: Option<&ThreadPool>, jobs: Vec<Job<'_, T>>) -> Vec<T> {
    let run = || jobs.into_par_iter().map(|job| job()).collect();
    match pool {
        Some(p) => p.install(run),
        None => run(),
    }
}

/// `acc += g`, tensor by tensor.
fn add_into<G: Tensors<f32>>(acc: &mut G, g: &G) {
    for i in 0..G::COUNT {
        for (a, &v) in acc.tensor_mut(i).iter_mut().zip(g.tensor(i)) {
            *a += v;
        }
    }
}

/// Adam with Keras' betas and eps and learning rate `lr`, zero moments.
fn keras_adam<G: Tensors<f32> + Default + Clone>(lr: f32) -> Adam<G> {
    Adam::new(
        AdamConfig {
            lr,
            ..AdamConfig::keras()
        },
        G::default(),
    )
}

/// One update: the optional global-norm clip of `grads`, then Adam (refusing non-finite
/// gradients, the message naming the epoch).
fn update<P: Tensors<f32>>(
    model: &mut P,
    adam: &mut Adam<P::Grads>,
    grads: &mut P::Grads,
    config: &FitConfig,
    epoch: usize,
) -> Result<()> {
    if let Some(max) = config.clip_norm {
        clip_global_norm(grads, max);
    }
    adam.step(model, grads)
        .map_err(|e| anyhow::anyhow!("epoch {epoch}: {e}"))
}

/// The best epoch so far and the early-stopping rule, shared by [`fit`] and
/// [`fit_stateful`].
struct BestSoFar<M> {
    /// Its validation loss.
    loss: f64,
    /// 1-based; 0 before the first epoch.
    epoch: usize,
    /// Its weights.
    model: M,
}

impl<M: Clone> BestSoFar<M> {
    fn new(model: &M) -> Self {
        Self {
            loss: f64::INFINITY,
            epoch: 0,
            model: model.clone(),
        }
    }

    /// Records `epoch`'s validation loss; returns whether early stopping ends the run
    /// (after `warmup` epochs, `patience` epochs without a new best). The first epoch is
    /// always a candidate, so the best epoch is one that ran even when a validation loss is
    /// not a number.
    fn record(&mut self, epoch: usize, loss: f64, model: &M, config: &FitConfig) -> bool {
        if self.epoch == 0 || loss < self.loss {
            *self = Self {
                loss,
                epoch,
                model: model.clone(),
            };
            false
        } else {
            epoch > config.warmup && epoch - self.epoch >= config.patience
        }
    }

    /// The run's [`Checkpoint`] after `epochs`: `model`'s and the best weights, `adam`'s
    /// moments and step, and the shuffle's position and order (0 and empty for a run that
    /// does not shuffle).
    fn checkpoint(
        &self,
        model: &M,
        adam: &Adam<M::Grads>,
        epochs: &[EpochLog],
        rng_word_pos: u128,
        order: Vec<usize>,
    ) -> Checkpoint
    where
        M: Tensors<f32>,
    {
        Checkpoint {
            epochs: epochs.to_vec(),
            best_epoch: self.epoch,
            best_loss: self.loss,
            weights: tensors_of(model),
            best: tensors_of(&self.model),
            m: tensors_of(&adam.m),
            v: tensors_of(&adam.v),
            t: adam.t,
            rng_word_pos,
            order,
        }
    }

    /// Puts the best weights into `model` and reports the run.
    fn finish(
        self,
        model: &mut M,
        epochs: Vec<EpochLog>,
        start: Instant,
        interrupted: bool,
    ) -> FitReport {
        *model = self.model;
        FitReport {
            epochs,
            best_epoch: self.epoch,
            seconds: start.elapsed().as_secs_f64(),
            interrupted,
        }
    }
}

/// Restores a run from checkpoint `c` (checked: its best epoch is one of its epochs, and
/// `config.epochs` goes beyond them): the current and best weights, Adam's moments and
/// step count, and the epochs done. The shuffle's state is the caller's.
fn restore_run<M: Tensors<f32> + Clone>(
    c: &Checkpoint,
    config: &FitConfig,
    model: &mut M,
    best: &mut BestSoFar<M>,
    adam: &mut Adam<M::Grads>,
    epochs: &mut Vec<EpochLog>,
) -> Result<()> {
    if c.best_epoch == 0 || c.best_epoch > c.epochs.len() {
        bail!(
            "the checkpoint is damaged: best epoch {} of {} epochs",
            c.best_epoch,
            c.epochs.len()
        );
    }
    if c.epochs.len() >= config.epochs {
        bail!(
            "the checkpoint has {} epochs done; give --epochs above that to continue",
            c.epochs.len()
        );
    }
    // The rule of `BestSoFar::record`: had it stopped this run, the uninterrupted run ends
    // here, and so does this one.
    let done = c.epochs.len();
    if done > config.warmup && done - c.best_epoch >= config.patience {
        bail!(
            "the run stopped early after epoch {done} ({} epochs without a better validation \
             loss than epoch {}'s, --patience {}): the uninterrupted run ends there too; give a \
             larger --patience to train on",
            done - c.best_epoch,
            c.best_epoch,
            config.patience
        );
    }
    restore(model, &c.weights, "checkpoint weights")?;
    restore(&mut best.model, &c.best, "checkpoint best weights")?;
    restore(&mut adam.m, &c.m, "checkpoint Adam m")?;
    restore(&mut adam.v, &c.v, "checkpoint Adam v")?;
    adam.t = c.t;
    best.loss = c.best_loss;
    best.epoch = c.best_epoch;
    epochs.clone_from(&c.epochs);
    Ok(())
}

/// Scales `grads` so their global L2 norm is at most `max` (Keras `global_clipnorm`,
/// PyTorch `clip_grad_norm_`); returns the norm before clipping.
pub fn clip_global_norm<G: Tensors<f32>>(grads: &mut G, max: f32) -> f32 {
    let sq: f64 = (0..G::COUNT)
        .flat_map(|i| grads.tensor(i).iter())
        .map(|&g| f64::from(g) * f64::from(g))
        .sum();
    let norm = sq.sqrt() as f32;
    if norm > max && norm.is_finite() {
        let s = max / norm;
        for i in 0..G::COUNT {
            grads.tensor_mut(i).iter_mut().for_each(|g| *g *= s);
        }
    }
    norm
}

/// The predicted class of `logits` (logit > 0 for one output; the arg-max otherwise, the
/// first on ties).
pub fn predicted(logits: &[f32]) -> usize {
    match logits {
        [one] => usize::from(*one > 0.0),
        _ => lstm_kernel::loss::argmax(logits),
    }
}

/// The class a [`class_target`] encodes.
fn target_class(target: &[f32]) -> usize {
    match target {
        [one] => usize::from(*one > 0.5),
        _ => lstm_kernel::loss::argmax(target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequences::{normalise::Normalisation, npy, split::validation_split};
    use lstm_kernel::{Dense, Gru, GruVariant, Lstm, RecurrentActivation};

    fn examples<const IN: usize, const OUT: usize>(
        set: &crate::sequences::SequenceSet,
    ) -> Vec<Example<IN, OUT>> {
        let (classes, _) = set.classes(16).unwrap();
        set.sequences
            .iter()
            .zip(classes)
            .map(|(s, c)| {
                let xs =
                    s.x.chunks_exact(IN)
                        .map(|r| r.try_into().unwrap())
                        .collect();
                Example {
                    xs,
                    ys: vec![class_target(c[0], OUT).unwrap()],
                }
            })
            .collect()
    }

    /// BasicMotions' training split (testdata, 40 sequences x 100 steps x 6 channels, 4
    /// classes), normalised with its training part's statistics, 8 sequences held out
    /// (stratified): `LSTM(16)` and `GRU(16)` learn it. Bar: validation accuracy >= 0.75
    /// (chance is 0.25; the peers reach 0.83-0.975 on the test split with H = 64), measured
    /// 1.0 for both; the best epoch's weights are the ones kept.
    #[test]
    fn basic_motions_is_learned_by_an_lstm_and_a_gru() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/basic_motions/X_train.npy");
        let set = npy::read(&path).unwrap();
        let (classes, _) = set.classes(16).unwrap();
        let firsts: Vec<usize> = classes.iter().map(|c| c[0]).collect();
        let (mut train, mut val) = validation_split(&set, 0.2, 1, Some(&firsts)).unwrap();
        let norm = Normalisation::of(&train);
        norm.apply_to(&mut train);
        norm.apply_to(&mut val);
        let (train, val) = (examples::<6, 4>(&train), examples::<6, 4>(&val));
        let config = FitConfig {
            epochs: 40,
            batch: 8,
            lr: 1e-2,
            patience: 10,
            warmup: 10,
            ..FitConfig::default()
        };
        let act = RecurrentActivation::Sigmoid;
        let mut lstm: Model<Lstm<6, 16>, 6, 16, 4> = Model::new(Lstm::zeroed(act), Dense::zeroed());
        init(&mut lstm);
        let r = fit::<_, 6, 16, 4, 100>(
            &mut lstm,
            Task::Classify,
            Scored::first(4),
            &train,
            &val,
            &config,
            None,
            &mut |_, _| Ok(Control::Continue),
        )
        .unwrap();
        let best = &r.epochs[r.best_epoch - 1];
        assert_eq!(
            evaluate(&lstm, Task::Classify, Scored::first(4), &val, None),
            best.val
        );
        println!(
            "LSTM: best epoch {} of {}, {best:?}, {:.2} s",
            r.best_epoch,
            r.epochs.len(),
            r.seconds
        );
        assert!(
            best.val.accuracy >= Some(0.75),
            "LSTM: {:?}",
            r.epochs.last()
        );
        let mut gru: Model<Gru<6, 16>, 6, 16, 4> =
            Model::new(Gru::zeroed(GruVariant::ResetAfter, act), Dense::zeroed());
        init(&mut gru);
        let r = fit::<_, 6, 16, 4, 100>(
            &mut gru,
            Task::Classify,
            Scored::first(4),
            &train,
            &val,
            &config,
            None,
            &mut |_, _| Ok(Control::Continue),
        )
        .unwrap();
        let best = &r.epochs[r.best_epoch - 1];
        println!(
            "GRU: best epoch {} of {}, {best:?}, {:.2} s",
            r.best_epoch,
            r.epochs.len(),
            r.seconds
        );
        assert!(best.val.accuracy >= Some(0.75), "GRU: {:?}", r.epochs);
    }

    /// The shards of a mini-batch are summed in shard order, so 1, 2 and 3 worker threads
    /// train the same weights, bit for bit (BasicMotions' first 30 sequences, batch 20: a
    /// full batch of 3 shards, one of 2 shards with a short last shard; 3 epochs, LSTM(16)).
    /// Exact equality: any thread-dependent summation order would change the bits.
    #[test]
    fn threads_do_not_change_the_bits() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/basic_motions/X_train.npy");
        let set = npy::read(&path).unwrap();
        let all = examples::<6, 4>(&set);
        let (train, val) = all.split_at(30);
        let run = |threads| {
            let config = FitConfig {
                epochs: 3,
                batch: 20,
                lr: 1e-2,
                threads,
                ..FitConfig::default()
            };
            let mut m: Model<Lstm<6, 16>, 6, 16, 4> =
                Model::new(Lstm::zeroed(RecurrentActivation::Sigmoid), Dense::zeroed());
            init(&mut m);
            let r = fit::<_, 6, 16, 4, 100>(
                &mut m,
                Task::Classify,
                Scored::first(4),
                train,
                val,
                &config,
                None,
                &mut |_, _| Ok(Control::Continue),
            )
            .unwrap();
            let losses: Vec<_> = r.epochs.iter().map(|e| (e.train_loss, e.val)).collect();
            (tensors_of(&m), losses)
        };
        let one = run(1);
        assert_eq!(one.1.len(), 3);
        assert_eq!(run(2), one);
        assert_eq!(run(3), one);
    }

    /// A checkpoint of a run that early stopping ended cannot be resumed into more
    /// training with the same patience (the uninterrupted run ends there too), and can
    /// with a larger one.
    #[test]
    fn an_early_stopped_run_is_not_resumed_past_its_end() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/basic_motions/X_train.npy");
        let set = npy::read(&path).unwrap();
        let all = examples::<6, 4>(&set);
        let (train, val) = all.split_at(30);
        let config = FitConfig {
            epochs: 60,
            batch: 10,
            lr: 5e-2,
            patience: 1,
            warmup: 0,
            checkpoints: true,
            ..FitConfig::default()
        };
        let fresh = || {
            let mut m: Model<Lstm<6, 16>, 6, 16, 4> =
                Model::new(Lstm::zeroed(RecurrentActivation::Sigmoid), Dense::zeroed());
            init(&mut m);
            m
        };
        let mut last = None;
        let mut m = fresh();
        let r = fit::<_, 6, 16, 4, 100>(
            &mut m,
            Task::Classify,
            Scored::first(4),
            train,
            val,
            &config,
            None,
            &mut |_, c| {
                last = c.cloned();
                Ok(Control::Continue)
            },
        )
        .unwrap();
        assert!(r.epochs.len() < 60, "patience 1 did not stop the run");
        let c = last.unwrap();
        let again = |patience| {
            let mut m = fresh();
            fit::<_, 6, 16, 4, 100>(
                &mut m,
                Task::Classify,
                Scored::first(4),
                train,
                val,
                &FitConfig {
                    patience,
                    ..config.clone()
                },
                Some(&c),
                &mut |_, _| Ok(Control::Continue),
            )
        };
        let e = again(1).err().unwrap().to_string();
        assert!(
            e.contains("stopped early") && e.contains("--patience"),
            "{e}"
        );
        assert!(again(1000).unwrap().epochs.len() > r.epochs.len());
    }

    fn init<R: Recurrent<6, 16, f32>>(m: &mut Model<R, 6, 16, 4>) {
        use rand::RngExt;
        let mut u = stream(3, Stream::InitUniform);
        let mut n = stream(3, Stream::InitNormal);
        m.init_keras(&mut || u.random::<f32>(), &mut || {
            n.sample(rand_distr::StandardNormal)
        });
    }

    /// Regression: an LSTM(8) learns the mean of a random sequence of 5-15 values (a
    /// many-to-one target that needs the whole sequence). Bar: validation MAE below half the
    /// predict-the-average baseline's, and the RMSE reported is the square root of the MSE
    /// loss (one output).
    #[test]
    fn a_sequence_mean_is_regressed() {
        use rand::RngExt;
        let mut rng = stream(9, Stream::Data);
        let mut make = |n: usize| -> Vec<Example<1, 1>> {
            (0..n)
                .map(|_| {
                    let len = rng.random_range(5..=15);
                    let xs: Vec<[f32; 1]> =
                        (0..len).map(|_| [rng.random_range(-1.0..1.0)]).collect();
                    let mean = xs.iter().map(|x| x[0]).sum::<f32>() / len as f32;
                    Example {
                        xs,
                        ys: vec![[mean]],
                    }
                })
                .collect()
        };
        let (train, val) = (make(256), make(64));
        let baseline = {
            let m = val.iter().map(|e| e.ys[0][0]).sum::<f32>() / val.len() as f32;
            val.iter()
                .map(|e| f64::from((e.ys[0][0] - m).abs()))
                .sum::<f64>()
                / val.len() as f64
        };
        let act = RecurrentActivation::Sigmoid;
        let mut m: Model<Lstm<1, 8>, 1, 8, 1> = Model::new(Lstm::zeroed(act), Dense::zeroed());
        let mut u = stream(4, Stream::InitUniform);
        let mut n = stream(4, Stream::InitNormal);
        m.init_keras(&mut || u.random::<f32>(), &mut || {
            n.sample(rand_distr::StandardNormal)
        });
        let config = FitConfig {
            epochs: 30,
            batch: 16,
            lr: 1e-2,
            ..FitConfig::default()
        };
        let r = fit::<_, 1, 8, 1, 16>(
            &mut m,
            Task::Regress,
            Scored::first(1),
            &train,
            &val,
            &config,
            None,
            &mut |_, _| Ok(Control::Continue),
        )
        .unwrap();
        let best = r.epochs[r.best_epoch - 1].val;
        println!(
            "regression: baseline MAE {baseline:.4}, {best:?}, {:.2} s",
            r.seconds
        );
        let (mae, rmse) = (best.mae.unwrap(), best.rmse.unwrap());
        assert!(best.accuracy.is_none());
        assert!(mae < 0.5 * baseline, "MAE {mae} vs baseline {baseline}");
        assert!(
            (rmse - best.loss.sqrt()).abs() < 1e-6 * (1.0 + rmse),
            "{rmse} {}",
            best.loss
        );
    }

    #[test]
    fn class_targets_are_one_logit_or_one_hot_and_checked() {
        assert_eq!(class_target::<1>(1, 1).unwrap(), [1.0]);
        assert_eq!(class_target::<3>(2, 3).unwrap(), [0.0, 0.0, 1.0]);
        assert_eq!(class_target::<4>(1, 2).unwrap(), [0.0, 1.0, 0.0, 0.0]);
        let e = format!("{:#}", class_target::<1>(2, 1).unwrap_err());
        assert!(e.contains("2 classes (0..=1)"), "{e}");
        assert!(class_target::<4>(4, 4).is_err());
        assert!(class_target::<4>(2, 2).is_err());
    }

    #[test]
    fn a_global_norm_clip_scales_every_tensor_by_one_factor() {
        let mut g: Grads<<Lstm<1, 2> as Tensors<f32>>::Grads, 2, 1, f32> = Grads::zeroed();
        g.tensor_mut(0)[0] = 3.0;
        g.tensor_mut(1)[0] = 4.0;
        assert_eq!(clip_global_norm(&mut g, 1.0), 5.0);
        assert!((g.tensor(0)[0] - 0.6).abs() < 1e-7 && (g.tensor(1)[0] - 0.8).abs() < 1e-7);
        assert_eq!(clip_global_norm(&mut g, 10.0), 1.0);
    }
}
