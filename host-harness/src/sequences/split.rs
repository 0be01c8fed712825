//! The validation split, carved from the training data only (never from the test file),
//! deterministic given the seed, and stratified by class for classification so a small
//! data set (BasicMotions: 10 sequences per class) keeps every class on both sides.

use anyhow::{Result, bail};
use rand::seq::SliceRandom;

use super::SequenceSet;
use crate::rng::{Stream, stream};

/// Splits `set` into (train, validation): `fraction` of the sequences (rounded, at least
/// one, at most all but one) go to validation, chosen by a shuffle seeded with `seed`
/// ([`Stream::ValidationSplit`]). With `classes` (one class index per sequence) the
/// fraction is taken within each class (rounded per class, at least one of each class
/// with two or more sequences), so every such class is on both sides. Both halves keep
/// file order.
///
/// # Errors
/// `fraction` is not in `(0, 1)`, `set` has fewer than 2 sequences, or `classes` has
/// another length than `set`.
pub fn validation_split(
    set: &SequenceSet,
    fraction: f64,
    seed: u64,
    classes: Option<&[usize]>,
) -> Result<(SequenceSet, SequenceSet)> {
    let n = set.sequences.len();
    if !(fraction > 0.0 && fraction < 1.0) {
        bail!("validation fraction {fraction}: it must be between 0 and 1 (exclusive)");
    }
    if n < 2 {
        bail!(
            "{}: {n} sequence(s); a validation split needs at least 2",
            set.source
        );
    }
    let mut rng = stream(seed, Stream::ValidationSplit);
    let mut held = vec![false; n];
    let groups: Vec<Vec<usize>> = match classes {
        Some(c) if c.len() != n => bail!("{} class indices for {n} sequences", c.len()),
        Some(c) => {
            let k = c.iter().max().map_or(0, |m| m + 1);
            (0..k)
                .map(|class| (0..n).filter(|&i| c[i] == class).collect())
                .collect()
        }
        None => vec![(0..n).collect()],
    };
    for mut g in groups {
        if g.len() < 2 && classes.is_some() {
            continue; // a lone sequence of its class trains
        }
        g.shuffle(&mut rng);
        let take = ((g.len() as f64 * fraction).round() as usize).clamp(1, g.len() - 1);
        for &i in &g[..take] {
            held[i] = true;
        }
    }
    let pick = |want: bool| SequenceSet {
        source: format!(
            "{} ({})",
            set.source,
            if want {
                "validation split"
            } else {
                "training part"
            }
        ),
        features: set.features.clone(),
        sequences: (0..n)
            .filter(|&i| held[i] == want)
            .map(|i| set.sequences[i].clone())
            .collect(),
    };
    Ok((pick(false), pick(true)))
}

#[cfg(test)]
mod tests {
    use super::super::Sequence;
    use super::*;

    fn set(labels: &[f64]) -> SequenceSet {
        SequenceSet {
            source: "d".into(),
            features: vec!["f0".into()],
            sequences: labels
                .iter()
                .enumerate()
                .map(|(i, &l)| Sequence {
                    name: i.to_string(),
                    x: vec![i as f32],
                    labels: vec![l],
                })
                .collect(),
        }
    }

    #[test]
    fn a_stratified_split_keeps_every_class_on_both_sides_and_is_reproducible() {
        // BasicMotions' shape: 4 classes x 10 sequences, 20 % held out = 2 per class.
        let labels: Vec<f64> = (0..40).map(|i| f64::from(i % 4)).collect();
        let s = set(&labels);
        let classes: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
        let (train, val) = validation_split(&s, 0.2, 7, Some(&classes)).unwrap();
        assert_eq!((train.sequences.len(), val.sequences.len()), (32, 8));
        for c in 0..4 {
            let count = |p: &SequenceSet| {
                p.sequences
                    .iter()
                    .filter(|q| q.labels[0] == f64::from(c))
                    .count()
            };
            assert_eq!((count(&train), count(&val)), (8, 2), "class {c}");
        }
        let again = validation_split(&s, 0.2, 7, Some(&classes)).unwrap();
        assert_eq!(again.1, val);
        let other = validation_split(&s, 0.2, 8, Some(&classes)).unwrap();
        assert_ne!(other.1, val, "another seed holds out other sequences");
        // Disjoint and complete, in file order.
        let mut names: Vec<usize> = train
            .sequences
            .iter()
            .chain(&val.sequences)
            .map(|q| q.name.parse().unwrap())
            .collect();
        assert!(val.sequences.windows(2).all(|w| w[0].x[0] < w[1].x[0]));
        names.sort_unstable();
        assert_eq!(names, (0..40).collect::<Vec<_>>());
    }

    #[test]
    fn an_unstratified_split_rounds_and_keeps_both_sides_non_empty() {
        let s = set(&[0.5; 3]);
        let (t, v) = validation_split(&s, 0.01, 1, None).unwrap();
        assert_eq!((t.sequences.len(), v.sequences.len()), (2, 1));
        let (t, v) = validation_split(&s, 0.99, 1, None).unwrap();
        assert_eq!((t.sequences.len(), v.sequences.len()), (1, 2));
        for bad in [0.0, 1.0, f64::NAN] {
            assert!(validation_split(&s, bad, 1, None).is_err());
        }
        assert!(validation_split(&set(&[1.0]), 0.5, 1, None).is_err());
    }
}
