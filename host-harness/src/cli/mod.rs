//! The `lstm-harness` command line (clap derive).
//!
//! Each subcommand lives in its own module with an `Args` struct and a `run` method; adding
//! one (e.g. `train`, `eval`, `export`) takes a module, a [`Command`] variant and a match arm
//! in [`Command::run`].

pub mod eval;
pub mod experiments;
pub mod export;
pub mod fit;
pub mod inspect;
pub mod predict;
pub mod quantize;
pub mod train;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use lstm_kernel::{GruVariant, LayerKind, RecurrentActivation};

/// The largest `--epochs` accepted by `experiments` and `train` (one epoch of the slowest
/// experiment takes about a second; more than this is a typo, not an experiment).
pub const MAX_EPOCHS: u32 = 10_000;

/// The `--epochs` parser: an integer in `1..=MAX_EPOCHS` (clap reports anything else).
fn epochs_parser() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=i64::from(MAX_EPOCHS))
}

/// The `--layers` parser: stacked LSTM(10) layers of the post's model, 1 to
/// [`crate::model::MAX_LAYERS`] (clap reports anything else).
fn layers_parser() -> clap::builder::RangedI64ValueParser<u8> {
    clap::value_parser!(u8).range(1..=crate::model::MAX_LAYERS as i64)
}

/// Host harness for the stateful-LSTM kernel.
#[derive(Debug, Parser)]
#[command(name = "lstm-harness", version = crate::cpu::version_text(), about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Runs the chosen subcommand.
    ///
    /// # Errors
    /// Whatever the subcommand reports (bad input, I/O, divergence), as a message.
    pub fn run(self) -> Result<()> {
        self.command.run()
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reproduce the experiments of "Self-explanatory Examples of Stateful LSTMs".
    Experiments(experiments::ExperimentsArgs),
    /// Train the post's model (1 to 3 layers; from Keras' initialisation or a file) with an
    /// experiment's regime and save it (binary and/or safetensors).
    Train(train::TrainArgs),
    /// Score a saved model on freshly generated validation data.
    Eval(eval::EvalArgs),
    /// Convert a saved model to Rust source (weights in flash), binary or safetensors.
    Export(export::ExportArgs),
    /// Train a model of your sizes on your sequences (CSV or .npy): classification,
    /// regression or labelling, with early stopping on a validation split.
    Fit(fit::FitArgs),
    /// Stream sequences through a saved model and write every step's outputs as CSV.
    Predict(predict::PredictArgs),
    /// Quantize a float model to int8 weights and int16 state (for microcontrollers without
    /// an FPU), calibrated on your sequences, and compare its accuracy with the float model's.
    Quantize(quantize::QuantizeArgs),
    /// Show what a model file holds (format, tensors, layers, head, normalisation, the names
    /// mapped, warnings), or why it is refused, before anything is converted.
    Inspect(inspect::InspectArgs),
}

impl Command {
    /// Runs this subcommand.
    ///
    /// # Errors
    /// Whatever the subcommand reports, as a message.
    pub fn run(self) -> Result<()> {
        match self {
            Self::Experiments(args) => args.run(),
            Self::Train(args) => args.run(),
            Self::Eval(args) => args.run(),
            Self::Export(args) => args.run(),
            Self::Fit(args) => args.run(),
            Self::Predict(args) => args.run(),
            Self::Inspect(args) => args.run(),
            Self::Quantize(args) => args.run(),
        }
    }
}

/// The `--recurrent-activation` values (the activation of gates i, f, o).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    /// Logistic sigmoid: Keras 2/3 and PyTorch's default.
    #[default]
    Sigmoid,
    /// `clip(0.2 x + 0.5, 0, 1)`: old Keras' `hard_sigmoid`, the post's default.
    HardSigmoidKeras2,
    /// `clip(x / 6 + 0.5, 0, 1)`: Keras 3's `hard_sigmoid`.
    HardSigmoidKeras3,
}

impl From<ActivationArg> for RecurrentActivation {
    fn from(a: ActivationArg) -> Self {
        match a {
            ActivationArg::Sigmoid => Self::Sigmoid,
            ActivationArg::HardSigmoidKeras2 => Self::HardSigmoidKeras2,
            ActivationArg::HardSigmoidKeras3 => Self::HardSigmoidKeras3,
        }
    }
}

/// The `--cell` values: the recurrent cell of every layer of the post's model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum CellArg {
    /// LSTM (the post's; gates i, f, g, o).
    #[default]
    Lstm,
    /// GRU with the reset gate after the recurrent product: PyTorch `nn.GRU`, Keras
    /// `GRU(reset_after=True)` (Keras 3's default).
    Gru,
    /// GRU with the reset gate before the recurrent product: Keras `GRU(reset_after=False)`.
    GruResetBefore,
}

impl From<CellArg> for LayerKind {
    fn from(c: CellArg) -> Self {
        match c {
            CellArg::Lstm => Self::Lstm,
            CellArg::Gru => Self::Gru(GruVariant::ResetAfter),
            CellArg::GruResetBefore => Self::Gru(GruVariant::ResetBefore),
        }
    }
}

/// How a command reads a safetensors or PyTorch model file ([`crate::files::ReadOptions`]):
/// `--map OLD=NEW` renames for names the mapping by role and shape
/// ([`crate::files::names`]) cannot resolve (two dense layers that could be the head,
/// modules whose names do not sort bottom first), and `--assume-activation` for a file that
/// does not say its recurrent activation.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ImportArgs {
    /// Rename a tensor of MODEL before reading it (repeatable): a whole name
    /// (`--map fc2.weight=linear.weight`) or, when OLD ends in `.` or `/`, a prefix
    /// (`--map encoder.=lstm.`).
    #[arg(long = "map", value_name = "OLD=NEW")]
    pub map: Vec<crate::files::names::Rename>,

    /// The recurrent activation of MODEL's layers when the file does not say (a
    /// safetensors or PyTorch file without this tool's metadata) [default: sigmoid, with a
    /// warning]; a file that says another is refused.
    #[arg(long, value_enum, value_name = "A")]
    pub assume_activation: Option<ActivationArg>,

    /// The architecture of a Keras weights file MODEL (`.weights.h5`, or Keras 2's
    /// weights-only `.h5`): a model config as JSON (a `.keras` archive's `config.json`, or
    /// `model.to_json()`), read as a `.keras` archive's is; refused for other formats.
    #[arg(long, value_name = "JSON")]
    pub config: Option<std::path::PathBuf>,
}

impl ImportArgs {
    /// The options of [`crate::files::read_bin`].
    pub fn options(&self) -> crate::files::ReadOptions {
        crate::files::ReadOptions {
            renames: self.map.clone(),
            activation: self.assume_activation.map(Into::into),
            config: self.config.clone(),
        }
    }
}

/// Refuses to write `model` under PyTorch names when PyTorch cannot run its recurrent
/// activation ([`crate::files::safetensors::torch_runs`]); with `force` (the user insisted)
/// writes a loud warning to stderr instead.
///
/// # Errors
/// As `torch_runs`, without `force`.
fn torch_activation_ok<V: crate::files::view::ModelView + ?Sized>(
    model: &V,
    anyway: bool,
) -> Result<()> {
    match crate::files::safetensors::torch_runs(model) {
        Err(e) if anyway => {
            eprintln!("WARNING: {e:#} (written anyway: --torch-names-anyway)");
            Ok(())
        }
        r => r,
    }
}

/// The cell of the model in `path` ([`crate::files::cell_of_file`]), checked against a
/// `--cell` the user gave before anything is loaded.
///
/// # Errors
/// As [`crate::files::cell_of_file`] (e.g. a file of mixed cells), or `given` differs
/// from the file's cell ([`check_cell`]).
fn cell_or_file(
    given: Option<CellArg>,
    path: &std::path::Path,
    options: &crate::files::ReadOptions,
) -> Result<LayerKind> {
    let file = crate::files::cell_of_file(path, options)?;
    check_cell(given, file, path)?;
    Ok(file)
}

/// Refuses a model whose cell differs from a `--cell` the user gave (a file's GRU variant
/// is read from the file, so `--cell gru` on a reset-before file would otherwise be
/// silently overridden).
///
/// # Errors
/// `given` is `Some` and differs from `found`; the message names both.
fn check_cell(given: Option<CellArg>, found: LayerKind, path: &std::path::Path) -> Result<()> {
    match given.map(LayerKind::from) {
        Some(want) if want != found => anyhow::bail!(
            "{}: the model's layers are {}, --cell says {} (omit --cell to take the file's, \
             or pass --cell {})",
            path.display(),
            found.name(),
            want.name(),
            found.name()
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::activation_name;

    #[test]
    fn activation_values_are_named_like_the_json_field() {
        for a in ActivationArg::value_variants() {
            let name = a.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(name.as_deref(), activation_name((*a).into()));
        }
    }

    #[test]
    fn cell_values_are_the_kernel_kind_names() {
        for c in CellArg::value_variants() {
            let name = c.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(name.as_deref(), Some(LayerKind::from(*c).name()));
        }
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
