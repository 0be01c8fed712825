//! The int8 models of the size menu ([`lstm_kernel::quant`]): what `quantize` makes from a
//! float model of the menu ([`crate::menu::Net::quantize`]) and what `eval` and `predict`
//! read from an int8 model file ([`load`]). Each holds a [`QModel`] compiled at the menu's
//! padded sizes and its true [`Sizes`]; files are written and read at the true sizes
//! ([`lstm_kernel::quant::file::encode_with`], `load_padded_into`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use lstm_kernel::HeadActivation;
use lstm_kernel::quant::file::{self, QFileMeta, QModelBytes};
use lstm_kernel::quant::{CellFormat, QModel, QRecurrent};

use crate::files::view::ScalingParts;
use crate::fit::{Example, Metrics, Scored, Task, evaluate_series_with, evaluate_with};
use crate::menu::{self, Infer, OUT, Sample, Sizes, pad, stream_outputs};

/// An int8 model of the menu.
pub trait QNet: Infer {
    /// The int8 model file (true sizes, head activation, scaling), as
    /// [`lstm_kernel::quant::file`] writes it.
    ///
    /// # Errors
    /// A value the format refuses (none, for a model from [`crate::menu::Net::quantize`]).
    fn to_bytes(&self) -> Result<Vec<u8>>;
    /// Loads a parsed int8 file of these sizes: the model, head activation and scaling.
    ///
    /// # Errors
    /// The file's sizes or layers are not this model's.
    fn load(&mut self, file: &QModelBytes<'_>) -> Result<()>;
    /// Each layer's cell format (bottom first; `None` for a GRU layer).
    fn cell_formats(&self) -> Vec<Option<CellFormat>>;
    /// The input scales at the true sizes (the real value of one unit of each input).
    fn input_scales(&self) -> Vec<f32>;
    /// The model as Rust source ([`crate::files::rust_src_int8`]), naming `origin`.
    ///
    /// # Errors
    /// As [`crate::files::rust_src_int8::qrust_source`].
    fn rust_source(&self, origin: &str) -> Result<String>;
}

/// A menu model's int8 counterpart, compiled at `IN`, `H`, [`OUT`].
pub struct QTyped<R, const IN: usize, const H: usize> {
    model: Box<QModel<R, IN, H, OUT>>,
    sizes: Sizes,
    head: HeadActivation,
    scaling: Option<ScalingParts>,
    differenced: bool,
}

impl<R, const IN: usize, const H: usize> QTyped<R, IN, H> {
    /// The model with its true sizes and the float model's pipeline settings.
    pub fn new(
        model: Box<QModel<R, IN, H, OUT>>,
        sizes: Sizes,
        head: HeadActivation,
        scaling: Option<ScalingParts>,
        differenced: bool,
    ) -> Self {
        Self {
            model,
            sizes,
            head,
            scaling,
            differenced,
        }
    }
}

impl<R, const IN: usize, const H: usize> QTyped<R, IN, H>
where
    R: QRecurrent<IN, H> + Clone + Send + Sync + 'static,
{
    /// One int8 step on float inputs (already normalised): quantized inputs, the integer
    /// step, the head's Q19.12 outputs as reals. Not inlined: one copy of the integer step
    /// per menu model, not one per caller (the menu's build time).
    #[inline(never)]
    fn step(&self, x: &[f32; IN], state: &mut R::State) -> Result<[f32; OUT]> {
        let q = self
            .model
            .quantize_input(x)
            .context("an input is NaN or infinite")?;
        let out = self.model.step(&q, state);
        Ok(out.map(QModel::<R, IN, H, OUT>::output_value))
    }

    fn meta(&self) -> QFileMeta<'_> {
        QFileMeta {
            input: self.sizes.features as u32,
            output: self.sizes.outputs as u32,
            head: self.head,
            scaling: self
                .scaling
                .as_ref()
                .map(|[a, b, c, d]| [&a[..], &b[..], &c[..], &d[..]]),
            differenced: self.differenced,
        }
    }

    fn scored(&self) -> Scored<'_> {
        Scored {
            count: self.sizes.outputs,
            units: self.scaling.as_ref().map_or(&[], |s| &s[2][..]),
        }
    }
}

impl<R, const IN: usize, const H: usize> Infer for QTyped<R, IN, H>
where
    R: QRecurrent<IN, H> + Clone + Send + Sync + 'static,
{
    fn sizes(&self) -> Sizes {
        self.sizes
    }
    fn head(&self) -> HeadActivation {
        self.head
    }
    fn scaling(&self) -> Option<&ScalingParts> {
        self.scaling.as_ref()
    }
    fn differenced(&self) -> bool {
        self.differenced
    }
    fn evaluate_series(&self, series: &[f32], from: usize, to: usize) -> Metrics {
        let mut state = R::zero_state();
        // A non-finite value scores as 0 input (the series readers refuse NaN first).
        evaluate_series_with(self.scored(), series, from, to, &mut |x| {
            self.step(x, &mut state).unwrap_or([0.0; OUT])
        })
    }
    fn evaluate(&self, task: Task, data: &[Sample]) -> Result<Metrics> {
        let (f, o) = (self.sizes.features, self.sizes.outputs);
        let examples = data
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if !s.x.len().is_multiple_of(f) || !s.y.len().is_multiple_of(o) || s.y.is_empty() {
                    bail!("sequence {i}: not whole steps of {f} features and rows of {o} outputs");
                }
                if s.x.iter().any(|v| !v.is_finite()) {
                    bail!("sequence {i}: an input is NaN or infinite");
                }
                Ok(Example::<IN, OUT> {
                    xs: s.x.chunks_exact(f).map(pad).collect(),
                    ys: s.y.chunks_exact(o).map(pad).collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(evaluate_with(
            task,
            self.scored(),
            &examples,
            None,
            &|chunk, visit| {
                for (b, ex) in chunk.iter().enumerate() {
                    let mut state = R::zero_state();
                    for (t, x) in ex.xs.iter().enumerate() {
                        if let Ok(out) = self.step(x, &mut state) {
                            visit(b, t, &out);
                        }
                    }
                }
            },
        ))
    }
    fn predict(&self, x: &[f32], logits: bool) -> Result<Vec<f32>> {
        let mut state = R::zero_state();
        stream_outputs(
            self.sizes,
            self.head,
            self.scaling.as_ref(),
            self.differenced,
            x,
            logits,
            &mut |xs: &[f32; IN]| self.step(xs, &mut state),
        )
    }
    fn weights_text(&self) -> String {
        let bytes = file::file_len(&self.model, &self.meta()).unwrap_or(0);
        format!("int8 weights, int16 state, a {bytes}-byte file")
    }
}

impl<R, const IN: usize, const H: usize> QNet for QTyped<R, IN, H>
where
    R: QRecurrent<IN, H> + Clone + Send + Sync + 'static,
{
    fn to_bytes(&self) -> Result<Vec<u8>> {
        let meta = self.meta();
        let len = file::file_len(&self.model, &meta)
            .context("the int8 model's sizes do not describe a file")?;
        let mut buf = vec![0u8; len];
        let n = file::encode_with(&self.model, &meta, &mut buf)
            .context("cannot encode the int8 model")?;
        buf.truncate(n);
        Ok(buf)
    }
    fn load(&mut self, f: &QModelBytes<'_>) -> Result<()> {
        let found = Sizes::of_header(&f.header())?;
        if found != self.sizes {
            bail!(
                "the file is {}, the model {}",
                found.describe(),
                self.sizes.describe()
            );
        }
        let mut model = self.model.clone();
        f.load_padded_into(&mut model)?;
        self.model = model;
        let h = f.header();
        self.head = h.head;
        self.differenced = h.differenced;
        let (fe, o) = (self.sizes.features, self.sizes.outputs);
        self.scaling = f
            .scaling_values()
            .map(|v| crate::files::view::scaling_parts(v, fe, o));
        Ok(())
    }
    fn cell_formats(&self) -> Vec<Option<CellFormat>> {
        (0..R::LAYERS)
            .map(|k| self.model.rnn.layer(k).and_then(|l| l.cell))
            .collect()
    }
    fn input_scales(&self) -> Vec<f32> {
        self.model.input_scale[..self.sizes.features].to_vec()
    }
    fn rust_source(&self, origin: &str) -> Result<String> {
        let layers: Vec<_> = (0..R::LAYERS)
            .filter_map(|k| self.model.rnn.layer(k))
            .collect();
        crate::files::rust_src_int8::qrust_source(
            &crate::files::rust_src_int8::QSource {
                input: self.sizes.features,
                output: self.sizes.outputs,
                layers: &layers,
                head_rows: self.model.head.rows(),
                input_scale: &self.model.input_scale,
                head: self.head,
                scaling: self.scaling.as_ref(),
                differenced: self.differenced,
            },
            origin,
        )
    }
}

/// Whether `bytes` are an int8 model file (the binary format's magic, version 3, dtype 2).
pub fn is_int8_file(bytes: &[u8]) -> bool {
    bytes.len() > 24
        && bytes[..8] == lstm_kernel::io::MAGIC
        && bytes[24] == lstm_kernel::io::Dtype::I8PerRow.code()
}

/// Reads an int8 model file of any menu size.
///
/// # Errors
/// The file cannot be read, is refused by [`lstm_kernel::quant::file::parse`], or has sizes
/// outside the menu; the message names the file.
pub fn load(path: &Path, bytes: &[u8]) -> Result<Box<dyn QNet>> {
    let name = || path.display().to_string();
    let parsed = file::parse(bytes).with_context(name)?;
    let sizes = Sizes::of_header(&parsed.header()).with_context(name)?;
    let mut q = menu::build(sizes)?.quantized_zero();
    q.load(&parsed).with_context(name)?;
    Ok(q)
}
