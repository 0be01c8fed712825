//! [`QGru`]: the GRU layer in integer arithmetic (int8 weights, int16 `h`), both variants,
//! and its quantization from a trained [`Gru`].
//!
//! One step, gate order r, z, n (PyTorch's), formats as in [`super::lstm`]:
//! ```text
//! r, z  = σ_q( sat16(X_g(x_q) + H_g(h_q)) )                     Q0.15
//! reset-after (PyTorch, Keras reset_after=True):
//!   hn  = sat16( H_n(h_q) )        (W_hn h + b_hn, Q3.12)
//!   n   = tanh_q( sat16(X_n(x_q) + r · hn / 2^15) )
//! reset-before (Keras reset_after=False):
//!   n   = tanh_q( sat16(X_n(x_q) + H_n(r ⊙ h_q)) )   (b_in + b_hn in X_n)
//! h_q'  = n + z · (h_q - n) / 2^15                              Q0.15
//! ```
//! `X_g` holds `W_ih` and the input biases, `H_g` `W_hh` (and `b_hn` under reset-after),
//! each rescaled to Q3.12. `hn` saturates at `±8` like every pre-activation.

use super::act;
use super::dot::Lanes;
use super::fixed::{GATE_FRAC, UNIT_SCALE, mul_q15, rounding_shr, saturate_i16};
use super::linear::{QLinear, QuantError};
use crate::activation::RecurrentActivation;
use crate::gru::Gru;
use crate::gru_weights::GruVariant;

/// One stream's integer GRU state: `h` in Q0.15.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QGruState<const H: usize> {
    /// Hidden state `h_t`, `[H]`, Q0.15 (also the output).
    pub h: [i16; H],
}

impl<const H: usize> QGruState<H> {
    /// The zero state.
    pub const fn zeroed() -> Self {
        Self { h: [0; H] }
    }
}

/// A GRU layer with `IN` int16 inputs and `H` units in integer arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QGru<const IN: usize, const H: usize> {
    /// `W_ih` rows and the input-side biases, gates r, z, n, output Q3.12.
    pub x: QLinear<3, H, IN>,
    /// `W_hh` rows over `h` (or `r ⊙ h` for n under reset-before), output Q3.12.
    pub h: QLinear<3, H, H>,
    /// Where the reset gate acts.
    pub variant: GruVariant,
    /// `σ` of gates r and z.
    pub activation: RecurrentActivation,
}

impl<const IN: usize, const H: usize> QGru<IN, H> {
    /// Zero weights, reset-after, sigmoid gates (a value to quantize into).
    pub const fn zeroed() -> Self {
        Self {
            x: QLinear::zeroed(),
            h: QLinear::zeroed(),
            variant: GruVariant::ResetAfter,
            activation: RecurrentActivation::Sigmoid,
        }
    }

    /// Quantizes a trained layer whose input `k` has real value `s_in[k]` per unit (see
    /// [`super::QLstm::quantize`]).
    ///
    /// # Errors
    /// [`QuantError`] for a non-finite weight or an unrepresentable scale.
    pub fn quantize(layer: &Gru<IN, H, f32>, s_in: &[f32; IN]) -> Result<Self, QuantError> {
        let mut out = Self::zeroed();
        out.quantize_into(layer, s_in)?;
        Ok(out)
    }

    /// [`Self::quantize`] in place (see [`QLinear::quantize_into`]).
    ///
    /// # Errors
    /// As [`Self::quantize`].
    pub fn quantize_into(
        &mut self,
        layer: &Gru<IN, H, f32>,
        s_in: &[f32; IN],
    ) -> Result<(), QuantError> {
        let w = &layer.weights;
        let after = layer.variant == GruVariant::ResetAfter;
        let gate_unit = 1.0 / (1u32 << GATE_FRAC) as f64;
        let x_bias = |g: usize, j: usize| {
            if g == 2 && !after {
                w.b[g][j] + w.b_hn[j]
            } else {
                w.b[g][j]
            }
        };
        let h_bias = |g: usize, j: usize| if g == 2 && after { w.b_hn[j] } else { 0.0 };
        self.x
            .quantize_into(|g, j, k| w.w_ih[k][g][j], x_bias, s_in, gate_unit)?;
        self.h.quantize_into(
            |g, j, k| w.w_hh[k][g][j],
            h_bias,
            &[UNIT_SCALE; H],
            gate_unit,
        )?;
        self.variant = layer.variant;
        self.activation = layer.activation;
        Ok(())
    }

    /// One stateful step: reads `x` and the state at `t - 1`, leaves the state at `t`.
    pub fn step(&self, x: &[i16; IN], state: &mut QGruState<H>) {
        let h_prev = state.h;
        // The inputs and h_{t-1} in the dot product's lane order, once per step.
        let (x, hl) = (Lanes::new(x), Lanes::new(&h_prev));
        let pre = |g: usize, j: usize| {
            saturate_i16(self.x.row(g, j, &x).saturating_add(self.h.row(g, j, &hl)))
        };
        let r: [i16; H] = core::array::from_fn(|j| act::gate(self.activation, pre(0, j)));
        // Reset-before: the recurrent product of n reads r ⊙ h.
        let rh: [i16; H] = match self.variant {
            GruVariant::ResetAfter => [0; H],
            GruVariant::ResetBefore => core::array::from_fn(|j| mul_q15(r[j], h_prev[j]) as i16),
        };
        let rh = Lanes::new(&rh);
        for j in 0..H {
            let z = act::gate(self.activation, pre(1, j));
            let xn = self.x.row(2, j, &x);
            let n_pre = match self.variant {
                GruVariant::ResetAfter => {
                    let hn = saturate_i16(self.h.row(2, j, &hl));
                    xn.saturating_add(mul_q15(r[j], hn))
                }
                GruVariant::ResetBefore => xn.saturating_add(self.h.row(2, j, &rh)),
            };
            let n = act::tanh(saturate_i16(n_pre)) as i32;
            let d = h_prev[j] as i32 - n; // |d| < 2^16: z · d fits an i32
            state.h[j] = saturate_i16(n + rounding_shr(z as i32 * d, 15));
        }
    }

    /// Bytes of the parameters in memory (a `static` in flash).
    pub const BYTES: usize = core::mem::size_of::<Self>();
}
