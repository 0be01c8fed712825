//! Vector activations on `f32x8`: exact (exp-based) and fast (Padé) sigmoid and tanh,
//! the hard sigmoids, and the compile-time activation policies the fused step is generic
//! over.
//!
//! Exact: `e^x = 2^n (1 + q)` with Cephes' `expf` reduction (`x = n ln2 + r`,
//! `|r| <= ln2 / 2`) and degree-6 polynomial for `q = e^r - 1`. The sigmoid is
//! `1 / (1 + e^-x)`; tanh is `em / (em + 2)` with `em = expm1(-2|x|)`, sign restored, which
//! keeps relative accuracy near 0 without a second branch. The formulas and constants are
//! defined once, generic over the lane type, in [`crate::activation`] (`exp_parts`,
//! `sigmoid_exp`, `tanh_exp`): the scalar `f32` [`crate::activation::exp_sigmoid`] /
//! [`crate::activation::exp_tanh`] and these vectors are the same code. Fast: `e^x` as a
//! power of two times the [2/2] Padé approximant of `2^f`, `|f| <= 1/2`, kept as a ratio
//! `num / den` so the sigmoid (`num / (num + den)`) and tanh (`(num - den) / (num + den)`)
//! cost one division each; also defined once ([`crate::activation::fast_sigmoid`],
//! [`crate::activation::fast_tanh`]). Error bounds are measured over the whole `f32` range
//! by the tests in `simd.rs`.

use wide::{f32x8, i32x8};

use crate::activation::{ExpLane, sigmoid_exp, sigmoid_pade, tanh_exp, tanh_pade};

#[inline(always)]
fn splat(v: f32) -> f32x8 {
    f32x8::splat(v)
}

/// `max(lo, min(hi, x))` lane-wise, keeping NaN lanes NaN.
///
/// On x86 `maxps a, b` returns `b` when either is NaN, so putting `x` second propagates
/// NaN for free; elsewhere NaN lanes are restored with a select.
#[inline(always)]
fn clamp_keep_nan(x: f32x8, lo: f32, hi: f32) -> f32x8 {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        splat(hi).fast_min(splat(lo).fast_max(x))
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    {
        x.is_nan()
            .select(x, x.fast_max(splat(lo)).fast_min(splat(hi)))
    }
}

/// Exact vector logistic sigmoid `1 / (1 + e^-x)`: max abs error vs libm `< 3e-7`,
/// exactly 0 / 1 at -inf / +inf, NaN kept. The lane-wise
/// [`crate::activation::exp_sigmoid`] (one definition, [`sigmoid_exp`]).
#[inline(always)]
pub fn sigmoid_exact(x: f32x8) -> f32x8 {
    sigmoid_exp(x)
}

/// Exact vector tanh: `expm1(-2|x|) / (expm1(-2|x|) + 2)` with the sign of `x`. Max abs
/// error vs libm `< 3e-7` (relative accuracy kept near 0), exactly ±1 at ±inf, NaN kept. The
/// lane-wise [`crate::activation::exp_tanh`] (one definition, [`tanh_exp`]).
#[inline(always)]
pub fn tanh_exact(x: f32x8) -> f32x8 {
    tanh_exp(x)
}

/// The SIMD lanes of the shared exp-based activations: `wide`'s fused multiply-adds (where
/// the target has FMA; a separate multiply and add otherwise, which gives the scalar bits).
impl ExpLane for f32x8 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        f32x8::splat(v)
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        f32x8::mul_add(self, b, c)
    }
    #[inline(always)]
    fn mul_neg_add(self, b: Self, c: Self) -> Self {
        f32x8::mul_neg_add(self, b, c)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32x8::abs(self)
    }
    #[inline(always)]
    fn clamp_keep_nan(self, lo: f32, hi: f32) -> Self {
        clamp_keep_nan(self, lo, hi)
    }
    #[inline(always)]
    fn max_keep_nan(self, lo: f32) -> Self {
        splat(lo).fast_max_keep_nan(self)
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        copysign(self, sign)
    }
    #[inline(always)]
    fn scale_by_rounded(self, k: Self) -> Self {
        let m: i32x8 = wide::bytemuck::cast(self);
        let k: i32x8 = wide::bytemuck::cast(k);
        wide::bytemuck::cast(m + (k << 23_i32))
    }
    #[inline(always)]
    fn pow2_from_rounded(t: Self) -> Self {
        let bits: i32x8 = wide::bytemuck::cast(t);
        wide::bytemuck::cast((bits << 23_i32) + i32x8::splat(127 << 23))
    }
}

/// Fast vector tanh: the lane-wise [`crate::activation::fast_tanh`] (one definition,
/// [`tanh_pade`]; fused multiply-adds where the target has them).
#[inline(always)]
pub fn tanh_fast(x: f32x8) -> f32x8 {
    tanh_pade(x)
}

/// Fast vector sigmoid: the lane-wise [`crate::activation::fast_sigmoid`] ([`sigmoid_pade`]).
#[inline(always)]
pub fn sigmoid_fast(x: f32x8) -> f32x8 {
    sigmoid_pade(x)
}

/// `|m|` with the sign bit of `s`.
#[inline(always)]
fn copysign(m: f32x8, s: f32x8) -> f32x8 {
    m.abs() | (s & splat(-0.0))
}

/// NaN-propagating `max(self, x)` for a constant `self` (see [`clamp_keep_nan`]).
trait MaxKeepNan {
    fn fast_max_keep_nan(self, x: f32x8) -> f32x8;
}

impl MaxKeepNan for f32x8 {
    #[inline(always)]
    fn fast_max_keep_nan(self, x: f32x8) -> f32x8 {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            self.fast_max(x)
        }
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        {
            x.is_nan().select(x, x.fast_max(self))
        }
    }
}

/// A compile-time choice of gate activation and tanh, so the fused step's inner code has no
/// branches on the model's runtime settings.
pub(super) trait Activations: Copy {
    /// Activation of gates i, f, o.
    fn gate(self, x: f32x8) -> f32x8;
    /// `tanh` for the candidate and the cell output.
    fn tanh(self, x: f32x8) -> f32x8;
}

/// Logistic-sigmoid gates; `FAST` picks the fast (Padé) approximations.
#[derive(Clone, Copy)]
pub(super) struct Logistic<const FAST: bool>;

impl<const FAST: bool> Activations for Logistic<FAST> {
    #[inline(always)]
    fn gate(self, x: f32x8) -> f32x8 {
        if FAST {
            sigmoid_fast(x)
        } else {
            sigmoid_exact(x)
        }
    }
    #[inline(always)]
    fn tanh(self, x: f32x8) -> f32x8 {
        if FAST { tanh_fast(x) } else { tanh_exact(x) }
    }
}

/// Hard-sigmoid gates `clip(slope x + offset, 0, 1)` (NaN kept); `FAST` picks the tanh.
#[derive(Clone, Copy)]
pub(super) struct Hard<const FAST: bool> {
    pub(super) slope: f32,
    pub(super) offset: f32,
}

impl<const FAST: bool> Activations for Hard<FAST> {
    #[inline(always)]
    fn gate(self, x: f32x8) -> f32x8 {
        clamp_keep_nan(x.mul_add(splat(self.slope), splat(self.offset)), 0.0, 1.0)
    }
    #[inline(always)]
    fn tanh(self, x: f32x8) -> f32x8 {
        if FAST { tanh_fast(x) } else { tanh_exact(x) }
    }
}
