//! The GRU cell on `wide` vectors (`f32`: `f32x8`, AVX with `-C target-cpu=native` or
//! `x86-64-v3`, two SSE2 halves on plain x86-64).
//!
//! | H | [`GruKernels::gru_step`] and [`GruKernels::gru_step_state`] |
//! |---|---|
//! | `H < 8` | the trait's slice path (SIMD `gemv_t_acc`, `axpy`), gate maths by [`Simd`]'s [`GruKernels::map_units`] |
//! | `H >= 8` | fused: per group of `GROUP` 8-unit blocks (2 with AVX, 1 on SSE2), their 6 pre-activation vectors each (input and recurrent, r, z, n) stay in registers over the whole row loop (broadcast multiply-adds of `x_k`, `h_k` into the blocks' weights), then their gate maths; the `H % 8` tail is one overlapping block at `H - 8` (recomputed from `h_{t-1}`, so the overlap writes the same values). Reset-before runs two such passes (r, z and `r ⊙ h` first, then the candidate) |
//!
//! The backward is the trait's (SIMD `ger`, `gemv`). Tested against the scalar cell
//! (`tests/kernel/gru_checks.rs`); the fused step against the slice path below.

use wide::f32x8;

use super::{AfterUpdate, BeforeGates, BeforeUpdate, GruKernels, GruVariant, UnitMap};
use crate::activation::{Maths, Policy, RecurrentActivation};
use crate::cell::lanes::{LANES, load_blk, store_blk};
use crate::gru_weights::GruWeights;
use crate::primitives::Simd;

impl GruKernels<f32> for Simd {
    #[inline(always)]
    fn map_units<M: UnitMap<I, O>, const I: usize, const O: usize>(
        m: M,
        ins: [&[f32]; I],
        mut outs: [&mut [f32]; O],
    ) {
        let n = ins
            .iter()
            .map(|s| s.len())
            .chain(outs.iter().map(|s| s.len()))
            .min()
            .unwrap_or(0);
        let mut j = 0;
        while j + LANES <= n {
            let v = m.apply(ins.map(|s| {
                s.get(j..j + LANES)
                    .and_then(|t| t.first_chunk::<LANES>())
                    .map_or(f32x8::ZERO, |a| f32x8::new(*a))
            }));
            for (o, y) in outs.iter_mut().zip(v) {
                if let Some(d) = o.get_mut(j..j + LANES).and_then(|t| t.first_chunk_mut()) {
                    *d = y.to_array();
                }
            }
            j += LANES;
        }
        while j < n {
            let v = m.apply(ins.map(|s| s.get(j).copied().unwrap_or(0.0)));
            for (o, y) in outs.iter_mut().zip(v) {
                if let Some(d) = o.get_mut(j) {
                    *d = y;
                }
            }
            j += 1;
        }
    }

    #[inline(always)]
    fn gru_step<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        variant: GruVariant,
        w: &GruWeights<IN, H, f32>,
        x: &[f32; IN],
        h_prev: &[f32; H],
        h: &mut [f32; H],
        gates: &mut [[f32; H]; 3],
        hn: &mut [f32; H],
    ) {
        if H < LANES {
            return slice_step::<IN, H>(act, maths, variant, w, x, h_prev, h, gates, hn);
        }
        crate::with_policy!(act, maths, |p| match variant {
            GruVariant::ResetAfter => fused_after(p, w, x, h_prev, h, gates, hn),
            GruVariant::ResetBefore => fused_before(p, w, x, h_prev, h, gates, hn),
        });
    }
}

/// The trait's default slice path, for `H < 8` (and the reference the fused step is tested
/// against).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn slice_step<const IN: usize, const H: usize>(
    act: RecurrentActivation,
    maths: Maths,
    variant: GruVariant,
    w: &GruWeights<IN, H, f32>,
    x: &[f32; IN],
    h_prev: &[f32; H],
    h: &mut [f32; H],
    gates: &mut [[f32; H]; 3],
    hn: &mut [f32; H],
) {
    struct Slices;
    impl crate::primitives::Primitives<f32> for Slices {
        fn gemv_t_acc(z: &mut [f32], w: &[f32], v: &[f32]) {
            Simd::gemv_t_acc(z, w, v);
        }
        fn gemv_acc(out: &mut [f32], w: &[f32], dz: &[f32]) {
            Simd::gemv_acc(out, w, dz);
        }
        fn ger_acc(dw: &mut [f32], v: &[f32], dz: &[f32]) {
            Simd::ger_acc(dw, v, dz);
        }
        fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
            Simd::axpy(y, a, x);
        }
    }
    impl GruKernels<f32> for Slices {
        #[inline(always)]
        fn map_units<M: UnitMap<I, O>, const I: usize, const O: usize>(
            m: M,
            ins: [&[f32]; I],
            outs: [&mut [f32]; O],
        ) {
            Simd::map_units(m, ins, outs);
        }
    }
    Slices::gru_step(act, maths, variant, w, x, h_prev, h, gates, hn);
}

/// 8-unit blocks per pass of the fused step: `6 GROUP` accumulators (12 of the 16 `ymm`
/// registers with AVX, so each 64-byte weight line is read once per pass, both of its
/// blocks at a time; SSE2's `f32x8` is two `xmm`, so one block). Measured on the AMD EPYC
/// Zen 3 VM, AVX2 (docs/performance.md): at `(32, 128)` one block per pass took 11.7 µs.
const GROUP: usize = if cfg!(target_feature = "avx") { 2 } else { 1 };

/// `acc[u][q] += v * row[q][offs[u]..offs[u] + 8]` for the first `Q` gate blocks of a
/// weight row, for each block `u` of a group.
#[inline(always)]
fn accumulate<const Q: usize, const H: usize>(
    acc: &mut [[f32x8; Q]; GROUP],
    row: &[[f32; H]; 3],
    v: f32,
    offs: &[usize; GROUP],
) {
    let v = f32x8::splat(v);
    for (acc_u, &j) in acc.iter_mut().zip(offs) {
        for (a, wq) in acc_u.iter_mut().zip(row) {
            *a = v.mul_add(load_blk(wq, j), *a);
        }
    }
}

/// Both products of a group: `ai += W_ih^T x` over the first `QI` gate blocks and
/// `ah += W_hh^T h_{t-1}` over the first `QH` (x rows first, then h rows, in row order).
#[inline(always)]
fn accumulate_rows<const QI: usize, const QH: usize, const IN: usize, const H: usize>(
    ai: &mut [[f32x8; QI]; GROUP],
    ah: &mut [[f32x8; QH]; GROUP],
    w: &GruWeights<IN, H, f32>,
    x: &[f32; IN],
    h_prev: &[f32; H],
    offs: &[usize; GROUP],
) {
    for (row, &v) in w.w_ih.iter().zip(x) {
        accumulate(ai, row, v, offs);
    }
    for (row, &v) in w.w_hh.iter().zip(h_prev) {
        accumulate(ah, row, v, offs);
    }
}

/// The block offsets `0, 8, 16, ...` (the `H % 8` tail as the overlapping block `H - 8`),
/// `GROUP` at a time; a short last group repeats its last block (recomputed from the same
/// inputs, so written twice with the same values).
#[inline(always)]
fn groups<const H: usize>() -> impl Iterator<Item = [usize; GROUP]> {
    let blocks = H.div_ceil(LANES);
    (0..blocks.div_ceil(GROUP)).map(move |g| {
        core::array::from_fn(|u| ((g * GROUP + u).min(blocks - 1) * LANES).min(H - LANES))
    })
}

/// Reset-after, `H >= 8`: one pass; per group of blocks, 6 accumulators per block over all
/// rows, then the gates.
#[inline(always)]
fn fused_after<P: Policy, const IN: usize, const H: usize>(
    p: P,
    w: &GruWeights<IN, H, f32>,
    x: &[f32; IN],
    h_prev: &[f32; H],
    h: &mut [f32; H],
    gates: &mut [[f32; H]; 3],
    hn: &mut [f32; H],
) {
    for offs in groups::<H>() {
        let mut ai: [[f32x8; 3]; GROUP] =
            core::array::from_fn(|u| core::array::from_fn(|q| load_blk(&w.b[q], offs[u])));
        let mut ah: [[f32x8; 3]; GROUP] =
            core::array::from_fn(|u| [f32x8::ZERO, f32x8::ZERO, load_blk(&w.b_hn, offs[u])]);
        accumulate_rows(&mut ai, &mut ah, w, x, h_prev, &offs);
        for ((a, b), &j) in ai.iter().zip(&ah).zip(&offs) {
            let hp = load_blk(h_prev, j);
            let [r, z, n, hj] = AfterUpdate(p).apply([a[0], a[1], a[2], b[0], b[1], b[2], hp]);
            for (g, v) in gates.iter_mut().zip([r, z, n]) {
                store_blk(g, j, v);
            }
            store_blk(hn, j, b[2]);
            store_blk(h, j, hj);
        }
    }
}

/// Reset-before, `H >= 8`: pass 1 per group (r, z, `r ⊙ h_{t-1}` into `hn`, the n gate's
/// input pre-activation parked in `gates[2]`), pass 2 per group (the candidate from every
/// `r ⊙ h`, then `h_t`).
#[inline(always)]
fn fused_before<P: Policy, const IN: usize, const H: usize>(
    p: P,
    w: &GruWeights<IN, H, f32>,
    x: &[f32; IN],
    h_prev: &[f32; H],
    h: &mut [f32; H],
    gates: &mut [[f32; H]; 3],
    hn: &mut [f32; H],
) {
    for offs in groups::<H>() {
        let mut ai: [[f32x8; 3]; GROUP] = core::array::from_fn(|u| {
            let j = offs[u];
            [
                load_blk(&w.b[0], j),
                load_blk(&w.b[1], j),
                load_blk(&w.b[2], j) + load_blk(&w.b_hn, j),
            ]
        });
        let mut ah = [[f32x8::ZERO; 2]; GROUP];
        accumulate_rows(&mut ai, &mut ah, w, x, h_prev, &offs);
        for ((a, b), &j) in ai.iter().zip(&ah).zip(&offs) {
            let hp = load_blk(h_prev, j);
            let [r, z, rh] = BeforeGates(p).apply([a[0], a[1], b[0], b[1], hp]);
            store_blk(&mut gates[0], j, r);
            store_blk(&mut gates[1], j, z);
            store_blk(&mut gates[2], j, a[2]);
            store_blk(hn, j, rh);
        }
    }
    // Pass 2 reads the parked input pre-activations from a copy: an overlapping block
    // would otherwise read a candidate pass 2 already wrote.
    let a_in = gates[2];
    for offs in groups::<H>() {
        let mut an: [f32x8; GROUP] = core::array::from_fn(|u| load_blk(&a_in, offs[u]));
        for (row, &v) in w.w_hh.iter().zip(hn.iter()) {
            let v = f32x8::splat(v);
            for (a, &j) in an.iter_mut().zip(&offs) {
                *a = v.mul_add(load_blk(&row[2], j), *a);
            }
        }
        for (&a, &j) in an.iter().zip(&offs) {
            let z = load_blk(&gates[1], j);
            let [n, hj] = BeforeUpdate(p).apply([a, z, load_blk(h_prev, j)]);
            store_blk(&mut gates[2], j, n);
            store_blk(h, j, hj);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused step against the slice path on the same SIMD primitives: the same
    /// operations in the same order per unit (bias, then `x`, then `h` rows), the same bits
    /// without FMA; with FMA the slice path's scalar tail columns round each product
    /// separately (one ulp per product, |pre-activation| < 10: < 1e-6 per step), so the
    /// bound is 1e-5 over 20 contractive steps. Every variant and policy, with and without
    /// a tail block.
    fn fused_matches_slices<const IN: usize, const H: usize>() {
        let mut s = 0x2545_f491_u32;
        let mut uniform = move || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1 << 24) as f32
        };
        let mut w = GruWeights::<IN, H>::zeroed();
        w.init_pytorch(&mut uniform);
        for variant in GruVariant::ALL {
            for act in RecurrentActivation::ALL {
                for maths in Maths::ALL {
                    let (mut a, mut b) = ([0.0; H], [0.0; H]);
                    for t in 0..20 {
                        let x: [f32; IN] =
                            core::array::from_fn(|k| 2.0 * libm::sinf(0.37 * t as f32 + k as f32));
                        let (pa, pb) = (a, b);
                        let (mut ga, mut gb) = ([[0.0; H]; 3], [[0.0; H]; 3]);
                        let (mut na, mut nb) = ([0.0; H], [0.0; H]);
                        Simd::gru_step(act, maths, variant, &w, &x, &pa, &mut a, &mut ga, &mut na);
                        slice_step(act, maths, variant, &w, &x, &pb, &mut b, &mut gb, &mut nb);
                        let ctx = (IN, H, variant, act, maths, t);
                        let pairs = a
                            .iter()
                            .zip(&b)
                            .chain(ga.as_flattened().iter().zip(gb.as_flattened()));
                        for (p, q) in pairs.chain(na.iter().zip(&nb)) {
                            assert!((p - q).abs() <= 1e-5, "{ctx:?}: {p} vs {q}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "20-step fused-vs-slice runs over 6 sizes: too slow under Miri"
    )]
    fn fused_gru_step_gives_the_slice_path_bits() {
        fused_matches_slices::<1, 8>();
        fused_matches_slices::<1, 10>();
        fused_matches_slices::<3, 13>();
        fused_matches_slices::<1, 32>();
        fused_matches_slices::<8, 64>();
        fused_matches_slices::<5, 27>();
    }
}
