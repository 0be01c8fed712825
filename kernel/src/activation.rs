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
/// | `Fast` | [`fast_tanh`]: Padé [9/8] rational, clamped | `0.5 + 0.5 fast_tanh(x / 2)` | [`FAST_TANH_MAX_ERROR`], [`FAST_SIGMOID_MAX_ERROR`] |
///
/// `Exact` on `f32` is one Cephes-style `e^x` (range reduction + degree-6 polynomial, no libm
/// call) per activation, the same definition for a scalar and for each SIMD lane
/// ([`Real::sigmoid_exact`], [`Real::tanh_exact`]); the libm-based [`sigmoid`] and [`tanh`]
/// stay the reference specification the bounds are tested against (over the whole `f32`
/// range), and are what `Exact` means for `f64` (the gradient checks).
///
/// Both saturate to the exact limits (`0`, `±1`) for huge and infinite inputs and propagate
/// NaN. The scalar reference kernels implement the same `Fast` formulas, so SIMD and scalar
/// agree to rounding for either choice. Backward passes use the derivative written in terms
/// of the (approximate) output, `s (1 - s)` and `1 - t²`, for both. Hard-sigmoid recurrent
/// activations are exact piecewise-linear functions and ignore this choice; it then affects
/// only the `tanh`s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Maths {
    /// Accurate activations (the default).
    #[default]
    Exact,
    /// Rational approximations: no `exp`, a few multiply-adds and one division each.
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

/// [`fast_tanh`] clamps its input to `±FAST_TANH_CLAMP`, where the rational is already above
/// 1 (it crosses 1 at `|x| ≈ 6.295`), and its output to `[-1, 1]`: every `|x| >= 6.3`
/// gives exactly `±1`.
pub const FAST_TANH_CLAMP: f32 = 6.32;

/// Maximum absolute error of [`fast_tanh`] against libm `tanhf`, measured over the whole
/// `f32` range (test `fast_activations_max_abs_error_over_the_whole_f32_range`). The worst
/// point is where the [9/8] Padé approximant crosses 1 (`|x| ≈ 6.295`, error
/// `1 - tanh(6.295) ≈ 6.8e-6`): below it the approximant's error grows with `|x|`, above it
/// the output is exactly `±1`.
pub const FAST_TANH_MAX_ERROR: f32 = 7.0e-6;

/// Maximum absolute error of [`fast_sigmoid`] against the exact sigmoid over the whole `f32`
/// range (half of [`FAST_TANH_MAX_ERROR`] plus rounding).
pub const FAST_SIGMOID_MAX_ERROR: f32 = 3.6e-6;

/// Numerator coefficients of the [9/8] Padé approximant of `tanh` (continued fraction
/// `x / (1 + x² / (3 + x² / (5 + ...)))`), in powers of `x²`, normalised to a leading 1:
/// `x (1 + n1 x² + n2 x⁴ + n3 x⁶ + n4 x⁸)`, from `34459425 + 4729725 x² + 135135 x⁴ + 990 x⁶ + x⁸`.
pub(crate) const FAST_TANH_NUM: [f32; 4] = [
    (4_729_725.0 / 34_459_425.0) as f32,
    (135_135.0 / 34_459_425.0) as f32,
    (990.0 / 34_459_425.0) as f32,
    (1.0 / 34_459_425.0) as f32,
];

/// Denominator coefficients, `1 + d1 x² + d2 x⁴ + d3 x⁶ + d4 x⁸`, from
/// `34459425 + 16216200 x² + 945945 x⁴ + 13860 x⁶ + 45 x⁸`.
pub(crate) const FAST_TANH_DEN: [f32; 4] = [
    (16_216_200.0 / 34_459_425.0) as f32,
    (945_945.0 / 34_459_425.0) as f32,
    (13_860.0 / 34_459_425.0) as f32,
    (45.0 / 34_459_425.0) as f32,
];

/// Fast `tanh`: the [9/8] Padé approximant `x P(x²) / Q(x²)` of the input clamped to
/// `±6.32`, output clamped to `[-1, 1]` (so exactly `±1` for `|x| >= 6.3`), NaN kept. Max
/// abs error [`FAST_TANH_MAX_ERROR`]. Evaluated in `F` with plain multiply-adds (Horner); the
/// SIMD kernel evaluates the same formula with fused multiply-adds where the target has them.
#[inline]
pub fn fast_tanh<F: Real>(x: F) -> F {
    // Comparisons are false for NaN, so NaN passes through both clamps.
    let c = F::from_f64(f64::from(FAST_TANH_CLAMP));
    let x = if x > c {
        c
    } else if x < -c {
        -c
    } else {
        x
    };
    let x2 = x * x;
    let [n1, n2, n3, n4] = FAST_TANH_NUM.map(|c| F::from_f64(f64::from(c)));
    let [d1, d2, d3, d4] = FAST_TANH_DEN.map(|c| F::from_f64(f64::from(c)));
    let p = (((n4 * x2 + n3) * x2 + n2) * x2 + n1) * x2 + F::ONE;
    let q = (((d4 * x2 + d3) * x2 + d2) * x2 + d1) * x2 + F::ONE;
    let t = x * p / q;
    if t > F::ONE {
        F::ONE
    } else if t < -F::ONE {
        -F::ONE
    } else {
        t
    }
}

/// Fast logistic sigmoid `0.5 + 0.5 fast_tanh(x / 2)`: exactly `0` / `1` for
/// `x <= -12.6` / `x >= 12.6`, NaN kept. Max abs error [`FAST_SIGMOID_MAX_ERROR`].
#[inline]
pub fn fast_sigmoid<F: Real>(x: F) -> F {
    let half = F::from_f64(0.5);
    half * fast_tanh(half * x) + half
}

/// Maximum absolute error of [`exp_sigmoid`] and [`exp_tanh`] (and of their SIMD lanes)
/// against libm (`expf`-based [`sigmoid`], `tanhf`) over the whole `f32` range (tests
/// `exp_activations_max_abs_error_over_the_whole_f32_range` here and
/// `simd_*_max_abs_error_vs_libm_is_below_3e7` in the SIMD kernels).
pub const EXP_ACTIVATION_MAX_ERROR: f32 = 3.0e-7;

/// `1.5 * 2^23`: adding it rounds a float of magnitude `< 2^22` to an integer held in the
/// low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;
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
        // Comparisons are false for NaN, so NaN passes through.
        if self < lo {
            lo
        } else if self > hi {
            hi
        } else {
            self
        }
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
            .chain([0.0, -0.0, 6.3, -6.3, 6.299_999, 12.6, -12.6, f32::MAX])
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
    fn fast_activations_saturate_exactly_and_keep_nan() {
        for m in [Maths::Exact, Maths::Fast] {
            assert_eq!(m.tanh(f32::INFINITY), 1.0, "{m:?}");
            assert_eq!(m.tanh(f32::NEG_INFINITY), -1.0, "{m:?}");
            assert_eq!(m.tanh(1e30_f32), 1.0, "{m:?}");
            assert_eq!(m.sigmoid(f32::INFINITY), 1.0, "{m:?}");
            assert_eq!(m.sigmoid(f32::NEG_INFINITY), 0.0, "{m:?}");
            assert_eq!(m.sigmoid(-1e30_f32), 0.0, "{m:?}");
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
        // Odd symmetry of the rational.
        assert_eq!(fast_tanh(0.3_f32), -fast_tanh(-0.3_f32));
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
