//! `lstm-harness train`: train the post's model (1 to 3 stacked `LSTM(10)` layers) with one
//! of the experiments' regimes (default `stateful-per-step`, the post's), from Keras'
//! initialisation or from a model file (`--init`: fine-tuning an imported or trained
//! model), and save it as a binary model file and/or safetensors.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;
use lstm_kernel::{GruVariant, LayerKind};

use super::ActivationArg;
use super::experiments::DEFAULT_SEED;
use crate::data::Dataset;
use crate::engine::{Carry, eval_per_step};
use crate::experiment::{Experiment, ExperimentConfig, run, run_from};
use crate::files::{binfile, load_into, safetensors, save};
use crate::fsutil::check_output;
use crate::model::{PostLayers, PostModel, same_bits, with_layers};
use crate::progress::{Console, outln, unless_stdout_closed};

/// Arguments of `lstm-harness train`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("outputs").required(true).multiple(true).args(["bin", "safetensors"])))]
pub struct TrainArgs {
    /// Write the model in the kernel's binary format (`lstm_kernel::io`) to this path.
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,

    /// Write the model as safetensors with PyTorch names to this path.
    #[arg(long, value_name = "PATH")]
    pub safetensors: Option<PathBuf>,

    /// Seed of the data and of the weight initialisation (as `experiments --seed`).
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SEED)]
    pub seed: u64,

    /// Epochs of training, 1 to 10000 [default: the experiment's, as in `experiments`:
    /// 2 for stateful-per-step (1 already reaches accuracy 1.0), 15 for
    /// stateless-full-sequence].
    #[arg(long, value_name = "N", value_parser = super::epochs_parser())]
    pub epochs: Option<u32>,

    /// Activation of the gates (LSTM: i, f, o; GRU: r, z) of a model trained from Keras'
    /// initialisation (refused with `--init`, whose file says each layer's activation).
    #[arg(long, value_enum, value_name = "A", default_value_t = ActivationArg::Sigmoid)]
    pub recurrent_activation: ActivationArg,

    /// How to train: the regime of one of the experiments. `stateful-per-step` (the post's:
    /// one update per step, the state carried through each sequence, gradients through one
    /// step and every layer) or `stateless-full-sequence` (BPTT through all 20 steps and
    /// every layer, batch 64). The other three are the post's negative results (they train,
    /// but do not learn the task: for reproducing them).
    #[arg(
        long,
        value_enum,
        value_name = "NAME",
        default_value = "stateful-per-step"
    )]
    pub experiment: Experiment,

    /// Start from this model file instead of Keras' initialisation (fine-tuning): binary or
    /// safetensors with PyTorch or Keras names, e.g. a PyTorch `nn.LSTM(1, 10,
    /// num_layers=2)` + `nn.Linear(10, 1)` state dict for `--layers 2`. Its layer count must
    /// be `--layers`; its activations are kept.
    #[arg(long, value_name = "PATH", conflicts_with = "recurrent_activation")]
    pub init: Option<PathBuf>,

    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,

    /// Write a model whose recurrent activation is not the sigmoid under PyTorch names
    /// anyway (`nn.LSTM`/`nn.GRU` would run it with the sigmoid and compute other outputs;
    /// the metadata records the activation). Refused without it (`--safetensors`).
    #[arg(long)]
    pub torch_names_anyway: bool,

    /// Stacked LSTM(10) or GRU(10) layers under the Dense(1) head, 1 to 3 [default: the
    /// `--init` file's own count, else 1 (the post's model)].
    #[arg(long, value_name = "N", value_parser = super::layers_parser())]
    pub layers: Option<u8>,

    /// The recurrent cell of every layer: `lstm` (the post's), `gru` (PyTorch `nn.GRU`,
    /// Keras reset_after=True) or `gru-reset-before` (Keras reset_after=False; PyTorch has
    /// none, so not with `--safetensors`) [default: the `--init` file's, else lstm].
    #[arg(long, value_enum, value_name = "CELL")]
    pub cell: Option<super::CellArg>,

    /// How a safetensors or PyTorch MODEL is read.
    #[command(flatten)]
    pub import: super::ImportArgs,
}

impl TrainArgs {
    /// Trains, then writes the requested files (each atomically), then reloads them to
    /// check the round trip is bit-exact.
    ///
    /// # Errors
    /// `--bin` and `--safetensors` name the same file, or an output is a directory, exists
    /// without `--force` or cannot be created (all checked before training), training
    /// diverged,
    /// or a file cannot be written or does not read back identically.
    pub fn run(self) -> Result<()> {
        if let (Some(bin), Some(st)) = (&self.bin, &self.safetensors)
            && same_path(bin, st)
        {
            bail!(
                "--bin {} and --safetensors {} are the same file; give two paths",
                bin.display(),
                st.display()
            );
        }
        if let Some(p) = &self.bin {
            check_output("--bin", p, self.force)?;
        }
        if let Some(p) = &self.safetensors {
            check_output("--safetensors", p, self.force)?;
        }
        let (layers, cell) = match &self.init {
            Some(init) => (
                crate::files::layers_or_file(self.layers, init, &self.import.options())?,
                super::cell_or_file(self.cell, init, &self.import.options())?,
            ),
            None => (
                self.layers.map_or(1, usize::from),
                self.cell.unwrap_or_default().into(),
            ),
        };
        if self.safetensors.is_some() && cell == LayerKind::Gru(GruVariant::ResetBefore) {
            bail!(
                "--safetensors writes PyTorch names, and PyTorch's nn.GRU has no reset-before \
                 variant: write --bin, then `export --format safetensors-keras`"
            );
        }
        with_layers!(cell, layers, R => self.train::<R>(cell))
    }

    /// [`Self::run`] after the output checks, for the post's model on layers `R`.
    fn train<R: PostLayers>(&self, cell: LayerKind) -> Result<()> {
        let data = Dataset::generate(self.seed);
        let epochs = self
            .epochs
            .map_or(self.experiment.default_epochs(), |e| e as usize);
        let config = ExperimentConfig {
            epochs,
            activation: self.recurrent_activation.into(),
            cell,
            ..ExperimentConfig::new(self.experiment, self.seed)
        };
        let mut console = Console::keep_going();
        let (report, model) = match &self.init {
            Some(path) => {
                let mut start = PostModel::<R>::new(R::default(), lstm_kernel::Dense::zeroed());
                load_into(path, &self.import.options(), &mut start)?;
                super::check_cell(self.cell, crate::model::cell_of(&start)?, path)?;
                run_from(&config, &data, start, &mut console)?
            }
            None => run::<R>(&config, &data, &mut console)?,
        };
        if let Some(last) = report.last() {
            // The experiment's validation is batched like its training (windows, or the
            // last step of whole sequences); `eval` streams every validation sequence from
            // the zero state and scores every step. Both are printed, named.
            let streamed = eval_per_step(&model, data.val(), Carry::Stateful);
            unless_stdout_closed(outln!(
                "trained {} ({} x {}(10), from {}): {epochs} epoch{}, {} updates; {} \
                 validation accuracy {:.4}; streamed per-step validation accuracy {:.4} \
                 ({}/{} steps, what eval reports)",
                self.experiment.name(),
                R::LAYERS,
                cell.name(),
                self.init.as_ref().map_or_else(
                    || "Keras' initialisation".into(),
                    |p| p.display().to_string()
                ),
                if epochs == 1 { "" } else { "s" },
                report.train_steps,
                self.experiment.name(),
                last.val_acc,
                streamed.accuracy(),
                streamed.correct(),
                streamed.count()
            ))?;
        }
        if let Some(p) = &self.bin {
            save(p, &binfile::to_bytes(&model)?, self.force)?;
            check_round_trip(p, &model)?;
            unless_stdout_closed(outln!("wrote {}", p.display()))?;
        }
        if let Some(p) = &self.safetensors {
            super::torch_activation_ok(&model, self.torch_names_anyway)?;
            save(p, &safetensors::to_torch_bytes(&model)?, self.force)?;
            check_round_trip(p, &model)?;
            unless_stdout_closed(outln!("wrote {}", p.display()))?;
        }
        Ok(())
    }
}

/// Whether `a` and `b` name the same file: same name in the same directory after resolving
/// the directories (`m.bin`, `./m.bin` and `dir/../m.bin` are one file).
fn same_path(a: &Path, b: &Path) -> bool {
    let resolved = |p: &Path| {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        (
            dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
            p.file_name().map(ToOwned::to_owned),
        )
    };
    a == b || resolved(a) == resolved(b)
}

/// Reloads `path` and requires the same bits as `model`.
fn check_round_trip<R: PostLayers>(path: &Path, model: &PostModel<R>) -> Result<()> {
    let mut back = PostModel::<R>::new(R::default(), lstm_kernel::Dense::zeroed());
    load_into(path, &crate::files::ReadOptions::default(), &mut back)?;
    if !same_bits(&back, model) {
        bail!("{} does not read back bit-exactly", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::eval::{EvalArgs, MathsArg};
    use crate::cli::export::ExportArgs;
    use crate::files::{Format, Source, load};
    use crate::model::TwoLayers;
    use std::fs;

    #[test]
    fn train_refuses_the_same_path_for_both_outputs_or_a_directory_before_training() {
        let d = std::env::temp_dir().join(format!("lstm-cli-same-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        for (bin, st, force) in [
            (d.join("m.bin"), d.join("m.bin"), false),
            (d.join("m.bin"), d.join(".").join("m.bin"), true),
            (d.join("m.bin"), d.join("sub/../m.bin"), true),
        ] {
            fs::create_dir_all(d.join("sub")).unwrap();
            let e = TrainArgs {
                import: Default::default(),
                bin: Some(bin),
                safetensors: Some(st),
                seed: 7,
                epochs: Some(1),
                recurrent_activation: ActivationArg::Sigmoid,
                force,
                torch_names_anyway: false,
                layers: Some(1),
                cell: None,
                experiment: Experiment::StatefulPerStep,
                init: None,
            }
            .run()
            .unwrap_err();
            let e = format!("{e:#}");
            assert!(e.contains("same file"), "{e}");
            assert!(!d.join("m.bin").exists(), "nothing written");
        }
        // An output that is a directory is refused before training too, even with --force.
        let e = TrainArgs {
            import: Default::default(),
            bin: Some(d.join("sub")),
            safetensors: None,
            seed: 7,
            epochs: Some(1),
            recurrent_activation: ActivationArg::Sigmoid,
            force: true,
            torch_names_anyway: false,
            layers: Some(1),
            cell: None,
            experiment: Experiment::StatefulPerStep,
            init: None,
        }
        .run()
        .unwrap_err();
        assert!(format!("{e:#}").contains("is a directory"), "{e:#}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn train_saves_both_formats_that_reload_bit_exactly_and_export_refuses_to_overwrite() {
        let d = std::env::temp_dir().join(format!("lstm-cli-train-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        let (bin, st) = (d.join("m.bin"), d.join("m.safetensors"));
        let args = || TrainArgs {
            import: Default::default(),
            bin: Some(bin.clone()),
            safetensors: Some(st.clone()),
            seed: 7,
            epochs: Some(1),
            recurrent_activation: ActivationArg::Sigmoid,
            force: false,
            torch_names_anyway: false,
            layers: Some(1),
            cell: None,
            experiment: Experiment::StatefulPerStep,
            init: None,
        };
        args().run().unwrap();
        let (a, fa) = load(&bin).unwrap();
        let (b, fb) = load(&st).unwrap();
        assert_eq!(
            (fa, fb),
            (
                Source::Bin,
                Source::Safetensors(crate::files::safetensors::Layout::Torch)
            )
        );
        assert_eq!(a, b);
        // A second run without --force is refused before training and changes nothing.
        let before = fs::read(&bin).unwrap();
        let e = args().run().unwrap_err();
        assert!(format!("{e:#}").contains("--force"), "{e:#}");
        assert_eq!(fs::read(&bin).unwrap(), before);
        EvalArgs {
            import: Default::default(),
            model: st.clone(),
            seed: 7,
            maths: MathsArg::Fast,
            layers: Some(1),
            cell: None,
            data: None,
            task: None,
            column: None,
            quantized: None,
        }
        .run()
        .unwrap();
        let rs = d.join("model.rs");
        let export = |format, out: &std::path::Path, force| ExportArgs {
            import: Default::default(),
            model: bin.clone(),
            format,
            out: out.to_path_buf(),
            val_data_seed: None,
            force,
            torch_names_anyway: false,
            layers: Some(1),
            cell: None,
        };
        export(Some(Format::Rust), &rs, false).run().unwrap();
        assert!(export(Some(Format::Rust), &rs, false).run().is_err());
        export(Some(Format::Rust), &rs, true).run().unwrap();
        assert!(
            fs::read_to_string(&rs)
                .unwrap()
                .contains("pub static MODEL")
        );
        // bin -> safetensors -> bin gives the same bytes.
        let st2 = d.join("again.safetensors");
        export(Some(Format::Safetensors), &st2, false)
            .run()
            .unwrap();
        let bin2 = d.join("again.bin");
        ExportArgs {
            import: Default::default(),
            model: st2,
            ..export(Some(Format::Bin), &bin2, false)
        }
        .run()
        .unwrap();
        assert_eq!(fs::read(&bin2).unwrap(), before);
        fs::remove_dir_all(&d).unwrap();
    }

    /// `train --layers 2` writes a 2-layer model in both formats that reads back bit-exactly,
    /// `eval --layers 2` scores it, and `eval` with the wrong layer count refuses it naming
    /// both counts.
    #[test]
    fn a_two_layer_model_trains_saves_and_evaluates_with_layers_2_only() {
        let d = std::env::temp_dir().join(format!("lstm-cli-train-2l-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        let (bin, st) = (d.join("m2.bin"), d.join("m2.safetensors"));
        TrainArgs {
            import: Default::default(),
            bin: Some(bin.clone()),
            safetensors: Some(st.clone()),
            seed: 7,
            epochs: Some(1),
            recurrent_activation: ActivationArg::Sigmoid,
            force: false,
            torch_names_anyway: false,
            layers: Some(2),
            cell: None,
            experiment: Experiment::StatefulPerStep,
            init: None,
        }
        .run()
        .unwrap();
        let mut a = PostModel::<TwoLayers>::new(Default::default(), lstm_kernel::Dense::zeroed());
        let mut b = a;
        load_into(&bin, &crate::files::ReadOptions::default(), &mut a).unwrap();
        load_into(&st, &crate::files::ReadOptions::default(), &mut b).unwrap();
        assert!(same_bits(&a, &b));
        let eval = |model: &Path, layers| EvalArgs {
            import: Default::default(),
            model: model.to_path_buf(),
            seed: 7,
            maths: MathsArg::Exact,
            layers: Some(layers),
            cell: None,
            data: None,
            task: None,
            column: None,
            quantized: None,
        };
        eval(&bin, 2).run().unwrap();
        eval(&st, 2).run().unwrap();
        for layers in [1, 3] {
            let e = format!("{:#}", eval(&bin, layers).run().unwrap_err());
            assert!(
                e.contains("2 recurrent layers") && e.contains("pass --layers 2"),
                "--layers {layers}: {e}"
            );
        }
        fs::remove_dir_all(&d).unwrap();
    }
}
