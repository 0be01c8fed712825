//! `lstm-harness export MODEL --format rust|bin|safetensors --out PATH`: convert a saved
//! model; `rust` writes a source file whose `static MODEL` keeps the weights in flash.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use crate::data::{Dataset, SEQ_LEN};
use crate::files::rust_src::{ValData, rust_source};
use crate::files::{Format, binfile, load, safetensors, save};
use crate::fsutil::check_output;
use crate::progress::{outln, unless_stdout_closed};

/// Arguments of `lstm-harness export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model file to export (binary or safetensors, detected by content).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// Output format.
    #[arg(long, value_enum, value_name = "F")]
    pub format: Format,

    /// Output path.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Rust only: also embed the 200 validation sequences (inputs `VAL_X`, targets
    /// `VAL_Y`) of the data set of this seed, for an on-device accuracy check.
    #[arg(long, value_name = "S")]
    pub val_data_seed: Option<u64>,

    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
}

impl ExportArgs {
    /// Loads the model and writes it in the chosen format (atomically; an existing file
    /// only with `--force`).
    ///
    /// # Errors
    /// The input is refused; the output is a directory, exists without `--force` or
    /// cannot be created (checked first); `--val-data-seed` is given for a non-Rust
    /// format; or the write fails.
    pub fn run(self) -> Result<()> {
        check_output("--out", &self.out, self.force)?;
        if self.val_data_seed.is_some() && self.format != Format::Rust {
            bail!("--val-data-seed only applies to --format rust");
        }
        let (model, _) = load(&self.model)?;
        let bytes = match self.format {
            Format::Bin => binfile::to_bytes(&model)?,
            Format::Safetensors => safetensors::to_torch_bytes(&model)?,
            Format::Rust => {
                let data = self.val_data_seed.map(Dataset::generate);
                let (xs, ys): (Vec<_>, Vec<f32>) = data
                    .as_ref()
                    .map(|d| d.val().iter().map(|s| (s.xs, s.y)).unzip())
                    .unwrap_or_default();
                let val = data
                    .as_ref()
                    .map(|_| ValData::<1, SEQ_LEN> { xs: &xs, ys: &ys });
                let mut origin = self.model.display().to_string();
                if let Some(s) = self.val_data_seed {
                    origin.push_str(&format!(", validation data of seed {s}"));
                }
                rust_source(&model, &origin, val)?.into_bytes()
            }
        };
        save(&self.out, &bytes, self.force)?;
        unless_stdout_closed(outln!(
            "wrote {} ({} bytes)",
            self.out.display(),
            bytes.len()
        ))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::keras_model;
    use lstm_kernel::RecurrentActivation;
    use std::fs;

    #[test]
    fn export_to_a_directory_is_refused_with_a_clear_message_even_with_force() {
        let d = std::env::temp_dir().join(format!("lstm-cli-export-dir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("out")).unwrap();
        let model = d.join("m.bin");
        let bytes = binfile::to_bytes(&keras_model(1, RecurrentActivation::Sigmoid)).unwrap();
        fs::write(&model, bytes).unwrap();
        for force in [false, true] {
            let e = ExportArgs {
                model: model.clone(),
                format: Format::Rust,
                out: d.join("out"),
                val_data_seed: None,
                force,
            }
            .run()
            .unwrap_err();
            let e = format!("{e:#}");
            assert!(e.contains("--out") && e.contains("is a directory"), "{e}");
        }
        assert_eq!(fs::read_dir(d.join("out")).unwrap().count(), 0);
        fs::remove_dir_all(&d).unwrap();
    }
}
