//! The GRU layer: a GRU cell's weights plus its variant and activation choices, as a
//! [`Recurrent`] layer (stateful steps, batched steps, recorded windows and their BPTT with
//! `dL/dx`). It stacks with any other layer ([`crate::Stack`]: a GRU over an LSTM too).

use crate::activation::{Maths, RecurrentActivation};
use crate::backend::{Float, Kernels};
use crate::gru_weights::GruVariant;
use crate::gru_weights::GruWeights;
use crate::real::Real;
use crate::recurrent::{LayerKind, LayerSettings, Recurrent, Tape};
use crate::state::GruState;
use crate::tensors::{TensorInfo, Tensors};

/// A GRU layer: weights, the [`GruVariant`] (where the reset gate acts), the recurrent
/// activation of r and z and how the activations are evaluated ([`Maths`]).
///
/// `IN` inputs, `H` hidden units (`H >= 1`, checked at compile time). Equations and gate
/// order (PyTorch's r, z, n) in [`crate::cell::gru`]. Its operations are those of
/// [`Recurrent`]; its state is a [`GruState`] (one vector, `h`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gru<const IN: usize, const H: usize, F = f32> {
    /// Parameters.
    pub weights: GruWeights<IN, H, F>,
    /// Where the reset gate acts (PyTorch's [`GruVariant::ResetAfter`] by default).
    pub variant: GruVariant,
    /// Activation of gates r and z.
    pub activation: RecurrentActivation,
    /// How `σ` and `tanh` are evaluated (forward passes). Default [`Maths::Exact`].
    pub maths: Maths,
}

/// What backward needs from one forward step of a GRU layer: `(IN + 5H)` scalars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GruRecord<const IN: usize, const H: usize, F = f32> {
    /// Input `x_t`, `[IN]`.
    pub x: [F; IN],
    /// `h_{t-1}`, `[H]`.
    pub h_prev: [F; H],
    /// Activated gates r, z, n, `[3][H]`.
    pub gates: [[F; H]; 3],
    /// `W_hn h_{t-1} + b_hn` (reset-after) or `r ⊙ h_{t-1}` (reset-before), `[H]`.
    pub hn: [F; H],
}

impl<const IN: usize, const H: usize, F: Real> GruRecord<IN, H, F> {
    /// Every value zero.
    pub const fn zeroed() -> Self {
        Self {
            x: [F::ZERO; IN],
            h_prev: [F::ZERO; H],
            gates: [[F::ZERO; H]; 3],
            hn: [F::ZERO; H],
        }
    }

    /// The step's output `h_t = n + z ⊙ (h_{t-1} - n)`, recomputed from the record (the
    /// same operations as the step, so the same bits).
    pub fn h(&self) -> [F; H] {
        let [_, z, n] = &self.gates;
        core::array::from_fn(|j| n[j] + z[j] * (self.h_prev[j] - n[j]))
    }
}

/// The tape of a GRU layer: up to `T` [`GruRecord`]s.
pub type GruTape<const T: usize, const IN: usize, const H: usize, F = f32> =
    Tape<T, GruRecord<IN, H, F>>;

impl<const IN: usize, const H: usize, F: Real> Gru<IN, H, F> {
    const NONZERO_H: () = assert!(H > 0, "a GRU needs at least one hidden unit (H >= 1)");

    /// A layer from weights, variant and recurrent activation, with exact activations.
    pub const fn new(
        weights: GruWeights<IN, H, F>,
        variant: GruVariant,
        activation: RecurrentActivation,
    ) -> Self {
        let () = Self::NONZERO_H;
        Self {
            weights,
            variant,
            activation,
            maths: Maths::Exact,
        }
    }

    /// A layer with zero weights (`r = z = 1/2`, `n = 0`: `h` halves every step).
    pub const fn zeroed(variant: GruVariant, activation: RecurrentActivation) -> Self {
        Self::new(GruWeights::zeroed(), variant, activation)
    }

    /// The same layer with its activations evaluated under `maths`.
    #[must_use]
    pub const fn with_maths(mut self, maths: Maths) -> Self {
        self.maths = maths;
        self
    }
}

/// Zero weights, reset-after, sigmoid gates, exact maths.
impl<const IN: usize, const H: usize, F: Real> Default for Gru<IN, H, F> {
    fn default() -> Self {
        Self::zeroed(GruVariant::ResetAfter, RecurrentActivation::Sigmoid)
    }
}

/// The layer's parameters: [`GruWeights`]' walk.
impl<const IN: usize, const H: usize, F: Real> Tensors<F> for Gru<IN, H, F> {
    type Grads = GruWeights<IN, H, F>;
    const COUNT: usize = 4;
    const LAYERS: usize = 1;
    fn info(i: usize) -> Option<TensorInfo> {
        GruWeights::<IN, H, F>::info(i)
    }
    fn tensor(&self, i: usize) -> &[F] {
        self.weights.tensor(i)
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        self.weights.tensor_mut(i)
    }
}

/// ```
/// use lstm_kernel::{Gru, GruState, GruVariant, GruWeights, Recurrent, RecurrentActivation};
/// let gru = Gru::<1, 4>::zeroed(GruVariant::ResetAfter, RecurrentActivation::Sigmoid);
/// let mut state = GruState { h: [1.0; 4] };
/// gru.step(&[1.0], &mut state);
/// // Zero weights: r = z = 0.5, n = 0, so h halves.
/// assert_eq!(state.h, [0.5; 4]);
/// ```
impl<const IN: usize, const H: usize, F: Float> Recurrent<IN, H, F> for Gru<IN, H, F> {
    type State = GruState<H, F>;
    type Record = GruRecord<IN, H, F>;

    #[inline]
    fn zero_record() -> Self::Record {
        GruRecord::zeroed()
    }

    #[inline]
    fn output(state: &Self::State) -> &[F; H] {
        &state.h
    }

    #[inline]
    fn record_output(record: &Self::Record) -> [F; H] {
        record.h()
    }

    #[inline]
    fn step_with<K: Kernels<F>>(&self, x: &[F; IN], state: &mut Self::State) {
        let () = Self::NONZERO_H;
        K::gru_step_state(
            self.activation,
            self.maths,
            self.variant,
            &self.weights,
            x,
            &mut state.h,
        );
    }

    #[inline]
    fn step_record_with<K: Kernels<F>>(
        &self,
        x: &[F; IN],
        state: &mut Self::State,
        r: &mut Self::Record,
    ) {
        let () = Self::NONZERO_H;
        r.x = *x;
        r.h_prev = state.h;
        K::gru_step(
            self.activation,
            self.maths,
            self.variant,
            &self.weights,
            x,
            &r.h_prev,
            &mut state.h,
            &mut r.gates,
            &mut r.hn,
        );
    }

    /// [`crate::cell::gru::GruKernels::gru_backward`] on `dL/dh_t` = `dh` plus the gradient
    /// from `t + 1`. Gradients are w.r.t. the [`GruWeights`] layout (for PyTorch,
    /// `bias_ih` and `bias_hh` both receive `grads.b`'s r and z blocks; `bias_ih`'s n block
    /// is `grads.b`'s, `bias_hh`'s is `grads.b_hn`).
    fn backward_step_with<K: Kernels<F>>(
        &self,
        r: &Self::Record,
        dh: Option<&[F; H]>,
        d: &mut Self::State,
        grads: &mut Self::Grads,
        dx: Option<&mut [F; IN]>,
    ) {
        let () = Self::NONZERO_H;
        let mut total = d.h;
        if let Some(dh) = dh {
            for (a, &b) in total.iter_mut().zip(dh) {
                *a += b;
            }
        }
        K::gru_backward(
            self.activation,
            self.variant,
            &self.weights,
            &r.x,
            &r.h_prev,
            &r.gates,
            &r.hn,
            &total,
            &mut d.h,
            grads,
            dx,
        );
    }

    fn settings(&self, layer: usize) -> Option<LayerSettings> {
        (layer == 0).then_some(LayerSettings {
            activation: self.activation,
            maths: self.maths,
        })
    }

    fn set_settings(&mut self, layer: usize, s: LayerSettings) -> bool {
        if layer != 0 {
            return false;
        }
        self.activation = s.activation;
        self.maths = s.maths;
        true
    }

    fn kind(&self, layer: usize) -> Option<LayerKind> {
        (layer == 0).then_some(LayerKind::Gru(self.variant))
    }

    fn set_kind(&mut self, layer: usize, kind: LayerKind) -> bool {
        match (layer, kind) {
            (0, LayerKind::Gru(v)) => {
                self.variant = v;
                true
            }
            _ => false,
        }
    }

    fn init_keras(&mut self, uniform: &mut impl FnMut() -> F, normal: &mut impl FnMut() -> F) {
        self.weights.init_keras(uniform, normal);
    }
}
