//! [`QLstm`]: the LSTM layer in integer arithmetic (int8 weights, int16 state), and its
//! quantization from a trained [`Lstm`].
//!
//! One step, gate order i, f, g, o (PyTorch's), every value an integer of the stated format:
//! ```text
//! z_q   = sat16( X_g(x_q) + H_g(h_q) )                       Q3.12, per gate and unit
//!         X_g = W_ih rows over x_q (input scales folded in) + b, rescaled to Q3.12
//!         H_g = W_hh rows over h_q (Q0.15), rescaled to Q3.12
//! i, f, o = σ_q(z_q)   g = tanh_q(z_q)                        Q0.15
//! c_q'  = sat16( f·c_q / 2^15  +  i·g / 2^(30 - C) )          Q(15-C).C, C = cell_frac
//! h_q'  = o · tanh_q(c_q' in Q3.12) / 2^15                    Q0.15
//! ```
//! (products rounded half up, [`super::fixed`]). The cell state's format is chosen by
//! calibration ([`CellFormat::for_range`]): the finest power-of-two scale that holds the
//! largest `|c|` seen, as TFLite's integer LSTM chooses its cell scale.

use super::act;
use super::dot::Lanes;
use super::fixed::{GATE_FRAC, UNIT_FRAC, UNIT_SCALE, mul_q15, rounding_shr, saturate_i16};
use super::linear::{QLinear, QuantError};
use crate::activation::RecurrentActivation;
use crate::lstm::Lstm;

/// The cell state's fixed-point format: `C` fractional bits in an `i16` (Q(15-C).C, range
/// `±2^(15-C)`, resolution `2^-C`), `C` in `0..=15`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CellFormat {
    frac: u8,
}

impl CellFormat {
    /// `frac` fractional bits; `None` above 15.
    pub const fn new(frac: u8) -> Option<Self> {
        if frac <= 15 {
            Some(Self { frac })
        } else {
            None
        }
    }

    /// The fractional bits `C`.
    pub const fn frac(self) -> u8 {
        self.frac
    }

    /// The finest format whose range holds `peak` (the largest `|c|` seen in calibration;
    /// `peak <= 2^-15` gives Q0.15, a peak at or above `2^15` or NaN the coarsest, Q15.0).
    pub fn for_range(peak: f32) -> Self {
        // Range of Q(15-C).C is just under 2^(15-C); a NaN peak fits nowhere.
        let fits = |frac: u8| peak < (1u32 << (15 - frac)) as f32 * (1.0 - 1.0 / 32768.0);
        let mut frac = 15u8;
        while frac > 0 && !fits(frac) {
            frac -= 1;
        }
        Self { frac }
    }

    /// The real value of one unit: `2^-C`.
    pub fn scale(self) -> f32 {
        1.0 / (1u32 << self.frac) as f32
    }

    /// A cell value in Q3.12 for `tanh` (rounded when `C > 12`, saturated when `C < 12`).
    #[inline(always)]
    fn to_gate_input(self, c: i16) -> i16 {
        let frac = self.frac as u32;
        if frac >= GATE_FRAC {
            rounding_shr(c as i32, frac - GATE_FRAC) as i16
        } else {
            saturate_i16((c as i32) << (GATE_FRAC - frac))
        }
    }
}

/// One stream's integer LSTM state: `h` in Q0.15, `c` in the layer's [`CellFormat`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QLstmState<const H: usize> {
    /// Hidden state `h_t`, `[H]`, Q0.15.
    pub h: [i16; H],
    /// Cell state `c_t`, `[H]`, in the layer's cell format.
    pub c: [i16; H],
}

impl<const H: usize> QLstmState<H> {
    /// The zero state.
    pub const fn zeroed() -> Self {
        Self {
            h: [0; H],
            c: [0; H],
        }
    }
}

/// An LSTM layer with `IN` int16 inputs and `H` units in integer arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QLstm<const IN: usize, const H: usize> {
    /// `W_ih` and `b` rows, gates i, f, g, o, output Q3.12.
    pub x: QLinear<4, H, IN>,
    /// `W_hh` rows over `h` (Q0.15), output Q3.12.
    pub h: QLinear<4, H, H>,
    /// The cell state's format.
    pub cell: CellFormat,
    /// `σ` of gates i, f, o.
    pub activation: RecurrentActivation,
}

impl<const IN: usize, const H: usize> QLstm<IN, H> {
    /// Zero weights, sigmoid gates, cell format Q15.0: every bit zero (a value to quantize
    /// into, which can live in `.bss`).
    pub const fn zeroed() -> Self {
        Self {
            x: QLinear::zeroed(),
            h: QLinear::zeroed(),
            cell: CellFormat { frac: 0 },
            activation: RecurrentActivation::Sigmoid,
        }
    }

    /// Quantizes a trained layer whose input `k` has real value `s_in[k]` per unit (the
    /// calibrated input scales for the bottom layer, `2^-15` for a layer on another) and
    /// whose cell state is held in `cell`. The layer's `maths` setting does not carry over:
    /// the integer activations are the tables of [`act`].
    ///
    /// # Errors
    /// [`QuantError`] for a non-finite weight or an unrepresentable scale.
    pub fn quantize(
        layer: &Lstm<IN, H, f32>,
        s_in: &[f32; IN],
        cell: CellFormat,
    ) -> Result<Self, QuantError> {
        let mut out = Self::zeroed();
        out.quantize_into(layer, s_in, cell)?;
        Ok(out)
    }

    /// [`Self::quantize`] in place (see [`QLinear::quantize_into`]).
    ///
    /// # Errors
    /// As [`Self::quantize`].
    pub fn quantize_into(
        &mut self,
        layer: &Lstm<IN, H, f32>,
        s_in: &[f32; IN],
        cell: CellFormat,
    ) -> Result<(), QuantError> {
        let w = &layer.weights;
        let gate_unit = 1.0 / (1u32 << GATE_FRAC) as f64;
        self.x
            .quantize_into(|g, j, k| w.w_ih[k][g][j], |g, j| w.b[g][j], s_in, gate_unit)?;
        self.h.quantize_into(
            |g, j, k| w.w_hh[k][g][j],
            |_, _| 0.0,
            &[UNIT_SCALE; H],
            gate_unit,
        )?;
        self.cell = cell;
        self.activation = layer.activation;
        Ok(())
    }

    /// One stateful step: reads `x` (`[IN]`, each in its input scale) and the state at
    /// `t - 1`, leaves the state at `t` (`state.h` is the output).
    pub fn step(&self, x: &[i16; IN], state: &mut QLstmState<H>) {
        // The inputs and h_{t-1} in the dot product's lane order, once per step.
        let (x, h_prev) = (Lanes::new(x), Lanes::new(&state.h));
        let z = |a: i32, b: i32| saturate_i16(a.saturating_add(b));
        // Four units at a time: each gate's four rows are adjacent, so one pass over x and
        // one over h_{t-1} serve them (`row_quad`); then the four cell updates.
        let mut j = 0;
        while j + 4 <= H {
            let z = [0, 1, 2, 3].map(|g| self.quad(g, j, &x, &h_prev));
            // One `match` per four units, so each activation's loop is compiled on its own.
            match self.activation {
                RecurrentActivation::Sigmoid => self.update4(act::sigmoid, j, &z, state),
                RecurrentActivation::HardSigmoidKeras2 => {
                    self.update4(act::hard_sigmoid_keras2, j, &z, state)
                }
                RecurrentActivation::HardSigmoidKeras3 => {
                    self.update4(act::hard_sigmoid_keras3, j, &z, state)
                }
            }
            j += 4;
        }
        // The last `H % 4` units one by one, gates i, f and g, o two rows per pass.
        while j < H {
            let ([xi, xf], [xg, xo]) = (self.x.row_pair(0, j, &x), self.x.row_pair(2, j, &x));
            let ([hi, hf], [hg, ho]) = (
                self.h.row_pair(0, j, &h_prev),
                self.h.row_pair(2, j, &h_prev),
            );
            let sigma = |v: i16| act::gate(self.activation, v);
            self.update(
                sigma,
                j,
                [z(xi, hi), z(xf, hf), z(xg, hg), z(xo, ho)],
                state,
            );
            j += 1;
        }
    }

    /// The pre-activations of gate `g` for units `j..j + 4` (Q3.12): the saturated sum of
    /// the input and recurrent rows.
    #[inline(always)]
    fn quad(&self, g: usize, j: usize, x: &Lanes<IN>, h_prev: &Lanes<H>) -> [i16; 4] {
        let a = self.x.row_quad(g, j, x).unwrap_or([0; 4]);
        let b = self.h.row_quad(g, j, h_prev).unwrap_or([0; 4]);
        let z = |a: i32, b: i32| saturate_i16(a.saturating_add(b));
        [z(a[0], b[0]), z(a[1], b[1]), z(a[2], b[2]), z(a[3], b[3])]
    }

    /// The cell updates of units `j..j + 4` from their pre-activations `z[gate][unit]`.
    #[inline(always)]
    fn update4(
        &self,
        sigma: impl Fn(i16) -> i16 + Copy,
        j: usize,
        z: &[[i16; 4]; 4],
        state: &mut QLstmState<H>,
    ) {
        for r in 0..4 {
            self.update(sigma, j + r, [z[0][r], z[1][r], z[2][r], z[3][r]], state);
        }
    }

    /// The cell update of unit `j` from its gate pre-activations `z = [i, f, g, o]` (Q3.12),
    /// `sigma` the layer's gate activation: `c_t = f ⊙ c_{t-1} + i ⊙ g`,
    /// `h_t = o ⊙ tanh(c_t)`, in place.
    #[inline(always)]
    fn update(&self, sigma: impl Fn(i16) -> i16, j: usize, z: [i16; 4], state: &mut QLstmState<H>) {
        let i = sigma(z[0]);
        let f = sigma(z[1]);
        let g = act::tanh(z[2]);
        let o = sigma(z[3]);
        // `CellFormat` keeps `frac <= 15` (its constructors); saying so lets the shifts
        // below drop their zero-shift branch.
        let frac = (self.cell.frac as u32).min(15);
        let fc = mul_q15(f, state.c[j]);
        let ig = rounding_shr(i as i32 * g as i32, 2 * UNIT_FRAC - frac);
        let c = saturate_i16(fc + ig);
        state.c[j] = c;
        state.h[j] = mul_q15(o, act::tanh(self.cell.to_gate_input(c))) as i16;
    }

    /// Bytes of the parameters in memory (a `static` in flash).
    pub const BYTES: usize = core::mem::size_of::<Self>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cell_format_is_the_finest_that_holds_the_peak() {
        let frac = |p: f32| CellFormat::for_range(p).frac();
        assert_eq!(frac(0.0), 15);
        assert_eq!(frac(0.9), 15);
        assert_eq!(frac(1.0), 14);
        assert_eq!(frac(3.0), 13);
        assert_eq!(frac(4.0), 12);
        assert_eq!(frac(1e9), 0);
        assert_eq!(frac(f32::NAN), 0);
        assert_eq!(CellFormat::new(16), None);
        // Q3.12 and back: a cell value reaches tanh at the gate format.
        let q13 = CellFormat::new(13).unwrap();
        assert_eq!(q13.to_gate_input(8192), 4096); // 1.0
        let q10 = CellFormat::new(10).unwrap();
        assert_eq!(q10.to_gate_input(1024), 4096); // 1.0
        assert_eq!(q10.to_gate_input(i16::MAX), i16::MAX); // 32.0 saturates at 8
    }
}
