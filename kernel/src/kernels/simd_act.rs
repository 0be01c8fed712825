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

use wide::{f32x8, f32x16, i32x8, i32x16};

use crate::activation::{ExpLane, sigmoid_exp, sigmoid_pade, tanh_exp, tanh_pade};

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

/// The SIMD lanes of the shared activations, for `f32x8` and (AVX-512's) `f32x16`:
/// `wide`'s fused multiply-adds (where the target has FMA; a separate multiply and add
/// otherwise, which gives the scalar bits). NaN-keeping clamps: on x86 `maxps a, b` returns
/// `b` when either is NaN, so putting `x` second propagates NaN for free; elsewhere NaN
/// lanes are restored with a select.
macro_rules! exp_lane {
    ($f:ident, $i:ident) => {
        impl ExpLane for $f {
            #[inline(always)]
            fn splat(v: f32) -> Self {
                $f::splat(v)
            }
            #[inline(always)]
            fn mul_add(self, b: Self, c: Self) -> Self {
                $f::mul_add(self, b, c)
            }
            #[inline(always)]
            fn mul_neg_add(self, b: Self, c: Self) -> Self {
                $f::mul_neg_add(self, b, c)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $f::abs(self)
            }
            #[inline(always)]
            fn clamp_keep_nan(self, lo: f32, hi: f32) -> Self {
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                {
                    $f::splat(hi).fast_min($f::splat(lo).fast_max(self))
                }
                #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
                {
                    let c = self.fast_max($f::splat(lo)).fast_min($f::splat(hi));
                    self.is_nan().select(self, c)
                }
            }
            #[inline(always)]
            fn max_keep_nan(self, lo: f32) -> Self {
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                {
                    $f::splat(lo).fast_max(self)
                }
                #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
                {
                    self.is_nan().select(self, self.fast_max($f::splat(lo)))
                }
            }
            #[inline(always)]
            fn copysign(self, sign: Self) -> Self {
                self.abs() | (sign & $f::splat(-0.0))
            }
            #[cfg(target_feature = "avx")]
            #[inline(always)]
            fn round_split(self) -> (Self, Self) {
                let n = self.round_ties_even();
                (n, n + $f::splat(crate::activation::ROUND_MAGIC))
            }
            #[inline(always)]
            fn scale_by_rounded(self, k: Self) -> Self {
                let m: $i = wide::bytemuck::cast(self);
                let k: $i = wide::bytemuck::cast(k);
                wide::bytemuck::cast(m + (k << 23_i32))
            }
            #[inline(always)]
            fn pow2_from_rounded(t: Self) -> Self {
                let bits: $i = wide::bytemuck::cast(t);
                wide::bytemuck::cast((bits << 23_i32) + $i::splat(127 << 23))
            }
        }
    };
}

exp_lane!(f32x8, i32x8);
exp_lane!(f32x16, i32x16);

/// A compile-time choice of gate activation and tanh, so the fused step's inner code has no
/// branches on the model's runtime settings; for any lane type (`f32x8`, `f32x16`).
pub(super) trait Activations: Copy {
    /// Whether the activations are short enough that a small step's critical path is the
    /// chain of row multiply-adds, so the fused step splits it in two.
    const SPLIT_ROWS: bool;
    /// Activation of gates i, f, o.
    fn gate<L: ExpLane>(self, x: L) -> L;
    /// `tanh` for the candidate and the cell output.
    fn tanh<L: ExpLane>(self, x: L) -> L;
}

/// Logistic-sigmoid gates; `FAST` picks the fast (Padé) approximations.
#[derive(Clone, Copy)]
pub(super) struct Logistic<const FAST: bool>;

impl<const FAST: bool> Activations for Logistic<FAST> {
    const SPLIT_ROWS: bool = FAST;
    #[inline(always)]
    fn gate<L: ExpLane>(self, x: L) -> L {
        if FAST {
            sigmoid_pade(x)
        } else {
            sigmoid_exp(x)
        }
    }
    #[inline(always)]
    fn tanh<L: ExpLane>(self, x: L) -> L {
        if FAST { tanh_pade(x) } else { tanh_exp(x) }
    }
}

/// Hard-sigmoid gates `clip(slope x + offset, 0, 1)` (NaN kept); `FAST` picks the tanh.
#[derive(Clone, Copy)]
pub(super) struct Hard<const FAST: bool> {
    pub(super) slope: f32,
    pub(super) offset: f32,
}

impl<const FAST: bool> Activations for Hard<FAST> {
    const SPLIT_ROWS: bool = FAST;
    #[inline(always)]
    fn gate<L: ExpLane>(self, x: L) -> L {
        x.mul_add(L::splat(self.slope), L::splat(self.offset))
            .clamp_keep_nan(0.0, 1.0)
    }
    #[inline(always)]
    fn tanh<L: ExpLane>(self, x: L) -> L {
        if FAST { tanh_pade(x) } else { tanh_exp(x) }
    }
}
