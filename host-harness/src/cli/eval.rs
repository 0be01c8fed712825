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
    /// The model file: a binary model file, safetensors, a PyTorch .pt/.pth state dict, a Keras .keras, .h5 or
    /// .weights.h5, or an ONNX .onnx; detected by content.
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
    /// targets' units) on the sequences, a confusion matrix for a classifier.
    fn eval_data(&self) -> Result<()> {
        use crate::fit::Task;
        let Some(path) = &self.data else {
            return Ok(());
        };
        let net = super::predict::load_net(&self.model, &self.import.options())?;
        let sizes = net.sizes();
        if let Some(column) = &self.column {
            return self.eval_series(&*net, path, column);
        }
        if self.task == Some(super::fit::TaskArg::Forecast) {
            anyhow::bail!("--task forecast scores a series: give --column NAME");
        }
        let set = super::fit::read_set(path)
            .map_err(|e| super::predict::series_hint(e, sizes.features))?;
        if set.feature_count() != sizes.features {
            anyhow::bail!(
                "{}: {} features per step, the model {} takes {}",
                path.display(),
                set.feature_count(),
                self.model.display(),
                sizes.features
            );
        }
        let task = match self.task {
            Some(t) => t.task().ok_or_else(|| {
                anyhow::anyhow!(
                    "eval --data scores sequences; a forecasting model is scored by fit (--test or --test-last)"
                )
            })?,
            None if net.head() == lstm_kernel::HeadActivation::Identity => Task::Regress,
            None => Task::Classify,
        };
        let head = net.head();
        match task {
            Task::Regress
                if matches!(
                    head,
                    lstm_kernel::HeadActivation::Sigmoid | lstm_kernel::HeadActivation::Softmax
                ) =>
            {
                anyhow::bail!(
                    "{}: a classifier ({} outputs, head {}); --task regress needs a regression model (head identity)",
                    self.model.display(),
                    sizes.outputs,
                    head.name()
                )
            }
            Task::Classify | Task::Label if head == lstm_kernel::HeadActivation::Identity => {
                anyhow::bail!(
                    "{}: a regression model (head identity); --task {} needs a classifier",
                    self.model.display(),
                    task.name()
                )
            }
            Task::Regress if sizes.outputs != 1 => anyhow::bail!(
                "{}: {} outputs; --task regress scores one value per sequence",
                self.model.display(),
                sizes.outputs
            ),
            _ => {}
        }
        let identity = [
            vec![0.0; sizes.features],
            vec![1.0; sizes.features],
            vec![1.0; sizes.outputs],
            vec![0.0; sizes.outputs],
        ];
        let scaling = net.scaling().cloned().unwrap_or(identity);
        let targets = super::fit::targets(&set, task, sizes.outputs)?;
        let samples = super::fit::samples(&set, &targets, &scaling);
        let m = net.evaluate(task, &samples)?;
        outln!(
            "model: {} ({} parameters, head {}), task {}",
            sizes.describe(),
            net.param_count(),
            net.head().name(),
            task.name()
        )?;
        outln!(
            "{} on {}: {} ({} sequences)",
            self.model.display(),
            path.display(),
            super::fit::metric_text("", &m),
            samples.len()
        )?;
        if task == Task::Classify {
            let classes = if sizes.outputs == 1 { 2 } else { sizes.outputs };
            super::fit::print_confusion(&*net, &set, sizes.outputs, classes)?;
        }
        Ok(())
    }
}

impl EvalArgs {
    /// `eval MODEL --data SERIES.csv --column NAME`: one-step-ahead MAE and RMSE (in the
    /// series' units) of a forecasting model over the whole series.
    fn eval_series(
        &self,
        net: &dyn crate::menu::Net,
        path: &std::path::Path,
        column: &str,
    ) -> Result<()> {
        let sizes = net.sizes();
        if sizes.features != 1 || net.head() != lstm_kernel::HeadActivation::Identity {
            anyhow::bail!(
                "{}: {} (head {}) is not a forecasting model (one input, identity head)",
                self.model.display(),
                sizes.describe(),
                net.head().name()
            );
        }
        let series = crate::sequences::series::read(path, Some(column))?;
        let (mean, scale) = net.scaling().map_or((0.0, 1.0), |s| (s[0][0], s[1][0]));
        let mut diff = lstm_kernel::Differencer::NEW;
        let normalised: Vec<f32> = series
            .values
            .iter()
            .map(|&v| {
                // A differenced model sees changes; its error in a change is the error in
                // the value.
                let v = if net.differenced() { diff.input(v) } else { v };
                (v - mean) * scale
            })
            .collect();
        let m = net.evaluate_series(&normalised, 1, normalised.len());
        outln!(
            "model: {} ({} parameters), forecasting {} value(s) ahead",
            sizes.describe(),
            net.param_count(),
            sizes.outputs
        )?;
        outln!(
            "{} on {} ({column}, {} values): {} (one step ahead from step 1, the state carried from the start)",
            self.model.display(),
            path.display(),
            series.values.len(),
            super::fit::metric_text("", &m)
        )
    }
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
