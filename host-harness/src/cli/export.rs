//! `lstm-harness export MODEL [--format rust|bin|safetensors|safetensors-keras] --out PATH`:
//! convert a saved model; `rust` writes a source file whose `static MODEL` keeps the weights
//! in flash. Without `--format` the extension of PATH chooses (`.rs`, `.bin`,
//! `.safetensors` with PyTorch names).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use lstm_kernel::{Dense, Model};

use crate::data::{Dataset, SEQ_LEN};
use crate::files::rust_src::{ValData, rust_source};
use crate::files::{Format, binfile, load_into, safetensors, save};
use crate::fsutil::check_output;
use crate::model::{PostLayers, PostModel, with_layers};
use crate::progress::{outln, unless_stdout_closed};

/// Whether the model in `path` (any format, [`crate::files::read_bin`]) is one the post's
/// route does not serve: other sizes than `(1 -> 10) ... Dense(10 -> 1)`, or a scaling
/// block, differencing or head activation (from `fit`).
///
/// # Errors
/// The file cannot be read or is refused.
fn is_menu_file(path: &std::path::Path, options: &crate::files::ReadOptions) -> Result<bool> {
    let file = crate::files::read_bin(path, options)?;
    let h = lstm_kernel::io::parse(&file.bin)?.header();
    Ok(h.scaled
        || h.differenced
        || h.head != lstm_kernel::HeadActivation::Unspecified
        || h.input != 1
        || h.output != 1
        || h.layers()
            .iter()
            .any(|l| l.hidden != crate::model::HIDDEN as u32))
}

/// Arguments of `lstm-harness export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model file to export: a binary model file, safetensors, a PyTorch .pt/.pth state dict, a Keras .keras, .h5 or
    /// .weights.h5, or an ONNX .onnx; detected by content.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// Output format [default: from the extension of --out: `.rs` rust, `.bin` bin,
    /// `.safetensors` safetensors (PyTorch names); Keras names need
    /// `--format safetensors-keras`].
    #[arg(long, value_enum, value_name = "F")]
    pub format: Option<Format>,

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

    /// Write a model whose recurrent activation is not the sigmoid under PyTorch names
    /// anyway (`nn.LSTM`/`nn.GRU` would run it with the sigmoid and compute other outputs;
    /// the metadata records the activation). Refused without it.
    #[arg(long)]
    pub torch_names_anyway: bool,

    /// Stacked LSTM(10) or GRU(10) layers in MODEL, 1 to 3 [default: the file's own count,
    /// read from its layer table or tensor names]; a file with another count is refused
    /// with both.
    #[arg(long, value_name = "N", value_parser = super::layers_parser())]
    pub layers: Option<u8>,

    /// The cell of MODEL's layers [default: the file's, from its layer table or tensor
    /// names]; a file of another cell (or GRU variant) is refused with both.
    #[arg(long, value_enum, value_name = "CELL")]
    pub cell: Option<super::CellArg>,

    /// How a safetensors or PyTorch MODEL is read.
    #[command(flatten)]
    pub import: super::ImportArgs,
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
        let format = self.format()?;
        if self.val_data_seed.is_some() && format != Format::Rust {
            bail!("--val-data-seed only applies to --format rust");
        }
        let head = crate::files::read_limited(&self.model, crate::files::MAX_MODEL_FILE_BYTES)?;
        if crate::qnet::is_int8_file(&head) {
            return crate::menu::with_big_stack(move || self.export_int8(format, &head));
        }
        if is_menu_file(&self.model, &self.import.options())? {
            return crate::menu::with_big_stack(move || self.export_menu(format));
        }
        let cell = super::cell_or_file(self.cell, &self.model, &self.import.options())?;
        let layers =
            crate::files::layers_or_file(self.layers, &self.model, &self.import.options())?;
        with_layers!(cell, layers, R => self.export::<R>())
    }

    /// [`Self::run`] for a model file of any menu size and format (e.g. from `fit`): written at its
    /// true sizes with its head activation and scaling (Rust source: `HEAD`, `SCALING`,
    /// `predict_step`; safetensors: the weights, and the rest in its metadata).
    fn export_menu(&self, format: Format) -> Result<()> {
        if self.val_data_seed.is_some() {
            bail!(
                "--val-data-seed embeds the post's data (1 input per step); {} is a model of other sizes",
                self.model.display()
            );
        }
        let net = super::predict::load_net(&self.model, &self.import.options())?;
        let sizes = net.sizes();
        if let Some(l) = self.layers
            && usize::from(l) != sizes.layers
        {
            bail!(
                "{}: {} layers, --layers says {l}",
                self.model.display(),
                sizes.layers
            );
        }
        super::check_cell(self.cell, sizes.cell, &self.model)?;
        let view = net.view();
        let bytes = match format {
            Format::Bin => binfile::to_bytes(&*view)?,
            Format::Safetensors => {
                super::torch_activation_ok(&*view, self.torch_names_anyway)?;
                safetensors::to_torch_bytes(&*view)?
            }
            Format::SafetensorsKeras => safetensors::to_keras_bytes(&*view)?,
            Format::Rust => {
                rust_source::<_, 1, 1>(&*view, &self.model.display().to_string(), None)?
                    .into_bytes()
            }
        };
        save(&self.out, &bytes, self.force)?;
        let note = if net.scaling().is_some()
            && matches!(format, Format::Safetensors | Format::SafetensorsKeras)
        {
            " (its normalisation is in the metadata, input_mean ... output_mean, for PyTorch or Keras to apply; this tool reads the model from its .bin, not from this file)"
        } else {
            ""
        };
        unless_stdout_closed(outln!(
            "wrote {} ({} bytes, {}){note}",
            self.out.display(),
            bytes.len(),
            sizes.describe()
        ))
    }

    /// [`Self::run`] for an int8 model file (`quantize`): Rust source (int8 `static`s) or
    /// the binary file again; safetensors has no int8 form here and is refused.
    fn export_int8(&self, format: Format, bytes: &[u8]) -> Result<()> {
        if self.val_data_seed.is_some() {
            bail!(
                "--val-data-seed embeds f32 validation data; {} is an int8 model",
                self.model.display()
            );
        }
        let q = crate::qnet::load(&self.model, bytes)?;
        let sizes = crate::menu::Infer::sizes(&*q);
        super::check_cell(self.cell, sizes.cell, &self.model)?;
        let out = match format {
            Format::Rust => q
                .rust_source(&self.model.display().to_string())?
                .into_bytes(),
            Format::Bin => q.to_bytes()?,
            Format::Safetensors | Format::SafetensorsKeras => bail!(
                "{} is an int8 model: it exports as Rust source (.rs) or the binary file (.bin); safetensors holds the f32 model it was quantized from",
                self.model.display()
            ),
        };
        save(&self.out, &out, self.force)?;
        unless_stdout_closed(outln!(
            "wrote {} ({} bytes, int8 {})",
            self.out.display(),
            out.len(),
            sizes.describe()
        ))
    }

    /// `--format`, or the one the extension of `--out` names.
    ///
    /// # Errors
    /// Neither says.
    fn format(&self) -> Result<Format> {
        match self.format.or_else(|| Format::from_extension(&self.out)) {
            Some(f) => Ok(f),
            None => bail!(
                "--out {}: its extension names no format (.rs, .bin, .safetensors); give \
                 --format rust|bin|safetensors|safetensors-keras",
                self.out.display()
            ),
        }
    }

    /// [`Self::run`] for the post's model with recurrent layers `R`.
    fn export<R: PostLayers>(&self) -> Result<()> {
        let mut model: PostModel<R> = Model::new(R::default(), Dense::zeroed());
        load_into(&self.model, &self.import.options(), &mut model)?;
        super::check_cell(self.cell, crate::model::cell_of(&model)?, &self.model)?;
        let bytes = match self.format()? {
            Format::Bin => binfile::to_bytes(&model)?,
            Format::Safetensors => {
                super::torch_activation_ok(&model, self.torch_names_anyway)?;
                safetensors::to_torch_bytes(&model)?
            }
            Format::SafetensorsKeras => safetensors::to_keras_bytes(&model)?,
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
                import: Default::default(),
                model: model.clone(),
                format: Some(Format::Rust),
                out: d.join("out"),
                val_data_seed: None,
                force,
                torch_names_anyway: false,
                layers: Some(1),
                cell: None,
            }
            .run()
            .unwrap_err();
            let e = format!("{e:#}");
            assert!(e.contains("--out") && e.contains("is a directory"), "{e}");
        }
        assert_eq!(fs::read_dir(d.join("out")).unwrap().count(), 0);
        fs::remove_dir_all(&d).unwrap();
    }

    /// PyTorch cannot run a hard sigmoid: its export under PyTorch names is refused (Keras
    /// names and the .bin are written), and written with `--torch-names-anyway` (a warning on
    /// stderr); `--force` alone (overwrite) does not write it.
    #[test]
    fn a_hard_sigmoid_model_is_not_written_under_pytorch_names_without_force() {
        let d = std::env::temp_dir().join(format!("lstm-cli-export-hard-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        let model = d.join("m.bin");
        let m = keras_model(1, RecurrentActivation::HardSigmoidKeras3);
        fs::write(&model, binfile::to_bytes(&m).unwrap()).unwrap();
        let args = |format, out: &str, anyway| ExportArgs {
            import: Default::default(),
            model: model.clone(),
            format: Some(format),
            out: d.join(out),
            val_data_seed: None,
            force: true,
            torch_names_anyway: anyway,
            layers: None,
            cell: None,
        };
        let e = format!(
            "{:#}",
            args(Format::Safetensors, "t.safetensors", false)
                .run()
                .unwrap_err()
        );
        assert!(
            e.contains("hard-sigmoid-keras3") && e.contains("safetensors-keras"),
            "{e}"
        );
        assert!(!d.join("t.safetensors").exists());
        args(Format::SafetensorsKeras, "k.safetensors", false)
            .run()
            .unwrap();
        args(Format::Safetensors, "t.safetensors", true)
            .run()
            .unwrap();
        fs::remove_dir_all(&d).unwrap();
    }

    /// A 2-layer model file goes through every export format with `--layers 2` and comes
    /// back bit-exact from the binary and safetensors outputs; `--layers 1` refuses it with
    /// both layer counts and writes nothing.
    #[test]
    fn a_two_layer_model_exports_with_layers_2_and_is_refused_with_layers_1() {
        type Two = PostModel<crate::model::TwoLayers>;
        let d = std::env::temp_dir().join(format!("lstm-cli-export-2l-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        let mut m: Two = Model::new(Default::default(), Dense::zeroed());
        let (mut u, mut n) = (0.1_f32, 0.3_f32);
        m.init_keras(
            &mut || {
                u = (u + 0.618_034) % 1.0;
                u
            },
            &mut || {
                n = (n * 7.3) % 2.0 - 1.0;
                n
            },
        );
        let src = d.join("two.bin");
        fs::write(&src, binfile::to_bytes(&m).unwrap()).unwrap();
        let args = |format, out: &str, layers| ExportArgs {
            import: Default::default(),
            model: src.clone(),
            format,
            out: d.join(out),
            val_data_seed: None,
            force: false,
            torch_names_anyway: false,
            layers: Some(layers),
            cell: None,
        };
        // The extension of --out chooses the format when --format is not given.
        for (format, out) in [
            (None, "o.bin"),
            (None, "o.safetensors"),
            (Some(Format::SafetensorsKeras), "o.keras.safetensors"),
            (None, "o.rs"),
            (Some(Format::Bin), "o.model"),
        ] {
            args(format, out, 2).run().unwrap();
        }
        let e = format!("{:#}", args(None, "o.txt", 2).run().unwrap_err());
        assert!(e.contains("o.txt") && e.contains("--format"), "{e}");
        assert!(!d.join("o.txt").exists());
        for out in ["o.bin", "o.safetensors", "o.keras.safetensors", "o.model"] {
            let mut back: Two = Model::new(Default::default(), Dense::zeroed());
            load_into(
                &d.join(out),
                &crate::files::ReadOptions::default(),
                &mut back,
            )
            .unwrap();
            assert_eq!(back, m, "{out}");
        }
        let rs = fs::read_to_string(d.join("o.rs")).unwrap();
        assert!(rs.contains("pub const LAYERS: usize = 2;"));
        let e = format!("{:#}", args(None, "refused.bin", 1).run().unwrap_err());
        assert!(e.contains("2 recurrent layers, the model type 1"), "{e}");
        assert!(!d.join("refused.bin").exists());
        fs::remove_dir_all(&d).unwrap();
    }
}
