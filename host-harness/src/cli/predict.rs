//! `lstm-harness predict MODEL --data PATH [--out FILE] [--logits]`: stream sequences
//! through a saved model (any size of the menu), statefully, the state reset at the start
//! of each sequence, and write every step's outputs as CSV.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use super::fit::read_set;
use crate::files::{ReadOptions, read_bin, save};
use crate::fsutil::check_output;
use crate::menu::{self, Net, Sizes};
use crate::progress::{outln, unless_stdout_closed, write_stdout};

/// Arguments of `lstm-harness predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model file, of any size of the menu: a binary model file (f32, or int8 from `quantize`), safetensors, a PyTorch .pt/.pth state
    /// dict, a Keras .keras, .h5 or .weights.h5, or an ONNX .onnx; detected by content.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// How a safetensors or PyTorch MODEL is read.
    #[command(flatten)]
    pub import: super::ImportArgs,
    /// The sequences: long-format CSV `sequence,step,<features>` (a last `label` column, if
    /// any, is not read) or the `X_<split>.npy` of a trio.
    #[arg(long, value_name = "PATH")]
    pub data: PathBuf,
    /// Write the CSV here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the head's raw logits (before de-normalisation and the head activation).
    #[arg(long)]
    pub logits: bool,
    /// Read --data as one series, this CSV column (a forecasting model's input): one
    /// sequence named `0`, the output after step t forecasting the values after t.
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
}

/// `e` (reading `--data` as sequences failed) with, for a model of one input (which a
/// forecasting model is), the hint that a series is read with `--column`.
pub(crate) fn series_hint(e: anyhow::Error, features: usize) -> anyhow::Error {
    if features == 1 {
        e.context("reading --data as sequences (for a forecasting model, give --column NAME to read it as a series)")
    } else {
        e
    }
}

/// Loads a model file of any menu size and any format ([`crate::files::read_bin`]: the
/// kernel's binary file, safetensors, a PyTorch state dict), with its scaling and head
/// activation.
///
/// # Errors
/// The file cannot be read or is refused, or has sizes outside the menu.
pub fn load_net(path: &Path, options: &ReadOptions) -> Result<Box<dyn Net>> {
    let file = read_bin(path, options)?;
    let parsed = lstm_kernel::io::parse(&file.bin).with_context(|| path.display().to_string())?;
    let sizes = Sizes::of_file(&parsed).with_context(|| path.display().to_string())?;
    let mut net = menu::build(sizes)?;
    net.load(&parsed)?;
    file.print_notes(path);
    Ok(net)
}

impl PredictArgs {
    /// Loads the model and the data, checks that their features agree, and writes
    /// `sequence,step,y0,...` (probabilities for a classifier, values for a regressor, or
    /// `--logits`).
    ///
    /// # Errors
    /// A bad model or data file, features that are not the model's inputs, or an output
    /// that exists without `--force`.
    pub fn run(self) -> Result<()> {
        if let Some(o) = &self.out {
            check_output("--out", o, self.force)?;
        }
        menu::with_big_stack(move || self.predict())
    }

    fn predict(&self) -> Result<()> {
        let net = super::eval::load_infer(&self.model, &self.import.options())?;
        let set = match &self.column {
            Some(c) => {
                let s = crate::sequences::series::read(&self.data, Some(c))?;
                crate::sequences::SequenceSet {
                    source: s.source,
                    features: vec![s.column],
                    sequences: vec![crate::sequences::Sequence {
                        name: "0".into(),
                        labels: vec![0.0; s.values.len()],
                        x: s.values,
                    }],
                }
            }
            None => match self.data.extension().and_then(|e| e.to_str()) {
                Some("npy") => read_set(&self.data),
                _ => crate::sequences::csv_long::read_inputs(&self.data),
            }
            .map_err(|e| series_hint(e, net.sizes().features))?,
        };
        let sizes = net.sizes();
        if set.feature_count() != sizes.features {
            bail!(
                "{}: {} features per step, the model {} takes {}",
                self.data.display(),
                set.feature_count(),
                self.model.display(),
                sizes.features
            );
        }
        let mut csv = String::from("sequence,step");
        for k in 0..sizes.outputs {
            write!(csv, ",y{k}")?;
        }
        csv.push('\n');
        for s in &set.sequences {
            let out = net.predict(&s.x, self.logits)?;
            for (t, row) in out.chunks_exact(sizes.outputs).enumerate() {
                write!(csv, "{},{t}", s.name)?;
                for v in row {
                    write!(csv, ",{v}")?;
                }
                csv.push('\n');
            }
        }
        match &self.out {
            Some(path) => {
                save(path, csv.as_bytes(), self.force)?;
                unless_stdout_closed(outln!(
                    "wrote {} ({} sequences, {} outputs per step)",
                    path.display(),
                    set.sequences.len(),
                    sizes.outputs
                ))
            }
            None => unless_stdout_closed(write_stdout(format_args!("{csv}"))),
        }
    }
}
