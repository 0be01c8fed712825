//! Binary cross-entropy on logits (the Dense + sigmoid head of the post) and accuracy.

use crate::activation::reference::sigmoid;
use crate::real::Real;

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
}
