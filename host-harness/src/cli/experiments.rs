//! `lstm-harness experiments`: run the post's experiments, print Keras-style epoch lines
//! and a summary table, optionally write a JSON report.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::{ActivationArg, CellArg};
use crate::data::Dataset;
use crate::experiment::{Experiment, ExperimentConfig, run_layers};
use crate::fsutil::check_output;
use crate::model::{HIDDEN, activation_name};
use crate::progress::{Console, outln, unless_stdout_closed, write_stdout};
use crate::report::{summary_table, write_json};

/// The default `--seed`.
pub const DEFAULT_SEED: u64 = 42;

/// Arguments of `lstm-harness experiments`.
#[derive(Debug, Args)]
pub struct ExperimentsArgs {
    /// Experiments to run, in the given order [default: all five, in the post's order].
    #[arg(value_enum, value_name = "NAMES")]
    pub names: Vec<Experiment>,

    /// Train every chosen experiment for N epochs instead of the post's count
    /// (stateless/stateful windows 15, stateful per-step 2, stateless per-step 3, full
    /// sequence 15). N is 1 to 10000.
    #[arg(long, value_name = "N", value_parser = super::epochs_parser())]
    pub epochs: Option<u32>,

    /// Seed of the data and of the weight initialisation (separate streams of it).
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SEED)]
    pub seed: u64,

    /// Also write the results to this JSON file (atomically: temp file + rename). An
    /// existing file is replaced only with `--force`; the path is checked before training.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Overwrite an existing `--json` file.
    #[arg(long, requires = "json")]
    pub force: bool,

    /// Activation of the gates (LSTM: i, f, o; GRU: r, z). The default is sigmoid (Keras 3
    /// and PyTorch); the post used old Keras' hard sigmoid (`hard-sigmoid-keras2`).
    #[arg(long, value_enum, value_name = "A", default_value_t = ActivationArg::Sigmoid)]
    pub recurrent_activation: ActivationArg,

    /// Stacked LSTM(10) (or GRU(10)) layers under the Dense(1) head: 1 (the post's model)
    /// to 3.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = super::layers_parser())]
    pub layers: u8,

    /// The recurrent cell of every layer: the post's LSTM, or a GRU (`gru`: PyTorch /
    /// Keras reset_after=True; `gru-reset-before`: Keras reset_after=False).
    #[arg(long, value_enum, value_name = "CELL", default_value_t = CellArg::Lstm)]
    pub cell: CellArg,
}

impl ExperimentsArgs {
    /// Runs the chosen experiments one after the other on the data of `--seed`.
    ///
    /// # Errors
    /// The `--json` path is a directory, exists without `--force`, or its directory does
    /// not exist or takes no new file (all checked before training); training diverged; or
    /// the JSON file cannot be written.
    pub fn run(self) -> Result<()> {
        if let Some(path) = &self.json {
            check_output("--json", path, self.force)?;
        }
        let chosen = if self.names.is_empty() {
            Experiment::ALL.to_vec()
        } else {
            self.names.clone()
        };
        // With --json the file is the product: a closed stdout does not stop the run (the
        // lines are dropped); without, it ends the run quietly (`| head`).
        let keep_going = self.json.is_some();
        let say = |printed: Result<()>| {
            if keep_going {
                unless_stdout_closed(printed)
            } else {
                printed
            }
        };
        say(outln!("{}", crate::cpu::kernels_line()))?;
        let data = Dataset::generate(self.seed);
        let started = Instant::now();
        let mut reports = Vec::with_capacity(chosen.len());
        for experiment in chosen {
            let config = ExperimentConfig {
                epochs: self
                    .epochs
                    .map_or(experiment.default_epochs(), |e| e as usize),
                activation: self.recurrent_activation.into(),
                cell: self.cell.into(),
                ..ExperimentConfig::new(experiment, self.seed)
            };
            say(outln!(
                "\n== {}: {} ({} x {}({HIDDEN}), {} epochs, seed {}, {} recurrent activation; \
                 the post: {})",
                experiment.name(),
                experiment.setup(),
                self.layers,
                config.cell.name(),
                config.epochs,
                self.seed,
                activation_name(config.activation)
                    .map_or_else(|| format!("{:?}", config.activation), str::to_string),
                experiment.post_result()
            ))?;
            let mut console = if keep_going {
                Console::keep_going()
            } else {
                Console::new()
            };
            let report = run_layers(&config, self.layers.into(), &data, &mut console)?;
            reports.push(report);
        }
        say(outln!(
            "\nSummary (accuracies of the last epoch; us/update and updates/s are per optimizer \
             update, us/step per recurrent time step processed in training; training time only)\n"
        ))?;
        say(write_stdout(format_args!("{}", summary_table(&reports))))?;
        say(outln!(
            "\nTotal wall time: {:.2} s",
            started.elapsed().as_secs_f64()
        ))?;
        if let Some(path) = &self.json {
            write_json(path, &reports, self.force)?;
            say(outln!("Wrote {}", path.display()))?;
        }
        Ok(())
    }
}
