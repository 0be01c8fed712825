//! Activations of the LSTM cell: the recurrent activation `σ` of gates i, f, o (a model
//! choice) and `tanh` for the candidate `g` and the cell output.
//!
//! Every function here is paired with its derivative written in terms of its *output*
//! (`σ' = s(1 - s)`, `tanh' = 1 - t²`), which is what BPTT reads back from the tape.
//! All functions saturate to their limits for huge or infinite inputs and propagate NaN
//! (they never turn NaN into a plausible value).

use core::ops::{Add, Div, Mul, Neg, Sub};

use crate::real::Real;

/// The activation applied to gates i, f and o.
///
/// | variant | formula | source |
/// |---|---|---|
/// | `Sigmoid` | `1 / (1 + e^-x)` | PyTorch `nn.LSTM`; Keras 2/3 default |
/// | `HardSigmoidKeras2` | `clip(0.2 x + 0.5, 0, 1)` | Keras 1/2 `hard_sigmoid` (the blog post's default) |
/// | `HardSigmoidKeras3` | `relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1)` | Keras 3 `hard_sigmoid` |
///
/// The Keras 3.15 oracle in `testdata/keras_lstm_forward.json` uses `HardSigmoidKeras3`; its
/// `keras1_hard_sigmoid_numpy` block checks `HardSigmoidKeras2`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecurrentActivation {
    /// The logistic sigmoid.
    #[default]
    Sigmoid,
    /// Keras 1/2 hard sigmoid, slope 0.2, saturating at `|x| >= 2.5`.
    HardSigmoidKeras2,
    /// Keras 3 hard sigmoid, slope 1/6, saturating at `|x| >= 3`.
    HardSigmoidKeras3,
}

impl RecurrentActivation {
    /// Every variant, in declaration order (for tests and CLIs).
    pub const ALL: [Self; 3] = [
        Self::Sigmoid,
        Self::HardSigmoidKeras2,
        Self::HardSigmoidKeras3,
    ];

    /// `(slope, offset)` of a hard sigmoid `clip(slope x + offset, 0, 1)`; `None` for `Sigmoid`.
    #[inline]
    pub const fn hard_slope(self) -> Option<(f64, f64)> {
        match self {
            Self::Sigmoid => None,
            Self::HardSigmoidKeras2 => Some((0.2, 0.5)),
            Self::HardSigmoidKeras3 => Some((1.0 / 6.0, 0.5)),
        }
    }

    /// Applies the activation to one value. Output in `[0, 1]`; NaN stays NaN.
    #[inline]
    pub fn apply<F: Real>(self, x: F) -> F {
        match self.hard_slope() {
            None => sigmoid(x),
            Some((slope, offset)) => clip01(F::from_f64(slope) * x + F::from_f64(offset)),
        }
    }

    /// [`Self::apply`] with the sigmoid evaluated under `maths` (hard sigmoids are exact
    /// either way).
    #[inline]
    pub fn apply_with<F: Real>(self, maths: Maths, x: F) -> F {
        match self.hard_slope() {
            None => maths.sigmoid(x),
            Some(_) => self.apply(x),
        }
    }

    /// The derivative at the input that produced output `y = self.apply(x)`.
    ///
    /// `y(1 - y)` for the sigmoid; the slope inside `(0, 1)` and `0` in the clipped region
    /// for hard sigmoids (the subgradient TensorFlow and PyTorch use at the kinks).
    #[inline]
    pub fn derivative_from_output<F: Real>(self, y: F) -> F {
        match self.hard_slope() {
            None => y * (F::ONE - y),
            Some((slope, _)) => {
                if y > F::ZERO && y < F::ONE {
                    F::from_f64(slope)
                } else {
                    F::ZERO
                }
            }
        }
    }
}

/// `clip(x, 0, 1)` that keeps NaN as NaN.
#[inline]
pub(crate) fn clip01<F: Real>(x: F) -> F {
    if x < F::ZERO {
        F::ZERO
    } else if x > F::ONE {
        F::ONE
    } else {
        x
    }
}

/// Logistic sigmoid `1 / (1 + e^-x)`, computed from `e^-|x|` so neither tail overflows or
/// loses relative accuracy. `sigmoid(+inf) = 1`, `sigmoid(-inf) = 0`.
#[inline]
pub fn sigmoid<F: Real>(x: F) -> F {
    let e = (-x.abs()).exp();
    if x >= F::ZERO {
        F::ONE / (F::ONE + e)
    } else {
        e / (F::ONE + e)
    }
}

/// Hyperbolic tangent (libm). `tanh(±inf) = ±1`.
#[inline]
pub fn tanh<F: Real>(x: F) -> F {
    x.tanh()
}

/// How the transcendental activations (`σ`, `tanh`) are evaluated. A model choice, set per
/// layer with [`crate::Lstm::with_maths`]; [`Maths::Exact`] is the default.
///
/// | variant | tanh | sigmoid | max abs error vs libm (whole `f32` range) |
/// |---|---|---|---|
/// | `Exact` | `f32`: [`exp_tanh`] (scalar and SIMD lanes); `f64`: libm `tanh` | `f32`: [`exp_sigmoid`]; `f64`: [`sigmoid`] (libm `exp`) | `f32`: [`EXP_ACTIVATION_MAX_ERROR`] (`< 3e-7`); `f64`: `0` |
/// | `Fast` | [`fast_tanh`]: `(num - den) / (num + den)`, `e^2x ≈ num / den` | [`fast_sigmoid`]: `num / (num + den)`, `e^x ≈ num / den` | [`FAST_TANH_MAX_ERROR`] (`1.25e-6`), [`FAST_SIGMOID_MAX_ERROR`] (`7e-7`) |
///
/// `Exact` on `f32` is one Cephes-style `e^x` (range reduction + degree-6 polynomial, no libm
/// call) per activation, the same definition for a scalar and for each SIMD lane
/// ([`Real::sigmoid_exact`], [`Real::tanh_exact`]); the libm-based [`sigmoid`] and [`tanh`]
/// stay the reference specification the bounds are tested against (over the whole `f32`
/// range), and are what `Exact` means for `f64` (the gradient checks).
///
/// `Fast` writes `e^x = 2^n 2^f` (`n` an integer, `|f| <= 1/2`) and `2^f` as a tuned [2/2]
/// rational ([`exp2_pade`]), kept as a ratio `num / den` so each activation costs one
/// division and no polynomial beyond degree 2: about 2/3 of the instructions of `Exact` on a
/// Cortex-M4F (`docs/embedded.md`), and its absolute (not relative) error is what it bounds.
///
/// Both saturate for huge and infinite inputs (`±1` for tanh, `1` for the sigmoid at `+inf`
/// exactly; the sigmoid at `-inf` is `0` for `Exact`, below `7.6e-37` for `Fast`) and
/// propagate NaN. The scalar reference kernels implement the same `Fast` formulas, so SIMD and scalar
/// agree to rounding for either choice. Backward passes use the derivative written in terms
/// of the (approximate) output, `s (1 - s)` and `1 - t²`, for both. Hard-sigmoid recurrent
/// activations are exact piecewise-linear functions and ignore this choice; it then affects
/// only the `tanh`s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Maths {
    /// Accurate activations (the default).
    #[default]
    Exact,
    /// Power-of-two range reduction and a [2/2] rational: no `exp`, no polynomial beyond
    /// degree 2, one division each ([`fast_sigmoid`], [`fast_tanh`]).
    Fast,
}

impl Maths {
    /// `tanh(x)` under this policy.
    #[inline]
    pub fn tanh<F: Real>(self, x: F) -> F {
        match self {
            Self::Exact => x.tanh_exact(),
            Self::Fast => fast_tanh(x),
        }
    }

    /// The logistic sigmoid under this policy.
    #[inline]
    pub fn sigmoid<F: Real>(self, x: F) -> F {
        match self {
            Self::Exact => x.sigmoid_exact(),
            Self::Fast => fast_sigmoid(x),
        }
    }
}

/// [`fast_sigmoid`] and [`fast_tanh`] clamp the power of two they evaluate, `t` in
/// `e^x = 2^t`, to `±FAST_EXP2_LIMIT`: far beyond where the results round to their limits
/// (`|x| > 17.4` for the sigmoid, `|x| > 9.1` for tanh), and small enough that
/// `2^t` times the Padé numerator (about `25`) stays a normal `f32`.
pub const FAST_EXP2_LIMIT: f32 = 120.0;

/// Maximum absolute error of [`fast_tanh`] against libm `tanh`, measured over the whole
/// `f32` range (test `fast_activations_max_abs_error_over_the_whole_f32_range`; the SIMD
/// lanes are held to the same bound). The rational approximation of `2^f` is accurate to
/// 2.3e-6 relative ([`PADE_C0`]), which moves `tanh` by at most half that; the rest is `f32`
/// rounding of the few operations.
pub const FAST_TANH_MAX_ERROR: f32 = 1.25e-6;

/// Maximum absolute error of [`fast_sigmoid`] against the exact sigmoid over the whole `f32`
/// range (same test).
pub const FAST_SIGMOID_MAX_ERROR: f32 = 7.0e-7;

/// `2^f ≈ P(f) / P(-f)` on `|f| <= 1/2` with `P(f) = f² + PADE_C1 f + PADE_C0`: the form of
/// the [2/2] Padé approximant of `e^(f ln 2)` (`C1 = 6 / ln 2`, `C0 = 12 / ln²2`, max relative
/// error 7.0e-6), with the two coefficients tuned to equioscillate instead (a direct minimax
/// search over the interval): max relative error 2.3e-6 with the coefficients rounded to `f32` (test
/// `exp2_pade_relative_error_on_the_reduced_interval`). `P(-f) P(f)` symmetry keeps
/// `2^f 2^-f = 1` exactly in exact arithmetic, so `tanh` stays odd and `sigmoid(0) = 1/2`.
const PADE_C0: f32 = 24.977_17;
/// See [`PADE_C0`].
const PADE_C1: f32 = 8.656_541;

/// `2^t = num / den` for `t` in `±FAST_EXP2_LIMIT` (the caller clamps; NaN gives NaN):
/// `t = n + f` with `n` the nearest integer (`ROUND_MAGIC`), `|f| <= 1/2`, and the [2/2]
/// Padé approximant of `2^f`; `num` carries the `2^n` in its exponent field (an integer add,
/// no multiply). Both are positive: `num / 2^n` and `den` lie in `[20.6, 29.6]`.
#[inline(always)]
pub(crate) fn exp2_pade<L: ExpLane>(t: L) -> (L, L) {
    let (n, k) = t.round_split();
    let f = t - n;
    let even = f.mul_add(f, L::splat(PADE_C0));
    let odd = f * L::splat(PADE_C1);
    (L::scale_by_rounded(even + odd, k), even - odd)
}

/// Fast logistic sigmoid `e^x / (e^x + 1)` with `e^x = num / den` from [`exp2_pade`]:
/// `num / (num + den)`, one division. Shared by the scalar [`fast_sigmoid`] and the SIMD lanes.
#[inline(always)]
pub(crate) fn sigmoid_pade<L: ExpLane>(x: L) -> L {
    let t =
        (x * L::splat(core::f32::consts::LOG2_E)).clamp_keep_nan(-FAST_EXP2_LIMIT, FAST_EXP2_LIMIT);
    let (num, den) = exp2_pade(t);
    num / (num + den)
}

/// Fast `tanh x = (e^2x - 1) / (e^2x + 1)` with `e^2x = num / den` from [`exp2_pade`]:
/// `(num - den) / (num + den)`, one division. Shared by [`fast_tanh`] and the SIMD lanes.
#[inline(always)]
pub(crate) fn tanh_pade<L: ExpLane>(x: L) -> L {
    let t = (x * L::splat(2.0 * core::f32::consts::LOG2_E))
        .clamp_keep_nan(-FAST_EXP2_LIMIT, FAST_EXP2_LIMIT);
    let (num, den) = exp2_pade(t);
    (num - den) / (num + den)
}

/// Fast `tanh` ([`Maths::Fast`]): `(num - den) / (num + den)` with `num / den` a [2/2] Padé
/// approximation of `e^2x` after an exact power-of-two range reduction ([`exp2_pade`]): a
/// dozen additions and multiplications, one integer add and one division, no `exp`, no
/// branch. Max abs error [`FAST_TANH_MAX_ERROR`] (absolute: unlike [`exp_tanh`] it does not
/// keep relative accuracy for tiny `|x|`, and `-0` gives `+0`); exactly `±1` for
/// `|x| >= 9.1` and at `±inf`, `tanh(0) = 0`, NaN kept. Monotonic only up to rounding (a
/// ratio of two rounded values: neighbouring inputs can step back by an ulp or so). An `f32` formula: `f64` inputs are rounded to `f32` and the result
/// widened (the `f64` gradient checks use [`Maths::Exact`]).
#[inline]
pub fn fast_tanh<F: Real>(x: F) -> F {
    F::from_f64(f64::from(tanh_pade(x.to_f64() as f32)))
}

/// Fast logistic sigmoid ([`Maths::Fast`]): `num / (num + den)` with `num / den` the Padé
/// approximation of `e^x` of [`fast_tanh`]. Max abs error [`FAST_SIGMOID_MAX_ERROR`]; exactly
/// `1` for `x >= 17.4` and at `+inf`, `2^-120` (about `7.5e-37`) for `x <= -83.2` and at
/// `-inf` (the exact sigmoid gives `0` there), `sigmoid(0) = 0.5`, NaN kept; monotonic only
/// up to rounding, like [`fast_tanh`].
#[inline]
pub fn fast_sigmoid<F: Real>(x: F) -> F {
    F::from_f64(f64::from(sigmoid_pade(x.to_f64() as f32)))
}

/// Maximum absolute error of [`exp_sigmoid`] and [`exp_tanh`] (and of their SIMD lanes)
/// against libm (`expf`-based [`sigmoid`], `tanhf`) over the whole `f32` range (tests
/// `exp_activations_max_abs_error_over_the_whole_f32_range` here and
/// `simd_*_max_abs_error_vs_libm_is_below_3e7` in the SIMD kernels).
pub const EXP_ACTIVATION_MAX_ERROR: f32 = 3.0e-7;

/// `1.5 * 2^23`: adding it rounds a float of magnitude `< 2^22` to an integer held in the
/// low mantissa bits.
pub(crate) const ROUND_MAGIC: f32 = 12_582_912.0;
/// `ln 2` split in a part exact in few bits and the rest (Cephes `expf`).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Cephes `expf` polynomial: `e^r - 1 ≈ r + r² P(r)`, `P` in Horner order (highest first).
const EXP_POLY: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    0.166_666_65,
    0.5,
];

/// The operations the exp-based activations need, on one `f32` (here) or on a vector of
/// lanes (`f32x8` in the SIMD kernels), so the scalar functions and every SIMD lane run one
/// definition ([`exp_parts`], [`sigmoid_exp`], [`tanh_exp`]).
pub(crate) trait ExpLane:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// Every lane `v`.
    fn splat(v: f32) -> Self;
    /// `self * b + c` (fused where the lane type's `mul_add` is; a separate multiply and add
    /// for `f32`, so host and Cortex-M give the same bits).
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// `c - self * b` (fused as [`Self::mul_add`]).
    fn mul_neg_add(self, b: Self, c: Self) -> Self;
    /// `|self|`.
    fn abs(self) -> Self;
    /// `max(lo, min(hi, self))`, NaN kept.
    fn clamp_keep_nan(self, lo: f32, hi: f32) -> Self;
    /// `max(lo, self)`, NaN kept.
    fn max_keep_nan(self, lo: f32) -> Self;
    /// `|self|` with the sign bit of `sign`.
    fn copysign(self, sign: Self) -> Self;
    /// `self * 2^n` for `k = n + ROUND_MAGIC`, by adding `n` to the exponent field (the
    /// caller keeps the result a normal number; see [`Self::pow2_from_rounded`]).
    fn scale_by_rounded(self, k: Self) -> Self;
    /// `(n, n + ROUND_MAGIC)` with `n` the integer nearest `self` (ties to even; `|self| <
    /// 2^22`): `k = self + ROUND_MAGIC` rounds, `k - ROUND_MAGIC` recovers `n` (two dependent
    /// adds). Lanes with a rounding instruction (AVX `vroundps`, AVX-512 `vrndscaleps`) give
    /// the same two values with `n` one instruction from `self`, except that a zero `n` keeps
    /// the sign of `self` there (`-0.4 -> -0`); `self - n` is then the same except for the
    /// sign of a zero result, which [`exp2_pade`] cannot see (`f²`, and `±0 · C1` added to
    /// nonzero terms).
    fn round_split(self) -> (Self, Self) {
        let k = self + Self::splat(ROUND_MAGIC);
        (k - Self::splat(ROUND_MAGIC), k)
    }
    /// `2^n` for `t = n + ROUND_MAGIC` (`n` in `[-126, 128]`; `128` gives `+inf`): the low
    /// mantissa bits of `t` hold `n + 2^22`, and shifting them into the exponent field drops
    /// the offset (`2^45 mod 2^32 = 0`).
    fn pow2_from_rounded(t: Self) -> Self;
}

impl ExpLane for f32 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        self * b + c
    }
    #[inline(always)]
    fn mul_neg_add(self, b: Self, c: Self) -> Self {
        c - self * b
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32::from_bits(self.to_bits() & 0x7fff_ffff)
    }
    #[inline(always)]
    fn clamp_keep_nan(self, lo: f32, hi: f32) -> Self {
        // Comparisons are false for NaN, so NaN passes through. Two clamps in sequence (not
        // an if / else-if on the input): one compare-and-move each on Cortex-M, in place.
        let x = if self > hi { hi } else { self };
        if x < lo { lo } else { x }
    }
    #[inline(always)]
    fn max_keep_nan(self, lo: f32) -> Self {
        if self < lo { lo } else { self }
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        f32::from_bits((self.to_bits() & 0x7fff_ffff) | (sign.to_bits() & 0x8000_0000))
    }
    #[inline(always)]
    fn scale_by_rounded(self, k: Self) -> Self {
        f32::from_bits(self.to_bits().wrapping_add(k.to_bits() << 23))
    }
    #[inline(always)]
    fn pow2_from_rounded(t: Self) -> Self {
        f32::from_bits((t.to_bits() << 23).wrapping_add(127 << 23))
    }
}

/// `e^x = scale * (1 + q)` for `x` in `[-87.3, 88.8]` (the caller clamps): returns
/// `(scale = 2^n, q = e^r - 1)` with Cephes' `expf` reduction `x = n ln2 + r`,
/// `|r| <= ln2 / 2`, and degree-6 polynomial. `n = 128` (x above about 88.38) gives
/// `scale = +inf`.
#[inline(always)]
pub(crate) fn exp_parts<L: ExpLane>(x: L) -> (L, L) {
    let magic = L::splat(ROUND_MAGIC);
    let t = x.mul_add(L::splat(core::f32::consts::LOG2_E), magic);
    let n = t - magic;
    let r = n.mul_neg_add(L::splat(LN2_HI), x);
    let r = n.mul_neg_add(L::splat(LN2_LO), r);
    let [p0, rest @ ..] = EXP_POLY;
    let mut p = L::splat(p0);
    for c in rest {
        p = p.mul_add(r, L::splat(c));
    }
    let q = p.mul_add(r * r, r);
    (L::pow2_from_rounded(t), q)
}

/// Logistic sigmoid `1 / (1 + e^-x)` from one [`exp_parts`]: max abs error vs libm
/// [`EXP_ACTIVATION_MAX_ERROR`], exactly 0 / 1 at -inf / +inf, NaN kept.
#[inline(always)]
pub(crate) fn sigmoid_exp<L: ExpLane>(x: L) -> L {
    let one = L::splat(1.0);
    let y = (-x).clamp_keep_nan(-87.3, 88.8);
    let (scale, q) = exp_parts(y);
    // (1 + q) > 0, so scale = inf gives e = inf (never inf * negative + inf = NaN).
    let e = (q + one) * scale;
    one / (one + e)
}

/// `tanh x = em / (em + 2)` with `em = expm1(-2|x|) = scale q + (scale - 1)`
/// and the sign of `x` restored. `expm1` keeps the relative accuracy near 0 (for small `|x|`,
/// `n = 0`, `scale = 1` and `em = q` is the polynomial itself, odd to first order), so no
/// second branch is needed. Max abs error vs libm [`EXP_ACTIVATION_MAX_ERROR`], exactly ±1 at
/// ±inf, NaN kept.
#[inline(always)]
pub(crate) fn tanh_exp<L: ExpLane>(x: L) -> L {
    let one = L::splat(1.0);
    let y = (x.abs() * L::splat(-2.0)).max_keep_nan(-87.3);
    let (scale, q) = exp_parts(y);
    let em = q.mul_add(scale, scale - one);
    let t = em / (em + L::splat(2.0));
    t.copysign(x)
}

/// Exact-policy `f32` logistic sigmoid: one Cephes-style `e^x` (no libm call), max abs error
/// vs the libm-based [`sigmoid`] [`EXP_ACTIVATION_MAX_ERROR`] over the whole `f32` range;
/// exactly 0 / 1 at -inf / +inf, NaN kept. What [`Maths::Exact`] runs for `f32`, in the
/// scalar kernels and (lane-wise, fused multiply-adds where available) in the SIMD kernels.
#[inline]
pub fn exp_sigmoid(x: f32) -> f32 {
    sigmoid_exp(x)
}

/// Exact-policy `f32` tanh: `expm1(-2|x|) / (expm1(-2|x|) + 2)` with the sign of `x`, from one
/// Cephes-style `e^x`; max abs error vs libm `tanhf` [`EXP_ACTIVATION_MAX_ERROR`] over the
/// whole `f32` range; exactly ±1 at ±inf, NaN kept. See [`exp_sigmoid`].
#[inline]
pub fn exp_tanh(x: f32) -> f32 {
    tanh_exp(x)
}

/// Derivative of `tanh` from its output `t`: `1 - t²`.
#[inline]
pub fn tanh_derivative_from_output<F: Real>(t: F) -> F {
    F::ONE - t * t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activations_saturate_for_infinite_inputs() {
        for act in RecurrentActivation::ALL {
            assert_eq!(act.apply(f32::INFINITY), 1.0, "{act:?}");
            assert_eq!(act.apply(f32::NEG_INFINITY), 0.0, "{act:?}");
            assert_eq!(act.apply(1e30_f32), 1.0, "{act:?}");
            assert_eq!(act.apply(-1e30_f32), 0.0, "{act:?}");
            assert!(act.apply(f32::NAN).is_nan(), "{act:?} must propagate NaN");
        }
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
    }

    #[test]
    fn hard_sigmoids_follow_their_keras_formulas() {
        // Values at the kinks: Keras 2 clips at |x| = 2.5, Keras 3 at |x| = 3.
        let k2 = RecurrentActivation::HardSigmoidKeras2;
        let k3 = RecurrentActivation::HardSigmoidKeras3;
        assert_eq!(k2.apply(2.5_f64), 1.0);
        assert!((k2.apply(1.0_f64) - 0.7).abs() < 1e-15);
        assert!((k3.apply(1.0_f64) - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(k3.apply(3.0_f64), 1.0);
        assert_eq!(k3.derivative_from_output(1.0_f64), 0.0);
        assert!((k3.derivative_from_output(0.5_f64) - 1.0 / 6.0).abs() < 1e-15);
    }

    /// Every 61st bit pattern of each sign over the finite range, plus edge values.
    fn whole_f32_range() -> impl Iterator<Item = f32> {
        (0..0x7f80_0000_u32)
            .step_by(61)
            .flat_map(|b| [f32::from_bits(b), f32::from_bits(b | 0x8000_0000)])
            .chain([0.0, -0.0, 9.1, -9.1, 17.4, -17.4, 83.2, -83.2, f32::MAX])
    }

    #[test]
    fn fast_activations_max_abs_error_over_the_whole_f32_range() {
        // Reference: f64 libm (correctly rounded to well below f32 precision).
        let mut worst_t = 0.0_f64;
        let mut worst_s = 0.0_f64;
        for x in whole_f32_range() {
            let xd = f64::from(x);
            let t = f64::from(fast_tanh(x));
            let s = f64::from(fast_sigmoid(x));
            worst_t = worst_t.max((t - libm::tanh(xd)).abs());
            worst_s = worst_s.max((s - sigmoid(xd)).abs());
            assert!(
                (-1.0..=1.0).contains(&t) && (0.0..=1.0).contains(&s),
                "x={x}"
            );
        }
        assert!(worst_t < f64::from(FAST_TANH_MAX_ERROR), "tanh {worst_t:e}");
        assert!(
            worst_s < f64::from(FAST_SIGMOID_MAX_ERROR),
            "sigmoid {worst_s:e}"
        );
        // The bound is tight (within 10%), so the documented figure is the real one.
        assert!(
            worst_t > 0.9 * f64::from(FAST_TANH_MAX_ERROR),
            "tanh {worst_t:e}"
        );
    }

    #[test]
    fn exp_activations_max_abs_error_over_the_whole_f32_range() {
        // Reference: the libm specification (`expf`-based sigmoid, `tanhf`).
        let mut worst_t = 0.0_f32;
        let mut worst_s = 0.0_f32;
        for x in whole_f32_range().chain([87.3, -87.3, 88.8, -88.8, 1e-30, -1e-30, 0.625]) {
            let t = exp_tanh(x);
            let s = exp_sigmoid(x);
            worst_t = worst_t.max((t - tanh(x)).abs());
            worst_s = worst_s.max((s - sigmoid(x)).abs());
            assert!(
                (-1.0..=1.0).contains(&t) && (0.0..=1.0).contains(&s),
                "x={x}"
            );
        }
        assert!(worst_t < EXP_ACTIVATION_MAX_ERROR, "tanh {worst_t:e}");
        assert!(worst_s < EXP_ACTIVATION_MAX_ERROR, "sigmoid {worst_s:e}");
    }

    #[test]
    fn exp_activations_keep_relative_accuracy_near_zero_and_their_symmetries() {
        for x in [1e-30_f32, 1e-10, 1e-6, 1e-3, 0.01, 0.1] {
            let t = exp_tanh(x);
            let r = f64::from(libm::tanhf(x));
            assert!(
                (f64::from(t) - r).abs() <= 4.0 * f64::EPSILON.max(r * 3e-7),
                "x={x}"
            );
            assert_eq!(exp_tanh(-x), -t, "x={x}");
        }
        assert_eq!(exp_tanh(-0.0_f32).to_bits(), (-0.0_f32).to_bits());
        assert_eq!(exp_sigmoid(0.0_f32), 0.5);
        assert_eq!(
            (exp_sigmoid(100.0_f32), exp_sigmoid(-200.0_f32)),
            (1.0, 0.0)
        );
        assert_eq!((exp_tanh(20.0_f32), exp_tanh(-20.0_f32)), (1.0, -1.0));
    }

    /// `Maths::Exact` is the exp-based pair for `f32` and libm for `f64` (the gradient checks).
    #[test]
    fn exact_maths_is_exp_based_for_f32_and_libm_for_f64() {
        for x in [-9.0_f32, -1.5, -0.2, 0.0, 0.3, 2.0, 17.0] {
            assert_eq!(Maths::Exact.tanh(x).to_bits(), exp_tanh(x).to_bits());
            assert_eq!(Maths::Exact.sigmoid(x).to_bits(), exp_sigmoid(x).to_bits());
            let xd = f64::from(x);
            assert_eq!(Maths::Exact.tanh(xd).to_bits(), libm::tanh(xd).to_bits());
            assert_eq!(Maths::Exact.sigmoid(xd).to_bits(), sigmoid(xd).to_bits());
        }
    }

    #[test]
    fn activations_saturate_and_keep_nan() {
        for m in [Maths::Exact, Maths::Fast] {
            assert_eq!(m.tanh(f32::INFINITY), 1.0, "{m:?}");
            assert_eq!(m.tanh(f32::NEG_INFINITY), -1.0, "{m:?}");
            assert_eq!(m.tanh(1e30_f32), 1.0, "{m:?}");
            assert_eq!(m.tanh(-1e30_f32), -1.0, "{m:?}");
            assert_eq!(m.sigmoid(f32::INFINITY), 1.0, "{m:?}");
            assert_eq!(m.sigmoid(1e30_f32), 1.0, "{m:?}");
            assert_eq!(m.sigmoid(0.0_f32), 0.5, "{m:?}");
            assert_eq!(m.tanh(0.0_f32), 0.0, "{m:?}");
            assert!(
                m.tanh(f32::NAN).is_nan() && m.sigmoid(f32::NAN).is_nan(),
                "{m:?}"
            );
            assert!(
                m.tanh(f64::NAN).is_nan() && m.sigmoid(f64::NAN).is_nan(),
                "{m:?}"
            );
        }
        assert_eq!(Maths::Exact.sigmoid(f32::NEG_INFINITY), 0.0);
        assert_eq!(Maths::Exact.sigmoid(-1e30_f32), 0.0);
    }

    /// The limits `fast_tanh` and `fast_sigmoid` document: exactly `±1` / `1` from `|x| = 9.1`
    /// / `x = 17.4` on, and `2^-120` times a ratio near 1 at the clamped negative end.
    #[test]
    fn fast_activations_reach_their_documented_limits() {
        for x in [9.1_f32, 9.5, 20.0, 1e10, f32::MAX, f32::INFINITY] {
            assert_eq!((fast_tanh(x), fast_tanh(-x)), (1.0, -1.0), "x={x}");
        }
        for x in [17.4_f32, 30.0, 1e10, f32::INFINITY] {
            assert_eq!(fast_sigmoid(x), 1.0, "x={x}");
        }
        for x in [-83.2_f32, -100.0, -1e30, f32::NEG_INFINITY] {
            let s = fast_sigmoid(x);
            assert!(s > 0.0 && s < 7.6e-37, "x={x}: {s:e}");
        }
        // Nearly odd (the ratio num / den is inverted exactly in exact arithmetic).
        for x in [0.3_f32, 1.7, 4.0] {
            assert!(
                (fast_tanh(x) + fast_tanh(-x)).abs() <= 2.0 * f32::EPSILON,
                "x={x}"
            );
        }
    }

    /// The tuned rational `P(f) / P(-f)` against `2^f` on the reduced interval `|f| <= 1/2`,
    /// evaluated in `f64` with the `f32` coefficients: the documented `2.3e-6` relative.
    #[test]
    fn exp2_pade_relative_error_on_the_reduced_interval() {
        let (c0, c1) = (f64::from(PADE_C0), f64::from(PADE_C1));
        let mut worst = 0.0_f64;
        for i in 0..=100_000 {
            let f = f64::from(i) / 100_000.0 - 0.5;
            let r = (f * f + c1 * f + c0) / (f * f - c1 * f + c0);
            worst = worst.max((r / libm::exp2(f) - 1.0).abs());
        }
        assert!(worst < 2.3e-6 && worst > 2.2e-6, "{worst:e}");
    }

    #[test]
    fn sigmoid_is_accurate_in_both_tails() {
        // Relative accuracy in the left tail: sigmoid(-30) = e^-30 / (1 + e^-30).
        let s = sigmoid(-30.0_f64);
        let expected = (-30.0_f64).exp() / (1.0 + (-30.0_f64).exp());
        assert!((s - expected).abs() / expected < 1e-15);
        assert_eq!(sigmoid(0.0_f32), 0.5);
    }
}
