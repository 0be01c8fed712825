//! Per-feature input normalisation, `x' = (x - mean) / std`, with the statistics of the
//! training data only (real steps, never padding), as scikit-learn's `StandardScaler`
//! (population standard deviation, `ddof = 0`). A feature that is constant in the training
//! data keeps `std = 1` (it is only centred), so no division by zero reaches the model.

use super::SequenceSet;

/// The statistics of each feature, `[F]` each.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalisation {
    /// Mean of each feature over every real step of every training sequence.
    pub mean: Vec<f32>,
    /// Population standard deviation of each feature (1 where it is 0).
    pub std: Vec<f32>,
}

impl Normalisation {
    /// The statistics of `set` (accumulated in `f64`, two passes).
    pub fn of(set: &SequenceSet) -> Self {
        let f = set.feature_count();
        let steps: usize = set.sequences.iter().map(|s| s.steps()).sum();
        let n = steps.max(1) as f64;
        let mut mean = vec![0.0_f64; f];
        for s in &set.sequences {
            for row in s.x.chunks_exact(f) {
                for (m, &v) in mean.iter_mut().zip(row) {
                    *m += f64::from(v);
                }
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0_f64; f];
        for s in &set.sequences {
            for row in s.x.chunks_exact(f) {
                for ((q, &v), &m) in var.iter_mut().zip(row).zip(&mean) {
                    *q += (f64::from(v) - m).powi(2);
                }
            }
        }
        let std = var
            .iter()
            .map(|&q| {
                let s = (q / n).sqrt() as f32;
                if s > 0.0 && s.is_finite() { s } else { 1.0 }
            })
            .collect();
        Self {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            std,
        }
    }

    /// The factor each feature is multiplied by after centring, `1 / std` (`[F]`, in
    /// `f32`): what a model file's scaling block stores as `input_scale`.
    pub fn scale(&self) -> Vec<f32> {
        self.std.iter().map(|&s| 1.0 / s).collect()
    }

    /// Normalises one step's features in place (`x.len() == F`): `(x - mean) · (1 / std)`,
    /// the formula (and rounding) of the kernel's `Scaling::input`, so a device given the
    /// stored scaling sees the numbers the host trained on.
    pub fn apply(&self, x: &mut [f32]) {
        for ((v, &m), &s) in x.iter_mut().zip(&self.mean).zip(&self.std) {
            *v = (*v - m) * (1.0 / s);
        }
    }

    /// Normalises every step of every sequence of `set` in place.
    pub fn apply_to(&self, set: &mut SequenceSet) {
        let f = self.mean.len();
        for s in &mut set.sequences {
            for row in s.x.chunks_exact_mut(f) {
                self.apply(row);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Sequence, SequenceSet};
    use super::*;

    #[test]
    fn the_training_statistics_standardise_each_feature_and_leave_constants_centred() {
        let mut set = SequenceSet {
            source: "d".into(),
            features: vec!["a".into(), "b".into()],
            sequences: vec![
                Sequence {
                    name: "0".into(),
                    x: vec![1.0, 5.0, 3.0, 5.0],
                    labels: vec![0.0; 2],
                },
                Sequence {
                    name: "1".into(),
                    x: vec![5.0, 5.0],
                    labels: vec![0.0],
                },
            ],
        };
        let n = Normalisation::of(&set);
        // a: 1, 3, 5 -> mean 3, population std sqrt(8/3); b constant 5 -> std 1.
        assert_eq!(n.mean, [3.0, 5.0]);
        assert!((n.std[0] - (8.0_f32 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!(n.std[1], 1.0);
        n.apply_to(&mut set);
        let a: Vec<f32> = set
            .sequences
            .iter()
            .flat_map(|s| s.x.chunks_exact(2).map(|r| r[0]))
            .collect();
        let mean: f32 = a.iter().sum::<f32>() / 3.0;
        let var: f32 = a.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 3.0;
        // Standardised: mean 0 and variance 1 within f32 rounding of three values.
        assert!(
            mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-6,
            "{mean} {var}"
        );
        assert_eq!(set.sequences[1].x[1], 0.0);
    }
}
