//! Lane numerics: the handful of operations the activation formulas are written in, on one
//! `f32` or on a `wide` vector of lanes (`f32x8`, `f32x16`), so a scalar and every SIMD lane
//! run one definition ([`crate::activation`]).
//!
//! The bottom layer of the kernel together with [`crate::real`]: it imports nothing from the
//! crate. The scalar `f32` operations never fuse a multiply-add, so host and Cortex-M give
//! the same bits; the vector types fuse where the target has FMA ([`FUSED_LANES`]).

use core::ops::{Add, Div, Mul, Neg, Sub};

use wide::{f32x8, f32x16, i32x8, i32x16};

/// Whether the vector lanes' [`Lane::mul_add`] is one fused rounding on this target: `wide`
/// fuses with x86 FMA (`-C target-cpu=x86-64-v3` and up) and with AArch64 NEON (`FMLA`,
/// every AArch64 core); elsewhere it is a multiply and an add, the scalar bits.
pub const FUSED_LANES: bool = cfg!(any(
    target_feature = "fma",
    all(target_arch = "aarch64", target_feature = "neon")
));

/// `1.5 * 2^23`: adding it rounds a float of magnitude `< 2^22` to an integer held in the
/// low mantissa bits.
pub const ROUND_MAGIC: f32 = 12_582_912.0;

/// One `f32` or a vector of `f32` lanes.
pub trait Lane:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// Every lane `v`.
    fn splat(v: f32) -> Self;
    /// `self * b + c` (fused where the lane type's `mul_add` is; a separate multiply and add
    /// for `f32`, so host and Cortex-M give the same bits).
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// `c - self * b` (fused as [`Self::mul_add`]).
    fn mul_neg_add(self, b: Self, c: Self) -> Self;
    /// `|self|`.
    fn abs(self) -> Self;
    /// `max(lo, min(hi, self))`, NaN kept.
    fn clamp_keep_nan(self, lo: f32, hi: f32) -> Self;
    /// `max(lo, self)`, NaN kept.
    fn max_keep_nan(self, lo: f32) -> Self;
    /// `|self|` with the sign bit of `sign`.
    fn copysign(self, sign: Self) -> Self;
    /// `self * 2^n` for `k = n + ROUND_MAGIC`, by adding `n` to the exponent field (the
    /// caller keeps the result a normal number; see [`Self::pow2_from_rounded`]).
    fn scale_by_rounded(self, k: Self) -> Self;
    /// `(n, n + ROUND_MAGIC)` with `n` the integer nearest `self` (ties to even; `|self| <
    /// 2^22`): `k = self + ROUND_MAGIC` rounds, `k - ROUND_MAGIC` recovers `n` (two dependent
    /// adds). Lanes with a rounding instruction (AVX `vroundps`, AVX-512 `vrndscaleps`) give
    /// the same two values with `n` one instruction from `self`, except that a zero `n` keeps
    /// the sign of `self` there (`-0.4 -> -0`); `self - n` is then the same except for the
    /// sign of a zero result, which the fast activations cannot see (`f²`, and `±0 · C1`
    /// added to nonzero terms).
    #[inline(always)]
    fn round_split(self) -> (Self, Self) {
        let k = self + Self::splat(ROUND_MAGIC);
        (k - Self::splat(ROUND_MAGIC), k)
    }
    /// `2^n` for `t = n + ROUND_MAGIC` (`n` in `[-126, 128]`; `128` gives `+inf`): the low
    /// mantissa bits of `t` hold `n + 2^22`, and shifting them into the exponent field drops
    /// the offset (`2^45 mod 2^32 = 0`).
    fn pow2_from_rounded(t: Self) -> Self;
}

impl Lane for f32 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        self * b + c
    }
    #[inline(always)]
    fn mul_neg_add(self, b: Self, c: Self) -> Self {
        c - self * b
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32::from_bits(self.to_bits() & 0x7fff_ffff)
    }
    #[inline(always)]
    fn clamp_keep_nan(self, lo: f32, hi: f32) -> Self {
        // Comparisons are false for NaN, so NaN passes through. Two clamps in sequence (not
        // an if / else-if on the input): one compare-and-move each on Cortex-M, in place.
        let x = if self > hi { hi } else { self };
        if x < lo { lo } else { x }
    }
    #[inline(always)]
    fn max_keep_nan(self, lo: f32) -> Self {
        if self < lo { lo } else { self }
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        f32::from_bits((self.to_bits() & 0x7fff_ffff) | (sign.to_bits() & 0x8000_0000))
    }
    #[inline(always)]
    fn scale_by_rounded(self, k: Self) -> Self {
        f32::from_bits(self.to_bits().wrapping_add(k.to_bits() << 23))
    }
    #[inline(always)]
    fn pow2_from_rounded(t: Self) -> Self {
        f32::from_bits((t.to_bits() << 23).wrapping_add(127 << 23))
    }
}

/// The vector lanes: `wide`'s fused multiply-adds (where the target has FMA; a separate
/// multiply and add otherwise, which gives the scalar bits). NaN-keeping clamps: on x86
/// `maxps a, b` returns `b` when either is NaN, so putting `x` second propagates NaN for
/// free; elsewhere NaN lanes are restored with a select.
macro_rules! vector_lane {
    ($f:ident, $i:ident) => {
        impl Lane for $f {
            #[inline(always)]
            fn splat(v: f32) -> Self {
                $f::splat(v)
            }
            #[inline(always)]
            fn mul_add(self, b: Self, c: Self) -> Self {
                $f::mul_add(self, b, c)
            }
            #[inline(always)]
            fn mul_neg_add(self, b: Self, c: Self) -> Self {
                $f::mul_neg_add(self, b, c)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $f::abs(self)
            }
            #[inline(always)]
            fn clamp_keep_nan(self, lo: f32, hi: f32) -> Self {
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                {
                    $f::splat(hi).fast_min($f::splat(lo).fast_max(self))
                }
                #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
                {
                    let c = self.fast_max($f::splat(lo)).fast_min($f::splat(hi));
                    self.is_nan().select(self, c)
                }
            }
            #[inline(always)]
            fn max_keep_nan(self, lo: f32) -> Self {
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                {
                    $f::splat(lo).fast_max(self)
                }
                #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
                {
                    self.is_nan().select(self, self.fast_max($f::splat(lo)))
                }
            }
            #[inline(always)]
            fn copysign(self, sign: Self) -> Self {
                self.abs() | (sign & $f::splat(-0.0))
            }
            #[cfg(target_feature = "avx")]
            #[inline(always)]
            fn round_split(self) -> (Self, Self) {
                let n = self.round_ties_even();
                (n, n + $f::splat(ROUND_MAGIC))
            }
            #[inline(always)]
            fn scale_by_rounded(self, k: Self) -> Self {
                let m: $i = wide::bytemuck::cast(self);
                let k: $i = wide::bytemuck::cast(k);
                wide::bytemuck::cast(m + (k << 23_i32))
            }
            #[inline(always)]
            fn pow2_from_rounded(t: Self) -> Self {
                let bits: $i = wide::bytemuck::cast(t);
                wide::bytemuck::cast((bits << 23_i32) + $i::splat(127 << 23))
            }
        }
    };
}

vector_lane!(f32x8, i32x8);
vector_lane!(f32x16, i32x16);

#[cfg(test)]
mod tests {
    use super::*;

    /// The lanes' `round_split` (AVX: `vroundps`; AVX-512: `vrndscaleps`) against the scalar
    /// magic-number rounding, every lane of `f32x8` and `f32x16`, over the fast
    /// activations' whole clamped range `±120` in steps of 1/16 (every tie `n + 1/2`, ties
    /// to even in both) plus `±0`: the same `n` value and `n + ROUND_MAGIC` bits, and the
    /// same reduced argument `f = t - n` except for the sign of a zero `f` (which the
    /// rational cannot see: it enters as `f²` and `±0 · C1`, added to nonzero terms).
    #[test]
    fn vector_round_split_is_the_scalar_rounding() {
        let same = |t: f32, n: f32, k: f32| {
            let (ns, ks) = t.round_split();
            let (f, fs) = (t - n, t - ns);
            let same_f = f.to_bits() == fs.to_bits() || (f == 0.0 && fs == 0.0);
            assert!(
                n == ns && k.to_bits() == ks.to_bits() && same_f,
                "t = {t}: lanes ({n}, {k}), scalar ({ns}, {ks})"
            );
        };
        let mut ts = [0.0_f32; 3856];
        for (i, t) in ts.iter_mut().enumerate().take(3841) {
            *t = -120.0 + i as f32 / 16.0;
        }
        ts[3841] = -0.0; // the rest stay +0
        for c in ts.as_chunks::<8>().0 {
            let (n, k) = f32x8::new(*c).round_split();
            for (j, &t) in c.iter().enumerate() {
                same(t, n.to_array()[j], k.to_array()[j]);
            }
        }
        for c in ts.as_chunks::<16>().0 {
            let (n, k) = f32x16::new(*c).round_split();
            for (j, &t) in c.iter().enumerate() {
                same(t, n.to_array()[j], k.to_array()[j]);
            }
        }
    }
}
