//! Slice primitives: the BLAS-level operations every cell's forward and backward pass and
//! the optimizers are made of, behind one trait with two implementations (twins tested
//! equal): [`Scalar`] (plain loops over any [`Real`], the specification) and [`Simd`]
//! (`f32` only, `wide` vectors).
//!
//! Layer: above [`crate::real`] (and [`crate::lane`] for the vectors), below the cells. All
//! operations take flat row-major slices. A weight matrix is `[K, N]`: `K` input rows
//! (`IN` for `W_ih`, `H` for `W_hh`), `N` gate pre-activations per row (the Keras `kernel`
//! layout; PyTorch's `weight_ih` is its transpose), so the forward product is a broadcast
//! multiply-add of each input value into whole rows, with no horizontal sums.
//!
//! Length contracts are `debug_assert!`ed; in release builds extra elements are ignored
//! (the iterators stop at the shortest slice), so the primitives never panic.

mod scalar;
mod simd;

use crate::real::Real;

/// The scalar reference backend: plain loops over any [`Real`] (`f32`, `f64`). What the
/// `f64` gradient checks run on, what Cortex-M runs by default ([`crate::backend`]) and the
/// specification every SIMD kernel is tested against.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scalar;

/// The SIMD backend (`f32` only): `wide` vectors (`f32x8`; `f32x16` with AVX-512). What
/// x86-64, AArch64 and WebAssembly with SIMD run by default ([`crate::backend`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Simd;

/// The per-step coefficients of one Adam update, shared by every element:
/// `m = β1 m + (1-β1) g`, `v = β2 v + (1-β2) g²`, `p -= step · m / (sqrt(v) · v_scale + eps)`.
/// `Adam::step` derives `step` and `v_scale` from the step count and the epsilon placement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamUpdate<F = f32> {
    /// First-moment decay β1.
    pub beta1: F,
    /// Second-moment decay β2.
    pub beta2: F,
    /// Step size (learning rate with the bias corrections folded in).
    pub step: F,
    /// Scale of `sqrt(v)` in the denominator (`1` for Keras, `1/sqrt(1-β2^t)` for PyTorch).
    pub v_scale: F,
    /// Denominator epsilon.
    pub eps: F,
}

/// The slice primitives (see the [module docs](self) for the layouts).
pub trait Primitives<F: Real> {
    /// Broadcast product (the forward direction): `z[n] += Σ_k v[k] W[k, n]`, i.e.
    /// `z += Wᵀ v` for `w`: `[K, N]`, `v`: `[K]`, `z`: `[N]`. Rows are added in index
    /// order, one multiply-add each per element (every implementation sums in the same
    /// order). Accumulates; never zeroes.
    fn gemv_t_acc(z: &mut [F], w: &[F], v: &[F]);

    /// Matrix-vector product (BLAS `gemv`, the backward direction): `out[k] += W[k, :] · dz`
    /// for `w`: `[K, N]`, `dz`: `[N]`, `out`: `[K]`. Accumulates; never zeroes.
    fn gemv_acc(out: &mut [F], w: &[F], dz: &[F]);

    /// Rank-1 update (BLAS `ger`): `dw[k, :] += v[k] * dz` for `dw`: `[K, N]`, `v`: `[K]`,
    /// `dz`: `[N]`. Accumulates; never zeroes.
    fn ger_acc(dw: &mut [F], v: &[F], dz: &[F]);

    /// `y += a * x` (BLAS `axpy`), `y`, `x` of equal length.
    fn axpy(y: &mut [F], a: F, x: &[F]);

    /// [`Self::gemv_t_acc`] for `R` rows at once (the forward product of `R` streams in
    /// lock step, a small GEMM `Z += V W`): `z[r] += Wᵀ v[r]` for every `r`, each `z[r]`
    /// `[N]`, each `v[r]` `[K]`, `w` `[K, N]`. Every element is summed exactly as
    /// [`Self::gemv_t_acc`] sums it (bias first, rows in index order), so the result is bit
    /// for bit that of `R` single-row calls; a vector implementation reads each weight once
    /// per `R` rows instead of once per row. The default is those `R` calls (the
    /// specification the overrides are tested against).
    #[inline]
    fn gemm_t_acc_rows<const R: usize>(z: [&mut [F]; R], w: &[F], v: [&[F]; R]) {
        for (z, v) in z.into_iter().zip(v) {
            Self::gemv_t_acc(z, w, v);
        }
    }

    /// [`Self::gemv_acc`] for `R` rows at once (the backward product of `R` streams):
    /// `out[r][k] += W[k, :] · dz[r]`, each `out[r]` `[K]`, each `dz[r]` `[N]`. Bit for
    /// bit `R` single-row calls (the default).
    #[inline]
    fn gemv_acc_rows<const R: usize>(out: [&mut [F]; R], w: &[F], dz: [&[F]; R]) {
        for (o, dz) in out.into_iter().zip(dz) {
            Self::gemv_acc(o, w, dz);
        }
    }

    /// [`Self::ger_acc`] for `R` rows at once (a rank-`R` update, the weight gradient of
    /// `R` streams): `dw[k, :] += v[r][k] * dz[r]` for `r = 0, 1, ..` in that order, each
    /// `v[r]` `[K]`, each `dz[r]` `[N]`. Bit for bit `R` single-row calls in row order
    /// (the default); a vector implementation reads and writes `dw` once per `R` rows.
    #[inline]
    fn ger_acc_rows<const R: usize>(dw: &mut [F], v: [&[F]; R], dz: [&[F]; R]) {
        for (v, dz) in v.into_iter().zip(dz) {
            Self::ger_acc(dw, v, dz);
        }
    }

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
