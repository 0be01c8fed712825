//! The five numeric kernels an LSTM step and its BPTT backward pass are made of, behind one
//! trait with two implementations: [`Scalar`] (plain loops over any [`Real`], the
//! specification) and [`Simd`] (`f32` only, `wide` vectors). Tests hold them equal.
//!
//! All kernels take flat row-major slices. Weight matrices are `[K, N]` with `N = 4H`
//! gate pre-activations per row (the Keras `kernel` layout, gate order i, f, g, o), so the
//! forward pass is a broadcast multiply-add of each input value into whole rows
//! (`z += v[k] * W[k, :]`), with no horizontal sums.
//!
//! Length contracts are `debug_assert!`ed; in release builds extra elements are ignored
//! (the iterators stop at the shortest slice), so the kernels never panic.

mod scalar;
mod simd;
mod simd_act;

pub use scalar::Scalar;
pub use simd::{Simd, simd_fast_sigmoid, simd_fast_tanh, simd_sigmoid, simd_tanh};

use crate::activation::{Maths, RecurrentActivation};
use crate::optim::AdamUpdate;
use crate::real::Real;
use crate::state::LstmState;
use crate::weights::LstmWeights;

/// The numeric kernels of an LSTM cell.
///
/// Shapes: `H` hidden units, `N = 4H`, `K` rows of a weight matrix (`IN` for `W_ih`, `H` for
/// `W_hh`). Gate blocks inside an `N`-vector are ordered i, f, g, o (PyTorch order; Keras'
/// i, f, c, o is the same order).
pub trait Kernels<F: Real> {
    /// Gate pre-activations: `z = b + x · W_ih + h · W_hh`.
    ///
    /// `z`, `b`: `[N]`; `w_ih`: `[IN, N]`; `x`: `[IN]`; `w_hh`: `[H, N]`; `h`: `[H]`.
    /// `z` is write-only (its previous contents are never read).
    fn preact(z: &mut [F], b: &[F], w_ih: &[F], x: &[F], w_hh: &[F], h: &[F]);

    /// One whole LSTM step: [`Self::preact`] then [`Self::cell_forward_maths`], i.e.
    /// `z = b + x · W_ih + h · W_hh`, gates, `c_t`, `h_t`.
    ///
    /// Reads `x` (`[IN]`) and `state = (h_{t-1}, c_{t-1})`, writes `state = (h_t, c_t)`, the
    /// activated gates (`[4][H]`, write-only) and `tanh(c_t)` (`[H]`, write-only). The
    /// default runs the two kernels above; [`Simd`] and [`Scalar`] override it with fused
    /// passes whose sizes are compile-time constants.
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
    /// scratch buffers; [`Scalar`] overrides it so the gates stay in registers (no gate or
    /// `tanh c` stores, no zero-initialised buffers), and [`Simd`] with AVX-512 for layers it
    /// keeps in registers (`resident`), otherwise the default.
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

    /// Gate activations and the fused cell update, in place, with exact activations
    /// ([`Maths::Exact`]); see [`Self::cell_forward_maths`].
    #[inline]
    fn cell_forward(
        act: RecurrentActivation,
        gates: &mut [F],
        c: &mut [F],
        h: &mut [F],
        tanh_c: &mut [F],
    ) {
        Self::cell_forward_maths(act, Maths::Exact, gates, c, h, tanh_c);
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

    /// Rank-1 update (BLAS `ger`): `dw[k, :] += v[k] * dz` for `dw`: `[K, N]`, `v`: `[K]`,
    /// `dz`: `[N]`. Accumulates; never zeroes.
    fn outer_acc(dw: &mut [F], v: &[F], dz: &[F]);

    /// Transposed product (BLAS `gemv`): `out[k] += W[k, :] · dz` for `w`: `[K, N]`,
    /// `dz`: `[N]`, `out`: `[K]`. Accumulates; never zeroes.
    fn matvec_acc(out: &mut [F], w: &[F], dz: &[F]);

    /// One Adam update of a flat tensor, in place, element by element (see [`AdamUpdate`]):
    /// `m = β1 m + (1-β1) g`, `v = β2 v + (1-β2) g²`,
    /// `p -= step · m / (sqrt(v) · v_scale + eps)`, evaluated in exactly that order with no
    /// fused multiply-adds, so every implementation gives the same bits. `p`, `g`, `m`, `v`
    /// have equal lengths (extra elements are ignored).
    #[inline]
    fn adam_update(p: &mut [F], g: &[F], m: &mut [F], v: &mut [F], u: AdamUpdate<F>) {
        let (b1, b2) = (u.beta1, u.beta2);
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = b1 * *m + (F::ONE - b1) * g;
            *v = b2 * *v + (F::ONE - b2) * g * g;
            *p -= u.step * *m / (v.sqrt() * u.v_scale + u.eps);
        }
    }

    /// True if no value of `x` is NaN or infinite.
    #[inline]
    fn all_finite(x: &[F]) -> bool {
        x.iter().all(|v| v.is_finite())
    }
}

/// [`Kernels::cell_step`] into scratch buffers that are then dropped: the default
/// [`Kernels::cell_step_state`], and the fallback of the kernels that override it.
#[inline(always)]
fn step_with_scratch<K: Kernels<F> + ?Sized, F: Real, const IN: usize, const H: usize>(
    act: RecurrentActivation,
    maths: Maths,
    w: &LstmWeights<IN, H, F>,
    x: &[F; IN],
    state: &mut LstmState<H, F>,
) {
    let mut gates = [[F::ZERO; H]; 4];
    let mut tanh_c = [F::ZERO; H];
    K::cell_step(act, maths, w, x, state, &mut gates, &mut tanh_c);
}
