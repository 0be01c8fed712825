//! `lstm-harness eval MODEL`: reload a saved model (binary or safetensors, detected by
//! content) and report its per-step validation accuracy on freshly generated data.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use lstm_kernel::{LayerKind, LayerSettings, Maths};

use super::experiments::DEFAULT_SEED;
use crate::data::Dataset;
use crate::engine::{Carry, eval_per_step};
use crate::files::{Source, load_into};
use crate::menu::Infer;
use crate::model::{HIDDEN, PostLayers, PostModel, set_layers, with_layers};
use crate::progress::outln;

/// The `--maths` values (how the LSTM's activations are evaluated).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum MathsArg {
    /// Accurate activations (the kernel's default).
    #[default]
    Exact,
    /// Rational approximations (`Maths::Fast`).
    Fast,
}

/// Arguments of `lstm-harness eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model file: a binary model file (f32, or int8 from `quantize`), safetensors, a PyTorch .pt/.pth state
    /// dict, a Keras .keras, .h5 or .weights.h5, or an ONNX .onnx; detected by content.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// Seed of the data set whose 200 validation sequences are scored.
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SEED, conflicts_with = "data")]
    pub seed: u64,

    /// How the activations are evaluated.
    #[arg(long, value_enum, value_name = "M", default_value_t = MathsArg::Exact, conflicts_with = "data")]
    pub maths: MathsArg,

    /// Stacked LSTM(10) or GRU(10) layers in MODEL, 1 to 3 [default: the file's own count,
    /// read from its layer table or tensor names]; a file with another count is refused
    /// with both.
    #[arg(long, value_name = "N", value_parser = super::layers_parser(), conflicts_with = "data")]
    pub layers: Option<u8>,

    /// The cell of MODEL's layers [default: the file's, from its layer table or tensor
    /// names]; a file of another cell (or GRU variant) is refused with both.
    #[arg(long, value_enum, value_name = "CELL", conflicts_with = "data")]
    pub cell: Option<super::CellArg>,

    /// How a safetensors or PyTorch MODEL is read.
    #[command(flatten)]
    pub import: super::ImportArgs,

    /// Score a model of any menu size (any format, e.g. the `.bin` from `fit` or its
    /// safetensors export) on these labelled sequences (CSV or `.npy`) instead of the post's
    /// data; the model file's normalisation is applied.
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,

    /// With --data: what the labels mean [default: regress for a model whose head is the
    /// identity, classify otherwise].
    #[arg(long, value_enum, value_name = "TASK", requires = "data")]
    pub task: Option<super::fit::TaskArg>,

    /// With --data: read it as one series, this CSV column, and score a forecasting model
    /// one step ahead over the whole series (the state carried from its start).
    #[arg(long, value_name = "NAME", requires = "data")]
    pub column: Option<String>,

    /// With --data: also score this int8 model file of MODEL (from `lstm-harness
    /// quantize`) on the same data, and print how far its outputs are from MODEL's.
    #[arg(long, value_name = "Q", requires = "data")]
    pub quantized: Option<PathBuf>,
}

impl EvalArgs {
    /// Loads the model, runs the stateful per-step validation (state reset between
    /// sequences, every step scored, like `experiments`) and prints what ran (the model,
    /// its recurrent activation, the maths used and the maths the file stores), then loss
    /// (5 significant digits, [`loss_text`]) and accuracy,
    /// the latter also as `eval accuracy steps <correct>/<steps>`.
    ///
    /// # Errors
    /// The file cannot be read or is refused (also when its layer count is not
    /// `--layers`).
    pub fn run(self) -> Result<()> {
        if self.data.is_some() {
            return crate::menu::with_big_stack(move || self.eval_data());
        }
        let cell = super::cell_or_file(self.cell, &self.model, &self.import.options())?;
        let layers =
            crate::files::layers_or_file(self.layers, &self.model, &self.import.options())?;
        with_layers!(cell, layers, R => self.eval::<R>())
    }

    /// [`Self::run`] for the post's model on layers `R`.
    fn eval<R: PostLayers>(&self) -> Result<()> {
        let mut model = PostModel::<R>::new(R::default(), lstm_kernel::Dense::zeroed());
        let source: Source = load_into(&self.model, &self.import.options(), &mut model)?;
        let cell = crate::model::cell_of(&model)?;
        super::check_cell(self.cell, cell, &self.model)?;
        let maths = match self.maths {
            MathsArg::Exact => Maths::Exact,
            MathsArg::Fast => Maths::Fast,
        };
        let stored: Vec<LayerSettings> = (0..R::LAYERS)
            .filter_map(|l| model.rnn.settings(l))
            .collect();
        set_layers(&mut model, |s| s.maths = maths);
        let data = Dataset::generate(self.seed);
        let mean = eval_per_step(&model, data.val(), Carry::Stateful);
        outln!("{}", summary(cell, R::LAYERS, &stored, maths))?;
        outln!(
            "{} ({source}): val_loss {} val_acc {:.4} on the validation split of seed {} \
             (every step of its 200 sequences, each streamed from the zero state)",
            self.model.display(),
            loss_text(mean.loss()),
            mean.accuracy(),
            self.seed
        )?;
        outln!("eval accuracy steps {}/{}", mean.correct(), mean.count())?;
        Ok(())
    }
}

impl EvalArgs {
    /// `eval MODEL --data PATH`: the model's loss and accuracy (or MAE and RMSE in the
    /// targets' units) on the sequences, a confusion matrix for a classifier; with
    /// `--quantized Q`, the int8 model's beside it and how far their outputs are apart.
    fn eval_data(&self) -> Result<()> {
        use crate::fit::Task;
        let Some(path) = &self.data else {
            return Ok(());
        };
        let net = load_infer(&self.model, &self.import.options())?;
        let quantized = match &self.quantized {
            Some(q) => Some(load_quantized_beside(q, &*net)?),
            None => None,
        };
        if let Some(column) = &self.column {
            return self.eval_series(&*net, quantized.as_deref(), path, column);
        }
        let data = ScoredData::read(&*net, &self.model, path, self.task)?;
        let sizes = net.sizes();
        let m = net.evaluate(data.task, &data.samples)?;
        outln!(
            "model: {} ({}, head {}), task {}",
            sizes.describe(),
            net.weights_text(),
            net.head().name(),
            data.task.name()
        )?;
        outln!(
            "{} on {}: {} ({} sequences)",
            self.model.display(),
            path.display(),
            super::fit::metric_text("", &m),
            data.samples.len()
        )?;
        if let (Some(q), Some(qpath)) = (&quantized, &self.quantized) {
            let mq = q.evaluate(data.task, &data.samples)?;
            outln!(
                "{} ({}): {}",
                qpath.display(),
                q.weights_text(),
                super::fit::metric_text("", &mq)
            )?;
            outln!("{}", compare_text(&*net, &**q, &data)?)?;
        }
        if data.task == Task::Classify {
            let classes = if sizes.outputs == 1 { 2 } else { sizes.outputs };
            super::fit::print_confusion(&*net, &data.set, sizes.outputs, classes)?;
        }
        Ok(())
    }
}

/// Loads a model file of any menu size and any format, float or int8 (detected by
/// content: an int8 file is the binary format with dtype 2).
///
/// # Errors
/// As [`super::predict::load_net`] and [`crate::qnet::load`].
pub fn load_infer(
    path: &std::path::Path,
    options: &crate::files::ReadOptions,
) -> Result<Box<dyn Infer>> {
    let bytes = crate::files::read_limited(path, crate::files::MAX_MODEL_FILE_BYTES)?;
    if crate::qnet::is_int8_file(&bytes) {
        return Ok(crate::qnet::load(path, &bytes)?);
    }
    Ok(super::predict::load_net(path, options)?)
}

/// The int8 file `path` for comparison with `net`: refused unless it has `net`'s sizes.
///
/// # Errors
/// The file is not an int8 model file, or has other sizes.
pub(crate) fn load_quantized_beside(
    path: &std::path::Path,
    net: &dyn Infer,
) -> Result<Box<dyn crate::qnet::QNet>> {
    let bytes = crate::files::read_limited(path, crate::files::MAX_MODEL_FILE_BYTES)?;
    if !crate::qnet::is_int8_file(&bytes) {
        anyhow::bail!(
            "--quantized {}: not an int8 model file (make one with lstm-harness quantize)",
            path.display()
        );
    }
    let q = crate::qnet::load(path, &bytes)?;
    if q.sizes() != net.sizes() {
        anyhow::bail!(
            "--quantized {}: {}, the model is {}",
            path.display(),
            q.sizes().describe(),
            net.sizes().describe()
        );
    }
    // Both are scored on data normalised once, with MODEL's normalisation: the int8 file
    // must carry the same pipeline (it does when `quantize` made it from MODEL).
    let same_pipeline = q.head() == net.head()
        && q.scaling() == net.scaling()
        && q.differenced() == net.differenced();
    if !same_pipeline {
        anyhow::bail!(
            "--quantized {}: its head activation, normalisation or differencing differs from the model's, so it was not quantized from this model (lstm-harness quantize MODEL makes one that is); score it alone with eval {} --data",
            path.display(),
            path.display()
        );
    }
    Ok(q)
}

/// Labelled sequences read for a model, as `eval --data` and `quantize` score them.
pub(crate) struct ScoredData {
    /// What the labels mean.
    pub task: crate::fit::Task,
    /// The sequences as read (raw).
    pub set: crate::sequences::SequenceSet,
    /// Normalised with the model's scaling, with targets for `task`.
    pub samples: Vec<crate::menu::Sample>,
}

impl ScoredData {
    /// Reads `path` (CSV or `.npy`) for `net` (the file `model`): its features must be the
    /// model's; the task is `task` or, by default, regression for an identity head and
    /// classification otherwise, and must suit the head.
    ///
    /// # Errors
    /// A bad data file, other features, or a task the model's head cannot score.
    pub fn read(
        net: &dyn Infer,
        model: &std::path::Path,
        path: &std::path::Path,
        task: Option<super::fit::TaskArg>,
    ) -> Result<Self> {
        use crate::fit::Task;
        use lstm_kernel::HeadActivation;
        let sizes = net.sizes();
        if task == Some(super::fit::TaskArg::Forecast) {
            anyhow::bail!("--task forecast scores a series: give --column NAME");
        }
        let set = super::fit::read_set(path)
            .map_err(|e| super::predict::series_hint(e, sizes.features))?;
        if set.feature_count() != sizes.features {
            anyhow::bail!(
                "{}: {} features per step, the model {} takes {}",
                path.display(),
                set.feature_count(),
                model.display(),
                sizes.features
            );
        }
        let head = net.head();
        let task = match task {
            Some(t) => t.task().ok_or_else(|| {
                anyhow::anyhow!(
                    "eval --data scores sequences; a forecasting model is scored by fit (--test or --test-last)"
                )
            })?,
            None if head == HeadActivation::Identity => Task::Regress,
            None => Task::Classify,
        };
        match task {
            Task::Regress if matches!(head, HeadActivation::Sigmoid | HeadActivation::Softmax) => {
                anyhow::bail!(
                    "{}: a classifier ({} outputs, head {}); --task regress needs a regression model (head identity)",
                    model.display(),
                    sizes.outputs,
                    head.name()
                )
            }
            Task::Classify | Task::Label if head == HeadActivation::Identity => {
                anyhow::bail!(
                    "{}: a regression model (head identity); --task {} needs a classifier",
                    model.display(),
                    task.name()
                )
            }
            Task::Regress if sizes.outputs != 1 => anyhow::bail!(
                "{}: {} outputs; --task regress scores one value per sequence",
                model.display(),
                sizes.outputs
            ),
            _ => {}
        }
        let scaling = net
            .scaling()
            .cloned()
            .unwrap_or_else(|| identity_scaling(sizes));
        let targets = super::fit::targets(&set, task, sizes.outputs)?;
        let samples = super::fit::samples(&set, &targets, &scaling);
        Ok(Self { task, set, samples })
    }
}

/// The scaling that changes nothing, at `sizes`.
pub(crate) fn identity_scaling(sizes: crate::menu::Sizes) -> crate::files::view::ScalingParts {
    [
        vec![0.0; sizes.features],
        vec![1.0; sizes.features],
        vec![1.0; sizes.outputs],
        vec![0.0; sizes.outputs],
    ]
}

/// How far two models of one size are apart on `data`'s sequences: the largest
/// `|logit_a - logit_b|` over every step and output, and for a classifier the fraction of
/// sequences (or, labelling, of steps) whose predicted class agrees.
///
/// # Errors
/// A sequence the models cannot stream.
pub(crate) fn compare_text(a: &dyn Infer, b: &dyn Infer, data: &ScoredData) -> Result<String> {
    use crate::fit::{Task, predicted};
    let o = a.sizes().outputs;
    let (mut worst, mut same, mut rows) = (0f32, 0usize, 0usize);
    for s in &data.set.sequences {
        let (ya, yb) = (a.predict(&s.x, true)?, b.predict(&s.x, true)?);
        for (p, q) in ya.iter().zip(&yb) {
            worst = worst.max((p - q).abs());
        }
        let steps: Vec<(&[f32], &[f32])> = ya.chunks_exact(o).zip(yb.chunks_exact(o)).collect();
        let scored = match data.task {
            Task::Label => &steps[..],
            _ => &steps[steps.len().saturating_sub(1)..],
        };
        for (p, q) in scored {
            rows += 1;
            same += usize::from(predicted(p) == predicted(q));
        }
    }
    let mut text = format!("largest |logit difference| {worst:.3e} over every step");
    if data.task != Task::Regress {
        text += &format!(
            ", predicted class agrees on {same}/{rows} ({:.4})",
            same as f64 / rows.max(1) as f64
        );
    }
    Ok(text)
}

impl EvalArgs {
    /// `eval MODEL --data SERIES.csv --column NAME`: one-step-ahead MAE and RMSE (in the
    /// series' units) of a forecasting model over the whole series (and of the int8 model
    /// of `--quantized` beside it).
    fn eval_series(
        &self,
        net: &dyn Infer,
        quantized: Option<&dyn crate::qnet::QNet>,
        path: &std::path::Path,
        column: &str,
    ) -> Result<()> {
        let sizes = net.sizes();
        let series = crate::sequences::series::read(path, Some(column))?;
        let normalised = normalised_series(net, &self.model, &series.values)?;
        let m = net.evaluate_series(&normalised, 1, normalised.len());
        outln!(
            "model: {} ({}), forecasting {} value(s) ahead",
            sizes.describe(),
            net.weights_text(),
            sizes.outputs
        )?;
        outln!(
            "{} on {} ({column}, {} values): {} (one step ahead from step 1, the state carried from the start)",
            self.model.display(),
            path.display(),
            series.values.len(),
            super::fit::metric_text("", &m)
        )?;
        if let (Some(q), Some(qpath)) = (quantized, &self.quantized) {
            let mq = q.evaluate_series(&normalised, 1, normalised.len());
            outln!(
                "{} ({}): {}",
                qpath.display(),
                q.weights_text(),
                super::fit::metric_text("", &mq)
            )?;
        }
        Ok(())
    }
}

/// A series as a forecasting model `net` (the file `model`) sees it: differenced if the
/// model forecasts differences, then normalised with its scaling.
///
/// # Errors
/// `net` is not a forecasting model (one input, identity head).
pub(crate) fn normalised_series(
    net: &dyn Infer,
    model: &std::path::Path,
    values: &[f32],
) -> Result<Vec<f32>> {
    let sizes = net.sizes();
    if sizes.features != 1 || net.head() != lstm_kernel::HeadActivation::Identity {
        anyhow::bail!(
            "{}: {} (head {}) is not a forecasting model (one input, identity head)",
            model.display(),
            sizes.describe(),
            net.head().name()
        );
    }
    let (mean, scale) = net.scaling().map_or((0.0, 1.0), |s| (s[0][0], s[1][0]));
    let mut diff = lstm_kernel::Differencer::NEW;
    Ok(values
        .iter()
        .map(|&v| {
            // A differenced model sees changes; its error in a change is the error in
            // the value.
            let v = if net.differenced() { diff.input(v) } else { v };
            (v - mean) * scale
        })
        .collect())
}

/// The human line of `eval`: the model (`2 x gru(10) + Dense(1)`), each layer's recurrent
/// activation, and which maths ran against what the file stores (`--maths` overrides it).
fn summary(cell: LayerKind, layers: usize, stored: &[LayerSettings], ran: Maths) -> String {
    let mut acts: Vec<&str> = stored.iter().map(|s| s.activation.name()).collect();
    acts.dedup();
    let mut kept: Vec<&str> = stored.iter().map(|s| s.maths.name()).collect();
    kept.dedup();
    let flag = match ran {
        Maths::Fast => "--maths fast",
        _ => "--maths exact, the default",
    };
    format!(
        "model: {layers} x {}({HIDDEN}) + Dense(1) (a logit; sigmoid for the probability), \
         recurrent activation {}; ran with {} maths ({flag}; the file stores {})",
        cell.name(),
        acts.join(" / "),
        ran.name(),
        kept.join(" / ")
    )
}

/// A loss with 5 significant digits in scientific notation (`1.9000e-6`): a trained model's
/// loss is often far below what a fixed `{:.6}` shows (it printed `0.000000`).
pub fn loss_text(loss: f64) -> String {
    format!("{loss:.4e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_model_its_activation_and_both_maths() {
        let s = LayerSettings {
            activation: lstm_kernel::RecurrentActivation::HardSigmoidKeras3,
            maths: Maths::Exact,
        };
        let text = summary(
            LayerKind::Gru(lstm_kernel::GruVariant::ResetAfter),
            2,
            &[s, s],
            Maths::Fast,
        );
        assert!(
            text.contains("2 x gru(10) + Dense(1)")
                && text.contains("hard-sigmoid-keras3;")
                && text.contains("ran with fast maths (--maths fast; the file stores exact)"),
            "{text}"
        );
    }

    #[test]
    fn a_tiny_loss_is_printed_with_significant_digits_not_as_zero() {
        assert_eq!(loss_text(1.9e-6), "1.9000e-6");
        assert_eq!(loss_text(0.25), "2.5000e-1");
    }
}
