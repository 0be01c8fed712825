//! The blog post's task: sequences of [`STEPS`] steps with one input each, all zero except
//! step 0, which is 0 or 1; the target of every step is the sequence's first value.

use crate::IN;
use crate::rng::SplitMix64;

/// Steps per sequence.
pub const STEPS: usize = 20;

/// The input of step `t` of a sequence whose first value (and target) is `label`
/// (`0.0` or `1.0`): `[label]` at `t = 0`, `[0.0]` afterwards.
pub const fn input(label: f32, t: usize) -> [f32; IN] {
    if t == 0 { [label] } else { [0.0] }
}

/// The labels drawn on the device: a fair coin per sequence from one [`SplitMix64`]
/// stream. (The harness draws exactly 600 ones among 1200 with `rand_chacha`; the device
/// uses an independent generator, so its data differ sequence by sequence but follow the
/// same distribution up to the exact 50/50 split.)
#[derive(Clone, Copy, Debug)]
pub struct DeviceData {
    rng: SplitMix64,
}

impl DeviceData {
    /// The label stream of `seed` (stream purpose 3; 1 and 2 are the initialisation's).
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::stream(seed, 3),
        }
    }

    /// The next sequence's label, `0.0` or `1.0`.
    pub fn next_label(&mut self) -> f32 {
        if self.rng.coin() { 1.0 } else { 0.0 }
    }
}
