//! The dot product every integer row is made of: `Σ_k w[k] · x[k]` over int8 weights and
//! int16 inputs in an `i32` (exact: [`MAX_INPUTS`] bounds it), one row ([`dot`]) or two or
//! four rows against the same inputs ([`dot2`], [`dot4`]: the inputs are loaded once for
//! all of them), and the layout its inputs are put in once per step ([`Lanes`]).
//!
//! # Forms (twins)
//! - On hosts with integer vector lanes (`cfg(lstm_int8_simd)`, set by `build.rs`: x86,
//!   x86-64, AArch64, wasm32), `wide`'s `i16x16`: sixteen weights widened from int8 and
//!   multiplied with sixteen inputs, adjacent products summed into eight `i32` lanes
//!   (`PMADDWD` on SSE2/AVX2, the NEON equivalent), then the lanes summed; the tail of fewer
//!   than sixteen in scalar code. Inputs in natural order.
//! - Everywhere else, [`super::pairs`], the inputs in its lane order: on cores with the DSP
//!   extension (`cfg(lstm_arm_dsp)`: Cortex-M4/M7, M33/M55 with it) two multiply-accumulates
//!   per `SMLAD` and assembly loops; on the others (Cortex-M0, RISC-V `imc`) the same pairs
//!   through the instructions' portable twins, which those compilers turn into fewer
//!   instructions than the plain loop (RISC-V (8, 64): 94,854 against 241,888 per step).
//!
//! Integer addition is associative and no partial sum can overflow (the bound above), so
//! every form gives the same bits as [`dot_scalar`], the reference: tested here for the form
//! this target compiles (the SIMD one on the host; the native-CPU test build runs its AVX2
//! lanes), in [`super::pairs`] for the pair form on every target, and on the devices by
//! the firmware's bit-for-bit comparison with the host.

pub use super::fixed::MAX_INPUTS;

/// An input vector `[K]` in the order this target's dot product reads it: the natural
/// order with `cfg(lstm_int8_simd)`, the pair form's lane order
/// ([`super::pairs::lane_order`]) elsewhere.
/// 4-byte aligned (the DSP loops read two lane words per `LDRD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(4))]
pub struct Lanes<const K: usize>([i16; K]);

impl<const K: usize> Lanes<K> {
    /// `x` in this target's lane order.
    #[inline(always)]
    pub fn new(x: &[i16; K]) -> Self {
        #[cfg(not(lstm_int8_simd))]
        return Self(super::pairs::lane_order(x));
        #[cfg(lstm_int8_simd)]
        Self(*x)
    }
}

/// `Σ_k w[k] · x[k]` over plain (natural-order) inputs: the reference.
#[inline]
pub fn dot_scalar<const K: usize>(w: &[i8; K], x: &[i16; K]) -> i32 {
    w.iter().zip(x).map(|(&a, &b)| a as i32 * b as i32).sum()
}

/// `Σ_k w[k] · x[k]`. Equal to [`dot_scalar`] of the natural-order inputs. `K <= 256`
/// ([`MAX_INPUTS`], checked at compile time).
#[inline(always)]
pub fn dot<const K: usize>(w: &[i8; K], x: &Lanes<K>) -> i32 {
    #[cfg(not(lstm_int8_simd))]
    return super::pairs::dot(w, &x.0);
    #[cfg(lstm_int8_simd)]
    rows([w], &x.0)[0]
}

/// `[dot(w0, x), dot(w1, x)]`, the inputs loaded once for both rows.
#[inline(always)]
pub fn dot2<const K: usize>(w0: &[i8; K], w1: &[i8; K], x: &Lanes<K>) -> [i32; 2] {
    #[cfg(not(lstm_int8_simd))]
    return super::pairs::dot2(w0, w1, &x.0);
    #[cfg(lstm_int8_simd)]
    rows([w0, w1], &x.0)
}

/// `[dot(w[0], x), .., dot(w[3], x)]` for four consecutive rows, the inputs loaded once
/// for all four (on a DSP core one assembly loop, 1.375 instructions per multiply-accumulate).
#[inline(always)]
pub fn dot4<const K: usize>(w: &[[i8; K]; 4], x: &Lanes<K>) -> [i32; 4] {
    #[cfg(not(lstm_int8_simd))]
    return super::pairs::dot4(w, &x.0);
    #[cfg(lstm_int8_simd)]
    rows([&w[0], &w[1], &w[2], &w[3]], &x.0)
}

/// `R` rows against natural-order inputs: blocks of sixteen in `wide`'s integer lanes
/// (eight `i32` partial sums per row), then the tail in the plain loop.
#[cfg(lstm_int8_simd)]
#[inline(always)]
fn rows<const R: usize, const K: usize>(w: [&[i8; K]; R], x: &[i16; K]) -> [i32; R] {
    use wide::{i8x16, i16x16, i32x8};
    const { assert!(K <= MAX_INPUTS, "dot: at most 256 inputs per row") };
    let mut lanes = [i32x8::ZERO; R];
    let mut b = 0;
    while let Some(xs) = x.get(b..).and_then(|x| x.first_chunk::<16>()) {
        let xv = i16x16::new(*xs);
        for (sum, w) in lanes.iter_mut().zip(&w) {
            if let Some(ws) = w.get(b..).and_then(|w| w.first_chunk::<16>()) {
                *sum += i16x16::from(i8x16::new(*ws)).dot(xv);
            }
        }
        b += 16;
    }
    let mut acc = lanes.map(|l| l.reduce_add());
    for k in b..K {
        let v = x[k] as i32;
        for (a, w) in acc.iter_mut().zip(&w) {
            *a += w[k] as i32 * v;
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::pairs::tests::sample;

    fn check<const K: usize>() {
        // Fewer under Miri, which interprets every lane operation (same cases, fewer draws).
        for seed in 0..if cfg!(miri) { 3 } else { 50 } {
            let (w, x) = sample::<K>(seed);
            let lanes = Lanes::new(&x);
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

    /// This target's form (on the host: `wide`'s lanes, then the scalar tail) equals the
    /// plain loop for every count of sixteen-blocks and tail length.
    #[test]
    fn this_targets_form_equals_the_scalar_reference() {
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
        check::<16>();
        check::<17>();
        check::<48>();
        check::<255>();
        check::<256>();
    }
}
