//! `lstm-harness inspect MODEL`: what a binary model file holds (format version, sizes,
//! each layer's cell, activation and maths, head activation, normalisation, parameters),
//! read from its header without building the model, so any size is shown.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::files::{MAX_MODEL_FILE_BYTES, read_limited};
use crate::progress::{outln, unless_stdout_closed};

/// Arguments of `lstm-harness inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model file (the kernel's binary format).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
}

impl InspectArgs {
    /// Parses the file (every check of `lstm_kernel::io::parse`) and prints it.
    ///
    /// # Errors
    /// The file cannot be read or is refused (the kernel's message).
    pub fn run(self) -> Result<()> {
        unless_stdout_closed(self.inspect())
    }

    fn inspect(&self) -> Result<()> {
        let bytes = read_limited(&self.model, MAX_MODEL_FILE_BYTES)?;
        if !bytes.starts_with(&lstm_kernel::io::MAGIC) {
            bail!(
                "{}: not a binary model file (convert safetensors with `lstm-harness export MODEL --out m.bin`)",
                self.model.display()
            );
        }
        let file =
            lstm_kernel::io::parse(&bytes).with_context(|| self.model.display().to_string())?;
        let h = file.header();
        outln!(
            "{}: model file version {}, {} bytes, CRC-32 ok",
            self.model.display(),
            h.version,
            bytes.len()
        )?;
        outln!(
            "inputs {}, outputs {} ({}), {} parameters",
            h.input,
            h.output,
            h.head.name(),
            file.len()
        )?;
        for (k, l) in h.layers().iter().enumerate() {
            outln!(
                "layer {k}: {} {} -> {}, recurrent activation {}, maths {}",
                l.kind.name(),
                l.input,
                l.hidden,
                l.settings.activation.name(),
                l.settings.maths.name()
            )?;
        }
        outln!("head: dense {} -> {}", h.hidden(), h.output)?;
        match file.scaling_values() {
            None => outln!("scaling: none (the model takes raw inputs and gives raw outputs)")?,
            Some(v) => {
                let v: Vec<f32> = v.collect();
                let (i, o) = (h.input as usize, h.output as usize);
                let show = |s: &[f32]| {
                    s.iter()
                        .map(|x| format!("{x:.6}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                outln!("input mean:   [{}]", show(&v[..i]))?;
                outln!("input scale:  [{}] (1 / std)", show(&v[i..2 * i]))?;
                outln!("output scale: [{}]", show(&v[2 * i..2 * i + o]))?;
                outln!("output mean:  [{}]", show(&v[2 * i + o..]))?;
            }
        }
        Ok(())
    }
}
