//! What sits around a model on a device: the affine **input normalisation** applied to
//! `x_t` before the first layer, the affine **output de-normalisation** applied to the
//! head's outputs ([`Scaling`]), and the **head activation** that turns the head's
//! logits into what the task reports ([`HeadActivation`]). A model file (version 3,
//! [`crate::io`]) stores both, so a device computes the same numbers as the host that
//! trained the model.
//!
//! Layer: bottom (it imports nothing from the crate but [`crate::real`]).

use crate::real::Real;

/// Per-channel affine maps around a model with `IN` inputs and `OUT` outputs:
/// `x' = (x - input_mean) · input_scale` (the usual standardisation, `input_scale` =
/// 1 / std of the training data per channel) and `y = z · output_scale + output_mean`
/// (the inverse standardisation of regression targets; identity for classification).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scaling<const IN: usize, const OUT: usize> {
    /// Subtracted from each input channel `[IN]` (units of the data).
    pub input_mean: [f32; IN],
    /// Then multiplied into each input channel `[IN]` (1 / units of the data).
    pub input_scale: [f32; IN],
    /// Multiplies each head output `[OUT]` (units of the target).
    pub output_scale: [f32; OUT],
    /// Then added to each head output `[OUT]` (units of the target).
    pub output_mean: [f32; OUT],
}

impl<const IN: usize, const OUT: usize> Scaling<IN, OUT> {
    /// The maps that change nothing (mean 0, scale 1).
    pub const IDENTITY: Self = Self {
        input_mean: [0.0; IN],
        input_scale: [1.0; IN],
        output_scale: [1.0; OUT],
        output_mean: [0.0; OUT],
    };

    /// The normalised input `(x - input_mean) · input_scale` (`[IN]`).
    #[inline]
    pub fn input(&self, x: &[f32; IN]) -> [f32; IN] {
        core::array::from_fn(|k| (x[k] - self.input_mean[k]) * self.input_scale[k])
    }

    /// The de-normalised output `z · output_scale + output_mean` (`[OUT]`).
    #[inline]
    pub fn output(&self, z: &[f32; OUT]) -> [f32; OUT] {
        core::array::from_fn(|k| z[k] * self.output_scale[k] + self.output_mean[k])
    }

    /// Whether every value is finite (a file holding NaN or infinity is refused).
    pub fn is_finite(&self) -> bool {
        self.input_mean
            .iter()
            .chain(&self.input_scale)
            .chain(&self.output_scale)
            .chain(&self.output_mean)
            .all(|v| v.is_finite())
    }
}

/// First differences of one series around a forecaster whose file says so
/// ([`crate::io::Header::differenced`]): the model is fed `v[t] - v[t-1]` (0 at the first
/// step) and its outputs (after [`Scaling::output`]) are the changes `v[t+j] - v[t]`, which
/// [`Self::output`] turns back into values by adding `v[t]`. One per stream, reset with it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Differencer {
    last: Option<f32>,
}

impl Differencer {
    /// A differencer before the first value.
    pub const NEW: Self = Self { last: None };

    /// The change `v - v_prev` (0 for the first value); remembers `v`.
    #[inline]
    pub fn input(&mut self, v: f32) -> f32 {
        let d = self.last.map_or(0.0, |p| v - p);
        self.last = Some(v);
        d
    }

    /// The values `v[t] + y_j` of predicted changes `y` (`v[t]` the last input; unchanged
    /// before any input).
    #[inline]
    pub fn output<const OUT: usize>(&self, y: &[f32; OUT]) -> [f32; OUT] {
        let base = self.last.unwrap_or(0.0);
        core::array::from_fn(|j| base + y[j])
    }
}

/// What the head's `OUT` values mean, and so what a prediction reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeadActivation {
    /// Not recorded (every version-1 and version-2 file): raw logits (code `0`).
    Unspecified,
    /// One or more independent binary logits; report `σ(z_k)` (BCE, code `1`).
    Sigmoid,
    /// The logits of `OUT` exclusive classes; report `softmax(z)` (softmax CE, code `2`).
    Softmax,
    /// Real values (regression, MSE); report `z` de-normalised by the [`Scaling`]
    /// (code `3`).
    Identity,
}

impl HeadActivation {
    /// Every variant, in code order.
    pub const ALL: [Self; 4] = [
        Self::Unspecified,
        Self::Sigmoid,
        Self::Softmax,
        Self::Identity,
    ];

    /// The byte stored in a model file.
    pub const fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::Sigmoid => 1,
            Self::Softmax => 2,
            Self::Identity => 3,
        }
    }

    /// The variant of a file byte; `None` for an unknown code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Unspecified),
            1 => Some(Self::Sigmoid),
            2 => Some(Self::Softmax),
            3 => Some(Self::Identity),
            _ => None,
        }
    }

    /// The name used in reports: `logits`, `sigmoid`, `softmax`, `identity`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "logits",
            Self::Sigmoid => "sigmoid",
            Self::Softmax => "softmax",
            Self::Identity => "identity",
        }
    }

    /// Applies the activation to the head's outputs in place (`[OUT]` values;
    /// [`Self::Unspecified`] and [`Self::Identity`] leave them as they are). The softmax
    /// subtracts the largest logit first, so no finite logit overflows.
    pub fn apply<F: Real>(self, z: &mut [F]) {
        match self {
            Self::Unspecified | Self::Identity => {}
            Self::Sigmoid => z
                .iter_mut()
                .for_each(|v| *v = F::ONE / (F::ONE + (-*v).exp())),
            Self::Softmax => {
                let Some(&first) = z.first() else { return };
                let m = z.iter().copied().fold(first, F::max);
                let mut sum = F::ZERO;
                for v in z.iter_mut() {
                    *v = (*v - m).exp();
                    sum += *v;
                }
                z.iter_mut().for_each(|v| *v = *v / sum);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_standardises_inputs_and_restores_outputs() {
        let s = Scaling::<2, 1> {
            input_mean: [1.0, -2.0],
            input_scale: [0.5, 4.0],
            output_scale: [10.0],
            output_mean: [100.0],
        };
        assert_eq!(s.input(&[3.0, -1.0]), [1.0, 4.0]);
        assert_eq!(s.output(&[0.5]), [105.0]);
        let id = Scaling::<2, 1>::IDENTITY;
        assert_eq!(id.input(&[3.0, -1.0]), [3.0, -1.0]);
        assert_eq!(id.output(&[0.5]), [0.5]);
        assert!(s.is_finite());
        let mut bad = s;
        bad.output_mean[0] = f32::NAN;
        assert!(!bad.is_finite());
    }

    #[test]
    fn a_differencer_feeds_changes_and_adds_the_last_value_back() {
        let mut d = Differencer::NEW;
        assert_eq!(d.input(112.0), 0.0);
        assert_eq!(d.input(118.0), 6.0);
        assert_eq!(d.output(&[4.0, -1.0]), [122.0, 117.0]);
    }

    #[test]
    fn head_codes_round_trip_and_the_softmax_sums_to_one_without_overflow() {
        for h in HeadActivation::ALL {
            assert_eq!(HeadActivation::from_code(h.code()), Some(h));
        }
        assert_eq!(HeadActivation::from_code(4), None);
        let mut z = [1000.0f32, 1000.0, -1000.0];
        HeadActivation::Softmax.apply(&mut z);
        assert_eq!(z, [0.5, 0.5, 0.0]);
        let mut z = [0.0f32, 2.0];
        HeadActivation::Sigmoid.apply(&mut z);
        assert!((z[0] - 0.5).abs() < 1e-7 && (z[1] - 0.880_797).abs() < 1e-6);
        let mut z = [3.0f32];
        HeadActivation::Identity.apply(&mut z);
        assert_eq!(z, [3.0]);
    }
}
