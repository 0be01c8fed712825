//! `lstm-harness quantize MODEL --calibrate PATH --out FILE`: post-training quantization of
//! a float model of the size menu (any format) to the int8 scheme of
//! [`lstm_kernel::quant`], calibrated on representative sequences, and its accuracy beside
//! the float model's.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use super::eval::{ScoredData, compare_text, normalised_series};
use crate::files::save;
use crate::fsutil::check_output;
use crate::menu::{self, Infer, Sample};
use crate::progress::outln;

/// Arguments of `lstm-harness quantize`.
#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// The float model, of any size of the menu and any format `eval` reads.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// How a safetensors or PyTorch MODEL is read.
    #[command(flatten)]
    pub import: super::ImportArgs,
    /// Representative sequences (labelled CSV or `.npy`, as `fit` reads them; usually the
    /// training data): every step of every sequence is run through MODEL, and the largest
    /// input per channel and cell state per layer set the int8 model's ranges (times 1.25).
    #[arg(long, value_name = "PATH")]
    pub calibrate: PathBuf,
    /// Read --calibrate (and --test) as one series, this CSV column (a forecasting model).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Score both models on these labelled sequences (or series) [default: the
    /// calibration data].
    #[arg(long, value_name = "PATH")]
    pub test: Option<PathBuf>,
    /// What the labels mean [default: regress for a model whose head is the identity,
    /// classify otherwise].
    #[arg(long, value_enum, value_name = "TASK", conflicts_with = "column")]
    pub task: Option<super::fit::TaskArg>,
    /// The int8 model file to write (the binary format, dtype 2: `eval --data`, `predict`
    /// and the kernel's `quant::file` read it).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
}

impl QuantizeArgs {
    /// Loads, calibrates, quantizes, writes the int8 file and reports both models.
    ///
    /// # Errors
    /// A bad model or data file, a model the int8 scheme cannot hold, or an output that
    /// exists without `--force`.
    pub fn run(self) -> Result<()> {
        check_output("--out", &self.out, self.force)?;
        for (flag, input) in [
            ("MODEL", Some(&self.model)),
            ("--calibrate", Some(&self.calibrate)),
            ("--test", self.test.as_ref()),
        ] {
            if let Some(input) = input
                && same_file(input, &self.out)
            {
                bail!(
                    "--out {} is {flag}: the int8 file would replace it; give another path",
                    self.out.display()
                );
            }
        }
        menu::with_big_stack(move || self.quantize())
    }

    fn quantize(&self) -> Result<()> {
        let head = crate::files::read_limited(&self.model, crate::files::MAX_MODEL_FILE_BYTES)?;
        if crate::qnet::is_int8_file(&head) {
            bail!(
                "{} is already an int8 model (quantize takes the f32 model it came from)",
                self.model.display()
            );
        }
        let net = super::predict::load_net(&self.model, &self.import.options())?;
        let sizes = net.sizes();
        let calibration: Vec<Sample> = match &self.column {
            Some(c) => {
                let s = crate::sequences::series::read(&self.calibrate, Some(c))?;
                vec![Sample {
                    x: normalised_series(&*net, &self.model, &s.values)?,
                    y: vec![0.0; sizes.outputs],
                }]
            }
            None => {
                ScoredData::read(&*net, &self.model, &self.calibrate, self.task)
                    .map_err(|e| e.context(format!("--calibrate {}", self.calibrate.display())))?
                    .samples
            }
        };
        let steps: usize = calibration.iter().map(|s| s.x.len() / sizes.features).sum();
        if steps == 0 {
            bail!(
                "--calibrate {}: no step to calibrate on",
                self.calibrate.display()
            );
        }
        // The scoring data is read and checked before anything is written.
        let scoring = self.scoring(&*net)?;
        let q = net.quantize(&calibration)?;
        let bytes = q.to_bytes()?;
        save(&self.out, &bytes, self.force)?;
        let cells: Vec<String> = q
            .cell_formats()
            .iter()
            .map(|c| {
                c.map_or("none (GRU)".into(), |c| {
                    format!("Q{}.{}", 15 - c.frac(), c.frac())
                })
            })
            .collect();
        let f32_bytes = crate::files::binfile::to_bytes(&*net.view())?.len();
        outln!(
            "model: {} ({}); calibrated on {} steps of {} sequence(s) of {}",
            sizes.describe(),
            net.weights_text(),
            steps,
            calibration.len(),
            self.calibrate.display()
        )?;
        outln!(
            "int8: weights int8 per row, h Q0.15, cell state per layer {}, gates Q3.12, outputs Q19.12",
            cells.join(" / ")
        )?;
        outln!(
            "wrote {} ({} bytes; the f32 file is {} bytes, {:.2}x)",
            self.out.display(),
            bytes.len(),
            f32_bytes,
            bytes.len() as f64 / f32_bytes as f64
        )?;
        self.report(&*net, &*q, &scoring)
    }

    /// The data both models are scored on: `--test`, or the calibration data (read again,
    /// labelled), with errors naming the flag.
    fn scoring(&self, net: &dyn Infer) -> Result<Scoring> {
        let (flag, path) = match &self.test {
            Some(t) => ("--test", t),
            None => ("--calibrate", &self.calibrate),
        };
        let named = |e: anyhow::Error| e.context(format!("{flag} {}", path.display()));
        match &self.column {
            Some(c) => {
                let s = crate::sequences::series::read(path, Some(c)).map_err(named)?;
                Ok(Scoring::Series(
                    normalised_series(net, &self.model, &s.values).map_err(named)?,
                ))
            }
            None => Ok(Scoring::Sequences(
                ScoredData::read(net, &self.model, path, self.task).map_err(named)?,
            )),
        }
    }

    /// Both models' metrics on the scoring data and their distance.
    fn report(&self, net: &dyn Infer, q: &dyn Infer, scoring: &Scoring) -> Result<()> {
        let which = if self.test.is_some() {
            "--test"
        } else {
            "the calibration data"
        };
        match scoring {
            Scoring::Series(series) => {
                let n = series.len();
                let (mf, mq) = (
                    net.evaluate_series(series, 1, n),
                    q.evaluate_series(series, 1, n),
                );
                outln!("f32  on {which}: {}", super::fit::metric_text("", &mf))?;
                outln!("int8 on {which}: {}", super::fit::metric_text("", &mq))
            }
            Scoring::Sequences(data) => {
                let mf = net.evaluate(data.task, &data.samples)?;
                let mq = q.evaluate(data.task, &data.samples)?;
                outln!(
                    "f32  on {which} ({} sequences): {}",
                    data.samples.len(),
                    super::fit::metric_text("", &mf)
                )?;
                outln!(
                    "int8 on {which} ({} sequences): {}",
                    data.samples.len(),
                    super::fit::metric_text("", &mq)
                )?;
                outln!("{}", compare_text(net, q, data)?)
            }
        }
    }
}

/// What `quantize` scores both models on.
enum Scoring {
    /// A normalised series (one step ahead).
    Series(Vec<f32>),
    /// Labelled sequences.
    Sequences(ScoredData),
}

/// Whether `a` and `b` name one existing file (`b` may not exist yet).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
