//! The LSTM layer: an LSTM cell's weights plus its activation choices, as a [`Recurrent`]
//! layer (stateful steps, batched steps, recorded windows and their BPTT with `dL/dx`).

use crate::activation::{Maths, RecurrentActivation};
use crate::backend::{Float, Kernels};
use crate::real::Real;
use crate::recurrent::{LayerKind, LayerSettings, Recurrent, Tape};
use crate::state::LstmState;
use crate::tensors::{TensorInfo, Tensors};
use crate::weights::LstmWeights;

/// An LSTM layer: weights plus the choice of recurrent activation and of how the
/// activations are evaluated ([`Maths`]: exact by default, see [`Self::with_maths`]).
///
/// `IN` inputs, `H` hidden units (`H >= 1`, checked at compile time). The equations are
/// those of PyTorch's `nn.LSTM` (gate order i, f, g, o), with `σ` =
/// [`RecurrentActivation`] for i, f, o (see [`crate::cell::lstm`]). Its operations are
/// those of [`Recurrent`] (`use lstm_kernel::Recurrent` to call them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lstm<const IN: usize, const H: usize, F = f32> {
    /// Parameters.
    pub weights: LstmWeights<IN, H, F>,
    /// Activation of gates i, f, o.
    pub activation: RecurrentActivation,
    /// How `σ` and `tanh` are evaluated (forward passes; backward uses the derivatives
    /// written in terms of the recorded outputs). Default [`Maths::Exact`].
    pub maths: Maths,
}

/// What backward needs from one forward step of an LSTM layer: `(IN + 7H)` scalars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepRecord<const IN: usize, const H: usize, F = f32> {
    /// Input `x_t`, `[IN]`.
    pub x: [F; IN],
    /// `h_{t-1}`, `[H]`.
    pub h_prev: [F; H],
    /// `c_{t-1}`, `[H]`.
    pub c_prev: [F; H],
    /// Activated gates i, f, g, o, `[4][H]`.
    pub gates: [[F; H]; 4],
    /// `tanh(c_t)`, `[H]`.
    pub tanh_c: [F; H],
}

impl<const IN: usize, const H: usize, F: Real> StepRecord<IN, H, F> {
    /// Every value zero.
    pub const fn zeroed() -> Self {
        Self {
            x: [F::ZERO; IN],
            h_prev: [F::ZERO; H],
            c_prev: [F::ZERO; H],
            gates: [[F::ZERO; H]; 4],
            tanh_c: [F::ZERO; H],
        }
    }

    /// The step's output `h_t = o ⊙ tanh(c_t)`, recomputed from the record.
    pub fn h(&self) -> [F; H] {
        core::array::from_fn(|j| self.gates[3][j] * self.tanh_c[j])
    }
}

/// The tape of an LSTM layer: up to `T` [`StepRecord`]s.
pub type LstmTape<const T: usize, const IN: usize, const H: usize, F = f32> =
    Tape<T, StepRecord<IN, H, F>>;

impl<const IN: usize, const H: usize, F: Real> Lstm<IN, H, F> {
    pub(crate) const NONZERO_H: () =
        assert!(H > 0, "an LSTM needs at least one hidden unit (H >= 1)");

    /// A layer from weights and recurrent activation, with exact activations.
    pub const fn new(weights: LstmWeights<IN, H, F>, activation: RecurrentActivation) -> Self {
        let () = Self::NONZERO_H;
        Self {
            weights,
            activation,
            maths: Maths::Exact,
        }
    }

    /// A layer with zero weights (every gate 1/2, `g = 0`: `h` and `c` stay zero).
    pub const fn zeroed(activation: RecurrentActivation) -> Self {
        Self::new(LstmWeights::zeroed(), activation)
    }

    /// The same layer with its activations evaluated under `maths` (opt in to
    /// [`Maths::Fast`] here; its error bounds are in [`crate::activation`]).
    ///
    /// ```
    /// use lstm_kernel::{Lstm, LstmWeights, Maths, RecurrentActivation};
    /// let lstm = Lstm::<1, 8>::new(LstmWeights::zeroed(), RecurrentActivation::Sigmoid)
    ///     .with_maths(Maths::Fast);
    /// assert_eq!(lstm.maths, Maths::Fast);
    /// ```
    #[must_use]
    pub const fn with_maths(mut self, maths: Maths) -> Self {
        self.maths = maths;
        self
    }
}

/// Zero weights, sigmoid gates, exact maths ([`Lstm::zeroed`] with the default activation):
/// the starting value a decoder fills (stacks of these are `Default` too).
impl<const IN: usize, const H: usize, F: Real> Default for Lstm<IN, H, F> {
    fn default() -> Self {
        Self::zeroed(RecurrentActivation::Sigmoid)
    }
}

/// The layer's parameters: [`LstmWeights`]' walk.
impl<const IN: usize, const H: usize, F: Real> Tensors<F> for Lstm<IN, H, F> {
    type Grads = LstmWeights<IN, H, F>;
    const COUNT: usize = 3;
    const LAYERS: usize = 1;
    fn info(i: usize) -> Option<TensorInfo> {
        LstmWeights::<IN, H, F>::info(i)
    }
    fn tensor(&self, i: usize) -> &[F] {
        self.weights.tensor(i)
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [F] {
        self.weights.tensor_mut(i)
    }
}

/// ```
/// use lstm_kernel::{Lstm, LstmState, LstmWeights, Recurrent, RecurrentActivation};
/// let lstm = Lstm::<1, 4>::new(LstmWeights::zeroed(), RecurrentActivation::Sigmoid);
/// let mut state = LstmState::zeroed();
/// lstm.step(&[1.0], &mut state);
/// // Zero weights: every gate is 0.5, g = 0, so h and c stay zero.
/// assert_eq!(state.h, [0.0; 4]);
/// ```
impl<const IN: usize, const H: usize, F: Float> Recurrent<IN, H, F> for Lstm<IN, H, F> {
    type State = LstmState<H, F>;
    type Record = StepRecord<IN, H, F>;

    #[inline]
    fn zero_record() -> Self::Record {
        StepRecord::zeroed()
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
        K::cell_step_state(self.activation, self.maths, &self.weights, x, state);
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
        r.c_prev = state.c;
        K::cell_step(
            self.activation,
            self.maths,
            &self.weights,
            x,
            state,
            &mut r.gates,
            &mut r.tanh_c,
        );
    }

    /// `dz` from the cell backward, then `dW_ih += x ⊗ dz`, `dW_hh += h_{t-1} ⊗ dz`,
    /// `db += dz`, `dh_{t-1} = W_hh dz` and `dx = W_ih dz`. Gradients are w.r.t. the
    /// [`LstmWeights`] layout (one bias: for PyTorch both `bias_ih` and `bias_hh` receive
    /// `grads.b`).
    fn backward_step_with<K: Kernels<F>>(
        &self,
        r: &Self::Record,
        dh: Option<&[F; H]>,
        d: &mut Self::State,
        grads: &mut Self::Grads,
        dx: Option<&mut [F; IN]>,
    ) {
        let () = Self::NONZERO_H;
        let w = &self.weights;
        if let Some(dh) = dh {
            for (a, &b) in d.h.iter_mut().zip(dh) {
                *a += b;
            }
        }
        let mut dz = [[F::ZERO; H]; 4];
        let dzf = dz.as_flattened_mut();
        K::cell_backward(
            self.activation,
            r.gates.as_flattened(),
            &r.c_prev,
            &r.tanh_c,
            &d.h,
            &mut d.c,
            dzf,
        );
        K::ger_acc(grads.w_ih_flat_mut(), &r.x, dzf);
        K::ger_acc(grads.w_hh_flat_mut(), &r.h_prev, dzf);
        for (b, &z) in grads.b_flat_mut().iter_mut().zip(dzf.iter()) {
            *b += z;
        }
        d.h = [F::ZERO; H];
        K::gemv_acc(&mut d.h, w.w_hh_flat(), dzf);
        if let Some(dx) = dx {
            *dx = [F::ZERO; IN];
            K::gemv_acc(dx, w.w_ih_flat(), dzf);
        }
    }

    /// [`Self::step_record_rows_with`] into scratch records (the same bits as `R`
    /// single-stream steps).
    fn step_rows_with<K: Kernels<F>, const R: usize>(
        &self,
        xs: [&[F; IN]; R],
        states: [&mut Self::State; R],
    ) {
        let mut scratch = [StepRecord::zeroed(); R];
        self.step_record_rows_with::<K, R>(xs, states, scratch.each_mut());
    }

    /// `R` streams' pre-activations as one small GEMM (each weight read once per `R`
    /// streams, [`crate::primitives::Primitives::gemm_t_acc_rows`]), then each stream's gates
    /// and cell update: the same operations, in the same order, as the single-stream step.
    fn step_record_rows_with<K: Kernels<F>, const R: usize>(
        &self,
        xs: [&[F; IN]; R],
        states: [&mut Self::State; R],
        records: [&mut Self::Record; R],
    ) {
        let () = Self::NONZERO_H;
        let w = &self.weights;
        let (mut states, mut records) = (states, records);
        for ((rec, s), x) in records.iter_mut().zip(&states).zip(xs) {
            rec.x = *x;
            rec.h_prev = s.h;
            rec.c_prev = s.c;
            rec.gates = w.b;
        }
        {
            let z = records.each_mut().map(|r| r.gates.as_flattened_mut());
            K::gemm_t_acc_rows(z, w.w_ih_flat(), xs.map(|x| &x[..]));
        }
        {
            let z = records.each_mut().map(|r| r.gates.as_flattened_mut());
            K::gemm_t_acc_rows(z, w.w_hh_flat(), states.each_ref().map(|s| &s.h[..]));
        }
        for (rec, s) in records.iter_mut().zip(states.iter_mut()) {
            let StepRecord { gates, tanh_c, .. } = &mut **rec;
            let (h, c) = (&mut s.h, &mut s.c);
            K::cell_forward_maths(
                self.activation,
                self.maths,
                gates.as_flattened_mut(),
                c,
                h,
                tanh_c,
            );
        }
    }

    /// Each stream's cell backward, then the weight gradients as rank-`R` updates and
    /// `dh_{t-1}`, `dx` as `R`-row products
    /// ([`crate::primitives::Primitives::ger_acc_rows`], `gemv_acc_rows`).
    fn backward_step_rows_with<K: Kernels<F>, const R: usize>(
        &self,
        records: [&Self::Record; R],
        dh: [Option<&[F; H]>; R],
        d: [&mut Self::State; R],
        grads: &mut Self::Grads,
        dx: [Option<&mut [F; IN]>; R],
    ) {
        let () = Self::NONZERO_H;
        let w = &self.weights;
        let mut d = d;
        let mut dz = [[[F::ZERO; H]; 4]; R];
        for (((r, dh), d), dz) in records.iter().zip(dh).zip(d.iter_mut()).zip(dz.iter_mut()) {
            if let Some(dh) = dh {
                for (a, &b) in d.h.iter_mut().zip(dh) {
                    *a += b;
                }
            }
            K::cell_backward(
                self.activation,
                r.gates.as_flattened(),
                &r.c_prev,
                &r.tanh_c,
                &d.h,
                &mut d.c,
                dz.as_flattened_mut(),
            );
        }
        let dzs = dz.each_ref().map(|z| z.as_flattened());
        K::ger_acc_rows(grads.w_ih_flat_mut(), records.map(|r| &r.x[..]), dzs);
        K::ger_acc_rows(grads.w_hh_flat_mut(), records.map(|r| &r.h_prev[..]), dzs);
        for dz in dzs {
            for (b, &z) in grads.b_flat_mut().iter_mut().zip(dz) {
                *b += z;
            }
        }
        for d in d.iter_mut() {
            d.h = [F::ZERO; H];
        }
        K::gemv_acc_rows(d.each_mut().map(|d| &mut d.h[..]), w.w_hh_flat(), dzs);
        if dx.iter().all(Option::is_some) {
            let mut dx = dx;
            let out = dx.each_mut().map(|d| match d {
                Some(d) => {
                    **d = [F::ZERO; IN];
                    &mut d[..]
                }
                None => &mut [][..],
            });
            K::gemv_acc_rows(out, w.w_ih_flat(), dzs);
        } else {
            for (dx, dz) in dx.into_iter().zip(dzs) {
                if let Some(dx) = dx {
                    *dx = [F::ZERO; IN];
                    K::gemv_acc(dx, w.w_ih_flat(), dz);
                }
            }
        }
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
        (layer == 0).then_some(LayerKind::Lstm)
    }

    fn set_kind(&mut self, layer: usize, kind: LayerKind) -> bool {
        layer == 0 && kind == LayerKind::Lstm
    }

    fn init_keras(&mut self, uniform: &mut impl FnMut() -> F, normal: &mut impl FnMut() -> F) {
        self.weights.init_keras(uniform, normal);
    }
}
