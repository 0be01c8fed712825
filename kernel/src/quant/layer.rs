//! The integer layers' common interface ([`QRecurrent`], implemented by [`QLstm`], [`QGru`] and by
//! [`Stack`]s of integer layers) and the bridge from a trained float layer ([`Quantize`]:
//! calibration of its cell ranges, then quantization).

use super::fixed::UNIT_SCALE;
use super::gru::{QGru, QGruState};
use super::linear::{QRows, QRowsMut, QuantError};
use super::lstm::{CellFormat, QLstm, QLstmState};
use crate::activation::RecurrentActivation;
use crate::gru::Gru;
use crate::gru_weights::GruVariant;
use crate::lstm::Lstm;
use crate::recurrent::{LayerKind, Recurrent};
use crate::stack::Stack;
use crate::state::{GruState, LstmState};

/// Most recurrent layers a calibration records ([`super::Calibration`]).
pub const MAX_LAYERS: usize = 8;

/// An integer recurrent layer (or stack) from `IN` int16 inputs to `H` outputs in Q0.15.
pub trait QRecurrent<const IN: usize, const H: usize> {
    /// One stream's state.
    type State: Copy + core::fmt::Debug + PartialEq;
    /// Recurrent layers in this layer or stack.
    const LAYERS: usize;

    /// The zero state (what a reset gives).
    fn zero_state() -> Self::State;

    /// Zero parameters (a value to quantize into, [`Quantize::quantize_into`]).
    fn zeroed() -> Self
    where
        Self: Sized;

    /// One stateful step: reads `x` and the state at `t - 1`, leaves the state at `t`.
    fn step(&self, x: &[i16; IN], state: &mut Self::State);

    /// The output `h_t` (Q0.15) in a state.
    fn output(state: &Self::State) -> &[i16; H];

    /// The cell format of layer `layer` (0 = bottom); `None` for a layer without one or
    /// past the top.
    fn cell_format(&self, layer: usize) -> Option<CellFormat> {
        self.layer(layer).and_then(|l| l.cell)
    }

    /// Layer `k` (0 = bottom): its kind, settings and rows; `None` past the top.
    fn layer(&self, k: usize) -> Option<QLayer<'_>>;

    /// Layer `k`, writable (its settings and rows; its cell type is the type's).
    fn layer_mut(&mut self, k: usize) -> Option<QLayerMut<'_>>;
}

/// One integer recurrent layer at run-time sizes (for the file format, [`super::file`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QLayer<'a> {
    /// Cell type (and GRU variant).
    pub kind: LayerKind,
    /// `σ` of the gates.
    pub activation: RecurrentActivation,
    /// The cell state's format (`None` for a GRU).
    pub cell: Option<CellFormat>,
    /// `W_ih` rows and the input-side biases, `[G·hidden]` rows of `input` weights.
    pub x: QRows<'a>,
    /// `W_hh` rows, `[G·hidden]` rows of `hidden` weights.
    pub h: QRows<'a>,
}

/// The settings of a layer that depend on its cell type.
#[derive(Debug, PartialEq, Eq)]
pub enum QCellMut<'a> {
    /// An LSTM's cell state format.
    Lstm(&'a mut CellFormat),
    /// A GRU's variant.
    Gru(&'a mut GruVariant),
}

/// [`QLayer`], writable.
#[derive(Debug, PartialEq, Eq)]
pub struct QLayerMut<'a> {
    /// Cell type settings.
    pub cell: QCellMut<'a>,
    /// `σ` of the gates.
    pub activation: &'a mut RecurrentActivation,
    /// `W_ih` rows.
    pub x: QRowsMut<'a>,
    /// `W_hh` rows.
    pub h: QRowsMut<'a>,
}

impl<const IN: usize, const H: usize> QRecurrent<IN, H> for QLstm<IN, H> {
    type State = QLstmState<H>;
    const LAYERS: usize = 1;

    fn zero_state() -> Self::State {
        QLstmState::zeroed()
    }

    fn zeroed() -> Self {
        QLstm::zeroed()
    }

    #[inline]
    fn step(&self, x: &[i16; IN], state: &mut Self::State) {
        QLstm::step(self, x, state);
    }

    #[inline]
    fn output(state: &Self::State) -> &[i16; H] {
        &state.h
    }

    fn layer(&self, k: usize) -> Option<QLayer<'_>> {
        (k == 0).then(|| QLayer {
            kind: LayerKind::Lstm,
            activation: self.activation,
            cell: Some(self.cell),
            x: self.x.rows(),
            h: self.h.rows(),
        })
    }

    fn layer_mut(&mut self, k: usize) -> Option<QLayerMut<'_>> {
        (k == 0).then(|| QLayerMut {
            cell: QCellMut::Lstm(&mut self.cell),
            activation: &mut self.activation,
            x: self.x.rows_mut(),
            h: self.h.rows_mut(),
        })
    }
}

impl<const IN: usize, const H: usize> QRecurrent<IN, H> for QGru<IN, H> {
    type State = QGruState<H>;
    const LAYERS: usize = 1;

    fn zero_state() -> Self::State {
        QGruState::zeroed()
    }

    fn zeroed() -> Self {
        QGru::zeroed()
    }

    #[inline]
    fn step(&self, x: &[i16; IN], state: &mut Self::State) {
        QGru::step(self, x, state);
    }

    #[inline]
    fn output(state: &Self::State) -> &[i16; H] {
        &state.h
    }

    fn layer(&self, k: usize) -> Option<QLayer<'_>> {
        (k == 0).then(|| QLayer {
            kind: LayerKind::Gru(self.variant),
            activation: self.activation,
            cell: None,
            x: self.x.rows(),
            h: self.h.rows(),
        })
    }

    fn layer_mut(&mut self, k: usize) -> Option<QLayerMut<'_>> {
        (k == 0).then(|| QLayerMut {
            cell: QCellMut::Gru(&mut self.variant),
            activation: &mut self.activation,
            x: self.x.rows_mut(),
            h: self.h.rows_mut(),
        })
    }
}

/// The lower part, then the upper part on the lower's `h_t` (as [`Stack`] does in float).
impl<const IN: usize, const MID: usize, const H: usize, A, B> QRecurrent<IN, H> for Stack<A, B, MID>
where
    A: QRecurrent<IN, MID>,
    B: QRecurrent<MID, H>,
{
    type State = Stack<A::State, B::State, MID>;
    const LAYERS: usize = A::LAYERS + B::LAYERS;

    fn zero_state() -> Self::State {
        Stack::new(A::zero_state(), B::zero_state())
    }

    fn zeroed() -> Self {
        Stack::new(A::zeroed(), B::zeroed())
    }

    #[inline]
    fn step(&self, x: &[i16; IN], state: &mut Self::State) {
        self.lower.step(x, &mut state.lower);
        self.upper.step(A::output(&state.lower), &mut state.upper);
    }

    #[inline]
    fn output(state: &Self::State) -> &[i16; H] {
        B::output(&state.upper)
    }

    fn layer(&self, k: usize) -> Option<QLayer<'_>> {
        if k < A::LAYERS {
            self.lower.layer(k)
        } else {
            self.upper.layer(k - A::LAYERS)
        }
    }

    fn layer_mut(&mut self, k: usize) -> Option<QLayerMut<'_>> {
        if k < A::LAYERS {
            self.lower.layer_mut(k)
        } else {
            self.upper.layer_mut(k - A::LAYERS)
        }
    }
}

/// A quantization failure in recurrent layer `layer` (0 = bottom).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerQuantError {
    /// The layer.
    pub layer: usize,
    /// What went wrong in it.
    pub error: QuantError,
}

impl core::fmt::Display for LayerQuantError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "layer {}: {}", self.layer, self.error)
    }
}

/// A trained float layer (or stack) that has an integer counterpart.
pub trait Quantize<const IN: usize, const H: usize>: Recurrent<IN, H, f32> {
    /// The integer layer.
    type Quantized: QRecurrent<IN, H>;

    /// Calibration: raises `peaks[layer]` to the largest `|c|` of each layer's cell state
    /// in `state` (layers without a cell state leave theirs). `peaks` has at least
    /// [`Self::LAYERS`](crate::Tensors::LAYERS) entries.
    fn observe(state: &Self::State, peaks: &mut [f32]);

    /// The integer layer: the bottom layer's input `k` has real value `s_in[k]` per unit,
    /// `cells[layer]` is each layer's cell format (bottom first, at least
    /// [`Self::LAYERS`](crate::Tensors::LAYERS) entries; layers without a cell state ignore
    /// theirs).
    ///
    /// # Errors
    /// [`LayerQuantError`] naming the layer and row.
    fn quantize(
        &self,
        s_in: &[f32; IN],
        cells: &[CellFormat],
    ) -> Result<Self::Quantized, LayerQuantError>
    where
        Self::Quantized: Sized,
    {
        let mut out = <Self::Quantized as QRecurrent<IN, H>>::zeroed();
        self.quantize_into(&mut out, s_in, cells)?;
        Ok(out)
    }

    /// [`Self::quantize`] into `out` in place (no copy of the parameters on the stack; on
    /// an error `out` is partly written and must not be used).
    ///
    /// # Errors
    /// As [`Self::quantize`].
    fn quantize_into(
        &self,
        out: &mut Self::Quantized,
        s_in: &[f32; IN],
        cells: &[CellFormat],
    ) -> Result<(), LayerQuantError>;
}

impl<const IN: usize, const H: usize> Quantize<IN, H> for Lstm<IN, H, f32> {
    type Quantized = QLstm<IN, H>;

    fn observe(state: &LstmState<H>, peaks: &mut [f32]) {
        for c in state.c {
            // `max` ignores NaN; a NaN cell value is caught by the finite checks upstream.
            peaks[0] = peaks[0].max(c.abs());
        }
    }

    fn quantize_into(
        &self,
        out: &mut QLstm<IN, H>,
        s_in: &[f32; IN],
        cells: &[CellFormat],
    ) -> Result<(), LayerQuantError> {
        out.quantize_into(self, s_in, cells[0])
            .map_err(|error| LayerQuantError { layer: 0, error })
    }
}

/// A GRU has no cell state: nothing to calibrate but its input.
impl<const IN: usize, const H: usize> Quantize<IN, H> for Gru<IN, H, f32> {
    type Quantized = QGru<IN, H>;

    fn observe(_state: &GruState<H>, _peaks: &mut [f32]) {}

    fn quantize_into(
        &self,
        out: &mut QGru<IN, H>,
        s_in: &[f32; IN],
        _cells: &[CellFormat],
    ) -> Result<(), LayerQuantError> {
        out.quantize_into(self, s_in)
            .map_err(|error| LayerQuantError { layer: 0, error })
    }
}

impl<const IN: usize, const MID: usize, const H: usize, A, B> Quantize<IN, H> for Stack<A, B, MID>
where
    A: Quantize<IN, MID>,
    B: Quantize<MID, H>,
{
    type Quantized = Stack<A::Quantized, B::Quantized, MID>;

    fn observe(state: &Self::State, peaks: &mut [f32]) {
        A::observe(&state.lower, peaks);
        B::observe(&state.upper, &mut peaks[A::LAYERS..]);
    }

    fn quantize_into(
        &self,
        out: &mut Self::Quantized,
        s_in: &[f32; IN],
        cells: &[CellFormat],
    ) -> Result<(), LayerQuantError> {
        self.lower.quantize_into(&mut out.lower, s_in, cells)?;
        self.upper
            .quantize_into(&mut out.upper, &[UNIT_SCALE; MID], &cells[A::LAYERS..])
            .map_err(|e| LayerQuantError {
                layer: e.layer + A::LAYERS,
                ..e
            })
    }
}
