//! SplitMix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators",
//! OOPSLA 2014; the constants of Java's `SplittableRandom`): 8 bytes of state, no tables,
//! the same sequence on every target. Good enough for shuffling labels and initial weights;
//! not for cryptography.

/// A SplitMix64 generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl SplitMix64 {
    /// A generator from `seed` (any value, including 0).
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent generator for `purpose` derived from `seed`: the seed is mixed with
    /// the purpose through one SplitMix64 output, so streams of one seed do not overlap in
    /// practice and changing how many numbers one purpose draws never shifts another.
    pub fn stream(seed: u64, purpose: u64) -> Self {
        let mut g = Self::new(seed ^ purpose.wrapping_mul(GAMMA));
        Self::new(g.next_u64())
    }

    /// The next 64 random bits.
    pub const fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform `f32` in `[0, 1)`: the top 24 bits divided by `2^24` (exact in `f32`).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0)
    }

    /// A standard normal `f32` (Box-Muller, cosine branch, `libm` functions): the same
    /// bits on every target because `libm` is the same Rust code everywhere.
    pub fn normal(&mut self) -> f32 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln never sees 0
        let u2 = self.uniform();
        libm::sqrtf(-2.0 * libm::logf(u1)) * libm::cosf(core::f32::consts::TAU * u2)
    }

    /// A fair coin: `true` with probability 1/2 (the top bit).
    pub fn coin(&mut self) -> bool {
        self.next_u64() >> 63 == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence_for_seed_zero() {
        // First outputs of the reference C implementation (Vigna's splitmix64.c) for x = 0.
        let mut g = SplitMix64::new(0);
        assert_eq!(g.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(g.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(g.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn uniforms_stay_in_the_unit_interval_and_normals_have_unit_variance() {
        let mut g = SplitMix64::stream(7, 1);
        let n = 20_000;
        let (mut sum, mut sum2) = (0.0_f64, 0.0_f64);
        for _ in 0..n {
            let u = g.uniform();
            assert!((0.0..1.0).contains(&u));
            let z = f64::from(g.normal());
            sum += z;
            sum2 += z * z;
        }
        let mean = sum / f64::from(n);
        let var = sum2 / f64::from(n) - mean * mean;
        // Standard error of the mean is 1/sqrt(20000) = 0.007; of the variance ~0.01.
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
    }
}
