//! `lstm-harness inspect MODEL`: what a binary model file holds (format version, sizes,
//! each layer's cell, activation and maths, head activation, normalisation, parameters),
//! read from its header without building the model, so any size is shown; for a
//! safetensors file or a PyTorch `torch.save` state dict, its tensors (name, dtype, shape),
//! its metadata, and the layers their names make (or why the loaders refuse them).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::files::{MAX_MODEL_FILE_BYTES, read_limited, torch};
use crate::progress::{outln, unless_stdout_closed};

/// Arguments of `lstm-harness inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model file (the kernel's binary format, safetensors, or a PyTorch .pt/.pth).
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
            return self.inspect_tensors(bytes);
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

    /// [`Self::inspect`] for safetensors and PyTorch files (module docs).
    fn inspect_tensors(&self, bytes: Vec<u8>) -> Result<()> {
        let path = self.model.display();
        let (bytes, what) = if torch::is_torch(&bytes) {
            let st = torch::to_safetensors(&bytes)
                .with_context(|| format!("{path} (a PyTorch file)"))?;
            (st, "a PyTorch torch.save state dict")
        } else {
            (bytes, "safetensors")
        };
        let Ok(file) = safetensors::SafeTensors::deserialize(&bytes) else {
            bail!(
                "{path}: neither a binary model file (magic \\x89LSTM), safetensors nor a PyTorch torch.save file"
            );
        };
        let mut tensors = file.tensors();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        let count: usize = tensors
            .iter()
            .map(|(_, t)| t.shape().iter().product::<usize>())
            .sum();
        outln!(
            "{path}: {what}, {} tensors, {count} parameters ({} bytes as f32)",
            tensors.len(),
            4 * count
        )?;
        for (name, t) in &tensors {
            outln!("  {name}: {:?} {:?}", t.dtype(), t.shape())?;
        }
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)?;
        if let Some(m) = meta.metadata() {
            let mut m: Vec<_> = m.iter().collect();
            m.sort();
            for (k, v) in m {
                outln!("metadata {k}: {v}")?;
            }
        }
        match crate::files::safetensors::layer_kinds(&bytes) {
            Ok(kinds) => {
                let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                outln!(
                    "layers by their names: {} ({})",
                    kinds.len(),
                    names.join(", ")
                )?;
            }
            Err(e) => outln!("not read as a model: {e:#}")?,
        }
        Ok(())
    }
}
