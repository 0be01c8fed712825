//! The size menu: the model sizes the data commands (`fit`, `eval --data`, `predict`,
//! `export`, `inspect`) run without the user writing Rust. The kernel's sizes are const
//! generics, so every size the CLI offers is compiled into the binary; this module is the
//! one place a run-time [`Sizes`] becomes a type ([`build`]).
//!
//! What is compiled (72 model types, each with its training and inference code):
//! - hidden units [`HIDDEN_SIZES`] = 8, 10, 16, 32, 64, 128 (every layer of a stack alike);
//! - 1 to [`MAX_LAYERS`] = 3 layers of one cell, LSTM or GRU (the GRU variant is a run-time
//!   setting);
//! - inputs: a model of one feature is compiled with `IN = 1`; 2 to [`MAX_FEATURES`] = 16
//!   features with `IN = 16`, the extra inputs held at zero, so their `W_ih` rows get no
//!   gradient and stay zero (a zero input contributes nothing: exact, not approximate);
//! - outputs: 1 to [`MAX_OUTPUTS`] = 16, compiled with `OUT = 16`; the loss reads only the
//!   model's outputs ([`lstm_kernel::Loss::evaluate_first`]), so the extra head rows get no
//!   gradient and stay zero.
//!
//! Files are written and read at the true sizes ([`crate::files::view::Trimmed`]): a model
//! of 6 features and 4 classes is a `(6 -> H) ... Dense(H -> 4)` file that PyTorch, Keras
//! and the firmware see as such. To add a size, add it to [`HIDDEN_SIZES`] and to the
//! `match` in `by_hidden` (one line); each size costs about 10 s of release build.

use anyhow::{Context, Result, bail};
use lstm_kernel::io::ModelBytes;
use lstm_kernel::{
    Dense, Gru, HeadActivation, LayerKind, LayerSettings, Lstm, Model, Recurrent,
    RecurrentActivation, Stack, StreamState, Tensors,
};
use rand::RngExt;
use rand_distr::StandardNormal;

use crate::files::view::{ModelView, ScalingParts, Trimmed, trimmed_info};
use crate::fit::{
    Checkpoint, Control, EpochLog, Example, FitConfig, FitReport, Metrics, Scored, Task, evaluate,
    fit,
};
use crate::qnet::{QNet, QTyped};
use crate::rng::{Stream, stream};
use lstm_kernel::quant::{Calibration, QModel, Quantize};

/// Hidden sizes every command offers.
pub const HIDDEN_SIZES: [usize; 6] = [8, 10, 16, 32, 64, 128];
/// Most input features per step.
pub const MAX_FEATURES: usize = 16;
/// Most outputs (classes, regression targets).
pub const MAX_OUTPUTS: usize = 16;
/// Most stacked layers.
pub const MAX_LAYERS: usize = 3;
/// Longest sequence (or forecasting window) the training tape holds.
pub const MAX_STEPS: usize = 1024;
/// The output width every menu model is compiled with.
pub(crate) const OUT: usize = MAX_OUTPUTS;

/// A model's sizes, known at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// Input features per step (1 ..= 16).
    pub features: usize,
    /// Hidden units of every layer (one of [`HIDDEN_SIZES`]).
    pub hidden: usize,
    /// Head outputs (1 ..= 16): classes (1 for binary), or regression targets.
    pub outputs: usize,
    /// Recurrent layers (1 ..= 3).
    pub layers: usize,
    /// The cell of every layer (and, for a GRU, its variant).
    pub cell: LayerKind,
}

impl Sizes {
    /// Checks the sizes against the menu.
    ///
    /// # Errors
    /// A size outside the menu, named with the menu's range.
    pub fn check(&self) -> Result<()> {
        if !HIDDEN_SIZES.contains(&self.hidden) {
            bail!(
                "hidden size {}: the CLI is built with {HIDDEN_SIZES:?} (another size: add it in host-harness/src/menu.rs)",
                self.hidden
            );
        }
        if !(1..=MAX_FEATURES).contains(&self.features) {
            bail!(
                "{} input features: the CLI takes 1 to {MAX_FEATURES}",
                self.features
            );
        }
        if !(1..=MAX_OUTPUTS).contains(&self.outputs) {
            bail!(
                "{} outputs: the CLI takes 1 to {MAX_OUTPUTS} (classes, or regression targets)",
                self.outputs
            );
        }
        if !(1..=MAX_LAYERS).contains(&self.layers) {
            bail!("{} layers: the CLI takes 1 to {MAX_LAYERS}", self.layers);
        }
        Ok(())
    }

    /// `"2 x lstm(64), 12 inputs, 9 outputs"`.
    pub fn describe(&self) -> String {
        format!(
            "{} x {}({}), {} input{}, {} output{}",
            self.layers,
            self.cell.name(),
            self.hidden,
            self.features,
            if self.features == 1 { "" } else { "s" },
            self.outputs,
            if self.outputs == 1 { "" } else { "s" }
        )
    }

    /// The sizes a parsed model file describes.
    ///
    /// # Errors
    /// The layers differ in cell or hidden size (the menu builds uniform stacks), or a size
    /// is outside the menu.
    pub fn of_file(file: &ModelBytes<'_>) -> Result<Self> {
        Self::of_header(&file.header())
    }

    /// The sizes a model file's header describes (f32 or int8).
    ///
    /// # Errors
    /// As [`Self::of_file`].
    pub fn of_header(h: &lstm_kernel::io::Header) -> Result<Self> {
        let layers = h.layers();
        let first = layers[0];
        for (k, l) in layers.iter().enumerate() {
            if !l.kind.same_cell(first.kind) || l.kind != first.kind || l.hidden != first.hidden {
                bail!(
                    "layer {k} is {}({}) and layer 0 {}({}): the CLI's models have one cell and one hidden size throughout",
                    l.kind.name(),
                    l.hidden,
                    first.kind.name(),
                    first.hidden
                );
            }
        }
        let s = Self {
            features: h.input as usize,
            hidden: first.hidden as usize,
            outputs: h.output as usize,
            layers: layers.len(),
            cell: first.kind,
        };
        s.check()?;
        Ok(s)
    }
}

/// One sequence at run-time sizes: `x` is `[steps][features]`, `y` is `[rows][outputs]` with
/// one row (many-to-one) or one per step (labelling).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Inputs, row-major `[steps][features]`.
    pub x: Vec<f32>,
    /// Targets, row-major `[rows][outputs]`.
    pub y: Vec<f32>,
}

/// What the scoring commands (`eval --data`, `predict`) do with a model of the menu, float
/// ([`Net`]) or int8 ([`crate::qnet::QNet`]).
pub trait Infer: Send {
    /// The model's sizes.
    fn sizes(&self) -> Sizes;
    /// What the outputs mean.
    fn head(&self) -> HeadActivation;
    /// The scaling (at the true sizes), if any.
    fn scaling(&self) -> Option<&ScalingParts>;
    /// Whether the model forecasts first differences of one series.
    fn differenced(&self) -> bool;
    /// One-step-ahead metrics on `series[from..to]` (normalised series; MAE and RMSE in
    /// the series' units), see [`crate::fit::evaluate_series`].
    fn evaluate_series(&self, series: &[f32], from: usize, to: usize) -> Metrics;
    /// The metrics on normalised samples, MAE and RMSE in the targets' units.
    ///
    /// # Errors
    /// Samples of other sizes.
    fn evaluate(&self, task: Task, data: &[Sample]) -> Result<Metrics>;
    /// Streams `x` (`[steps][features]`, **raw**: the scaling is applied here) from the
    /// zero state and returns every step's outputs `[steps][outputs]`: the logits if
    /// `logits`, else after the output de-normalisation and the head activation.
    ///
    /// # Errors
    /// `x` is not a whole number of steps (or, for an int8 model, holds NaN or infinity).
    fn predict(&self, x: &[f32], logits: bool) -> Result<Vec<f32>>;
    /// What the weights are: `f32, 1,234 parameters` or `int8, ...`.
    fn weights_text(&self) -> String;
}

/// A model of the menu, behind a trait object: what the commands do with it.
pub trait Net: Infer {
    /// Sets what the outputs mean.
    fn set_head(&mut self, head: HeadActivation);
    /// Sets the scaling.
    ///
    /// # Errors
    /// Parts of other lengths than the sizes.
    fn set_scaling(&mut self, scaling: Option<ScalingParts>) -> Result<()>;
    /// Marks the model as a forecaster of first differences (one input).
    ///
    /// # Errors
    /// A model of more than one input.
    fn set_differenced(&mut self, on: bool) -> Result<()>;
    /// Sets every layer's recurrent activation.
    fn set_activation(&mut self, activation: RecurrentActivation);
    /// Keras' default initialisation from `seed` (per layer, bottom first: Glorot-uniform
    /// kernel, orthogonal recurrent kernel, zero bias, LSTM forget bias 1; then the
    /// Glorot-uniform head), at the true sizes: the padded rows are zero.
    fn init_keras(&mut self, seed: u64);
    /// The model at its true sizes, for the writers.
    fn view(&self) -> Box<dyn ModelView + '_>;
    /// Loads a parsed model file of these sizes (checked by the caller with
    /// [`Sizes::of_file`]): weights, settings, head activation and scaling.
    ///
    /// # Errors
    /// The file's layers are not these sizes.
    fn load(&mut self, file: &ModelBytes<'_>) -> Result<()>;
    /// Trains on normalised samples (see [`crate::fit::fit`]), from `resume` if given.
    ///
    /// # Errors
    /// Those of [`crate::fit::fit`], and samples of other sizes.
    #[allow(clippy::too_many_arguments)]
    fn fit(
        &mut self,
        task: Task,
        train: &[Sample],
        val: &[Sample],
        config: &FitConfig,
        resume: Option<&Checkpoint>,
        on_epoch: &mut dyn FnMut(&EpochLog, Option<&Checkpoint>) -> Result<Control>,
    ) -> Result<FitReport>;
    /// Forecasting with stateful truncated BPTT on a normalised series (see
    /// [`crate::fit::fit_stateful`]; the model's outputs are the next `outputs` values).
    ///
    /// # Errors
    /// Those of [`crate::fit::fit_stateful`], and a model of more than one input.
    #[allow(clippy::too_many_arguments)]
    fn fit_series(
        &mut self,
        series: &[f32],
        train_end: usize,
        val_end: usize,
        window: usize,
        config: &FitConfig,
        resume: Option<&Checkpoint>,
        on_epoch: &mut dyn FnMut(&EpochLog, Option<&Checkpoint>) -> Result<Control>,
    ) -> Result<FitReport>;
    /// The int8 model of this one ([`lstm_kernel::quant`]), calibrated on the inputs of
    /// `calibration` (normalised samples, each streamed from the zero state; a series is
    /// one sample), with this model's head activation, scaling and sizes.
    ///
    /// # Errors
    /// Samples of other sizes, no step, a non-finite value, or a weight the int8 format
    /// cannot hold (the message names the layer and row).
    fn quantize(&self, calibration: &[Sample]) -> Result<Box<dyn crate::qnet::QNet>>;
    /// A zero int8 model of this model's type and sizes, to load an int8 file into.
    fn quantized_zero(&self) -> Box<dyn crate::qnet::QNet>;
    /// Number of parameters at the true sizes.
    fn param_count(&self) -> usize {
        let v = self.view();
        (0..v.count())
            .filter_map(|i| v.tensor_info(i))
            .map(|t| t.len())
            .sum()
    }
}

/// Builds a zero model of `sizes` (checked against the menu).
///
/// # Errors
/// Sizes outside the menu.
pub fn build(sizes: Sizes) -> Result<Box<dyn Net>> {
    sizes.check()?;
    match (sizes.cell, sizes.features) {
        (LayerKind::Lstm, 1) => by_hidden::<LstmCell, 1>(sizes),
        (LayerKind::Lstm, _) => by_hidden::<LstmCell, MAX_FEATURES>(sizes),
        (LayerKind::Gru(_), 1) => by_hidden::<GruCell, 1>(sizes),
        (LayerKind::Gru(_), _) => by_hidden::<GruCell, MAX_FEATURES>(sizes),
    }
}

/// A cell type as a family of layer types, one per `(input, hidden)`.
trait Cell {
    type Layer<const I: usize, const H: usize>: MenuLayers<I, H>;
}

/// What a menu model's layers are: trainable float layers with an int8 counterpart.
pub(crate) trait MenuLayers<const IN: usize, const H: usize>:
    Recurrent<IN, H, f32>
    + Quantize<IN, H, Quantized: Clone + Send + Sync + 'static>
    + Default
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T, const IN: usize, const H: usize> MenuLayers<IN, H> for T where
    T: Recurrent<IN, H, f32>
        + Quantize<IN, H, Quantized: Clone + Send + Sync + 'static>
        + Default
        + Clone
        + Send
        + Sync
        + 'static
{
}

struct LstmCell;
impl Cell for LstmCell {
    type Layer<const I: usize, const H: usize> = Lstm<I, H>;
}

struct GruCell;
impl Cell for GruCell {
    type Layer<const I: usize, const H: usize> = Gru<I, H>;
}

// The library's own unit tests (`cfg(test)`) and the fuzz targets (`cfg(fuzzing)`, set by
// cargo-fuzz; they read files and never build a model) build the menu at H = 8 and one layer
// only: the 72 model types are most of the harness' compile time, and the unit-test binary
// would compile them a second time beside the library the binary and the tests in tests/
// link, which have the whole menu (the CLI tests run every command at other sizes, stacks
// and the GRU).
fn by_hidden<C: Cell, const IN: usize>(s: Sizes) -> Result<Box<dyn Net>> {
    match s.hidden {
        8 => by_layers::<C, IN, 8>(s),
        #[cfg(not(any(test, fuzzing)))]
        10 => by_layers::<C, IN, 10>(s),
        #[cfg(not(any(test, fuzzing)))]
        16 => by_layers::<C, IN, 16>(s),
        #[cfg(not(any(test, fuzzing)))]
        32 => by_layers::<C, IN, 32>(s),
        #[cfg(not(any(test, fuzzing)))]
        64 => by_layers::<C, IN, 64>(s),
        #[cfg(not(any(test, fuzzing)))]
        128 => by_layers::<C, IN, 128>(s),
        h => bail!("hidden size {h} is not compiled in (menu: {HIDDEN_SIZES:?})"),
    }
}

fn by_layers<C: Cell, const IN: usize, const H: usize>(s: Sizes) -> Result<Box<dyn Net>> {
    #[cfg_attr(any(test, fuzzing), allow(dead_code))]
    type Two<C, const IN: usize, const H: usize> =
        Stack<<C as Cell>::Layer<IN, H>, <C as Cell>::Layer<H, H>, H>;
    #[cfg_attr(any(test, fuzzing), allow(dead_code))]
    type Three<C, const IN: usize, const H: usize> =
        Stack<<C as Cell>::Layer<IN, H>, Two<C, H, H>, H>;
    match s.layers {
        1 => Typed::<C::Layer<IN, H>, IN, H>::boxed(s),
        #[cfg(not(any(test, fuzzing)))]
        2 => Typed::<Two<C, IN, H>, IN, H>::boxed(s),
        #[cfg(not(any(test, fuzzing)))]
        3 => Typed::<Three<C, IN, H>, IN, H>::boxed(s),
        n => bail!("{n} layers: the CLI takes 1 to {MAX_LAYERS}"),
    }
}

/// A menu model of compiled sizes `IN`, `H`, [`OUT`] with its true [`Sizes`].
struct Typed<R, const IN: usize, const H: usize> {
    model: Box<Model<R, IN, H, OUT>>,
    sizes: Sizes,
    head: HeadActivation,
    scaling: Option<ScalingParts>,
    differenced: bool,
}

impl<R, const IN: usize, const H: usize> Typed<R, IN, H>
where
    R: MenuLayers<IN, H>,
{
    fn boxed(sizes: Sizes) -> Result<Box<dyn Net>> {
        let mut model = Box::new(Model::new(R::default(), Dense::zeroed()));
        for k in 0..R::LAYERS {
            if !model.rnn.set_kind(k, sizes.cell) {
                bail!("layer {k} cannot be a {}", sizes.cell.name());
            }
        }
        Ok(Box::new(Self {
            model,
            sizes,
            head: HeadActivation::Unspecified,
            scaling: None,
            differenced: false,
        }))
    }

    /// Samples at the compiled sizes (zero-padded inputs and targets).
    fn examples(&self, data: &[Sample]) -> Result<Vec<Example<IN, OUT>>> {
        let (f, o) = (self.sizes.features, self.sizes.outputs);
        data.iter()
            .enumerate()
            .map(|(i, s)| {
                if !s.x.len().is_multiple_of(f) || !s.y.len().is_multiple_of(o) || s.y.is_empty() {
                    bail!(
                        "sequence {i}: {} inputs and {} targets are not whole steps of {f} features and rows of {o} outputs",
                        s.x.len(),
                        s.y.len()
                    );
                }
                Ok(Example {
                    xs: s.x.chunks_exact(f).map(pad).collect(),
                    ys: s.y.chunks_exact(o).map(pad).collect(),
                })
            })
            .collect()
    }

    fn scored(&self) -> Scored<'_> {
        Scored {
            count: self.sizes.outputs,
            units: self.scaling.as_ref().map_or(&[], |s| &s[2][..]),
        }
    }
}

/// `row` zero-padded (or cut) to `N` values.
pub(crate) fn pad<const N: usize>(row: &[f32]) -> [f32; N] {
    let mut a = [0.0; N];
    a.iter_mut().zip(row).for_each(|(d, &v)| *d = v);
    a
}

impl<R, const IN: usize, const H: usize> Infer for Typed<R, IN, H>
where
    R: MenuLayers<IN, H>,
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
        crate::fit::evaluate_series(&self.model, self.scored(), series, from, to)
    }
    fn evaluate(&self, task: Task, data: &[Sample]) -> Result<Metrics> {
        Ok(evaluate(
            &self.model,
            task,
            self.scored(),
            &self.examples(data)?,
            None,
        ))
    }
    fn predict(&self, x: &[f32], logits: bool) -> Result<Vec<f32>> {
        let mut state = R::State::zeroed();
        stream_outputs(
            self.sizes,
            self.head,
            self.scaling.as_ref(),
            self.differenced,
            x,
            logits,
            &mut |xs: &[f32; IN]| Ok(self.model.step(xs, &mut state)),
        )
    }
    fn weights_text(&self) -> String {
        format!("f32, {} parameters", self.param_count())
    }
}

impl<R, const IN: usize, const H: usize> Net for Typed<R, IN, H>
where
    R: MenuLayers<IN, H>,
{
    fn set_head(&mut self, head: HeadActivation) {
        self.head = head;
    }
    fn set_scaling(&mut self, scaling: Option<ScalingParts>) -> Result<()> {
        if let Some(p) = &scaling {
            let (f, o) = (self.sizes.features, self.sizes.outputs);
            if p.iter().map(Vec::len).collect::<Vec<_>>() != [f, f, o, o] {
                bail!("a scaling of other sizes than the model's ({f} inputs, {o} outputs)");
            }
        }
        self.scaling = scaling;
        Ok(())
    }
    fn set_differenced(&mut self, on: bool) -> Result<()> {
        if on && self.sizes.features != 1 {
            bail!(
                "first differences are of one series; the model has {} inputs",
                self.sizes.features
            );
        }
        self.differenced = on;
        Ok(())
    }
    fn set_activation(&mut self, activation: RecurrentActivation) {
        for k in 0..R::LAYERS {
            if let Some(s) = self.model.rnn.settings(k) {
                self.model
                    .rnn
                    .set_settings(k, LayerSettings { activation, ..s });
            }
        }
    }
    fn init_keras(&mut self, seed: u64) {
        // Keras' initialiser on the padded model, then the tensors that padding widens
        // (layer 0's W_ih, the head's W) rescaled to the Glorot limit of their true fans
        // (U(-l, l) times c is U(-c l, c l)) and their padded rows zeroed.
        let mut uniform = stream(seed, Stream::InitUniform);
        let mut normal = stream(seed, Stream::InitNormal);
        self.model
            .init_keras(&mut || uniform.random::<f32>(), &mut || {
                normal.sample(StandardNormal)
            });
        let (f, o) = (self.sizes.features, self.sizes.outputs);
        for i in 0..<Model<R, IN, H, OUT> as Tensors<f32>>::COUNT {
            let Some(t) = <Model<R, IN, H, OUT> as Tensors<f32>>::info(i) else {
                continue;
            };
            let true_t = trimmed_info(t, f, o);
            if true_t == t {
                continue;
            }
            // Glorot uniform: limit sqrt(6 / (fan_in + fan_out)); Keras' fans of the LSTM
            // kernel [IN, G H] are (IN, G H), of the Dense kernel [H, OUT] (H, OUT).
            let fans = |d: [usize; 3]| match t.kind {
                lstm_kernel::TensorKind::InputWeights => (d[0] + d[1] * d[2]) as f32,
                _ => (d[0] + d[1]) as f32,
            };
            let rescale = (fans(t.dims) / fans(true_t.dims)).sqrt();
            let v = Tensors::tensor_mut(&mut *self.model, i);
            let keep = true_t.len();
            if t.kind != lstm_kernel::TensorKind::HeadBias {
                v[..keep].iter_mut().for_each(|w| *w *= rescale);
            }
            v[keep..].fill(0.0);
        }
    }
    fn view(&self) -> Box<dyn ModelView + '_> {
        Box::new(Trimmed {
            inner: &*self.model,
            input: self.sizes.features,
            output: self.sizes.outputs,
            head: self.head,
            scaling: self.scaling.as_ref(),
            differenced: self.differenced,
        })
    }
    fn load(&mut self, file: &ModelBytes<'_>) -> Result<()> {
        let found = Sizes::of_file(file)?;
        if !found.cell.same_cell(self.sizes.cell)
            || (found.features, found.hidden, found.outputs, found.layers)
                != (
                    self.sizes.features,
                    self.sizes.hidden,
                    self.sizes.outputs,
                    self.sizes.layers,
                )
        {
            bail!(
                "the file is {}, the model {}",
                found.describe(),
                self.sizes.describe()
            );
        }
        let (f, o) = (self.sizes.features, self.sizes.outputs);
        let mut values = file.values();
        let mut model = self.model.clone();
        for i in 0..<Model<R, IN, H, OUT> as Tensors<f32>>::COUNT {
            let t = <Model<R, IN, H, OUT> as Tensors<f32>>::info(i).context("tensor")?;
            let keep = trimmed_info(t, f, o).len();
            let dst = Tensors::tensor_mut(&mut *model, i);
            dst.fill(0.0);
            for d in &mut dst[..keep] {
                *d = values
                    .next()
                    .context("the file has fewer weights than its sizes")?;
            }
        }
        for (k, e) in file.header().layers().iter().enumerate() {
            model.rnn.set_settings(k, e.settings);
            model.rnn.set_kind(k, e.kind);
        }
        self.model = model;
        self.sizes.cell = found.cell;
        self.head = file.header().head;
        self.differenced = file.header().differenced;
        self.scaling = file
            .scaling_values()
            .map(|v| crate::files::view::scaling_parts(v, f, o));
        Ok(())
    }
    fn quantize(&self, calibration: &[Sample]) -> Result<Box<dyn QNet>> {
        let examples = self.examples(calibration)?;
        let mut cal = Calibration::<IN>::new();
        for ex in &examples {
            cal.observe_sequence(&self.model, &ex.xs);
        }
        let mut q = Box::new(QModel::<R::Quantized, IN, H, OUT>::zeroed());
        q.quantize_into(&self.model, &cal)
            .map_err(|e| anyhow::anyhow!("cannot quantize the model: {e}"))?;
        Ok(Box::new(QTyped::new(
            q,
            self.sizes,
            self.head,
            self.scaling.clone(),
            self.differenced,
        )))
    }
    fn quantized_zero(&self) -> Box<dyn QNet> {
        Box::new(QTyped::new(
            Box::new(QModel::<R::Quantized, IN, H, OUT>::zeroed()),
            self.sizes,
            HeadActivation::Unspecified,
            None,
            false,
        ))
    }
    fn fit(
        &mut self,
        task: Task,
        train: &[Sample],
        val: &[Sample],
        config: &FitConfig,
        resume: Option<&Checkpoint>,
        on_epoch: &mut dyn FnMut(&EpochLog, Option<&Checkpoint>) -> Result<Control>,
    ) -> Result<FitReport> {
        let (train, val) = (self.examples(train)?, self.examples(val)?);
        let units = self
            .scaling
            .as_ref()
            .map(|s| s[2].clone())
            .unwrap_or_default();
        let scored = Scored {
            count: self.sizes.outputs,
            units: &units,
        };
        fit::<R, IN, H, OUT, MAX_STEPS>(
            &mut self.model,
            task,
            scored,
            &train,
            &val,
            config,
            resume,
            on_epoch,
        )
    }
    fn fit_series(
        &mut self,
        series: &[f32],
        train_end: usize,
        val_end: usize,
        window: usize,
        config: &FitConfig,
        resume: Option<&Checkpoint>,
        on_epoch: &mut dyn FnMut(&EpochLog, Option<&Checkpoint>) -> Result<Control>,
    ) -> Result<FitReport> {
        if self.sizes.features != 1 {
            bail!(
                "forecasting takes one input per step (the series), the model {}",
                self.sizes.features
            );
        }
        let units = self
            .scaling
            .as_ref()
            .map(|s| s[2].clone())
            .unwrap_or_default();
        let scored = Scored {
            count: self.sizes.outputs,
            units: &units,
        };
        crate::fit::fit_stateful::<R, IN, H, OUT, MAX_STEPS>(
            &mut self.model,
            scored,
            series,
            train_end,
            val_end,
            window,
            config,
            resume,
            on_epoch,
        )
    }
}

/// Streams `x` (`[steps][features]`, raw) through a model of the menu from its zero state:
/// the input differencing and scaling, `step` (one step of the model on the compiled
/// inputs, returning the head's logits), then unless `logits` the output de-normalisation,
/// the head activation and the differencing's sum: every step's `[outputs]`. The one
/// streaming of raw data, for the float and the int8 models (`step` a trait object: one
/// copy of this per `IN`).
///
/// # Errors
/// `x` is not whole steps of the model's features, or `step` fails.
pub(crate) fn stream_outputs<const IN: usize, const OUT_N: usize>(
    sizes: Sizes,
    head: HeadActivation,
    scaling: Option<&ScalingParts>,
    differenced: bool,
    x: &[f32],
    logits: bool,
    step: &mut dyn FnMut(&[f32; IN]) -> Result<[f32; OUT_N]>,
) -> Result<Vec<f32>> {
    let (f, o) = (sizes.features, sizes.outputs);
    if !x.len().is_multiple_of(f) {
        bail!("{} inputs are not whole steps of {f} features", x.len());
    }
    let mut diff = lstm_kernel::Differencer::NEW;
    let mut out = Vec::with_capacity(x.len() / f * o);
    for row in x.chunks_exact(f) {
        let mut xs: [f32; IN] = pad(row);
        if differenced {
            xs[0] = diff.input(xs[0]);
        }
        if let Some(s) = scaling {
            for (k, v) in xs.iter_mut().take(f).enumerate() {
                *v = (*v - s[0][k]) * s[1][k];
            }
        }
        let z = step(&xs)?;
        let mut y = z[..o].to_vec();
        if !logits {
            if let Some(s) = scaling {
                for (k, v) in y.iter_mut().enumerate() {
                    *v = *v * s[2][k] + s[3][k];
                }
            }
            head.apply(&mut y);
            if differenced {
                let base = diff.output(&[0.0]);
                y.iter_mut().for_each(|v| *v += base[0]);
            }
        }
        out.extend(y);
    }
    Ok(out)
}

/// Runs `work` on a thread with a large stack (the biggest menu models and their Adam
/// moments are several MiB, built on the stack before they are boxed), returning its
/// result.
///
/// # Errors
/// Those of `work`; a panic of the thread becomes an error.
pub fn with_big_stack<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(work)
        .context("cannot start the worker thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("the worker thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::binfile;
    use lstm_kernel::{LstmModel, Scaling, io};

    /// Random samples: 3 features, 5-12 steps, 2 classes by the sign of the first
    /// feature's sum.
    fn data(n: usize, seed: u64) -> Vec<Sample> {
        let mut rng = stream(seed, Stream::Data);
        (0..n)
            .map(|_| {
                let steps = rng.random_range(5..=12);
                let x: Vec<f32> = (0..3 * steps)
                    .map(|_| rng.random_range(-1.0..1.0))
                    .collect();
                let s: f32 = x.iter().step_by(3).sum();
                Sample {
                    x,
                    y: vec![f32::from(u8::from(s > 0.0))],
                }
            })
            .collect()
    }

    /// A 3-feature, 1-output model is compiled at IN = 16, OUT = 16: after Keras' init and
    /// training its padded rows are still zero, its file says (3 -> 8) + Dense(8 -> 1), and
    /// the exact-size kernel model decoded from that file gives the menu model's outputs
    /// (tolerance 1e-5: the padded sums add exact zeros but may group terms differently).
    #[test]
    fn a_padded_model_trains_as_its_true_sizes_and_saves_them() {
        // The tape of MAX_STEPS steps is built on the stack before it is boxed.
        with_big_stack(|| {
            padded_model_trains_as_its_true_sizes();
            Ok(())
        })
        .unwrap();
    }

    fn padded_model_trains_as_its_true_sizes() {
        let sizes = Sizes {
            features: 3,
            hidden: 8,
            outputs: 1,
            layers: 1,
            cell: LayerKind::Lstm,
        };
        let mut net = build(sizes).unwrap();
        net.init_keras(5);
        net.set_head(HeadActivation::Sigmoid);
        let scaling = [
            vec![0.5, 0.0, -0.5],
            vec![2.0, 1.0, 0.5],
            vec![1.0],
            vec![0.0],
        ];
        net.set_scaling(Some(scaling.clone())).unwrap();
        let config = FitConfig {
            epochs: 5,
            batch: 8,
            lr: 1e-2,
            ..FitConfig::default()
        };
        let r = net
            .fit(
                Task::Classify,
                &data(64, 1),
                &data(16, 2),
                &config,
                None,
                &mut |_, _| Ok(Control::Continue),
            )
            .unwrap();
        assert_eq!(r.epochs.len(), 5);
        let bytes = binfile::to_bytes(&*net.view()).unwrap();
        let file = io::parse(&bytes).unwrap();
        assert_eq!(Sizes::of_file(&file).unwrap(), sizes);
        assert_eq!(file.header().head, HeadActivation::Sigmoid);
        let mut exact = LstmModel::<3, 8, 1>::zeroed(RecurrentActivation::Sigmoid);
        let mut sc = Scaling::IDENTITY;
        io::decode_scaled_into(&bytes, &mut exact, &mut sc).unwrap();
        assert_eq!(sc.input_scale, [2.0, 1.0, 0.5]);
        let x = &data(1, 3)[0].x;
        let got = net.predict(x, true).unwrap();
        let mut state = <Lstm<3, 8> as Recurrent<3, 8, f32>>::State::zeroed();
        for (t, row) in x.chunks_exact(3).enumerate() {
            let z = exact.step(&sc.input(&row.try_into().unwrap()), &mut state);
            assert!(
                (z[0] - got[t]).abs() < 1e-5,
                "step {t}: {} vs {}",
                z[0],
                got[t]
            );
        }
        // The reloaded menu model is the same model.
        let mut back = build(sizes).unwrap();
        back.load(&file).unwrap();
        assert_eq!(
            back.predict(x, false).unwrap(),
            net.predict(x, false).unwrap()
        );
        assert_eq!(binfile::to_bytes(&*back.view()).unwrap(), bytes);
        assert_eq!(net.param_count(), 4 * 8 * (3 + 8 + 1) + 8 + 1);
    }

    #[test]
    fn sizes_outside_the_menu_are_refused_by_name() {
        let ok = Sizes {
            features: 12,
            hidden: 64,
            outputs: 9,
            layers: 2,
            cell: LayerKind::Gru(lstm_kernel::GruVariant::ResetAfter),
        };
        assert!(ok.check().is_ok());
        for (bad, what) in [
            (Sizes { hidden: 12, ..ok }, "hidden size 12"),
            (Sizes { features: 17, ..ok }, "17 input features"),
            (Sizes { outputs: 0, ..ok }, "0 outputs"),
            (Sizes { layers: 4, ..ok }, "4 layers"),
        ] {
            let e = format!("{:#}", build(bad).err().unwrap());
            assert!(e.contains(what), "{e}");
        }
    }
}
