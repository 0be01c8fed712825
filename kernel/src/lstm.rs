//! The LSTM layer: stateful streaming steps, batched steps, and a recorded window of `T`
//! steps with its BPTT backward pass.

use heapless::Vec;

use crate::activation::{Maths, RecurrentActivation};
use crate::backend::{Float, Kernels};
use crate::error::WindowTooLong;
use crate::real::Real;
use crate::state::{BatchState, LstmState};
use crate::weights::LstmWeights;

/// An LSTM layer: weights plus the choice of recurrent activation and of how the
/// activations are evaluated ([`Maths`]: exact by default, see [`Self::with_maths`]).
///
/// `IN` inputs, `H` hidden units (`H >= 1`, checked at compile time). The equations are
/// those of PyTorch's `nn.LSTM` (gate order i, f, g, o), with `σ` =
/// [`RecurrentActivation`] for i, f, o.
///
/// Every method comes in two forms: `name` uses the scalar type's default kernels
/// ([`crate::backend::DefaultBackend`]: SIMD for `f32` on vector targets, scalar otherwise) and `name_with::<K>` takes the
/// kernels explicitly (tests run both).
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

/// What backward needs from one forward step: `(IN + 7H)` scalars.
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
    /// The step's output `h_t = o ⊙ tanh(c_t)`, recomputed from the record.
    pub fn h(&self) -> [F; H] {
        core::array::from_fn(|j| self.gates[3][j] * self.tanh_c[j])
    }
}

/// A caller-owned record of up to `T` forward steps, for BPTT.
///
/// Size: `T · (IN + 7H) · size_of::<F>()` bytes plus one `usize` (e.g. `T = 20, IN = 1,
/// H = 10`, `f32`: 5,680 bytes). Lives wherever the caller puts it (stack or `static`).
#[derive(Clone, Debug)]
pub struct Tape<const T: usize, const IN: usize, const H: usize, F = f32> {
    steps: Vec<StepRecord<IN, H, F>, T>,
}

impl<const T: usize, const IN: usize, const H: usize, F: Real> Tape<T, IN, H, F> {
    /// An empty tape.
    pub const fn new() -> Self {
        Self { steps: Vec::new() }
    }
    /// The recorded steps, oldest first.
    pub fn steps(&self) -> &[StepRecord<IN, H, F>] {
        &self.steps
    }
    /// Number of recorded steps (`<= T`).
    pub fn len(&self) -> usize {
        self.steps.len()
    }
    /// True if nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
    /// Forgets all recorded steps.
    pub fn clear(&mut self) {
        self.steps.clear();
    }
}

impl<const T: usize, const IN: usize, const H: usize, F: Real> Default for Tape<T, IN, H, F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const IN: usize, const H: usize, F: Float> Lstm<IN, H, F> {
    const NONZERO_H: () = assert!(H > 0, "an LSTM needs at least one hidden unit (H >= 1)");

    /// A layer from weights and recurrent activation, with exact activations.
    pub const fn new(weights: LstmWeights<IN, H, F>, activation: RecurrentActivation) -> Self {
        let () = Self::NONZERO_H;
        Self {
            weights,
            activation,
            maths: Maths::Exact,
        }
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

    /// One stateful step: reads `x_t` (`[IN]`) and `state = (h_{t-1}, c_{t-1})`, writes
    /// `state = (h_t, c_t)`. The output is `state.h`.
    ///
    /// ```
    /// use lstm_kernel::{Lstm, LstmState, LstmWeights, RecurrentActivation};
    /// let lstm = Lstm::<1, 4>::new(LstmWeights::zeroed(), RecurrentActivation::Sigmoid);
    /// let mut state = LstmState::zeroed();
    /// lstm.step(&[1.0], &mut state);
    /// // Zero weights: every gate is 0.5, g = 0, so h and c stay zero.
    /// assert_eq!(state.h, [0.0; 4]);
    /// ```
    #[inline]
    pub fn step(&self, x: &[F; IN], state: &mut LstmState<H, F>) {
        self.step_with::<F::Kernels>(x, state);
    }

    /// [`Self::step`] with explicit kernels.
    #[inline]
    pub fn step_with<K: Kernels<F>>(&self, x: &[F; IN], state: &mut LstmState<H, F>) {
        let () = Self::NONZERO_H;
        K::cell_step_state(self.activation, self.maths, &self.weights, x, state);
    }

    /// The fused step body: pre-activations, gates, cell update; leaves the activated gates
    /// and `tanh(c_t)` in the caller's buffers.
    #[inline(always)]
    fn cell_with<K: Kernels<F>>(
        &self,
        x: &[F; IN],
        state: &mut LstmState<H, F>,
        gates: &mut [[F; H]; 4],
        tanh_c: &mut [F; H],
    ) {
        let () = Self::NONZERO_H;
        K::cell_step(
            self.activation,
            self.maths,
            &self.weights,
            x,
            state,
            gates,
            tanh_c,
        );
    }

    /// One step for `B` independent streams: row `r` reads `xs[r]` (`[B][IN]`) and advances
    /// `batch.rows[r]`.
    #[inline]
    pub fn step_batch<const B: usize>(&self, xs: &[[F; IN]; B], batch: &mut BatchState<B, H, F>) {
        self.step_batch_with::<F::Kernels, B>(xs, batch);
    }

    /// [`Self::step_batch`] with explicit kernels.
    pub fn step_batch_with<K: Kernels<F>, const B: usize>(
        &self,
        xs: &[[F; IN]; B],
        batch: &mut BatchState<B, H, F>,
    ) {
        for (x, s) in xs.iter().zip(batch.rows.iter_mut()) {
            self.step_with::<K>(x, s);
        }
    }

    /// Runs a window of steps from `state`, recording each step on `tape` (cleared first)
    /// for [`Self::backward_window`]. `xs` is `[steps][IN]` with `steps <= T`; `state`
    /// ends as the state after the last step.
    ///
    /// # Errors
    /// [`WindowTooLong`] if `xs.len() > T`; then neither `state` nor `tape` is touched.
    pub fn forward_window<const T: usize>(
        &self,
        xs: &[[F; IN]],
        state: &mut LstmState<H, F>,
        tape: &mut Tape<T, IN, H, F>,
    ) -> Result<(), WindowTooLong> {
        self.forward_window_with::<F::Kernels, T>(xs, state, tape)
    }

    /// [`Self::forward_window`] with explicit kernels.
    pub fn forward_window_with<K: Kernels<F>, const T: usize>(
        &self,
        xs: &[[F; IN]],
        state: &mut LstmState<H, F>,
        tape: &mut Tape<T, IN, H, F>,
    ) -> Result<(), WindowTooLong> {
        if xs.len() > T {
            return Err(WindowTooLong {
                steps: xs.len(),
                capacity: T,
            });
        }
        tape.steps.clear();
        for x in xs {
            let record = StepRecord {
                x: *x,
                h_prev: state.h,
                c_prev: state.c,
                gates: [[F::ZERO; H]; 4],
                tanh_c: [F::ZERO; H],
            };
            // Capacity was checked above, so the push cannot fail.
            if tape.steps.push(record).is_err() {
                break;
            }
            if let Some(r) = tape.steps.last_mut() {
                self.cell_with::<K>(x, state, &mut r.gates, &mut r.tanh_c);
            }
        }
        Ok(())
    }

    /// BPTT through the steps recorded on `tape`, accumulating (`+=`) into `grads`.
    ///
    /// - `dh_out`: `dL/dh_t` from the loss for the **last** `dh_out.len()` steps of the
    ///   window (`[steps][H]`; one row for a many-to-one loss, one per step for
    ///   many-to-many). Extra leading rows beyond the tape length are ignored.
    /// - `d_final`: `(dL/dh_T, dL/dc_T)` flowing in from the future (from the next window
    ///   in truncated BPTT; zeros otherwise).
    ///
    /// Returns `(dL/dh_0, dL/dc_0)` for the window's initial state, so windows chain.
    /// Gradients are w.r.t. [`LstmWeights`] layout (one bias: for PyTorch both `bias_ih`
    /// and `bias_hh` receive `grads.b`).
    pub fn backward_window<const T: usize>(
        &self,
        tape: &Tape<T, IN, H, F>,
        dh_out: &[[F; H]],
        d_final: &LstmState<H, F>,
        grads: &mut LstmWeights<IN, H, F>,
    ) -> LstmState<H, F> {
        self.backward_window_with::<F::Kernels, T>(tape, dh_out, d_final, grads)
    }

    /// [`Self::backward_window`] with explicit kernels.
    pub fn backward_window_with<K: Kernels<F>, const T: usize>(
        &self,
        tape: &Tape<T, IN, H, F>,
        dh_out: &[[F; H]],
        d_final: &LstmState<H, F>,
        grads: &mut LstmWeights<IN, H, F>,
    ) -> LstmState<H, F> {
        let () = Self::NONZERO_H;
        let w = &self.weights;
        let mut d = *d_final;
        let mut dz = [[F::ZERO; H]; 4];
        let steps = tape.steps.len();
        let skip = steps.saturating_sub(dh_out.len());
        let dh_rows = dh_out
            .get(dh_out.len().saturating_sub(steps)..)
            .unwrap_or(&[]);
        for (t, r) in tape.steps.iter().enumerate().rev() {
            if let Some(dh_t) = t.checked_sub(skip).and_then(|i| dh_rows.get(i)) {
                for (a, &b) in d.h.iter_mut().zip(dh_t) {
                    *a += b;
                }
            }
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
        }
        d
    }
}
