//! The five experiments of "Self-explanatory Examples of Stateful LSTMs" on the kernel.
//!
//! | name | setup | epochs | the post |
//! |---|---|---|---|
//! | `stateless-windows` | stateless, 11 windows of 10 per sequence, batch 64 | 15 | ~0.55: cannot learn |
//! | `stateful-windows` | the same windows, stateful, batch 110 | 15 | ~0.5 |
//! | `stateful-per-step` | batch 1, one step at a time, state kept across a sequence | 2 | 1.0 from epoch 1 |
//! | `stateless-per-step` | the same loop, state reset before every step | 3 | ~0.52-0.58 |
//! | `stateless-full-sequence` | whole 20-step sequences, stateless, batch 64 | 15 | (control) learns |
//!
//! Every experiment starts from the same Keras-initialised model of its seed
//! ([`keras_model_of`]) and a fresh Keras Adam; no shuffling. After each epoch's training the
//! validation split is evaluated with the epoch's final weights, batched like the training.
//!
//! **Stateful resets** (`stateful-windows`): all row states are reset to zero at the start
//! of every epoch and before validation. Keras' `fit` resets nothing unless asked (the
//! post's run carried training states into validation and validation states into the next
//! epoch). We reset so each pass has a defined start that does not depend on the previous
//! pass; it changes only the initial states of the first batch of a pass, which in this
//! setup come from an unrelated sequence either way, so the outcome is the same.
//!
//! **Timing**: `train_seconds` counts only the training passes (not validation); the
//! throughput figures divide it by optimizer updates ([`ExperimentReport::train_steps`])
//! and by LSTM time steps processed in training ([`ExperimentReport::lstm_steps`]).

use std::time::Instant;

use anyhow::Result;
use lstm_kernel::{BatchState, LayerKind, Maths, Recurrent, RecurrentActivation};
use serde::Serialize;

use crate::data::{Dataset, SEQ_LEN, WINDOW_LEN, windows};
use crate::engine::{
    Carry, Counters, Mean, eval_batched, eval_per_step, train_batched, train_per_step,
};
use crate::model::{
    HIDDEN, PostLayers, PostModel, cell_of, keras_adam_of, keras_model_of, set_cell, set_layers,
    with_layers,
};

/// Batch size of the stateless batched experiments (the post's 64).
pub const STATELESS_BATCH: usize = 64;
/// Batch size of `stateful-windows` (the post's 110: 11000 and 2200 windows divide by it).
pub const STATEFUL_BATCH: usize = 110;

/// One of the post's experiments. CLI names are the kebab-case variant names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Experiment {
    /// Stateless, on 11 windows of 10 per sequence, batch 64, 15 epochs.
    StatelessWindows,
    /// Stateful, on the same windows, batch 110, 15 epochs.
    StatefulWindows,
    /// Batch 1, one step at a time, state kept across each sequence, 2 epochs.
    StatefulPerStep,
    /// Batch 1, one step at a time, state reset before every step, 3 epochs.
    StatelessPerStep,
    /// Control: whole sequences, stateless, batch 64, 15 epochs.
    StatelessFullSequence,
}

impl Experiment {
    /// All five, in the post's order (the CLI's default).
    pub const ALL: [Self; 5] = [
        Self::StatelessWindows,
        Self::StatefulWindows,
        Self::StatefulPerStep,
        Self::StatelessPerStep,
        Self::StatelessFullSequence,
    ];

    /// The CLI and JSON name, e.g. `stateful-per-step`.
    pub fn name(self) -> &'static str {
        match self {
            Self::StatelessWindows => "stateless-windows",
            Self::StatefulWindows => "stateful-windows",
            Self::StatefulPerStep => "stateful-per-step",
            Self::StatelessPerStep => "stateless-per-step",
            Self::StatelessFullSequence => "stateless-full-sequence",
        }
    }

    /// A short description of the setup.
    pub fn setup(self) -> &'static str {
        match self {
            Self::StatelessWindows => "stateless, windows of 10, batch 64",
            Self::StatefulWindows => "stateful, windows of 10, batch 110",
            Self::StatefulPerStep => "stateful, 1 step at a time, batch 1",
            Self::StatelessPerStep => "stateless, 1 step at a time, batch 1",
            Self::StatelessFullSequence => "stateless, whole 20 steps, batch 64",
        }
    }

    /// The post's epoch count.
    pub fn default_epochs(self) -> usize {
        match self {
            Self::StatefulPerStep => 2,
            Self::StatelessPerStep => 3,
            _ => 15,
        }
    }

    /// What the post reported (accuracy after its last epoch).
    pub fn post_result(self) -> &'static str {
        match self {
            Self::StatelessWindows => "acc 0.534, val 0.546",
            Self::StatefulWindows => "acc 0.547, val 0.491",
            Self::StatefulPerStep => "acc 1.0, val 1.0",
            Self::StatelessPerStep => "acc 0.516, val 0.582",
            Self::StatelessFullSequence => "not run (control)",
        }
    }

    /// Whether the post's outcome (or, for the control, the expected one) is that the model
    /// learns the task (validation accuracy >= [`LEARNS_AT`]) rather than staying near
    /// chance (<= [`CHANCE_AT_MOST`]).
    pub fn learns(self) -> bool {
        matches!(self, Self::StatefulPerStep | Self::StatelessFullSequence)
    }

    /// Training units (samples or per-step samples) of one training epoch.
    pub fn train_units(self) -> u64 {
        let per_sequence = match self {
            Self::StatelessWindows | Self::StatefulWindows => SEQ_LEN - WINDOW_LEN + 1,
            Self::StatefulPerStep | Self::StatelessPerStep => SEQ_LEN,
            Self::StatelessFullSequence => 1,
        };
        (per_sequence * crate::data::TRAIN_SEQUENCES) as u64
    }
}

/// Validation accuracy at or above which an experiment counts as having learned the task:
/// the target is a deterministic function of step 0, so a model that learned it is right
/// everywhere; 0.99 allows 1 % of slips (2 of 200 sequences).
pub const LEARNS_AT: f64 = 0.99;

/// Validation accuracy at or below which an experiment counts as not having learned: the
/// best a model can do without carrying step 0 forward is about 0.53 (windows: only 1 of
/// 11 windows sees step 0; per-step stateless: only 1 of 20 steps), plus the class
/// imbalance of the 200 validation sequences; 0.70 is well above both.
pub const CHANCE_AT_MOST: f64 = 0.70;

/// What to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExperimentConfig {
    /// Which experiment.
    pub experiment: Experiment,
    /// Epochs to train (`>= 1`; 0 trains nothing and reports no epochs).
    pub epochs: usize,
    /// Seed of the initialisation streams (the data has its own seed, see [`Dataset`]).
    pub seed: u64,
    /// Recurrent activation of the LSTM.
    pub activation: RecurrentActivation,
    /// How the LSTM evaluates its activations (default exact; `Fast` is the kernel's
    /// opt-in rational approximation, see `lstm_kernel::activation`).
    pub maths: Maths,
    /// The recurrent cell of every layer: the post's LSTM (default) or a GRU of either
    /// variant.
    pub cell: LayerKind,
}

impl ExperimentConfig {
    /// The post's epochs for `experiment` and the default (sigmoid) activation.
    pub fn new(experiment: Experiment, seed: u64) -> Self {
        Self {
            experiment,
            epochs: experiment.default_epochs(),
            seed,
            activation: RecurrentActivation::Sigmoid,
            maths: Maths::Exact,
            cell: LayerKind::Lstm,
        }
    }
}

/// One epoch's results, as Keras reports them (sample-weighted means).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training BCE over the epoch (nats), with the weights of the moment.
    pub train_loss: f64,
    /// Mean training accuracy over the epoch, `[0, 1]`.
    pub train_acc: f64,
    /// Validation BCE with the epoch's final weights (nats).
    pub val_loss: f64,
    /// Validation accuracy with the epoch's final weights, `[0, 1]`.
    pub val_acc: f64,
    /// Wall time of the epoch, training plus validation (seconds).
    pub seconds: f64,
    /// Wall time of the epoch's training alone (seconds).
    pub train_seconds: f64,
}

impl EpochReport {
    /// The Keras-style line, e.g.
    /// `Epoch 3/15 - 1.2s - loss: 0.6311 - acc: 0.5473 - val_loss: 0.6311 - val_acc: 0.4909`.
    pub fn keras_line(&self, epochs: usize) -> String {
        format!(
            "Epoch {}/{} - {:.1}s - loss: {:.4} - acc: {:.4} - val_loss: {:.4} - val_acc: {:.4}",
            self.epoch,
            epochs,
            self.seconds,
            self.train_loss,
            self.train_acc,
            self.val_loss,
            self.val_acc
        )
    }
}

/// The results of one experiment run (serialized as one element of the `--json` array).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExperimentReport {
    /// Which experiment ran (serialized as `name`).
    #[serde(skip)]
    pub experiment: Experiment,
    /// The experiment's name, e.g. `stateful-per-step`.
    pub name: &'static str,
    /// Short description of the setup.
    pub setup: &'static str,
    /// One entry per epoch, in order.
    pub epochs: Vec<EpochReport>,
    /// Wall time of the whole run, training and validation (seconds).
    pub wall_seconds: f64,
    /// Wall time of the training passes only (seconds).
    pub train_seconds: f64,
    /// Optimizer updates (Adam steps) taken.
    pub train_steps: u64,
    /// Recurrent time steps processed in training (forward and backward), for either cell
    /// (the JSON name predates the GRU).
    pub lstm_steps: u64,
    /// Microseconds of training time per optimizer update.
    pub us_per_train_step: f64,
    /// Microseconds of training time per recurrent time step (either cell).
    pub us_per_lstm_step: f64,
    /// Optimizer updates per second of training time.
    pub train_steps_per_second: f64,
    /// Seed of the initialisation.
    pub seed: u64,
    /// Seed the data was generated from.
    pub data_seed: u64,
    /// `sigmoid`, `hard-sigmoid-keras2` or `hard-sigmoid-keras3` (`mixed` if the layers of
    /// a model given to [`run_from`] differ).
    pub recurrent_activation: &'static str,
    /// Stacked `LSTM(10)` or `GRU(10)` layers (1 is the post's model).
    pub layers: usize,
    /// The layers' cell: `lstm`, `gru` or `gru-reset-before` (`LayerKind::name`).
    pub cell: &'static str,
    /// What the post reported.
    pub post_result: &'static str,
}

impl ExperimentReport {
    /// The last epoch's results, if any epoch ran.
    pub fn last(&self) -> Option<&EpochReport> {
        self.epochs.last()
    }

    /// Whether the outcome matches the post's (learned vs stayed near chance, judged on
    /// the last epoch's validation accuracy; see [`LEARNS_AT`], [`CHANCE_AT_MOST`]).
    /// `None` if no epoch ran.
    pub fn matches_post(&self) -> Option<bool> {
        let acc = self.last()?.val_acc;
        Some(if self.experiment.learns() {
            acc >= LEARNS_AT
        } else {
            acc <= CHANCE_AT_MOST
        })
    }
}

/// Receives progress while an experiment runs (all methods default to doing nothing).
pub trait Observer {
    /// An epoch's training starts; it will process `units` samples (per-step samples for
    /// the per-step experiments).
    fn epoch_started(&mut self, experiment: Experiment, epoch: usize, epochs: usize, units: u64) {
        let _ = (experiment, epoch, epochs, units);
    }
    /// `units` more training samples are done.
    fn advanced(&mut self, units: u64) {
        let _ = units;
    }
    /// An epoch (training and validation) is done.
    ///
    /// # Errors
    /// The observer cannot go on (e.g. its output was closed); [`run`] stops and returns
    /// this error.
    fn epoch_finished(
        &mut self,
        experiment: Experiment,
        epochs: usize,
        report: &EpochReport,
    ) -> Result<()> {
        let _ = (experiment, epochs, report);
        Ok(())
    }
}

/// An [`Observer`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// Runs one experiment with `layers` stacked layers of `config.cell` (1 to
/// [`crate::model::MAX_LAYERS`]; one LSTM is the post's model) and returns its report (the
/// trained model's type depends on both, so it is not returned; use [`run`] for that).
///
/// # Errors
/// `layers` is out of range (the message names it); otherwise as [`run`].
pub fn run_layers(
    config: &ExperimentConfig,
    layers: usize,
    data: &Dataset,
    observer: &mut dyn Observer,
) -> Result<ExperimentReport> {
    with_layers!(config.cell, layers, R => run::<R>(config, data, observer).map(|(report, _)| report))
}

/// Runs one experiment on `data` with the post's model built on layers `R` (e.g.
/// [`crate::model::OneLayer`], [`crate::model::TwoLayers`]) and returns its report and the trained model.
///
/// # Errors
/// Training diverged (a non-finite gradient; not seen with these settings), or the
/// observer's `epoch_finished` failed.
pub fn run<R: PostLayers>(
    config: &ExperimentConfig,
    data: &Dataset,
    observer: &mut dyn Observer,
) -> Result<(ExperimentReport, PostModel<R>)> {
    let mut model = keras_model_of::<R>(config.seed, config.activation);
    set_layers(&mut model, |s| s.maths = config.maths);
    set_cell(&mut model, config.cell)?;
    run_from(config, data, model, observer)
}

/// [`run`] starting from `model` as given (its weights and every layer's activation and
/// maths; `config.activation`, `config.maths` and `config.seed` are not used): fine-tuning
/// a trained or imported model (e.g. a PyTorch `nn.LSTM(1, 10, num_layers=2)`) with the
/// experiment's BPTT regime, with a fresh Keras Adam. The report's `recurrent_activation`
/// is the layers' common activation, or `mixed`.
///
/// # Errors
/// As [`run`].
pub fn run_from<R: PostLayers>(
    config: &ExperimentConfig,
    data: &Dataset,
    mut model: PostModel<R>,
    observer: &mut dyn Observer,
) -> Result<(ExperimentReport, PostModel<R>)> {
    let exp = config.experiment;
    let cell = cell_of(&model)?.name();
    let activations: Vec<_> = (0..R::LAYERS)
        .filter_map(|l| model.rnn.settings(l))
        .map(|s| s.activation)
        .collect();
    let recurrent_activation = match activations.as_slice() {
        [first, rest @ ..] if rest.iter().all(|a| a == first) => first.name(),
        _ => "mixed",
    };
    let mut adam = keras_adam_of::<R>();
    let window_len = match exp {
        Experiment::StatelessFullSequence => SEQ_LEN,
        _ => WINDOW_LEN,
    };
    let (train, val) = match exp {
        Experiment::StatefulPerStep | Experiment::StatelessPerStep => (Vec::new(), Vec::new()),
        _ => (
            windows(data.train(), window_len),
            windows(data.val(), window_len),
        ),
    };
    let mut states = Box::new(BatchState::<
        STATEFUL_BATCH,
        <R as Recurrent<1, HIDDEN, f32>>::State,
    >::zeroed());
    let mut counters = Counters::default();
    // Grown per epoch: `config.epochs` may come from a user, so it never sizes an allocation.
    let mut epochs = Vec::new();
    let started = Instant::now();
    let mut train_seconds = 0.0;
    for epoch in 1..=config.epochs {
        observer.epoch_started(exp, epoch, config.epochs, exp.train_units());
        let epoch_start = Instant::now();
        let mut advance = |n: usize| observer.advanced(n as u64);
        let (m, a, c) = (&mut model, &mut adam, &mut counters);
        let train_mean: Mean = match exp {
            Experiment::StatelessWindows | Experiment::StatelessFullSequence => {
                train_batched::<_, STATELESS_BATCH>(m, a, &train, None, c, &mut advance)?
            }
            Experiment::StatefulWindows => {
                states.reset_all();
                train_batched(m, a, &train, Some(&mut states), c, &mut advance)?
            }
            Experiment::StatefulPerStep => {
                train_per_step(m, a, data.train(), Carry::Stateful, c, &mut advance)?
            }
            Experiment::StatelessPerStep => {
                train_per_step(m, a, data.train(), Carry::Stateless, c, &mut advance)?
            }
        };
        let epoch_train_seconds = epoch_start.elapsed().as_secs_f64();
        train_seconds += epoch_train_seconds;
        let val_mean = match exp {
            Experiment::StatelessWindows | Experiment::StatelessFullSequence => {
                eval_batched::<_, STATELESS_BATCH>(&model, &val, None)?
            }
            Experiment::StatefulWindows => {
                states.reset_all();
                eval_batched(&model, &val, Some(&mut states))?
            }
            Experiment::StatefulPerStep => eval_per_step(&model, data.val(), Carry::Stateful),
            Experiment::StatelessPerStep => eval_per_step(&model, data.val(), Carry::Stateless),
        };
        let report = EpochReport {
            epoch,
            train_loss: train_mean.loss(),
            train_acc: train_mean.accuracy(),
            val_loss: val_mean.loss(),
            val_acc: val_mean.accuracy(),
            seconds: epoch_start.elapsed().as_secs_f64(),
            train_seconds: epoch_train_seconds,
        };
        observer.epoch_finished(exp, config.epochs, &report)?;
        epochs.push(report);
    }
    let per = |n: u64| {
        if n == 0 {
            0.0
        } else {
            train_seconds * 1e6 / n as f64
        }
    };
    let report = ExperimentReport {
        experiment: exp,
        name: exp.name(),
        setup: exp.setup(),
        epochs,
        wall_seconds: started.elapsed().as_secs_f64(),
        train_seconds,
        train_steps: counters.updates,
        lstm_steps: counters.lstm_steps,
        us_per_train_step: per(counters.updates),
        us_per_lstm_step: per(counters.lstm_steps),
        train_steps_per_second: if train_seconds > 0.0 {
            counters.updates as f64 / train_seconds
        } else {
            0.0
        },
        seed: config.seed,
        data_seed: data.seed(),
        recurrent_activation,
        layers: R::LAYERS,
        cell,
        post_result: exp.post_result(),
    };
    Ok((report, model))
}

/// Trains the post's `stateful-per-step` model on `data` for `epochs` epochs (the post uses
/// 2) and returns the report and the trained model: a streaming classifier whose logit,
/// after any step of a sequence fed one step at a time from the zero state, tells whether
/// the sequence started with a 1. For export to the embedded target.
///
/// # Errors
/// Training diverged (a non-finite gradient).
pub fn train_stateful_per_step<R: PostLayers>(
    data: &Dataset,
    epochs: usize,
    seed: u64,
    activation: RecurrentActivation,
    observer: &mut dyn Observer,
) -> Result<(ExperimentReport, PostModel<R>)> {
    let config = ExperimentConfig {
        epochs,
        activation,
        ..ExperimentConfig::new(Experiment::StatefulPerStep, seed)
    };
    run(&config, data, observer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HarnessModel, TwoLayers, keras_model};

    #[test]
    fn experiment_names_are_the_cli_names_in_the_posts_order() {
        use clap::ValueEnum;
        let names: Vec<_> = Experiment::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(
            names,
            [
                "stateless-windows",
                "stateful-windows",
                "stateful-per-step",
                "stateless-per-step",
                "stateless-full-sequence"
            ]
        );
        for e in Experiment::ALL {
            assert_eq!(Experiment::from_str(e.name(), false), Ok(e));
        }
        assert!(Experiment::from_str("stateful", false).is_err());
    }

    #[test]
    fn a_run_reports_every_epoch_and_counts_updates() {
        let data = Dataset::generate(5);
        let config = ExperimentConfig {
            epochs: 2,
            ..ExperimentConfig::new(Experiment::StatelessFullSequence, 5)
        };
        let (report, model): (_, HarnessModel) = run(&config, &data, &mut Quiet).unwrap();
        assert_eq!(report.epochs.len(), 2);
        assert_eq!(report.epochs[1].epoch, 2);
        // 1000 sequences in batches of 64: 15 full + 1 of 40, per epoch.
        assert_eq!(report.train_steps, 32);
        assert_eq!(report.lstm_steps, 2 * 1000 * 20);
        assert_ne!(model, keras_model(5, RecurrentActivation::Sigmoid));
        assert!(report.us_per_train_step > 0.0);
        assert_eq!(report.name, "stateless-full-sequence");
    }

    #[test]
    fn the_same_config_and_data_train_the_same_model() {
        let data = Dataset::generate(8);
        let config = ExperimentConfig {
            epochs: 1,
            ..ExperimentConfig::new(Experiment::StatefulWindows, 8)
        };
        let (a, ma) = run::<TwoLayers>(&config, &data, &mut Quiet).unwrap();
        let (b, mb) = run::<TwoLayers>(&config, &data, &mut Quiet).unwrap();
        assert_eq!(ma, mb);
        assert_eq!(a.epochs[0].val_loss, b.epochs[0].val_loss);
    }

    #[test]
    fn run_from_continues_from_the_given_model_and_reports_its_settings() {
        let data = Dataset::generate(6);
        let config = ExperimentConfig {
            epochs: 1,
            ..ExperimentConfig::new(Experiment::StatelessFullSequence, 6)
        };
        let (_, trained) = run::<TwoLayers>(&config, &data, &mut Quiet).unwrap();
        // Fine-tuning the trained model is not training a fresh one: its first epoch starts
        // from a lower loss.
        let (fresh, _) = run::<TwoLayers>(&config, &data, &mut Quiet).unwrap();
        let (tuned, again) = run_from(&config, &data, trained, &mut Quiet).unwrap();
        assert!(tuned.epochs[0].train_loss < fresh.epochs[0].train_loss);
        assert_ne!(again, trained, "the weights moved");
        let mut mixed = trained;
        mixed.rnn.upper.activation = RecurrentActivation::HardSigmoidKeras3;
        let (r, _) = run_from(&config, &data, mixed, &mut Quiet).unwrap();
        assert_eq!(r.recurrent_activation, "mixed");
        assert_eq!(tuned.recurrent_activation, "sigmoid");
    }

    #[test]
    fn the_keras_line_has_the_keras_layout() {
        let r = EpochReport {
            epoch: 3,
            train_loss: 0.63114,
            train_acc: 0.5473,
            val_loss: 0.6311,
            val_acc: 0.4909,
            seconds: 1.23,
            train_seconds: 1.0,
        };
        assert_eq!(
            r.keras_line(15),
            "Epoch 3/15 - 1.2s - loss: 0.6311 - acc: 0.5473 - val_loss: 0.6311 - val_acc: 0.4909"
        );
    }
}
