//! The dot products in the pair form of the DSP extension (Cortex-M4/M7, and M33/M55 with
//! it): two multiply-accumulates per `SMLAD` ([`super::dsp`]), the inputs in the lane order
//! below. [`super::dot`] uses these on every target without `cfg(lstm_int8_simd)`: with the
//! instructions on DSP cores, through their portable twins on the others (Cortex-M0,
//! RISC-V). On SIMD hosts they run only in the tests, which keep this form equal to the
//! plain sum there too.
//!
//! # Lane order
//! In each block of four inputs `x[4b..4b + 4]` the middle two are swapped: lanes hold
//! `x0, x2, x1, x3`; a tail of fewer than four stays in place ([`lane_order`]). Four int8
//! weights `w0 w1 w2 w3` loaded as one little-endian word give, by `SXTB16`, the halfword
//! pairs `(w0, w2)` and (rotated by 8) `(w1, w3)`: the pairs of lanes they meet. So a block
//! costs one weight load, two `SXTB16`, one load of four lanes and two `SMLAD` (shared by
//! up to four rows), and the weights keep their natural order (`W[row][k]`, as the file and
//! the exporters write them).
#![cfg_attr(lstm_int8_simd, allow(dead_code))]

use super::dsp::{smlad, sxtb16};
use super::fixed::MAX_INPUTS;

/// `x` in lane order: the middle two of each block of four swapped.
#[inline(always)]
pub fn lane_order<const K: usize>(x: &[i16; K]) -> [i16; K] {
    let mut l = *x;
    let mut b = 0;
    while b + 4 <= K {
        l.swap(b + 1, b + 2);
        b += 4;
    }
    l
}

/// Four weights as the word a `LDR` reads (little-endian).
#[inline(always)]
fn word(w: &[i8], b: usize) -> u32 {
    u32::from_le_bytes([w[b] as u8, w[b + 1] as u8, w[b + 2] as u8, w[b + 3] as u8])
}

/// Two lanes as the word a `LDR` reads (`lo` in the low halfword).
#[inline(always)]
fn pair(lo: i16, hi: i16) -> u32 {
    (lo as u16 as u32) | ((hi as u16 as u32) << 16)
}

/// `Σ_k w[k] · x[k]`, `x` in lane order ([`lane_order`]): two multiply-accumulates per
/// `SMLAD`. `K <= 256` ([`MAX_INPUTS`], checked at compile time).
#[inline(always)]
pub fn dot<const K: usize>(w: &[i8; K], x: &[i16; K]) -> i32 {
    // The sum stays within ±2^30, so SMLAD never saturates or sets the Q flag (the asm
    // promises to preserve flags): rows longer than that are refused at compile time.
    const { assert!(K <= MAX_INPUTS, "dot: at most 256 inputs per row") };
    // Two blocks per iteration (the assembly is opaque to the optimiser, which would not
    // unroll it), then one, then the tail.
    let block = |acc: i32, w: &[i8], l: &[i16]| {
        let ws = word(w, 0);
        let acc = smlad(sxtb16::<false>(ws), pair(l[0], l[1]), acc);
        smlad(sxtb16::<true>(ws), pair(l[2], l[3]), acc)
    };
    let mut acc = 0i32;
    let mut w8 = w.chunks_exact(8);
    let mut l8 = x.chunks_exact(8);
    for (w, l) in (&mut w8).zip(&mut l8) {
        acc = block(acc, &w[..4], &l[..4]);
        acc = block(acc, &w[4..], &l[4..]);
    }
    let (w, l) = (w8.remainder(), l8.remainder());
    let mut w4 = w.chunks_exact(4);
    let mut l4 = l.chunks_exact(4);
    for (w, l) in (&mut w4).zip(&mut l4) {
        acc = block(acc, w, l);
    }
    for (&a, &b) in w4.remainder().iter().zip(l4.remainder()) {
        acc += a as i32 * b as i32;
    }
    acc
}

/// The dot products of two rows with the same inputs (lane order): `[dot(w0, x), dot(w1,
/// x)]`, each load of four lanes shared by both rows (per block: two weight loads, four
/// `SXTB16` and four `SMLAD` on a DSP core, 1.5 instructions per multiply-accumulate
/// against `dot`'s 1.75). Written out for two rows: the optimiser does not unroll a loop
/// over rows around the inline assembly, and more rows run out of Thumb registers.
#[inline(always)]
pub fn dot2<const K: usize>(w0: &[i8; K], w1: &[i8; K], x: &[i16; K]) -> [i32; 2] {
    const { assert!(K <= MAX_INPUTS, "dot2: at most 256 inputs per row") };
    let (mut a0, mut a1) = (0i32, 0i32);
    // On a DSP core, whole pairs of blocks (8 inputs) in one assembly loop; the rest below.
    #[cfg(lstm_arm_dsp)]
    let done = match super::dsp::dot2_pairs(w0, w1, x) {
        Some(((s0, s1), n)) => {
            (a0, a1) = (s0, s1);
            n
        }
        None => 0,
    };
    #[cfg(not(lstm_arm_dsp))]
    let done = 0;
    let mut w0s = w0[done..].chunks_exact(4);
    let mut w1s = w1[done..].chunks_exact(4);
    let mut ls = x[done..].chunks_exact(4);
    for ((w0, w1), l) in (&mut w0s).zip(&mut w1s).zip(&mut ls) {
        let (lo, hi) = (pair(l[0], l[1]), pair(l[2], l[3]));
        let (v0, v1) = (word(w0, 0), word(w1, 0));
        a0 = smlad(sxtb16::<true>(v0), hi, smlad(sxtb16::<false>(v0), lo, a0));
        a1 = smlad(sxtb16::<true>(v1), hi, smlad(sxtb16::<false>(v1), lo, a1));
    }
    let tail = w0s
        .remainder()
        .iter()
        .zip(w1s.remainder())
        .zip(ls.remainder());
    for ((&p, &q), &l) in tail {
        a0 += p as i32 * l as i32;
        a1 += q as i32 * l as i32;
    }
    [a0, a1]
}

/// The dot products of four consecutive rows `w[0..4]` with the same inputs (lane order),
/// each load of lanes shared by the four rows (1.375 instructions per multiply-accumulate
/// on a DSP core, `super::dsp::dot4_pairs`). Equal to `dot` row by row.
#[inline(always)]
pub fn dot4<const K: usize>(w: &[[i8; K]; 4], x: &[i16; K]) -> [i32; 4] {
    const { assert!(K <= MAX_INPUTS, "dot4: at most 256 inputs per row") };
    #[cfg(lstm_arm_dsp)]
    let (mut acc, done) = super::dsp::dot4_pairs(w, x).unwrap_or(([0; 4], 0));
    #[cfg(not(lstm_arm_dsp))]
    let (mut acc, done) = ([0i32; 4], 0);
    let l = x;
    let mut b = done;
    // Whole blocks of four inputs (on a DSP core at most one is left), then the tail.
    while b + 4 <= K {
        let (lo, hi) = (pair(l[b], l[b + 1]), pair(l[b + 2], l[b + 3]));
        let (v0, v1, v2, v3) = (
            word(&w[0], b),
            word(&w[1], b),
            word(&w[2], b),
            word(&w[3], b),
        );
        acc[0] = smlad(
            sxtb16::<true>(v0),
            hi,
            smlad(sxtb16::<false>(v0), lo, acc[0]),
        );
        acc[1] = smlad(
            sxtb16::<true>(v1),
            hi,
            smlad(sxtb16::<false>(v1), lo, acc[1]),
        );
        acc[2] = smlad(
            sxtb16::<true>(v2),
            hi,
            smlad(sxtb16::<false>(v2), lo, acc[2]),
        );
        acc[3] = smlad(
            sxtb16::<true>(v3),
            hi,
            smlad(sxtb16::<false>(v3), lo, acc[3]),
        );
        b += 4;
    }
    while b < K {
        let v = l[b] as i32;
        acc[0] += w[0][b] as i32 * v;
        acc[1] += w[1][b] as i32 * v;
        acc[2] += w[2][b] as i32 * v;
        acc[3] += w[3][b] as i32 * v;
        b += 1;
    }
    acc
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A deterministic spread of weights and inputs, extremes included.
    pub(crate) fn sample<const K: usize>(seed: u32) -> ([i8; K], [i16; K]) {
        let mut s = seed.wrapping_mul(0x9E37_79B9) | 1;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s
        };
        let w = core::array::from_fn(|k| match k % 7 {
            0 => 127,
            1 => -127,
            _ => (next() % 255) as i32 as i8,
        });
        let x = core::array::from_fn(|k| match k % 5 {
            0 => i16::MAX,
            1 => i16::MIN,
            _ => next() as i16,
        });
        (w, x)
    }

    /// The plain sum (`super::super::dot::dot_scalar`, which this module may not use).
    fn dot_scalar<const K: usize>(w: &[i8; K], x: &[i16; K]) -> i32 {
        w.iter().zip(x).map(|(&a, &b)| a as i32 * b as i32).sum()
    }

    fn check<const K: usize>() {
        // Fewer under Miri, which interprets every lane operation (same cases, fewer draws).
        for seed in 0..if cfg!(miri) { 3 } else { 50 } {
            let (w, x) = sample::<K>(seed);
            let lanes = lane_order(&x);
            let want = dot_scalar(&w, &x);
            assert_eq!(dot(&w, &lanes), want, "K = {K}, seed {seed}");
            let (w2, _) = sample::<K>(seed + 1000);
            assert_eq!(
                dot2(&w, &w2, &lanes),
                [want, dot_scalar(&w2, &x)],
                "dot2, K = {K}, seed {seed}"
            );
            let rows = [
                w,
                w2,
                sample::<K>(seed + 2000).0,
                sample::<K>(seed + 3000).0,
            ];
            assert_eq!(
                dot4(&rows, &lanes),
                rows.map(|r| dot_scalar(&r, &x)),
                "dot4, K = {K}, seed {seed}"
            );
        }
    }

    /// The pair form equals the plain loop for every block count and tail length.
    #[test]
    fn the_pair_form_equals_the_scalar_reference() {
        check::<1>();
        check::<3>();
        check::<4>();
        check::<5>();
        check::<8>();
        check::<10>();
        check::<11>();
        check::<32>();
        check::<64>();
        check::<72>();
        check::<256>();
    }

    #[test]
    fn lane_order_swaps_the_middle_of_each_block_of_four() {
        let x = [1i16, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(lane_order(&x), [1, 3, 2, 4, 5, 7, 6, 8, 9, 10]);
    }
}
