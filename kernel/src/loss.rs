//! Losses on a dense head's outputs (`[OUT]` logits or predictions), numerically stable and
//! allocation-free: BCE on logits (the post's Dense + sigmoid head), softmax cross-entropy
//! over `OUT` classes, and MSE ([`Loss`]), with accuracy for the classification losses.
//!
//! Every loss is the mean over the `OUT` outputs of one step (BCE, MSE) or one distribution
//! over `OUT` classes (softmax CE); batch and step means are the caller's `grad_scale`
//! (see [`crate::Model::train_sample`]). Conventions: PyTorch `BCEWithLogitsLoss`,
//! `CrossEntropyLoss` (probability targets; a one-hot target is a class index) and
//! `MSELoss`, all `reduction='mean'`; Keras' `BinaryCrossentropy(from_logits=True)`,
//! `CategoricalCrossentropy(from_logits=True)`, `MeanSquaredError` give the same values.

use crate::activation::reference::sigmoid;
use crate::real::Real;

/// Which loss a head is trained with. Targets are always `[OUT]` values:
///
/// | variant | target | per-sample loss (nats, or squared units) | `dL/dz_k` | accuracy |
/// |---|---|---|---|---|
/// | `Bce` | each `y_k` in `[0, 1]` | `mean_k [max(z,0) - z y + ln(1 + e^-|z|)]` | `(σ(z_k) - y_k) / OUT` | mean of `(z_k > 0) == (y_k > 0.5)` |
/// | `SoftmaxCe` | a distribution (one-hot for a class index) | `Σ_k y_k (lse(z) - z_k)` | `p_k Σ_j y_j - y_k`, `p = softmax(z)` | `argmax z == argmax y` |
/// | `Mse` | any real `y_k` | `mean_k (z_k - y_k)²` | `2 (z_k - y_k) / OUT` | NaN (not a classification) |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Loss {
    /// Binary cross-entropy on logits, per output.
    #[default]
    Bce,
    /// Softmax cross-entropy over the `OUT` logits.
    SoftmaxCe,
    /// Mean squared error.
    Mse,
}

impl Loss {
    /// Every variant.
    pub const ALL: [Self; 3] = [Self::Bce, Self::SoftmaxCe, Self::Mse];

    /// The name used on the command line and in reports: `bce`, `softmax-ce`, `mse`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Bce => "bce",
            Self::SoftmaxCe => "softmax-ce",
            Self::Mse => "mse",
        }
    }

    /// The variant named `name`; `None` otherwise.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == name)
    }

    /// Whether the loss has an accuracy (the classification losses).
    pub const fn has_accuracy(self) -> bool {
        !matches!(self, Self::Mse)
    }

    /// The loss and accuracy of `outputs` (`[OUT]` logits, or predictions for MSE)
    /// against `targets` (`[OUT]`), and `dL/doutputs` (`[OUT]`).
    pub fn evaluate<F: Real, const OUT: usize>(
        self,
        outputs: &[F; OUT],
        targets: &[F; OUT],
    ) -> (SampleLoss<F>, [F; OUT]) {
        self.evaluate_first(outputs, targets, OUT)
    }

    /// [`Self::evaluate`] over the first `k` outputs only (`k` clamped to `1..=OUT`): the
    /// loss, accuracy and means are those of a model with `k` outputs, and the gradient of
    /// outputs `k..OUT` is 0. A model padded to `OUT` outputs (a host tool's fixed menu of
    /// sizes) trains exactly as its `k`-output self: the padded head rows get no gradient.
    pub fn evaluate_first<F: Real, const OUT: usize>(
        self,
        outputs: &[F; OUT],
        targets: &[F; OUT],
        k: usize,
    ) -> (SampleLoss<F>, [F; OUT]) {
        let k = k.clamp(1, OUT.max(1));
        let n = F::from_f64(k as f64);
        let mut grad = [F::ZERO; OUT];
        let (z, y) = (&outputs[..k], &targets[..k]);
        let sample = match self {
            Self::Bce => {
                let mut s = SampleLoss {
                    loss: F::ZERO,
                    accuracy: F::ZERO,
                };
                for ((g, &z), &y) in grad.iter_mut().zip(z).zip(y) {
                    s.loss += bce_with_logits(z, y);
                    s.accuracy += binary_accuracy(z, y);
                    *g = bce_with_logits_grad(z, y) / n;
                }
                SampleLoss {
                    loss: s.loss / n,
                    accuracy: s.accuracy / n,
                }
            }
            Self::SoftmaxCe => softmax_ce_into(z, y, &mut grad[..k]),
            Self::Mse => {
                let mut loss = F::ZERO;
                for ((g, &z), &y) in grad.iter_mut().zip(z).zip(y) {
                    let e = z - y;
                    loss += e * e;
                    *g = (e + e) / n;
                }
                SampleLoss {
                    loss: loss / n,
                    accuracy: F::from_f64(f64::NAN),
                }
            }
        };
        (sample, grad)
    }
}

/// Softmax cross-entropy of `logits` against the distribution `targets` (both `[OUT]`), in
/// the stable log-sum-exp form `lse(z) = m + ln Σ e^(z_k - m)`, `m = max z` (no overflow for
/// any finite logits): loss `Σ_k y_k (lse - z_k)`, gradient `p_k Σ_j y_j - y_k`, accuracy 1
/// if the largest logit is at the largest target (first index on ties), else 0.
pub fn softmax_cross_entropy<F: Real, const OUT: usize>(
    logits: &[F; OUT],
    targets: &[F; OUT],
) -> (SampleLoss<F>, [F; OUT]) {
    let mut grad = [F::ZERO; OUT];
    let s = softmax_ce_into(logits, targets, &mut grad);
    (s, grad)
}

/// [`softmax_cross_entropy`] of slices of one length, the gradient written into `grad`.
fn softmax_ce_into<F: Real>(logits: &[F], targets: &[F], grad: &mut [F]) -> SampleLoss<F> {
    let m = logits
        .iter()
        .fold(F::from_f64(f64::NEG_INFINITY), |a, &z| a.max(z));
    let mut s = F::ZERO;
    for (g, &z) in grad.iter_mut().zip(logits) {
        *g = (z - m).exp();
        s += *g;
    }
    // s >= 1 (the largest term is e^0), so ln(s) = ln_1p(s - 1) loses nothing.
    let lse = m + (s - F::ONE).ln_1p();
    let mut loss = F::ZERO;
    let mut mass = F::ZERO;
    for (&z, &y) in logits.iter().zip(targets) {
        loss += y * (lse - z);
        mass += y;
    }
    for (g, &y) in grad.iter_mut().zip(targets) {
        *g = *g / s * mass - y;
    }
    let accuracy = if argmax(logits) == argmax(targets) {
        F::ONE
    } else {
        F::ZERO
    };
    SampleLoss { loss, accuracy }
}

/// Index of the largest value (the first on ties; 0 for an empty or all-NaN array).
pub fn argmax<F: Real>(v: &[F]) -> usize {
    let mut best = 0;
    for (k, &x) in v.iter().enumerate() {
        if v.get(best).is_some_and(|&b| x > b) {
            best = k;
        }
    }
    best
}

/// Loss and accuracy of one sample, averaged over the `OUT` outputs (BCE, MSE) or over one
/// distribution (softmax CE).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SampleLoss<F = f32> {
    /// The loss ([`Loss`] table).
    pub loss: F,
    /// Accuracy in `[0, 1]`; NaN for MSE.
    pub accuracy: F,
}

/// Mean BCE and binary accuracy of `logits` against `targets` (both `[OUT]`).
pub fn bce_loss<F: Real, const OUT: usize>(logits: &[F; OUT], targets: &[F; OUT]) -> SampleLoss<F> {
    let mut s = SampleLoss {
        loss: F::ZERO,
        accuracy: F::ZERO,
    };
    for (&z, &y) in logits.iter().zip(targets) {
        s.loss += bce_with_logits(z, y);
        s.accuracy += binary_accuracy(z, y);
    }
    let n = F::from_f64(OUT as f64);
    s.loss = s.loss / n;
    s.accuracy = s.accuracy / n;
    s
}

/// Binary cross-entropy of `p = σ(z)` against `y ∈ [0, 1]`, from the logit `z`, in the
/// stable form `max(z, 0) - z y + ln(1 + e^{-|z|})` (as PyTorch `BCEWithLogitsLoss`).
/// Finite for every finite `z` (no `log(0)`); in nats, per sample.
#[inline]
pub fn bce_with_logits<F: Real>(z: F, y: F) -> F {
    z.max(F::ZERO) - z * y + (-z.abs()).exp().ln_1p()
}

/// `dL/dz` of [`bce_with_logits`]: `σ(z) - y`.
#[inline]
pub fn bce_with_logits_grad<F: Real>(z: F, y: F) -> F {
    sigmoid(z) - y
}

/// Keras `binary_accuracy` at threshold 0.5: `1` if `(σ(z) > 0.5) == (y > 0.5)`, else `0`.
/// `σ(z) > 0.5` is evaluated as `z > 0`.
#[inline]
pub fn binary_accuracy<F: Real>(z: F, y: F) -> F {
    let half = F::from_f64(0.5);
    if (z > F::ZERO) == (y > half) {
        F::ONE
    } else {
        F::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bce_matches_the_naive_formula_and_stays_finite_at_extreme_logits() {
        for &(z, y) in &[(0.3_f64, 1.0), (-2.0, 0.0), (5.0, 0.0), (-0.7, 1.0)] {
            let p = 1.0 / (1.0 + (-z).exp());
            let naive = -(y * p.ln() + (1.0 - y) * (1.0 - p).ln());
            // The naive form loses digits in log(1 - p) as p -> 1: 1e-12 covers z = 5.
            assert!((bce_with_logits(z, y) - naive).abs() < 1e-12);
        }
        // log(1 - sigmoid(100)) would be -inf in the naive form; the stable one gives ~100.
        assert!((bce_with_logits(100.0_f32, 0.0) - 100.0).abs() < 1e-4);
        assert!(bce_with_logits(-1e30_f32, 1.0).is_finite());
        assert_eq!(bce_with_logits_grad(0.0_f64, 1.0), -0.5);
        assert_eq!(binary_accuracy(0.1_f32, 1.0), 1.0);
        assert_eq!(binary_accuracy(0.0_f32, 1.0), 0.0);
    }

    #[test]
    fn softmax_ce_matches_the_naive_formula_and_survives_huge_logits() {
        let z = [1.0_f64, -2.0, 0.5];
        let y = [0.0, 0.0, 1.0];
        let (s, g) = Loss::SoftmaxCe.evaluate(&z, &y);
        let sum: f64 = z.iter().map(|v| v.exp()).sum();
        assert!((s.loss - (sum.ln() - 0.5)).abs() < 1e-15);
        for k in 0..3 {
            assert!((g[k] - (z[k].exp() / sum - y[k])).abs() < 1e-15);
        }
        assert_eq!(s.accuracy, 0.0);
        let (s, _) = Loss::SoftmaxCe.evaluate(&[1000.0_f32, 0.0, -1000.0], &[1.0, 0.0, 0.0]);
        assert!(s.loss.is_finite() && s.loss.abs() < 1e-6 && s.accuracy == 1.0);
        let (s, _) = Loss::SoftmaxCe.evaluate(&[0.0_f32, 1000.0], &[1.0, 0.0]);
        assert!((s.loss - 1000.0).abs() < 1e-3, "{}", s.loss);
    }

    #[test]
    fn mse_is_the_mean_square_and_has_no_accuracy() {
        let (s, g) = Loss::Mse.evaluate(&[1.0_f64, 3.0], &[0.0, 1.0]);
        assert_eq!(s.loss, 2.5);
        assert_eq!(g, [1.0, 2.0]);
        assert!(s.accuracy.is_nan());
        assert!(!Loss::Mse.has_accuracy());
        for l in Loss::ALL {
            assert_eq!(Loss::from_name(l.name()), Some(l));
        }
    }

    /// The loss over the first `k` of `OUT` outputs is the loss of the `k`-output sample,
    /// bit for bit, and the padded outputs get a zero gradient, whatever they hold.
    #[test]
    fn a_loss_over_the_first_k_outputs_ignores_the_padding() {
        let z = [0.3f32, -1.2, 2.0, 9.0, -7.0];
        let y3 = [0.0f32, 0.0, 1.0];
        let y = [0.0f32, 0.0, 1.0, 1.0, 0.0];
        let z3 = [0.3f32, -1.2, 2.0];
        for loss in Loss::ALL {
            let (a, ga) = loss.evaluate(&z3, &y3);
            let (b, gb) = loss.evaluate_first(&z, &y, 3);
            assert_eq!(a.loss.to_bits(), b.loss.to_bits(), "{loss:?}");
            assert!(a.accuracy.to_bits() == b.accuracy.to_bits(), "{loss:?}");
            assert_eq!(&gb[..3], &ga[..], "{loss:?}");
            assert_eq!(&gb[3..], &[0.0, 0.0], "{loss:?}");
        }
    }

    /// Every loss's gradient against central differences of its value.
    #[test]
    fn every_loss_gradient_matches_finite_differences() {
        let z = [0.3_f64, -1.2, 2.0];
        let y = [0.2, 0.5, 0.3];
        for l in Loss::ALL {
            let (_, g) = l.evaluate(&z, &y);
            for k in 0..3 {
                let (mut a, mut b) = (z, z);
                a[k] += 1e-6;
                b[k] -= 1e-6;
                let fd = (l.evaluate(&a, &y).0.loss - l.evaluate(&b, &y).0.loss) / 2e-6;
                // Central differences of smooth functions of O(1): error ~1e-10.
                assert!((fd - g[k]).abs() < 1e-8, "{l:?} {k}: {fd} vs {}", g[k]);
            }
        }
    }
}
