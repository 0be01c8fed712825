//! Fixed-point arithmetic of the integer path: the Q formats it uses, rounding shifts,
//! saturation, and [`Multiplier`], which moves an `i32` accumulator from one scale to
//! another (gemmlowp's and TFLite's "quantized multiplier": a Q0.31 mantissa and a shift).
//!
//! Rounding is "half up" everywhere (`(x + 2^(s-1)) >> s`, arithmetic shift): one rule,
//! two instructions on every target, and the same bits on every target.

/// Largest `K` (inputs per row) a dot product takes: `Σ |w x| < 127 · 32768 · 256 = 2^30`,
/// so the sum (and a bias of at most `2^24` added to it) fits an `i32` with room to spare.
pub const MAX_INPUTS: usize = 256;

/// Fractional bits of a gate pre-activation (`z`): Q3.12 in an `i16`, range `[-8, 8)`,
/// resolution `2^-12` (TFLite's integer LSTM uses the same format for its gate inputs).
pub const GATE_FRAC: u32 = 12;

/// Fractional bits of a gate output, of `tanh` and of the hidden state `h`: Q0.15 in an
/// `i16`, range `[-1, 1)`, resolution `2^-15` (`1.0` is stored as `32767`).
pub const UNIT_FRAC: u32 = 15;

/// The real value of one unit of a Q0.15 number: `2^-15`.
pub const UNIT_SCALE: f32 = 1.0 / 32768.0;

/// `x / 2^shift` rounded half up (`shift` in `0..=31`; `0` returns `x`).
#[inline(always)]
pub const fn rounding_shr(x: i32, shift: u32) -> i32 {
    if shift == 0 {
        x
    } else {
        // `x + half` cannot overflow when it matters: callers shift products bounded by
        // 2^30 in magnitude; saturate anyway so no input wraps.
        x.saturating_add(1 << (shift - 1)) >> shift
    }
}

/// `x` clamped to the `i16` range.
#[inline(always)]
pub fn saturate_i16(x: i32) -> i16 {
    x.clamp(i16::MIN.into(), i16::MAX.into()) as i16
}

/// `a · b / 2^15` rounded half up: the product of two Q0.15 numbers (or of a Q0.15 and a
/// number of any other format, which keeps its format). `|a|, |b| <= 32768`, so the
/// product fits an `i32`.
#[inline(always)]
pub const fn mul_q15(a: i16, b: i16) -> i32 {
    rounding_shr(a as i32 * b as i32, UNIT_FRAC)
}

/// A positive real scale `m · 2^-shift` (`m` a Q0.31 mantissa in `[2^30, 2^31)`, or `0`
/// for the scale zero): what an `i32` accumulator is multiplied by to land in its target
/// format ([`Self::apply`]). Scales in `[2^-32, 2^30)` keep 31 significant bits; smaller
/// ones keep fewer and those below `2^-62` are zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Multiplier {
    /// The mantissa, `[2^30, 2^31)` (or `0`).
    pub m: i32,
    /// The right shift applied to `acc · m`, `1..=62` (`0` in [`Self::ZERO`]; [`Self::apply`]
    /// treats a shift outside `1..=62` as the nearest end).
    pub shift: u8,
}

impl Multiplier {
    /// The multiplier of scale zero (all bits zero, so zeroed parameters can live in
    /// `.bss`).
    pub const ZERO: Self = Self { m: 0, shift: 0 };

    /// The multiplier closest to `scale` (the mantissa rounded to nearest); `None` when
    /// `scale` is negative, not finite, or `>= 2^30` (or rounds up to it).
    pub fn from_scale(scale: f64) -> Option<Self> {
        if !scale.is_finite() || scale < 0.0 || scale >= (1u64 << 30) as f64 {
            return None;
        }
        if scale == 0.0 {
            return Some(Self::ZERO);
        }
        // scale = frac · 2^exp with frac in [0.5, 1): m = frac · 2^31, shift = 31 - exp.
        let (frac, exp) = libm::frexp(scale);
        let mut m = libm::round(frac * (1u64 << 31) as f64) as i64;
        let mut shift = 31 - exp as i64;
        if m == 1 << 31 {
            // frac rounded up to 1.0: one bit less.
            m >>= 1;
            shift -= 1;
        }
        // Tiny scales: fewer mantissa bits, at most shift 62.
        while shift > 62 {
            m = (m + 1) >> 1;
            shift -= 1;
        }
        if m == 0 {
            return Some(Self::ZERO);
        }
        if shift < 1 {
            // Just under 2^30, the mantissa rounded up to a shift of 0: out of range.
            return None;
        }
        Some(Self {
            m: m as i32,
            shift: shift as u8,
        })
    }

    /// The scale this multiplier stands for, `m · 2^-shift`.
    pub fn scale(self) -> f64 {
        self.m as f64 / libm::exp2(self.shift as f64)
    }

    /// `acc · m / 2^shift`, saturated to the `i32` range. For `shift >= 32` (every scale
    /// below `1/2`: every row of a model whose weight-times-input products stay below about
    /// 500) it is computed in two roundings, as TFLite and gemmlowp do (they round half away
    /// from zero, this rounds half up): the high word of the 64-bit product rounded (an
    /// `SMMULR` on Cortex-M4), then the remaining `shift - 32` bits, within one unit of the real
    /// product. Smaller shifts take one rounding of the whole product. `|acc · m| <= 2^62`,
    /// so neither form overflows.
    #[inline(always)]
    pub fn apply(self, acc: i32) -> i32 {
        // The common case inline, without a clamp: a shift of 33 to 62. The rounded high
        // word is one SMMULR on DSP cores; the rest of the shift, `k = shift - 32` in
        // `1..=30`, rounds half up as `((hi >> (k - 1)) + 1) >> 1`, which equals
        // `(hi + 2^(k-1)) >> k` (`hi = q 2^k + r`: both are `q + [r >= 2^(k-1)]`) and cannot
        // overflow (`|hi| <= 2^30`).
        let k1 = (self.shift as u32).wrapping_sub(33);
        if k1 <= 29 {
            let hi = super::dsp::smmulr(acc, self.m);
            ((hi >> k1) + 1) >> 1
        } else {
            self.apply_small_shift(acc)
        }
    }

    /// [`Self::apply`] for a shift of 32 or less (scales of `1/4` and more) or a hand-made
    /// one outside `1..=62`, which is clamped there (no shift overflows; `from_scale` never
    /// makes one): one rounding of the 64-bit product. Out of line, so the common case
    /// stays small enough for the optimiser to unroll the loops around it.
    #[cold]
    #[inline(never)]
    fn apply_small_shift(self, acc: i32) -> i32 {
        let p = acc as i64 * self.m as i64;
        let shift = (self.shift as u32).clamp(1, 62);
        if shift >= 32 {
            let hi = ((p + (1i64 << 31)) >> 32) as i32;
            rounding_shr(hi, shift - 32)
        } else {
            let r = (p + (1i64 << (shift - 1))) >> shift;
            r.clamp(i32::MIN.into(), i32::MAX.into()) as i32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_shifts_round_half_up() {
        assert_eq!(rounding_shr(5, 1), 3);
        assert_eq!(rounding_shr(-5, 1), -2);
        assert_eq!(rounding_shr(6, 2), 2);
        assert_eq!(rounding_shr(7, 0), 7);
        assert_eq!(rounding_shr(i32::MAX, 4), i32::MAX >> 4);
        assert_eq!(mul_q15(16384, 16384), 8192);
        assert_eq!(mul_q15(-32768, -32768), 32768);
        assert_eq!(saturate_i16(40000), i16::MAX);
        assert_eq!(saturate_i16(-40000), i16::MIN);
    }

    /// The multiplier keeps 31 significant bits over `[2^-32, 2^30)`: relative error at
    /// most `2^-31` (half a mantissa unit over a mantissa of at least `2^30`).
    #[test]
    #[cfg_attr(miri, ignore = "a 130-point sweep of f64 maths: slow under Miri")]
    fn multipliers_hold_their_scale_to_31_bits() {
        let mut s = 1.0e-9f64;
        while s < 1.0e9 {
            let m = Multiplier::from_scale(s).unwrap();
            assert!((1 << 30..=i32::MAX).contains(&m.m), "{s}: {m:?}");
            assert!(
                (m.scale() - s).abs() <= s * 2f64.powi(-31),
                "{s}: {}",
                m.scale()
            );
            s *= 1.37;
        }
        assert_eq!(Multiplier::from_scale(0.0), Some(Multiplier::ZERO));
        assert_eq!(Multiplier::from_scale(1e-30).unwrap().apply(i32::MAX), 0);
        for bad in [-1.0, f64::NAN, f64::INFINITY, 2e9, 1_073_741_823.9] {
            assert_eq!(Multiplier::from_scale(bad), None, "{bad}");
        }
    }

    /// `apply` is within one unit of the real product (two roundings of half a unit for
    /// shifts of 32 and more, one below), and saturates.
    #[test]
    fn apply_rounds_the_real_product() {
        for &s in &[0.75f64, 1.0 / 3.0, 2.5e-4, 3.0e-7, 1000.5] {
            let m = Multiplier::from_scale(s).unwrap();
            for &acc in &[
                0i32,
                1,
                -1,
                77,
                -12345,
                1 << 20,
                -(1 << 24),
                i32::MAX,
                i32::MIN,
            ] {
                let real = (acc as f64 * m.scale()).clamp(i32::MIN as f64, i32::MAX as f64);
                let bound = if m.shift >= 32 { 1.0 } else { 0.5 };
                assert!((m.apply(acc) as f64 - real).abs() <= bound, "{s} {acc}");
            }
        }
    }
}
