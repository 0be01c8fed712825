//! The LSTM cell's kernels: the fused step (pre-activations, gates, cell update) and its
//! backward pass, behind [`LstmKernels`], implemented by [`Scalar`](crate::primitives::Scalar)
//! (`scalar.rs`, any [`Real`]) and [`Simd`](crate::primitives::Simd) (`simd/`, `f32`).
//!
//! Equations (PyTorch `nn.LSTM` documentation), gate order i, f, g, o (Keras' i, f, c, o is
//! the same order):
//! ```text
//! z   = W_ih x_t + W_hh h_{t-1} + b        (b = b_ih + b_hh = Keras bias)
//! i   = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
//! c_t = f ⊙ c_{t-1} + i ⊙ g
//! h_t = o ⊙ tanh(c_t)
//! ```
//! Shapes: `H` hidden units, `N = 4H` gate pre-activations, weights in the
//! [`LstmWeights`] layout `[K][4][H]` (flattened: `[K, 4H]`, the Keras `kernel` layout).

mod scalar;
mod simd;

use crate::activation::{Activate, Maths, RecurrentActivation};
use crate::primitives::Primitives;
use crate::real::Real;
use crate::state::{LstmState, LstmStreams};
use crate::weights::LstmWeights;

/// The numeric kernels of an LSTM cell (shapes in the [module docs](self)).
pub trait LstmKernels<F: Real + Activate>: Primitives<F> {
    /// Gate pre-activations: `z = b + Wᵢₕᵀ x + Wₕₕᵀ h` (bias, then the rows of `x`, then
    /// those of `h`, in index order: the summation order every implementation keeps).
    ///
    /// `z`, `b`: `[N]`; `w_ih`: `[IN, N]`; `x`: `[IN]`; `w_hh`: `[H, N]`; `h`: `[H]`.
    /// `z` is write-only (its previous contents are never read).
    #[inline]
    fn preact(z: &mut [F], b: &[F], w_ih: &[F], x: &[F], w_hh: &[F], h: &[F]) {
        for (d, &s) in z.iter_mut().zip(b) {
            *d = s;
        }
        Self::gemv_t_acc(z, w_ih, x);
        Self::gemv_t_acc(z, w_hh, h);
    }

    /// One whole LSTM step: [`Self::preact`] then [`Self::cell_forward_maths`], i.e.
    /// `z = b + x · W_ih + h · W_hh`, gates, `c_t`, `h_t`.
    ///
    /// Reads `x` (`[IN]`) and `state = (h_{t-1}, c_{t-1})`, writes `state = (h_t, c_t)`, the
    /// activated gates (`[4][H]`, write-only) and `tanh(c_t)` (`[H]`, write-only). The
    /// default runs the two kernels above; [`Simd`](crate::primitives::Simd) and
    /// [`Scalar`](crate::primitives::Scalar) override it with fused passes whose sizes are
    /// compile-time constants.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn cell_step<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        w: &LstmWeights<IN, H, F>,
        x: &[F; IN],
        state: &mut LstmState<H, F>,
        gates: &mut [[F; H]; 4],
        tanh_c: &mut [F; H],
    ) {
        let g = gates.as_flattened_mut();
        Self::preact(g, w.b_flat(), w.w_ih_flat(), x, w.w_hh_flat(), &state.h);
        Self::cell_forward_maths(act, maths, g, &mut state.c, &mut state.h, tanh_c);
    }

    /// [`Self::cell_step`] without the tape outputs (inference): only `state` is advanced.
    /// Same bits as `cell_step` (NaN payloads aside: which of two NaN operands an
    /// instruction returns can differ between the two inlinings). The default runs it with
    /// scratch buffers; [`Scalar`](crate::primitives::Scalar) overrides it so the gates stay
    /// in registers, and [`Simd`](crate::primitives::Simd) with AVX-512 for layers it keeps
    /// in registers.
    #[inline(always)]
    fn cell_step_state<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        w: &LstmWeights<IN, H, F>,
        x: &[F; IN],
        state: &mut LstmState<H, F>,
    ) {
        step_with_scratch::<Self, F, IN, H>(act, maths, w, x, state);
    }

    /// One step of `B` independent streams held stream-minor ([`LstmStreams`]): stream `b`
    /// reads `xs[k][b]` (`xs`: `[IN][B]`) and advances `(h[·][b], c[·][b])`, giving the bits
    /// [`Self::cell_step_state`] gives that stream alone (this kernel's, same `act` and
    /// `maths`; NaN payloads aside). The default does exactly that, one stream at a time (gather, step,
    /// scatter); [`Simd`](crate::primitives::Simd) overrides it for `f32` with the streams
    /// in SIMD lanes (`simd/streams.rs`), the same operations in the same order per lane.
    #[inline(always)]
    fn cell_step_streams<const IN: usize, const H: usize, const B: usize>(
        act: RecurrentActivation,
        maths: Maths,
        w: &LstmWeights<IN, H, F>,
        xs: &[[F; B]; IN],
        state: &mut LstmStreams<H, B, F>,
    ) {
        for b in 0..B {
            let x: [F; IN] = core::array::from_fn(|k| xs[k][b]);
            let Some(mut s) = state.stream(b) else {
                return;
            };
            Self::cell_step_state(act, maths, w, &x, &mut s);
            // `b < B`, so the row exists.
            let _ = state.set_stream(b, &s);
        }
    }

    /// Gate activations and the fused cell update, in place, with `σ` and `tanh` evaluated
    /// under `maths`.
    ///
    /// On entry `gates` (`[4H]`) holds pre-activations and `c` (`[H]`) holds `c_{t-1}`.
    /// On exit `gates` holds `i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)`,
    /// `c = f ⊙ c_{t-1} + i ⊙ g`, `tanh_c = tanh(c)` and `h = o ⊙ tanh_c`.
    fn cell_forward_maths(
        act: RecurrentActivation,
        maths: Maths,
        gates: &mut [F],
        c: &mut [F],
        h: &mut [F],
        tanh_c: &mut [F],
    );

    /// Backward through one cell update, from the recorded gate outputs.
    ///
    /// Reads `gates` (`[4H]`, activated), `c_prev` and `tanh_c` (`[H]`) and `dh = dL/dh_t`
    /// (`[H]`). On entry `dc` holds `dL/dc_t` from later steps; on exit it holds
    /// `dL/dc_{t-1}`. Writes `dz = dL/dz` (`[4H]`, write-only).
    fn cell_backward(
        act: RecurrentActivation,
        gates: &[F],
        c_prev: &[F],
        tanh_c: &[F],
        dh: &[F],
        dc: &mut [F],
        dz: &mut [F],
    );
}

/// [`LstmKernels::cell_step`] into scratch buffers that are then dropped: the default
/// [`LstmKernels::cell_step_state`], and the fallback of the kernels that override it.
#[inline(always)]
fn step_with_scratch<K, F, const IN: usize, const H: usize>(
    act: RecurrentActivation,
    maths: Maths,
    w: &LstmWeights<IN, H, F>,
    x: &[F; IN],
    state: &mut LstmState<H, F>,
) where
    K: LstmKernels<F> + ?Sized,
    F: Real + Activate,
{
    let mut gates = [[F::ZERO; H]; 4];
    let mut tanh_c = [F::ZERO; H];
    K::cell_step(act, maths, w, x, state, &mut gates, &mut tanh_c);
}
