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

    #[test]
    fn sigmoid_is_accurate_in_both_tails() {
        // Relative accuracy in the left tail: sigmoid(-30) = e^-30 / (1 + e^-30).
        let s = sigmoid(-30.0_f64);
        let expected = (-30.0_f64).exp() / (1.0 + (-30.0_f64).exp());
        assert!((s - expected).abs() / expected < 1e-15);
        assert_eq!(sigmoid(0.0_f32), 0.5);
    }
}
