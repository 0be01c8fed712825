//! The blog post's data set and the ways the experiments slice it.
//!
//! 1200 sequences of 20 steps with one input each, all zero except step 0, which is 1 in
//! exactly 600 sequences (chosen without replacement, like numpy's
//! `choice(a=1200, size=600, replace=False)`). The target of a sequence is its first value.
//! Sequences `0..1000` train, `1000..1200` validate.

use rand::seq::index;

use crate::rng::{Stream, stream};

/// Number of sequences.
pub const SEQUENCES: usize = 1200;
/// Steps per sequence.
pub const SEQ_LEN: usize = 20;
/// Sequences in the training split (the first ones).
pub const TRAIN_SEQUENCES: usize = 1000;
/// Sequences in the validation split (the last ones).
pub const VAL_SEQUENCES: usize = SEQUENCES - TRAIN_SEQUENCES;
/// Sequences whose first value is 1.
pub const ONES: usize = SEQUENCES / 2;
/// Length of the sub-sequences of the windowed experiments.
pub const WINDOW_LEN: usize = 10;
/// Windows of [`WINDOW_LEN`] per sequence: starts `0..=SEQ_LEN - WINDOW_LEN`, i.e. 11.
pub const WINDOWS_PER_SEQUENCE: usize = SEQ_LEN - WINDOW_LEN + 1;

/// The input of one time step (`IN = 1`).
pub type Step = [f32; 1];

/// One sequence: 20 steps and its binary target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sequence {
    /// Inputs, `[SEQ_LEN][1]`; only `xs[0]` can be non-zero.
    pub xs: [Step; SEQ_LEN],
    /// Target, `0.0` or `1.0`: equals `xs[0][0]`.
    pub y: f32,
}

/// The generated data set (both splits) and the seed it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    seed: u64,
    sequences: Vec<Sequence>,
}

impl Dataset {
    /// Generates the post's data from `seed` (any `u64`; the same seed always gives the
    /// same data). Draws from the [`Stream::Data`] stream only.
    pub fn generate(seed: u64) -> Self {
        let mut rng = stream(seed, Stream::Data);
        let mut sequences = vec![
            Sequence {
                xs: [[0.0]; SEQ_LEN],
                y: 0.0,
            };
            SEQUENCES
        ];
        for i in index::sample(&mut rng, SEQUENCES, ONES) {
            if let Some(s) = sequences.get_mut(i) {
                s.xs[0] = [1.0];
                s.y = 1.0;
            }
        }
        Self { seed, sequences }
    }

    /// The seed the data was generated from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// All 1200 sequences, training split first.
    pub fn sequences(&self) -> &[Sequence] {
        &self.sequences
    }

    /// The training split: the first 1000 sequences.
    pub fn train(&self) -> &[Sequence] {
        &self.sequences[..TRAIN_SEQUENCES]
    }

    /// The validation split: the last 200 sequences.
    pub fn val(&self) -> &[Sequence] {
        &self.sequences[TRAIN_SEQUENCES..]
    }
}

/// One many-to-one training sample: consecutive steps of a sequence and that sequence's
/// target (the post's `prepare_sequences` keeps the target of the whole sequence).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample<'a> {
    /// The steps, `[len][1]`.
    pub xs: &'a [Step],
    /// Target, `0.0` or `1.0`.
    pub y: f32,
    /// Index of the source sequence within the slice given to [`windows`].
    pub sequence: usize,
    /// First step of the window within its sequence.
    pub start: usize,
}

/// Every window of `len` consecutive steps of every sequence, sequence-major (all windows
/// of sequence 0 by start `0..=SEQ_LEN - len`, then sequence 1, ...), like the post's
/// `prepare_sequences`. `len = WINDOW_LEN` gives 11 windows a sequence; `len = SEQ_LEN`
/// gives the whole sequences. `len = 0` or `len > SEQ_LEN` gives no windows.
pub fn windows(sequences: &[Sequence], len: usize) -> Vec<Sample<'_>> {
    if len == 0 || len > SEQ_LEN {
        return Vec::new();
    }
    let per_sequence = SEQ_LEN - len + 1;
    let mut out = Vec::with_capacity(sequences.len() * per_sequence);
    for (i, s) in sequences.iter().enumerate() {
        for start in 0..per_sequence {
            out.push(Sample {
                xs: &s.xs[start..start + len],
                y: s.y,
                sequence: i,
                start,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_six_hundred_sequences_start_with_a_one_and_nothing_else_is_non_zero() {
        let d = Dataset::generate(3);
        assert_eq!(d.sequences().len(), SEQUENCES);
        let ones = d.sequences().iter().filter(|s| s.xs[0] == [1.0]).count();
        assert_eq!(ones, ONES);
        for s in d.sequences() {
            assert!(s.xs[0] == [0.0] || s.xs[0] == [1.0]);
            assert!(s.xs[1..].iter().all(|x| *x == [0.0]));
        }
    }

    #[test]
    fn every_target_equals_the_first_value_of_its_sequence() {
        let d = Dataset::generate(11);
        assert!(d.sequences().iter().all(|s| s.y == s.xs[0][0]));
    }

    #[test]
    fn splits_are_the_first_thousand_and_last_two_hundred_sequences() {
        let d = Dataset::generate(11);
        assert_eq!(d.train().len(), 1000);
        assert_eq!(d.val().len(), 200);
        assert_eq!(d.train()[999], d.sequences()[999]);
        assert_eq!(d.val()[0], d.sequences()[1000]);
    }

    #[test]
    fn the_same_seed_gives_the_same_data_and_another_seed_other_data() {
        assert_eq!(Dataset::generate(1), Dataset::generate(1));
        assert_ne!(
            Dataset::generate(1).sequences(),
            Dataset::generate(2).sequences()
        );
    }

    #[test]
    fn windows_of_ten_are_eleven_a_sequence_in_sequence_major_order() {
        let d = Dataset::generate(4);
        let train = windows(d.train(), WINDOW_LEN);
        let val = windows(d.val(), WINDOW_LEN);
        assert_eq!(train.len(), 11_000);
        assert_eq!(val.len(), 2_200);
        for (k, w) in train.iter().enumerate() {
            let (seq, start) = (k / WINDOWS_PER_SEQUENCE, k % WINDOWS_PER_SEQUENCE);
            assert_eq!((w.sequence, w.start), (seq, start));
            assert_eq!(w.xs, &d.train()[seq].xs[start..start + WINDOW_LEN]);
            assert_eq!(w.y, d.train()[seq].y);
        }
        // Only the window starting at step 0 can see the informative value.
        assert!(
            train
                .iter()
                .filter(|w| w.start > 0)
                .all(|w| w.xs[0] == [0.0])
        );
    }

    #[test]
    fn full_length_windows_are_the_sequences_themselves() {
        let d = Dataset::generate(4);
        let full = windows(d.val(), SEQ_LEN);
        assert_eq!(full.len(), 200);
        assert!(
            full.iter()
                .zip(d.val())
                .all(|(w, s)| w.xs == s.xs && w.y == s.y)
        );
        assert!(windows(d.val(), 0).is_empty());
        assert!(windows(d.val(), SEQ_LEN + 1).is_empty());
    }
}
