//! Activations of the LSTM cell: the recurrent activation `σ` of gates i, f, o (a model
//! choice) and `tanh` for the candidate `g` and the cell output.
//!
//! Every function here is paired with its derivative written in terms of its *output*
//! (`σ' = s(1 - s)`, `tanh' = 1 - t²`), which is what BPTT reads back from the tape.
//! All functions saturate to their limits for huge or infinite inputs and propagate NaN
//! (they never turn NaN into a plausible value).

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
fn clip01<F: Real>(x: F) -> F {
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
/// | `Exact` | libm `tanhf` (scalar) / exp-based (SIMD) | `1 / (1 + e^-x)` | `0` scalar, `< 3e-7` SIMD |
/// | `Fast` | [`fast_tanh`]: Padé [9/8] rational, clamped | `0.5 + 0.5 fast_tanh(x / 2)` | [`FAST_TANH_MAX_ERROR`], [`FAST_SIGMOID_MAX_ERROR`] |
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
            Self::Exact => tanh(x),
            Self::Fast => fast_tanh(x),
        }
    }

    /// The logistic sigmoid under this policy.
    #[inline]
    pub fn sigmoid<F: Real>(self, x: F) -> F {
        match self {
            Self::Exact => sigmoid(x),
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
