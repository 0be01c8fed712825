//! `lstm-harness fit`: train a model of the size menu ([`crate::menu`]) on the user's
//! sequences (long-format CSV or the `.npy` trio), validate on a split of the training file,
//! stop early, test on a test file, and save the best model with its input normalisation.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use lstm_kernel::{HeadActivation, LayerKind};
use serde_json::json;

use crate::files::save;
use crate::files::view::ScalingParts;
use crate::fit::{Control, EpochLog, FitConfig, Metrics, Task, class_target, predicted};
use crate::fsutil::check_output;
use crate::menu::{self, MAX_OUTPUTS, Net, Sample, Sizes};
use crate::progress::progressln;
use crate::sequences::normalise::Normalisation;
use crate::sequences::split::validation_split;
use crate::sequences::{SequenceSet, csv_long, npy};

/// The `--task` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// One class per sequence (the label column; 2 classes: one logit and BCE, more:
    /// softmax CE).
    Classify,
    /// One value per sequence (the label column; MSE).
    Regress,
    /// One class per step (the label column of every row).
    Label,
    /// The next `--horizon` values of one long series (a numeric CSV column, `--column`),
    /// trained with stateful truncated BPTT: `--batch` parallel streams carrying their state
    /// from window to window of `--window` steps.
    Forecast,
}

impl TaskArg {
    /// The sequence task (`None` for forecasting, which has its own loop).
    pub const fn task(self) -> Option<Task> {
        match self {
            Self::Classify => Some(Task::Classify),
            Self::Regress => Some(Task::Regress),
            Self::Label => Some(Task::Label),
            Self::Forecast => None,
        }
    }
}

/// Arguments of `lstm-harness fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// Training sequences: a long-format CSV (`sequence,step,<features...>,label`) or the
    /// `X_<split>.npy` of an `.npy` trio (with `lengths_<split>.npy`, `y_<split>.npy`).
    #[arg(long, value_name = "PATH")]
    pub train: PathBuf,
    /// Test sequences, same format and features (scored once, with the best weights).
    #[arg(long, value_name = "PATH")]
    pub test: Option<PathBuf>,
    /// What the label column means.
    #[arg(long, value_enum, value_name = "TASK")]
    pub task: TaskArg,
    /// Hidden units of every layer (the menu: 8, 10, 16, 32, 64, 128).
    #[arg(long, value_name = "H", default_value_t = 64)]
    pub hidden: usize,
    /// Stacked layers, 1 to 3.
    #[arg(long, value_name = "L", default_value_t = 1)]
    pub layers: usize,
    /// The cell of every layer.
    #[arg(long, value_enum, value_name = "CELL", default_value_t = super::CellArg::Lstm)]
    pub cell: super::CellArg,
    /// The recurrent activation (gates i, f, o; r, z for a GRU).
    #[arg(long, value_enum, value_name = "A", default_value_t = super::ActivationArg::Sigmoid)]
    pub recurrent_activation: super::ActivationArg,
    /// Passes over the training data at most.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = super::epochs_parser())]
    pub epochs: u32,
    /// Sequences per Adam update.
    #[arg(long, value_name = "B", default_value_t = 32)]
    pub batch: usize,
    /// Adam's learning rate.
    #[arg(long, value_name = "X", default_value_t = 1e-3)]
    pub lr: f32,
    /// Clip each update's global gradient norm to this (0: no clipping).
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub clip_norm: f32,
    /// Epochs without a better validation loss before stopping (after the warm-up).
    #[arg(long, value_name = "P", default_value_t = 10)]
    pub patience: usize,
    /// Epochs that never stop the run.
    #[arg(long, value_name = "W", default_value_t = 10)]
    pub warmup: usize,
    /// Fraction of the training sequences held out for validation (stratified by class).
    #[arg(long, value_name = "F", default_value_t = 0.2)]
    pub val_split: f64,
    /// Seed of the initialisation, the validation split and the shuffles.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Worker threads for each mini-batch (its rows split into shards of 8), 0 to 256; 0 is
    /// one per core. The results are the same bits for any count.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u16).range(0..=256))]
    pub threads: u16,
    /// Forecast: steps per window of truncated BPTT [default: 12].
    #[arg(long, value_name = "K")]
    pub window: Option<usize>,
    /// Forecast: values ahead each step predicts, the model's outputs [default: 1].
    #[arg(long, value_name = "N")]
    pub horizon: Option<usize>,
    /// Forecast: the CSV column holding the series [default: the only numeric column].
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Forecast: model the series' first differences `v[t] - v[t-1]` (a trend stays inside
    /// the training range); the model file says so, and `predict`, `eval` and the exported
    /// Rust add `v[t]` back, so outputs and errors are in the series' units. `--horizon 1`.
    #[arg(long)]
    pub difference: bool,
    /// Forecast without --test: hold out the last N values of --train as the test part
    /// (scored one step ahead, the state warmed on everything before).
    #[arg(long, value_name = "N")]
    pub test_last: Option<usize>,
    /// Where to save the best model (the kernel's binary format, with its normalisation).
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// Also write the run's figures as JSON here.
    #[arg(long, value_name = "LOG")]
    pub json: Option<PathBuf>,
    /// Also draw the learning curves (loss, validation metric) here, `.png` or `.svg`.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Replace existing --out / --json / --plot files (and start over instead of resuming).
    #[arg(long)]
    pub force: bool,
    /// Continue the run whose checkpoint is `<--out>.ckpt` (written after every epoch, so
    /// also after Ctrl-C): the same data and settings, `--epochs` counting the epochs done;
    /// the result is the uninterrupted run's, bit for bit.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
}

/// The checkpoint file of a run saving its model to `out`: `<out>.ckpt`.
pub fn checkpoint_path(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".ckpt");
    PathBuf::from(p)
}

/// Reads a sequence file: `.npy` (the `X` file of a trio) or long-format CSV.
///
/// # Errors
/// The reader's message (file, line, column).
pub fn read_set(path: &Path) -> Result<SequenceSet> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => npy::read(path),
        _ => csv_long::read(path),
    }
}

/// The per-sequence (or per-step) targets of `set` for `task` with `outputs` outputs, as
/// row-major rows; class labels checked against `outputs`.
///
/// # Errors
/// A label that is not a class (classification), or that varies within a sequence
/// (many-to-one tasks).
pub fn targets(set: &SequenceSet, task: Task, outputs: usize) -> Result<Vec<Vec<f32>>> {
    match task {
        Task::Regress => Ok(set
            .sequence_labels()?
            .into_iter()
            .map(|l| vec![l as f32])
            .collect()),
        Task::Classify => {
            set.sequence_labels()?;
            let (classes, _) = set.classes(class_limit(outputs))?;
            classes
                .iter()
                .map(|c| Ok(class_target::<MAX_OUTPUTS>(c[0], outputs)?[..outputs].to_vec()))
                .collect()
        }
        Task::Label => {
            let (classes, _) = set.classes(class_limit(outputs))?;
            classes
                .iter()
                .map(|steps| {
                    let mut rows = Vec::with_capacity(steps.len() * outputs);
                    for &c in steps {
                        rows.extend_from_slice(
                            &class_target::<MAX_OUTPUTS>(c, outputs)?[..outputs],
                        );
                    }
                    Ok(rows)
                })
                .collect()
        }
    }
}

/// Classes a model of `outputs` outputs tells apart.
fn class_limit(outputs: usize) -> usize {
    if outputs == 1 { 2 } else { outputs }
}

/// The outputs a task needs for `classes` classes (one logit for two).
fn outputs_for(task: Task, classes: usize) -> usize {
    match task {
        Task::Regress => 1,
        Task::Classify | Task::Label if classes <= 2 => 1,
        Task::Classify | Task::Label => classes,
    }
}

/// The head activation a task's outputs get.
fn head_for(task: Task, outputs: usize) -> HeadActivation {
    match task {
        Task::Regress => HeadActivation::Identity,
        _ if outputs == 1 => HeadActivation::Sigmoid,
        _ => HeadActivation::Softmax,
    }
}

/// Samples of `set` (inputs normalised by `scaling`, targets normalised by its output part).
pub(crate) fn samples(
    set: &SequenceSet,
    targets: &[Vec<f32>],
    scaling: &ScalingParts,
) -> Vec<Sample> {
    let f = set.feature_count();
    set.sequences
        .iter()
        .zip(targets)
        .map(|(s, y)| {
            let mut x = s.x.clone();
            for row in x.chunks_exact_mut(f) {
                for (k, v) in row.iter_mut().enumerate() {
                    *v = (*v - scaling[0][k]) * scaling[1][k];
                }
            }
            let o = scaling[2].len();
            let y = y
                .chunks_exact(o)
                .flat_map(|r| {
                    r.iter()
                        .enumerate()
                        .map(|(k, &v)| (v - scaling[3][k]) / scaling[2][k])
                        .collect::<Vec<_>>()
                })
                .collect();
            Sample { x, y }
        })
        .collect()
}

/// The `ScalingParts` of input statistics `norm` and, for regression, the targets' mean
/// and standard deviation (identity outputs otherwise).
fn scaling_of(
    norm: &Normalisation,
    task: Task,
    outputs: usize,
    targets: &[Vec<f32>],
) -> ScalingParts {
    let (scale, mean) = if task == Task::Regress {
        let v: Vec<f64> = targets.iter().flatten().map(|&y| f64::from(y)).collect();
        let n = v.len().max(1) as f64;
        let m = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|y| (y - m).powi(2)).sum::<f64>() / n).sqrt() as f32;
        let sd = if sd > 0.0 && sd.is_finite() { sd } else { 1.0 };
        (vec![sd; outputs], vec![m as f32; outputs])
    } else {
        (vec![1.0; outputs], vec![0.0; outputs])
    };
    [norm.mean.clone(), norm.scale(), scale, mean]
}

/// The figures of one `Metrics` as JSON fields with `prefix` (`val_`, `test_`).
pub(crate) fn metric_fields(
    prefix: &str,
    m: &Metrics,
) -> serde_json::Map<String, serde_json::Value> {
    let mut o = serde_json::Map::new();
    o.insert(format!("{prefix}loss"), json!(m.loss));
    if let Some(a) = m.accuracy {
        o.insert(format!("{prefix}acc"), json!(a));
    }
    if let Some(a) = m.mae {
        o.insert(format!("{prefix}mae"), json!(a));
    }
    if let Some(a) = m.rmse {
        o.insert(format!("{prefix}rmse"), json!(a));
    }
    o
}

/// The data of a run by content (`what` counted, then the CRC-32 of `values`' bytes: a
/// changed value, order or split is seen), not by path.
fn data_fingerprint(what: String, values: impl Iterator<Item = f32>) -> String {
    let bytes: Vec<u8> = values.flat_map(f32::to_le_bytes).collect();
    format!("{what}, CRC-32 {:08x}", lstm_kernel::io::crc32(&bytes))
}

/// `loss: 0.1234 - acc: 0.9500` style text of `m`.
pub(crate) fn metric_text(prefix: &str, m: &Metrics) -> String {
    let mut s = format!("{prefix}loss: {:.4}", m.loss);
    if let Some(a) = m.accuracy {
        s += &format!(" - {prefix}acc: {a:.4}");
    }
    if let Some(a) = m.mae {
        s += &format!(" - {prefix}mae: {a:.4}");
    }
    if let Some(a) = m.rmse {
        s += &format!(" - {prefix}rmse: {a:.4}");
    }
    s
}

impl FitArgs {
    /// Reads the data, trains, tests, saves (see the module docs).
    ///
    /// # Errors
    /// Bad data (named by file, line and column), sizes outside the menu, an existing
    /// output without `--force`, or a diverging run.
    pub fn run(mut self) -> Result<()> {
        let ckpt = checkpoint_path(&self.out);
        if self.resume {
            if !ckpt.exists() {
                bail!(
                    "--resume: no checkpoint {} (a run saving to --out {} writes it after every epoch)",
                    ckpt.display(),
                    self.out.display()
                );
            }
        } else if ckpt.exists() && !self.force {
            bail!(
                "{} exists (the checkpoint of an earlier run): --resume to continue it, or --force to start over",
                ckpt.display()
            );
        }
        // A resumed run owns its model and the outputs its checkpoint recorded, no other
        // existing file.
        let force = self.force || self.resume;
        let recorded = if self.resume {
            crate::files::read_limited(&ckpt, 1 << 31)?
        } else {
            Vec::new()
        };
        let owned = |p: &Path| self.force || crate::checkpoint::owns_output(&recorded, p);
        check_output("--out", &self.out, force)?;
        for (flag, p) in [("--json", &self.json), ("--plot", &self.plot)] {
            if let Some(p) = p
                && self.resume
                && p.exists()
                && !owned(p)
            {
                bail!(
                    "{flag} {} exists and is not an output of the run being resumed (its \
                     checkpoint names the files it writes): remove it or give another path",
                    p.display()
                );
            }
        }
        if let Some(j) = &self.json {
            check_output("--json", j, owned(j))?;
        }
        if let Some(p) = &self.plot {
            check_output("--plot", p, owned(p))?;
            crate::plot::is_png(p)?;
        }
        self.force = force;
        if self.batch == 0 {
            bail!("--batch 0: a batch needs at least one sequence");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            bail!(
                "--lr {}: the learning rate must be a positive number",
                self.lr
            );
        }
        if !(self.clip_norm >= 0.0 && self.clip_norm.is_finite()) {
            bail!(
                "--clip-norm {}: a norm >= 0 (0: no clipping)",
                self.clip_norm
            );
        }
        if !(self.val_split > 0.0 && self.val_split < 1.0) {
            bail!(
                "--val-split {}: a fraction between 0 and 1 (exclusive)",
                self.val_split
            );
        }
        for (flag, v) in [
            ("--window", self.window),
            ("--horizon", self.horizon),
            ("--test-last", self.test_last),
        ] {
            if v == Some(0) {
                bail!("{flag} 0: at least 1");
            }
        }
        // The model must not replace its own data.
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        };
        for (flag, input) in [
            ("--train", Some(&self.train)),
            ("--test", self.test.as_ref()),
        ] {
            if let Some(input) = input
                && [Some(&self.out), self.json.as_ref(), self.plot.as_ref()]
                    .into_iter()
                    .flatten()
                    .any(|o| same(o, input))
            {
                bail!(
                    "an output path is the {flag} file {}: it would be overwritten",
                    input.display()
                );
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        {
            let stop = Arc::clone(&stop);
            // A second Ctrl-C ends the process at once (the first waits for the epoch).
            let _ = ctrlc::set_handler(move || {
                if stop.swap(true, Ordering::SeqCst) {
                    std::process::exit(130);
                }
            });
        }
        menu::with_big_stack(move || self.fit(&stop))
    }

    fn fit(&self, stop: &AtomicBool) -> Result<()> {
        let start = Instant::now();
        progressln!("{}", crate::cpu::kernels_line())?;
        let Some(task) = self.task.task() else {
            return self.forecast(stop, start);
        };
        if self.test_last.is_some()
            || self.difference
            || self.column.is_some()
            || self.horizon.is_some()
            || self.window.is_some()
        {
            bail!(
                "--test-last, --column, --horizon, --window and --difference are for --task forecast"
            );
        }
        let train_set = read_set(&self.train)?;
        let test_set = self.test.as_deref().map(read_set).transpose()?;
        if let Some(t) = &test_set
            && t.features != train_set.features
        {
            bail!(
                "{}: features {:?}, the training file {:?}",
                t.source,
                t.features,
                train_set.features
            );
        }
        let classes = match task {
            Task::Regress => 1,
            _ => {
                let (_, k) = train_set.classes(MAX_OUTPUTS)?;
                let k_test = test_set
                    .as_ref()
                    .map(|t| t.classes(MAX_OUTPUTS).map(|c| c.1))
                    .transpose()?
                    .unwrap_or(0);
                // The model's classes are the training data's: a class only the test file
                // has could never be learnt, and would change the model's shape.
                if k_test > k.max(2) {
                    bail!(
                        "{}: class {} appears in the test file, but the training data's classes are 0..={} ({})",
                        test_set
                            .as_ref()
                            .map_or(String::new(), |t| t.source.clone()),
                        k_test - 1,
                        k.max(2) - 1,
                        self.train.display()
                    );
                }
                k.max(2)
            }
        };
        let outputs = outputs_for(task, classes);
        let cell = LayerKind::from(self.cell);
        let sizes = Sizes {
            features: train_set.feature_count(),
            hidden: self.hidden,
            outputs,
            layers: self.layers,
            cell,
        };
        sizes.check()?;
        // Validation split of the training file (stratified by class).
        let strata = match task {
            Task::Classify => Some(
                train_set
                    .classes(MAX_OUTPUTS)?
                    .0
                    .iter()
                    .map(|c| c[0])
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        let (train_part, val_part) =
            validation_split(&train_set, self.val_split, self.seed, strata.as_deref())?;
        let norm = Normalisation::of(&train_part);
        let train_targets = targets(&train_part, task, outputs)?;
        let scaling = scaling_of(&norm, task, outputs, &train_targets);
        let train = samples(&train_part, &train_targets, &scaling);
        let val = samples(&val_part, &targets(&val_part, task, outputs)?, &scaling);
        let mut net = menu::build(sizes)?;
        net.set_activation(self.recurrent_activation.into());
        net.init_keras(self.seed);
        net.set_head(head_for(task, outputs));
        net.set_scaling(Some(scaling.clone()))?;
        progressln!(
            "fit: {} on {} ({} training, {} validation sequences{}), {} parameters",
            sizes.describe(),
            self.train.display(),
            train.len(),
            val.len(),
            test_set
                .as_ref()
                .map(|t| format!(", {} test", t.sequences.len()))
                .unwrap_or_default(),
            net.param_count()
        )?;
        let config = self.config(true);
        // The normalised inputs and targets.
        let data = data_fingerprint(
            format!(
                "{} training and {} validation sequences",
                train.len(),
                val.len()
            ),
            train
                .iter()
                .chain(&val)
                .flat_map(|s| s.x.iter().chain(&s.y))
                .copied(),
        );
        let run = self.run_description(task.name(), sizes, data, &[]);
        let resume = self.resumed(&run)?;
        let mut on_epoch = self.on_epoch(&run, config.epochs, stop);
        let report = net.fit(task, &train, &val, &config, resume.as_ref(), &mut on_epoch)?;
        best_line(&report)?;
        let mut test_fields = serde_json::Map::new();
        if let Some(t) = &test_set {
            let test = samples(t, &targets(t, task, outputs)?, &scaling);
            let m = net.evaluate(task, &test)?;
            progressln!(
                "test: {} ({} sequences)",
                metric_text("test_", &m),
                test.len()
            )?;
            test_fields = metric_fields("test_", &m);
            if task == Task::Classify {
                print_confusion(&*net, t, outputs, classes)?;
            }
        }
        save(
            &self.out,
            &crate::files::binfile::to_bytes(&*net.view())?,
            self.force,
        )?;
        progressln!("saved {}", self.out.display())?;
        self.write_plot(&report)?;
        if let Some(path) = &self.json {
            let counts = (
                train.len(),
                val.len(),
                test_set.as_ref().map_or(0, |t| t.sequences.len()),
            );
            self.write_json(
                path,
                task.name(),
                sizes,
                &*net,
                &report,
                test_fields,
                start,
                counts,
                &config,
            )?;
        }
        self.finished(&report)
    }
}

impl FitArgs {
    /// `--task forecast`: one series, stateful truncated BPTT, one-step-ahead validation
    /// on the last `--val-split` of the training part and test on `--test` (the series'
    /// continuation) or `--test-last N`.
    fn forecast(&self, stop: &AtomicBool, start: Instant) -> Result<()> {
        use crate::sequences::series;
        let (window, horizon) = (self.window.unwrap_or(12), self.horizon.unwrap_or(1));
        let train = series::read(&self.train, self.column.as_deref())?;
        let mut values = train.values.clone();
        let test_from = match (&self.test, self.test_last) {
            (Some(_), Some(_)) => bail!("give --test or --test-last, not both"),
            (Some(p), None) => {
                let t = series::read(p, Some(&train.column))?;
                let from = values.len();
                values.extend(&t.values);
                from
            }
            (None, Some(n)) => {
                if n + 2 > values.len() {
                    bail!("--test-last {n}: the series has {} values", values.len());
                }
                values.len() - n
            }
            (None, None) => values.len(),
        };
        let val_n = ((test_from as f64) * self.val_split).round() as usize;
        let train_end = test_from.saturating_sub(val_n.max(horizon + 1));
        let sizes = Sizes {
            features: 1,
            hidden: self.hidden,
            outputs: horizon,
            layers: self.layers,
            cell: LayerKind::from(self.cell),
        };
        sizes.check()?;
        if self.difference && horizon != 1 {
            bail!("--difference forecasts one step ahead: --horizon 1");
        }
        // What the model sees: the series, or its changes (0 at the first step, as
        // lstm_kernel::Differencer feeds a device). An error in a predicted change is the
        // error in the value `v[t] + change`, so the metrics below are in the series' units.
        if self.difference {
            let mut d = lstm_kernel::Differencer::NEW;
            values = values.iter().map(|&v| d.input(v)).collect();
        }
        // Normalisation of the training part only; targets are the same series.
        let part = &values[..train_end];
        let n = part.len().max(1) as f64;
        let mean = part.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let sd = (part
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt() as f32;
        let sd = if sd > 0.0 && sd.is_finite() { sd } else { 1.0 };
        let mean = mean as f32;
        let scaling: ScalingParts = [
            vec![mean],
            vec![1.0 / sd],
            vec![sd; horizon],
            vec![mean; horizon],
        ];
        let normalised: Vec<f32> = values.iter().map(|&v| (v - mean) * (1.0 / sd)).collect();
        let mut net = menu::build(sizes)?;
        net.set_activation(self.recurrent_activation.into());
        net.init_keras(self.seed);
        net.set_head(HeadActivation::Identity);
        net.set_scaling(Some(scaling))?;
        net.set_differenced(self.difference)?;
        let streams = crate::sequences::streams::StatefulStreams::new(
            &normalised[..train_end],
            self.batch,
            window,
            horizon,
        )?;
        progressln!(
            "fit: {} forecasting {} of {} ({} values: training 0..{train_end}, validation {train_end}..{test_from}, test {test_from}..{}); {}",
            sizes.describe(),
            train.column,
            self.train.display(),
            values.len(),
            values.len(),
            streams.summary()
        )?;
        let config = self.config(true);
        // The normalised series (its differences with --difference) and the parts' bounds.
        let data = data_fingerprint(
            format!(
                "{} values (training 0..{train_end}, validation {train_end}..{test_from})",
                values.len()
            ),
            normalised.iter().copied(),
        );
        let run = self.run_description(
            "forecast",
            sizes,
            data,
            &[
                ("window", window.to_string()),
                ("difference", self.difference.to_string()),
            ],
        );
        let resume = self.resumed(&run)?;
        let mut on_epoch = self.on_epoch(&run, config.epochs, stop);
        let report = net.fit_series(
            &normalised,
            train_end,
            test_from,
            window,
            &config,
            resume.as_ref(),
            &mut on_epoch,
        )?;
        best_line(&report)?;
        let mut test_fields = serde_json::Map::new();
        if test_from < values.len() {
            let m = net.evaluate_series(&normalised, test_from, values.len());
            progressln!(
                "test: {} ({} values, one step ahead)",
                metric_text("test_", &m),
                values.len() - test_from
            )?;
            test_fields = metric_fields("test_", &m);
        }
        save(
            &self.out,
            &crate::files::binfile::to_bytes(&*net.view())?,
            self.force,
        )?;
        progressln!("saved {}", self.out.display())?;
        self.write_plot(&report)?;
        if let Some(path) = &self.json {
            self.write_json(
                path,
                "forecast",
                sizes,
                &*net,
                &report,
                test_fields,
                start,
                (train_end, test_from - train_end, values.len() - test_from),
                &config,
            )?;
        }
        self.finished(&report)
    }

    /// The training settings of the command line.
    fn config(&self, checkpoints: bool) -> FitConfig {
        FitConfig {
            epochs: self.epochs as usize,
            batch: self.batch,
            lr: self.lr,
            clip_norm: (self.clip_norm > 0.0).then_some(self.clip_norm),
            patience: self.patience,
            warmup: self.warmup,
            seed: self.seed,
            checkpoints,
            threads: self.threads.into(),
        }
    }

    /// What a resumed run must share with the run that wrote the checkpoint: `data` names
    /// the data by content (see [`data_fingerprint`]), `extra` adds settings of the task.
    fn run_description(
        &self,
        task: &str,
        sizes: Sizes,
        data: String,
        extra: &[(&str, String)],
    ) -> std::collections::BTreeMap<String, String> {
        [
            ("task", task.to_string()),
            ("sizes", sizes.describe()),
            ("data", data),
            ("seed", self.seed.to_string()),
            ("batch", self.batch.to_string()),
            ("lr", self.lr.to_string()),
            ("clip_norm", self.clip_norm.to_string()),
            ("val_split", self.val_split.to_string()),
            (
                "recurrent_activation",
                lstm_kernel::RecurrentActivation::from(self.recurrent_activation)
                    .name()
                    .to_string(),
            ),
        ]
        .into_iter()
        .chain(extra.iter().cloned())
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The run's end once every output is written: an interrupted run (Ctrl-C) is an error,
    /// so a script sees a non-zero status, naming what was kept and how to continue.
    fn finished(&self, report: &crate::fit::FitReport) -> Result<()> {
        if report.interrupted {
            bail!(
                "interrupted after epoch {}: the best epoch's ({}) model is saved in {}; \
                 --resume continues the run",
                report.epochs.len(),
                report.best_epoch,
                self.out.display()
            );
        }
        Ok(())
    }

    /// The per-epoch callback of a run described by `run` (of `total` epochs): writes each
    /// checkpoint atomically to `<--out>.ckpt`, prints the epoch line, and stops the run
    /// after Ctrl-C.
    fn on_epoch<'a>(
        &'a self,
        run: &'a std::collections::BTreeMap<String, String>,
        total: usize,
        stop: &'a AtomicBool,
    ) -> impl FnMut(&EpochLog, Option<&crate::fit::Checkpoint>) -> Result<Control> + 'a {
        let ckpt = checkpoint_path(&self.out);
        move |e, c| {
            if let Some(c) = c {
                crate::fsutil::write_atomic(
                    &ckpt,
                    &crate::checkpoint::to_bytes(c, run, &self.other_outputs())?,
                )?;
            }
            epoch_line(e, total, stop, Some(&ckpt))
        }
    }

    /// `--json` and `--plot`, the outputs a checkpoint records as this run's.
    fn other_outputs(&self) -> Vec<&Path> {
        self.json
            .iter()
            .chain(&self.plot)
            .map(PathBuf::as_path)
            .collect()
    }

    /// The checkpoint `--resume` continues (checked against `run`), or `None` without it.
    fn resumed(
        &self,
        run: &std::collections::BTreeMap<String, String>,
    ) -> Result<Option<crate::fit::Checkpoint>> {
        if !self.resume {
            return Ok(None);
        }
        let ckpt = checkpoint_path(&self.out);
        let c = crate::checkpoint::from_bytes(&crate::files::read_limited(&ckpt, 1 << 31)?, run)
            .with_context(|| {
                format!(
                    "checkpoint {} (--force starts the run over instead)",
                    ckpt.display()
                )
            })?;
        progressln!(
            "resuming after epoch {} of {}",
            c.epochs.len(),
            ckpt.display()
        )?;
        Ok(Some(c))
    }

    /// `--plot`: the learning curves of `report`.
    fn write_plot(&self, report: &crate::fit::FitReport) -> Result<()> {
        let Some(path) = &self.plot else {
            return Ok(());
        };
        let title = format!(
            "{} on {}",
            self.task
                .to_possible_value()
                .map_or("fit".into(), |v| v.get_name().to_string()),
            self.train.display()
        );
        let bytes = crate::plot::learning_curves(
            &report.epochs,
            report.best_epoch,
            crate::plot::is_png(path)?,
            &title,
        )?;
        save(path, &bytes, self.force).context("--plot")?;
        progressln!("plotted {}", path.display())
    }

    /// The `--json` document of a run (module docs: the fields the issue asks for).
    #[allow(clippy::too_many_arguments)]
    fn write_json(
        &self,
        path: &Path,
        task: &str,
        sizes: Sizes,
        net: &dyn Net,
        report: &crate::fit::FitReport,
        test_fields: serde_json::Map<String, serde_json::Value>,
        start: Instant,
        counts: (usize, usize, usize),
        config: &FitConfig,
    ) -> Result<()> {
        let epochs: Vec<_> = report
            .epochs
            .iter()
            .map(|e| {
                let mut o = metric_fields("val_", &e.val);
                o.insert("epoch".into(), json!(e.epoch));
                o.insert("train_loss".into(), json!(e.train_loss));
                o.insert("seconds".into(), json!(e.seconds));
                serde_json::Value::Object(o)
            })
            .collect();
        let mut doc = serde_json::Map::new();
        doc.insert("task".into(), json!(task));
        doc.insert(
            "sizes".into(),
            json!({
                "features": sizes.features, "hidden": sizes.hidden, "outputs": sizes.outputs,
                "layers": sizes.layers, "cell": sizes.cell.name(), "parameters": net.param_count(),
            }),
        );
        doc.insert(
            "data".into(),
            json!({"train": counts.0, "val": counts.1, "test": counts.2}),
        );
        doc.insert(
            "config".into(),
            json!({"epochs": config.epochs, "batch": config.batch, "lr": self.lr.to_string().parse::<f64>().unwrap_or(f64::from(self.lr)),
                   "clip_norm": config.clip_norm, "patience": config.patience,
                   "warmup": config.warmup, "seed": config.seed, "val_split": self.val_split,
                   "window": self.window}),
        );
        doc.insert("epochs".into(), json!(epochs));
        doc.insert("best_epoch".into(), json!(report.best_epoch));
        doc.extend(test_fields);
        doc.insert("interrupted".into(), json!(report.interrupted));
        doc.insert("seconds".into(), json!(start.elapsed().as_secs_f64()));
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(doc))? + "\n";
        save(path, text.as_bytes(), self.force).context("--json")
    }
}

/// Prints which epoch's weights were kept, its validation figures and the run's time.
fn best_line(report: &crate::fit::FitReport) -> Result<()> {
    let best = &report.epochs[report.best_epoch - 1];
    progressln!(
        "best epoch {} of {} ({}), {:.2} s",
        report.best_epoch,
        report.epochs.len(),
        metric_text("val_", &best.val),
        report.seconds
    )
}

/// Prints the Keras-style line of epoch `e` (of `total`) and stops the run if Ctrl-C was
/// pressed (naming the checkpoint to resume from, if any).
fn epoch_line(
    e: &EpochLog,
    total: usize,
    stop: &AtomicBool,
    ckpt: Option<&Path>,
) -> Result<Control> {
    progressln!(
        "Epoch {}/{total} - {:.3}s - loss: {:.4} - {}",
        e.epoch,
        e.seconds,
        e.train_loss,
        metric_text("val_", &e.val)
    )?;
    if !stop.load(Ordering::SeqCst) {
        return Ok(Control::Continue);
    }
    match ckpt {
        Some(c) => progressln!(
            "interrupted: keeping the best epoch so far; continue with --resume ({})",
            c.display()
        )?,
        None => progressln!("interrupted: keeping the best epoch so far")?,
    }
    Ok(Control::Stop)
}

/// Prints the confusion matrix of `net` on `test` (rows: true class, columns: predicted).
pub(crate) fn print_confusion(
    net: &dyn crate::menu::Infer,
    set: &SequenceSet,
    outputs: usize,
    classes: usize,
) -> Result<()> {
    let (truth, _) = set.classes(MAX_OUTPUTS)?;
    let mut m = vec![vec![0usize; classes]; classes];
    for (s, t) in set.sequences.iter().zip(&truth) {
        let out = net.predict(&s.x, true)?;
        let last = &out[out.len() - outputs..];
        let p = predicted(last);
        if let Some(row) = m.get_mut(t[0]) {
            row[p.min(classes - 1)] += 1;
        }
    }
    progressln!("confusion matrix (rows: true class, columns: predicted):")?;
    let mut head = String::from("      ");
    for c in 0..classes {
        head += &format!("{c:>5}");
    }
    progressln!("{head}")?;
    for (c, row) in m.iter().enumerate() {
        let cells: String = row.iter().map(|n| format!("{n:>5}")).collect();
        progressln!("{c:>5} {cells}")?;
    }
    Ok(())
}
