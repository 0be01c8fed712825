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

pub use scalar::Scalar;
pub use simd::{Simd, simd_sigmoid, simd_tanh};

use crate::activation::RecurrentActivation;
use crate::real::Real;

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

    /// Gate activations and the fused cell update, in place.
    ///
    /// On entry `gates` (`[4H]`) holds pre-activations and `c` (`[H]`) holds `c_{t-1}`.
    /// On exit `gates` holds `i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)`,
    /// `c = f ⊙ c_{t-1} + i ⊙ g`, `tanh_c = tanh(c)` and `h = o ⊙ tanh_c`.
    fn cell_forward(
        act: RecurrentActivation,
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
}
