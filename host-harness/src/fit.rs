//! Training on a user's data (issue 11), first task: **sequence classification**
//! (many-to-one), generic over the model's sizes and layers. Each sequence runs at its own
//! length from the zero state (no padding reaches the state or the gradients); a
//! mini-batch of `B` sequences averages their gradients (each loss gradient scaled by
//! `1/B`) into one Adam update, after an optional clip of the global gradient norm. The
//! training order is reshuffled every epoch from the seed. Early stopping watches the
//! validation loss: after `warmup` epochs, `patience` epochs without a new best stop the
//! run, and the best epoch's weights are restored.
//!
//! The loss is BCE on the logit for `OUT = 1` (classes 0 and 1) and softmax CE for
//! `OUT >= 2` (`K <= OUT` classes); the gradients are the kernel's BPTT through the whole
//! sequence. Sequences are stepped one at a time (the kernel's batched training maths are a
//! later step of the issue).

use std::time::Instant;

use anyhow::{Result, bail};
use lstm_kernel::{Adam, AdamConfig, Grads, Loss, Model, Recurrent, StreamState, Tape, Tensors};
use rand::seq::SliceRandom;

use crate::rng::{Stream, stream};

/// One labelled sequence for [`fit_classifier`]: steps `[T_i][IN]` and a class index.
pub type Example<const IN: usize> = (Vec<[f32; IN]>, usize);

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
        }
    }
}

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochLog {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss of the epoch (per sequence, before each update).
    pub train_loss: f64,
    /// Mean validation loss.
    pub val_loss: f64,
    /// Validation accuracy in `[0, 1]`.
    pub val_acc: f64,
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
}

/// Loss and accuracy of `model` on `data` (each sequence streamed from the zero state).
pub fn evaluate<R, const IN: usize, const H: usize, const OUT: usize>(
    model: &Model<R, IN, H, OUT>,
    data: &[Example<IN>],
) -> (f64, f64)
where
    R: Recurrent<IN, H, f32>,
{
    let loss_kind = loss_for(OUT);
    let (mut loss, mut correct) = (0.0, 0);
    for (xs, class) in data {
        let mut state = R::State::zeroed();
        let mut logits = [0.0; OUT];
        for x in xs {
            logits = model.step(x, &mut state);
        }
        let (s, _) = loss_kind.evaluate(&logits, &target::<OUT>(*class));
        loss += f64::from(s.loss);
        correct += usize::from(predicted(&logits) == *class);
    }
    let n = data.len().max(1) as f64;
    (loss / n, correct as f64 / n)
}

/// Trains `model` on `train`, validating on `val` after every epoch (see the module docs);
/// `T` is the longest sequence the tape holds. `model` ends with the best epoch's weights.
///
/// # Errors
/// Empty `train` or `val`, a sequence longer than `T` or empty, a class index `>= OUT`
/// (or `>= 2` for `OUT = 1`), `batch` or `epochs` zero, or non-finite gradients (the
/// update is refused by Adam; the message names the epoch).
pub fn fit_classifier<R, const IN: usize, const H: usize, const OUT: usize, const T: usize>(
    model: &mut Model<R, IN, H, OUT>,
    train: &[Example<IN>],
    val: &[Example<IN>],
    config: &FitConfig,
) -> Result<FitReport>
where
    R: Recurrent<IN, H, f32> + Clone,
{
    let start = Instant::now();
    let classes = if OUT == 1 { 2 } else { OUT };
    if train.is_empty() || val.is_empty() {
        bail!("training and validation data must both hold sequences");
    }
    if config.batch == 0 || config.epochs == 0 {
        bail!("batch and epochs must be at least 1");
    }
    for (i, (xs, c)) in train.iter().chain(val).enumerate() {
        if xs.is_empty() || xs.len() > T {
            bail!("sequence {i} has {} steps; 1 to {T} fit", xs.len());
        }
        if *c >= classes {
            bail!("sequence {i}: class {c}, the model has {classes} classes");
        }
    }
    let loss = loss_for(OUT);
    let mut adam = Adam::new(
        AdamConfig {
            lr: config.lr,
            ..AdamConfig::keras()
        },
        Grads::zeroed(),
    );
    let mut grads: Grads<R::Grads, H, OUT, f32> = Grads::zeroed();
    let mut tape = Box::new(Tape::<T, R::Record>::new());
    let mut rng = stream(config.seed, Stream::FitShuffle);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut best = (f64::INFINITY, 0, model.clone());
    let mut epochs = Vec::new();
    for epoch in 1..=config.epochs {
        order.shuffle(&mut rng);
        let mut train_loss = 0.0;
        for batch in order.chunks(config.batch) {
            grads.zero();
            let scale = 1.0 / batch.len() as f32;
            for &i in batch {
                let (xs, class) = &train[i];
                let mut state = R::State::zeroed();
                let s = model
                    .train_sample(
                        loss,
                        xs,
                        &target::<OUT>(*class),
                        scale,
                        &mut state,
                        &mut tape,
                        &mut grads,
                    )
                    .map_err(|e| anyhow::anyhow!("sequence {i}: {e}"))?;
                train_loss += f64::from(s.loss);
            }
            if let Some(max) = config.clip_norm {
                clip_global_norm(&mut grads, max);
            }
            adam.step(model, &grads)
                .map_err(|e| anyhow::anyhow!("epoch {epoch}: {e}"))?;
        }
        let (val_loss, val_acc) = evaluate(model, val);
        epochs.push(EpochLog {
            epoch,
            train_loss: train_loss / train.len() as f64,
            val_loss,
            val_acc,
        });
        if val_loss < best.0 {
            best = (val_loss, epoch, model.clone());
        } else if epoch > config.warmup && epoch - best.1 >= config.patience {
            break;
        }
    }
    *model = best.2;
    Ok(FitReport {
        epochs,
        best_epoch: best.1,
        seconds: start.elapsed().as_secs_f64(),
    })
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

/// BCE on one logit, softmax CE on several.
fn loss_for(out: usize) -> Loss {
    if out == 1 { Loss::Bce } else { Loss::SoftmaxCe }
}

/// The target vector of `class`: `[class]` for one logit, one-hot otherwise.
fn target<const OUT: usize>(class: usize) -> [f32; OUT] {
    if OUT == 1 {
        [class as f32; OUT]
    } else {
        core::array::from_fn(|k| if k == class { 1.0 } else { 0.0 })
    }
}

/// The predicted class of `logits` (logit > 0 for one output; the arg-max otherwise).
fn predicted<const OUT: usize>(logits: &[f32; OUT]) -> usize {
    if OUT == 1 {
        usize::from(logits[0] > 0.0)
    } else {
        (0..OUT).fold(0, |b, k| if logits[k] > logits[b] { k } else { b })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequences::{normalise::Normalisation, npy, split::validation_split};
    use lstm_kernel::{Dense, Gru, GruVariant, Lstm, RecurrentActivation};

    fn examples<const IN: usize>(set: &crate::sequences::SequenceSet) -> Vec<Example<IN>> {
        let (classes, _) = set.classes(16).unwrap();
        set.sequences
            .iter()
            .zip(classes)
            .map(|(s, c)| {
                let xs =
                    s.x.chunks_exact(IN)
                        .map(|r| r.try_into().unwrap())
                        .collect();
                (xs, c[0])
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
        let (train, val) = (examples::<6>(&train), examples::<6>(&val));
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
        let r = fit_classifier::<_, 6, 16, 4, 100>(&mut lstm, &train, &val, &config).unwrap();
        let best = &r.epochs[r.best_epoch - 1];
        assert_eq!(evaluate(&lstm, &val), (best.val_loss, best.val_acc));
        println!(
            "LSTM: best epoch {} of {}, {best:?}, {:.2} s",
            r.best_epoch,
            r.epochs.len(),
            r.seconds
        );
        assert!(best.val_acc >= 0.75, "LSTM: {:?}", r.epochs.last());
        let mut gru: Model<Gru<6, 16>, 6, 16, 4> =
            Model::new(Gru::zeroed(GruVariant::ResetAfter, act), Dense::zeroed());
        init(&mut gru);
        let r = fit_classifier::<_, 6, 16, 4, 100>(&mut gru, &train, &val, &config).unwrap();
        let best = &r.epochs[r.best_epoch - 1];
        println!(
            "GRU: best epoch {} of {}, {best:?}, {:.2} s",
            r.best_epoch,
            r.epochs.len(),
            r.seconds
        );
        assert!(best.val_acc >= 0.75, "GRU: {:?}", r.epochs);
    }

    fn init<R: Recurrent<6, 16, f32>>(m: &mut Model<R, 6, 16, 4>) {
        use rand::RngExt;
        let mut u = stream(3, Stream::InitUniform);
        let mut n = stream(3, Stream::InitNormal);
        m.init_keras(&mut || u.random::<f32>(), &mut || {
            n.sample(rand_distr::StandardNormal)
        });
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
