//! `lstm-harness inspect MODEL`: what a model file holds, before anything is converted:
//! for a safetensors file, a PyTorch `torch.save` state dict, a Keras or an ONNX file, its
//! tensors as found or as converted (name,
//! dtype, shape) and its metadata; then, for every format, the model as this tool reads it
//! (through [`crate::files::read_bin`], the reader of every command): the format, each
//! layer's cell, sizes, activation and maths, the head, the normalisation, the parameter
//! count and the bytes of the weights, and what the reading assumed or renamed; for an int8
//! file (`quantize`) its layers with their cell formats and its input scales. Read from
//! the header without building the model, so any size is shown.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use lstm_kernel::quant::linear::qlinear_bytes;

use crate::files::{MAX_MODEL_FILE_BYTES, keras, read_bin, read_limited, torch};
use crate::progress::{outln, unless_stdout_closed};

/// Arguments of `lstm-harness inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model file (the kernel's binary format, safetensors, a PyTorch .pt/.pth, a Keras
    /// .keras or .weights.h5, an ONNX .onnx).
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// How a safetensors or PyTorch MODEL is read.
    #[command(flatten)]
    pub import: super::ImportArgs,
}

impl InspectArgs {
    /// Prints the file (module docs).
    ///
    /// # Errors
    /// The file cannot be read or is refused (after the tensor listing, for a safetensors
    /// or PyTorch file, so the names the refusal cites are on screen).
    pub fn run(self) -> Result<()> {
        unless_stdout_closed(self.inspect())
    }

    fn inspect(&self) -> Result<()> {
        let bytes = read_limited(&self.model, MAX_MODEL_FILE_BYTES)?;
        if crate::qnet::is_int8_file(&bytes) {
            return self.inspect_int8(&bytes);
        }
        if !bytes.starts_with(&lstm_kernel::io::MAGIC) {
            self.list_tensors(bytes)?;
        }
        let file = read_bin(&self.model, &self.import.options())?;
        let parsed =
            lstm_kernel::io::parse(&file.bin).with_context(|| self.model.display().to_string())?;
        let h = parsed.header();
        let params = parsed.len();
        outln!(
            "{}: {}, read as model file version {} ({} bytes{})",
            self.model.display(),
            file.source,
            h.version,
            file.bin.len(),
            if file.source == crate::files::Source::Bin {
                ", CRC-32 ok"
            } else {
                ""
            }
        )?;
        // As int8 (lstm_kernel::quant): each layer's W_ih and W_hh rows and the head's, with
        // per-row bias and multiplier, and the input scales.
        let int8 = h
            .layers()
            .iter()
            .map(|l| {
                let g = l.kind.gates();
                let (i, hh) = (l.input as usize, l.hidden as usize);
                Some(qlinear_bytes(g, hh, i)? + qlinear_bytes(g, hh, hh)?)
            })
            .chain([
                qlinear_bytes(1, h.output as usize, h.hidden() as usize),
                Some(4 * h.input as usize),
            ])
            .sum::<Option<usize>>();
        outln!(
            "inputs {}, outputs {} ({}), {params} parameters ({} bytes of weights as f32{})",
            h.input,
            h.output,
            h.head.name(),
            4 * params,
            int8.map_or(String::new(), |b| format!(
                "; {b} in memory as an int8 QModel, lstm_kernel::quant (lstm-harness quantize writes the file)"
            ))
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
        self.pipeline(&h, parsed.scaling_values().map(Iterator::collect))?;
        for w in &file.warnings {
            outln!("{w}")?;
        }
        for m in &file.mapped {
            outln!("name mapping: {m}")?;
        }
        Ok(())
    }

    /// The head, whether the size menu runs the model, the differencing and the scaling
    /// block: the part of the listing that f32 and int8 files share.
    fn pipeline(&self, h: &lstm_kernel::io::Header, scaling: Option<Vec<f32>>) -> Result<()> {
        outln!("head: dense {} -> {}", h.hidden(), h.output)?;
        // Whether this binary's size menu runs it (eval, predict, export --format rust).
        match crate::menu::Sizes::of_header(h) {
            Ok(sizes) => outln!("size menu: runs here ({})", sizes.describe())?,
            Err(e) => outln!(
                "size menu: NOT compiled into this binary ({e:#}); eval, predict and export \
                 need a build with it (README, \"Sizes (the menu)\")"
            )?,
        }
        if h.differenced {
            outln!("differenced: inputs and outputs are first differences of one series")?;
        }
        match scaling {
            None => outln!("scaling: none (the model takes raw inputs and gives raw outputs)")?,
            Some(v) => {
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

    /// An int8 model file (`lstm_kernel::quant::file`): its layers with their cell formats,
    /// the input scales and the shared part.
    fn inspect_int8(&self, bytes: &[u8]) -> Result<()> {
        let parsed = lstm_kernel::quant::file::parse(bytes)
            .with_context(|| self.model.display().to_string())?;
        let h = parsed.header();
        outln!(
            "{}: an int8 model file (dtype 2, lstm_kernel::quant: int8 weights with per-row \
             scales, int16 state), version {} ({} bytes, CRC-32 ok)",
            self.model.display(),
            h.version,
            bytes.len()
        )?;
        outln!(
            "inputs {}, outputs {} ({})",
            h.input,
            h.output,
            h.head.name()
        )?;
        let scales: Vec<String> = parsed.input_scales().map(|s| format!("{s:.3e}")).collect();
        outln!(
            "input scales (real value of one unit): [{}]",
            scales.join(", ")
        )?;
        for (k, l) in h.layers().iter().enumerate() {
            let cell = parsed.cell_format(k).map_or(String::new(), |c| {
                format!(", cell state Q{}.{}", 15 - c.frac(), c.frac())
            });
            outln!(
                "layer {k}: {} {} -> {}, recurrent activation {}{cell}",
                l.kind.name(),
                l.input,
                l.hidden,
                l.settings.activation.name(),
            )?;
        }
        self.pipeline(&h, parsed.scaling_values().map(Iterator::collect))
    }

    /// The tensors and metadata of a safetensors or PyTorch file, as found (before any
    /// renaming).
    fn list_tensors(&self, bytes: Vec<u8>) -> Result<()> {
        let path = self.model.display();
        let (bytes, what) = if keras::is_hdf5(&bytes) {
            let read = keras::weights_to_safetensors(&bytes)
                .with_context(|| format!("{path} (a Keras HDF5 file)"))?;
            let what = if read.architecture {
                "a Keras HDF5 model (legacy layout), its layers in config order under Keras names"
            } else {
                "a Keras weights file, its variables named by their paths"
            };
            (read.safetensors, what)
        } else if crate::files::is_keras_file(&self.model, &bytes) {
            let read = keras::keras_to_safetensors(&bytes)
                .with_context(|| format!("{path} (a .keras archive)"))?;
            (
                read.safetensors,
                "a Keras .keras archive, its layers in config order under Keras names",
            )
        } else if crate::files::is_onnx_file(&self.model, &bytes) {
            let read = crate::files::read_onnx(&self.model, &bytes)
                .with_context(|| format!("{path} (an ONNX file)"))?;
            for line in &read.about {
                outln!("{path}: {line}")?;
            }
            (
                read.safetensors,
                "an ONNX graph, its layers in graph order under Keras names",
            )
        } else if torch::is_torch(&bytes) {
            let st = torch::to_safetensors(&bytes)
                .with_context(|| format!("{path} (a PyTorch file)"))?;
            (st, "a PyTorch torch.save state dict")
        } else {
            (bytes, "safetensors")
        };
        // Not safetensors either: `read_bin` names the formats it reads.
        let Ok(file) = safetensors::SafeTensors::deserialize(&bytes) else {
            return Ok(());
        };
        let mut tensors = file.tensors();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        let count: usize = tensors
            .iter()
            .map(|(_, t)| t.shape().iter().product::<usize>())
            .sum();
        outln!("{path}: {what}, {} tensors, {count} values", tensors.len())?;
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
        Ok(())
    }
}
