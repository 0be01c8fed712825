//! A user's data as labelled sequences, read from the files `fit`, `eval` and `predict`
//! take (issue 11): the CSV long format ([`csv_long`]), the NumPy `.npy` trio ([`npy`]) and,
//! for forecasting, one numeric column of a CSV ([`series`]).
//!
//! Every reader parses bytes (so the fuzz target calls it directly) and refuses bad input
//! with a message naming the file, the line (or array index) and the column: missing or
//! extra columns, non-numeric cells, NaN or infinite values (also values beyond `f32`),
//! empty files, gaps in `step`, interleaved sequences. Labels are kept as numbers, one per
//! step; a task then reads them as class indices ([`SequenceSet::classes`]), one value per
//! sequence ([`SequenceSet::sequence_labels`]) or per-step targets. [`split`] carves the
//! validation set from the training data, [`normalise`] computes the training data's
//! per-feature statistics, [`streams`] cuts a series for stateful truncated BPTT.

pub mod csv_long;
pub mod normalise;
pub mod npy;
pub mod series;
pub mod split;
pub mod streams;

use std::path::Path;

use anyhow::{Result, bail};

/// One sequence: `T >= 1` steps of `F` features and one label per step.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    /// Its id: the CSV's `sequence` cell, or its index in an `.npy` file.
    pub name: String,
    /// The inputs, `[T][F]` row-major (`x[t * F + f]`).
    pub x: Vec<f32>,
    /// One label per step, `[T]` (a many-to-one file repeats its label on every step).
    pub labels: Vec<f64>,
}

impl Sequence {
    /// Its number of steps `T`.
    pub fn steps(&self) -> usize {
        self.labels.len()
    }
}

/// Sequences that share their feature columns, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceSet {
    /// Where they were read from (for messages).
    pub source: String,
    /// The feature names (CSV header, or `f0`, `f1`, ... for `.npy`), `[F]`.
    pub features: Vec<String>,
    /// The sequences, at least one.
    pub sequences: Vec<Sequence>,
}

impl SequenceSet {
    /// `F`, the features per step.
    pub fn feature_count(&self) -> usize {
        self.features.len()
    }

    /// The label of each sequence, `[N]`, for many-to-one tasks.
    ///
    /// # Errors
    /// A sequence whose steps carry different labels (named with the step), which only a
    /// per-step (labelling) task can use.
    pub fn sequence_labels(&self) -> Result<Vec<f64>> {
        self.sequences
            .iter()
            .map(|s| {
                let first = s.labels[0];
                match s.labels.iter().position(|&l| l != first) {
                    None => Ok(first),
                    Some(t) => bail!(
                        "{}: sequence {} has label {} at step 0 but {} at step {t}: a \
                         many-to-one task needs one label per sequence (per-step labels \
                         are for --task label)",
                        self.source,
                        s.name,
                        first,
                        s.labels[t]
                    ),
                }
            })
            .collect()
    }

    /// The labels as class indices `0..K` (`K` = the largest index + 1), one per step of
    /// each sequence, and `K`.
    ///
    /// # Errors
    /// A label that is not a whole number in `0..=max_classes - 1`, named with its
    /// sequence and step.
    pub fn classes(&self, max_classes: usize) -> Result<(Vec<Vec<usize>>, usize)> {
        let mut k = 0;
        let mut out = Vec::with_capacity(self.sequences.len());
        for s in &self.sequences {
            let mut row = Vec::with_capacity(s.steps());
            for (t, &l) in s.labels.iter().enumerate() {
                if l < 0.0 || l.fract() != 0.0 || l >= max_classes as f64 {
                    bail!(
                        "{}: sequence {} step {t}: label {} is not a class index 0..{} \
                         (classes are whole numbers from 0; at most {max_classes})",
                        self.source,
                        s.name,
                        l as f32,
                        max_classes - 1
                    );
                }
                let c = l as usize;
                k = k.max(c + 1);
                row.push(c);
            }
            out.push(row);
        }
        Ok((out, k))
    }
}

/// A number from a text cell as `f32`: finite, and within `f32`'s range.
///
/// # Errors
/// Not a number, NaN, infinite, or beyond `f32::MAX` (the message says which).
fn parse_value(cell: &str) -> Result<f32, String> {
    let v: f64 = cell
        .trim()
        .parse()
        .map_err(|_| format!("{cell:?} is not a number"))?;
    if !v.is_finite() {
        return Err(format!("{cell:?} is not a finite number"));
    }
    if v.abs() > f64::from(f32::MAX) {
        return Err(format!("{cell:?} is beyond the f32 range"));
    }
    Ok(v as f32)
}

/// Reads a data file (at most [`MAX_DATA_FILE_BYTES`]).
///
/// # Errors
/// It cannot be read or is too large (the message names it).
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    crate::files::read_limited(path, MAX_DATA_FILE_BYTES)
}

/// The largest data file read: 1 GiB (the real datasets here are below 1 MB).
pub const MAX_DATA_FILE_BYTES: u64 = 1 << 30;

#[cfg(test)]
mod tests {
    use super::*;

    fn set(labels: &[&[f64]]) -> SequenceSet {
        SequenceSet {
            source: "t.csv".into(),
            features: vec!["f0".into()],
            sequences: labels
                .iter()
                .enumerate()
                .map(|(i, l)| Sequence {
                    name: i.to_string(),
                    x: vec![0.0; l.len()],
                    labels: l.to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn class_labels_are_whole_numbers_in_range_and_give_k() {
        let (c, k) = set(&[&[0.0, 0.0], &[3.0]]).classes(16).unwrap();
        assert_eq!((c, k), (vec![vec![0, 0], vec![3]], 4));
        for (bad, what) in [(-1.0, "-1"), (1.5, "1.5"), (16.0, "16")] {
            let e = format!("{:#}", set(&[&[0.0], &[bad]]).classes(16).unwrap_err());
            assert!(
                e.contains("sequence 1 step 0") && e.contains(what) && e.contains("0..15"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_many_to_one_label_must_be_constant_per_sequence() {
        assert_eq!(
            set(&[&[2.0, 2.0], &[1.0]]).sequence_labels().unwrap(),
            [2.0, 1.0]
        );
        let e = format!(
            "{:#}",
            set(&[&[2.0, 2.0, 3.0]]).sequence_labels().unwrap_err()
        );
        assert!(
            e.contains("sequence 0") && e.contains("step 2") && e.contains("--task label"),
            "{e}"
        );
    }

    #[test]
    fn cells_must_be_finite_numbers_within_f32() {
        assert_eq!(parse_value(" 1.5 "), Ok(1.5));
        assert!(parse_value("abc").unwrap_err().contains("not a number"));
        assert!(parse_value("NaN").unwrap_err().contains("not a finite"));
        assert!(parse_value("-inf").unwrap_err().contains("not a finite"));
        assert!(parse_value("1e39").unwrap_err().contains("f32 range"));
    }
}

/// The readers never panic: the fuzz seeds (host-harness/fuzz/corpus) with random bytes
/// overwritten, inserted or cut are read or refused with a message (`scripts/fuzz.sh`
/// runs the same claim under libFuzzer).
#[cfg(test)]
mod no_panic {
    use proptest::prelude::*;

    use crate::fuzz_seeds::{mutate, seeds};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn mutated_csv_files_are_read_or_refused(
            which in 0usize..3,
            edits in proptest::collection::vec((0usize..4096, any::<u8>(), 0u8..3), 0..8),
            keep in 0usize..4096,
        ) {
            let seeds = seeds("read_csv");
            let b = mutate(seeds[which % seeds.len()].clone(), &edits, keep);
            if let Ok(set) = super::csv_long::parse("p.csv", &b) {
                for s in &set.sequences {
                    prop_assert_eq!(s.x.len(), s.steps() * set.feature_count());
                }
            }
            let _ = super::series::parse("p.csv", &b, None);
        }

        #[test]
        fn mutated_npy_trios_are_read_or_refused(
            which in 0usize..2,
            edits in proptest::collection::vec((0usize..4096, any::<u8>(), 0u8..3), 0..8),
            keep in 0usize..4096,
        ) {
            let seeds = seeds("read_npy");
            let b = mutate(seeds[which % seeds.len()].clone(), &edits, keep);
            if b.len() >= 4 {
                let a = usize::from(u16::from_le_bytes([b[0], b[1]]));
                let l = usize::from(u16::from_le_bytes([b[2], b[3]]));
                let rest = &b[4..];
                let (x, rest) = rest.split_at(a.min(rest.len()));
                let (lengths, y) = rest.split_at(l.min(rest.len()));
                if let Ok(set) = super::npy::parse("p", [("X", x), ("lengths", lengths), ("y", y)]) {
                    for s in &set.sequences {
                        prop_assert_eq!(s.x.len(), s.steps() * set.feature_count());
                    }
                }
            }
        }
    }
}
