//! [`QModel`]: integer layers and an int8 dense head, quantized from a trained [`Model`]
//! with a [`Calibration`] over representative inputs.

use super::fixed::UNIT_SCALE;
use super::layer::{LayerQuantError, MAX_LAYERS, QRecurrent, Quantize};
use super::linear::{QLinear, QuantError};
use super::lstm::CellFormat;
use crate::model::Model;

/// Fractional bits of the head's outputs: an `i32` in Q19.12 (`logit = out / 4096`).
pub const OUT_FRAC: u32 = 12;

/// Headroom of the calibrated ranges: the input scales and cell formats hold `MARGIN`
/// times the largest value seen, so unseen inputs slightly beyond the calibration data
/// do not saturate.
pub const MARGIN: f32 = 1.25;

/// What a calibration pass saw: the largest `|x_k|` per input channel and the largest
/// `|c|` per recurrent layer (bottom first), over every step of the representative
/// sequences run through the float model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration<const IN: usize> {
    /// Largest `|x_k|` seen, `[IN]`.
    pub input_peak: [f32; IN],
    /// Largest `|c|` seen per layer, `[MAX_LAYERS]` (unused entries 0).
    pub cell_peak: [f32; MAX_LAYERS],
    /// Steps observed.
    pub steps: u64,
    /// True once a NaN or infinite input or state was seen (the calibration is unusable).
    pub non_finite: bool,
}

impl<const IN: usize> Default for Calibration<IN> {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a model could not be quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QModelError {
    /// A recurrent layer's weights.
    Layer(LayerQuantError),
    /// The head's weights.
    Head(QuantError),
    /// The calibration saw no step, or saw NaN or infinite values.
    Calibration,
    /// The stack has more layers than a calibration records ([`MAX_LAYERS`]).
    TooManyLayers,
}

impl core::fmt::Display for QModelError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Layer(e) => write!(f, "{e}"),
            Self::Head(e) => write!(f, "head: {e}"),
            Self::Calibration => write!(
                f,
                "the calibration saw no step, or NaN or infinite inputs or states"
            ),
            Self::TooManyLayers => write!(f, "more than {MAX_LAYERS} recurrent layers"),
        }
    }
}

impl<const IN: usize> Calibration<IN> {
    /// Nothing seen yet.
    pub const fn new() -> Self {
        Self {
            input_peak: [0.0; IN],
            cell_peak: [0.0; MAX_LAYERS],
            steps: 0,
            non_finite: false,
        }
    }

    /// Runs `model` over one sequence from its zero state, recording every step's inputs
    /// and cell states (each sequence of the calibration set is one call; a stateful
    /// stream can be fed in pieces with [`Self::observe_step`]).
    pub fn observe_sequence<R, const H: usize, const OUT: usize>(
        &mut self,
        model: &Model<R, IN, H, OUT, f32>,
        xs: &[[f32; IN]],
    ) where
        R: Quantize<IN, H>,
    {
        let mut state = <R::State as crate::state::StreamState>::zeroed();
        for x in xs {
            self.observe_step(model, x, &mut state);
        }
    }

    /// One step of `model` on `x` from `state` (advanced), recorded.
    pub fn observe_step<R, const H: usize, const OUT: usize>(
        &mut self,
        model: &Model<R, IN, H, OUT, f32>,
        x: &[f32; IN],
        state: &mut R::State,
    ) where
        R: Quantize<IN, H>,
    {
        if R::LAYERS > MAX_LAYERS {
            return;
        }
        for (p, v) in self.input_peak.iter_mut().zip(x) {
            self.non_finite |= !v.is_finite();
            *p = p.max(v.abs());
        }
        model.rnn.step(x, state);
        let mut peaks = [0.0f32; MAX_LAYERS];
        R::observe(state, &mut peaks);
        for (p, v) in self.cell_peak.iter_mut().zip(peaks) {
            self.non_finite |= !v.is_finite();
            *p = p.max(v);
        }
        // `max` skips NaN: check the output too.
        self.non_finite |= R::output(state).iter().any(|h| !h.is_finite());
        self.steps += 1;
    }

    /// The bottom layer's input scales: input `k` in `[-MARGIN · peak_k, MARGIN · peak_k]`
    /// maps onto `[-32767, 32767]` (a channel that was always 0 gets scale 1).
    pub fn input_scale(&self) -> [f32; IN] {
        self.input_peak
            .map(|p| if p > 0.0 { p * MARGIN / 32767.0 } else { 1.0 })
    }

    /// The cell format of layer `layer`: the finest that holds `MARGIN` times its peak.
    pub fn cell_format(&self, layer: usize) -> CellFormat {
        CellFormat::for_range(self.cell_peak.get(layer).copied().unwrap_or(0.0) * MARGIN)
    }
}

/// Integer recurrent layers `R` (`IN -> H`) and an int8 dense head (`H -> OUT`, outputs in
/// Q19.12), with the real value of one unit of each input channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QModel<R, const IN: usize, const H: usize, const OUT: usize> {
    /// The integer recurrent layers.
    pub rnn: R,
    /// The head: one row per output over `h` (Q0.15), output Q19.12.
    pub head: QLinear<1, OUT, H>,
    /// Real value of one unit of input `k`, `[IN]` (`x_q = round(x / input_scale)`).
    pub input_scale: [f32; IN],
}

impl<R, const IN: usize, const H: usize, const OUT: usize> QModel<R, IN, H, OUT>
where
    R: QRecurrent<IN, H>,
{
    /// Zero parameters, input scales 1 (a value to quantize into, [`Self::quantize_into`]).
    pub fn zeroed() -> Self {
        Self {
            rnn: R::zeroed(),
            head: QLinear::zeroed(),
            input_scale: [1.0; IN],
        }
    }

    /// Quantizes `model` with the ranges of `calibration` (input scales, cell formats).
    ///
    /// # Errors
    /// [`QModelError`]: an empty or non-finite calibration, too deep a stack, or the layer
    /// and row whose weights are not finite or whose scale is not representable.
    pub fn quantize<F>(
        model: &Model<F, IN, H, OUT, f32>,
        calibration: &Calibration<IN>,
    ) -> Result<Self, QModelError>
    where
        F: Quantize<IN, H, Quantized = R>,
    {
        let mut out = Self::zeroed();
        out.quantize_into(model, calibration)?;
        Ok(out)
    }

    /// [`Self::quantize`] in place: overwrites `self` without a copy of the parameters on
    /// the stack (a device quantizing into a `static`: the by-value form needs a few times
    /// the model's size of stack). On an error `self` is partly written and must not be used.
    ///
    /// # Errors
    /// As [`Self::quantize`].
    pub fn quantize_into<F>(
        &mut self,
        model: &Model<F, IN, H, OUT, f32>,
        calibration: &Calibration<IN>,
    ) -> Result<(), QModelError>
    where
        F: Quantize<IN, H, Quantized = R>,
    {
        if F::LAYERS > MAX_LAYERS {
            return Err(QModelError::TooManyLayers);
        }
        if calibration.steps == 0 || calibration.non_finite {
            return Err(QModelError::Calibration);
        }
        let input_scale = calibration.input_scale();
        let mut cells = [CellFormat::for_range(0.0); MAX_LAYERS];
        for (l, c) in cells.iter_mut().enumerate() {
            *c = calibration.cell_format(l);
        }
        model
            .rnn
            .quantize_into(&mut self.rnn, &input_scale, &cells)
            .map_err(QModelError::Layer)?;
        self.head
            .quantize_into(
                |_, o, j| model.head.w[o][j],
                |_, o| model.head.b[o],
                &[UNIT_SCALE; H],
                1.0 / (1u32 << OUT_FRAC) as f64,
            )
            .map_err(QModelError::Head)?;
        self.input_scale = input_scale;
        Ok(())
    }

    /// `x` in the input format: `round(x_k / input_scale_k)`, saturated to `±32767`;
    /// `None` if any value is NaN or infinite.
    pub fn quantize_input(&self, x: &[f32; IN]) -> Option<[i16; IN]> {
        let mut q = [0i16; IN];
        for k in 0..IN {
            if !x[k].is_finite() {
                return None;
            }
            q[k] = libm::roundf(x[k] / self.input_scale[k]).clamp(-32767.0, 32767.0) as i16;
        }
        Some(q)
    }

    /// One stateful step: the head's outputs (logits or predictions) in Q19.12.
    pub fn step(&self, x: &[i16; IN], state: &mut R::State) -> [i32; OUT] {
        self.rnn.step(x, state);
        let h = super::dot::Lanes::new(R::output(state));
        core::array::from_fn(|o| self.head.row(0, o, &h))
    }

    /// An output of [`Self::step`] as a real number (`out / 4096`).
    pub fn output_value(out: i32) -> f32 {
        out as f32 / (1u32 << OUT_FRAC) as f32
    }

    /// Bytes of the parameters in memory (a `static` in flash).
    pub const BYTES: usize = core::mem::size_of::<Self>();
}
