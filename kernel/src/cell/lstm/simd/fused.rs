//! The fused step for `H >= 8` (SSE2, AVX and small AVX-512 layers): the accumulators of a
//! group of 8-unit blocks stay in registers across the whole row loop (see the
//! [parent module](super) docs).

use wide::f32x8;

use super::blocks::{cell_store, load_blk, store_blk};
use super::tuning::{GROUP, LANES, splits_recurrent_rows};
use crate::activation::Policy;
use crate::state::LstmState;
use crate::weights::LstmWeights;

/// `acc[u][q] += v * row[q][offs[u] .. offs[u] + 8]`.
#[inline(always)]
pub(super) fn accumulate_row<const G: usize, const H: usize>(
    acc: &mut [[f32x8; 4]; G],
    offs: &[usize; G],
    row: &[[f32; H]; 4],
    v: f32,
) {
    let v = f32x8::splat(v);
    for (acc_u, &j) in acc.iter_mut().zip(offs) {
        for (z, wq) in acc_u.iter_mut().zip(row) {
            *z = v.mul_add(load_blk(wq, j), *z);
        }
    }
}

/// Pre-activations of the 8-unit blocks at `offs` (unit offsets, each `<= H - 8`): `4 G`
/// accumulators kept in registers across the whole row loop. With `split` (fast
/// activations) and [`super::tuning::split_chains`], the rows of `h_{t-1}` run as two chains of `4 G`
/// accumulators each, the second starting from zero, added at the end (a different
/// summation order, so not the same bits as the scalar reference; `step` and the taped step
/// share it).
#[inline(always)]
pub(super) fn preact_acc<const G: usize, const IN: usize, const H: usize>(
    split: bool,
    offs: [usize; G],
    w: &LstmWeights<IN, H, f32>,
    x: &[f32; IN],
    h: &[f32; H],
) -> [[f32x8; 4]; G] {
    let mut acc: [[f32x8; 4]; G] =
        core::array::from_fn(|u| core::array::from_fn(|q| load_blk(&w.b[q], offs[u])));
    // Two loops rather than a chained iterator: each has a compile-time trip count.
    for (row, &v) in w.w_ih.iter().zip(x) {
        accumulate_row(&mut acc, &offs, row, v);
    }
    if splits_recurrent_rows(split, H) {
        // The rows of h_{t-1} in two independent chains (the second starting from zero),
        // added at the end: half the dependent multiply-adds on the critical path.
        let (h0, h1) = h.split_at(H / 2);
        let (w0, w1) = w.w_hh.split_at(H / 2);
        let mut acc2 = [[f32x8::ZERO; 4]; G];
        for (row, &v) in w1.iter().zip(h1) {
            accumulate_row(&mut acc2, &offs, row, v);
        }
        for (row, &v) in w0.iter().zip(h0) {
            accumulate_row(&mut acc, &offs, row, v);
        }
        for (a, b) in acc.iter_mut().zip(acc2) {
            for (z, z2) in a.iter_mut().zip(b) {
                *z += z2;
            }
        }
        return acc;
    }
    for (row, &v) in w.w_hh.iter().zip(h) {
        accumulate_row(&mut acc, &offs, row, v);
    }
    acc
}

/// The fused step for `H >= 8` (see the module docs). Every group's pre-activations are
/// computed first (all but the last group's parked in `gates`, the last group's kept in
/// registers), then the activations and cell update of all blocks run back to back, so the
/// blocks' long activation chains are independent and overlap. The partial tail block (at
/// `H - 8`) is always in the last group, so no overlapping vectors go through memory.
#[inline(always)]
pub(super) fn fused_step<A: Policy, const IN: usize, const H: usize>(
    a: A,
    w: &LstmWeights<IN, H, f32>,
    x: &[f32; IN],
    state: &mut LstmState<H, f32>,
    gates: &mut [[f32; H]; 4],
    tanh_c: &mut [f32; H],
) {
    let blocks = H.div_ceil(LANES);
    // Block b starts at unit 8b, except a partial last block, which starts at H - 8 and
    // overlaps its neighbour (overlapping lanes get bit-identical values).
    let off = |b: usize| (b * LANES).min(H.saturating_sub(LANES));
    // GROUP <= 2, so the last group has 1 or GROUP blocks and the others are full groups.
    let last = if blocks.is_multiple_of(GROUP) {
        GROUP
    } else {
        1
    };
    let parked = blocks - last;
    let mut b = 0;
    while b + GROUP <= parked {
        let offs: [usize; GROUP] = core::array::from_fn(|u| off(b + u));
        let acc = preact_acc(A::FAST, offs, w, x, &state.h);
        for (acc_u, &j) in acc.iter().zip(&offs) {
            for (zq, &v) in gates.iter_mut().zip(acc_u) {
                store_blk(zq, j, v);
            }
        }
        b += GROUP;
    }
    // The tail block's c_{t-1} overlaps its neighbour's c_t: read it first.
    let jt = H.saturating_sub(LANES);
    let c_tail = load_blk(&state.c, jt);
    let tail = !H.is_multiple_of(LANES);
    if last == GROUP {
        let offs: [usize; GROUP] = core::array::from_fn(|u| off(parked + u));
        let acc = preact_acc(A::FAST, offs, w, x, &state.h);
        finish_step(a, parked, (acc, offs), (tail, c_tail), state, gates, tanh_c);
    } else {
        let offs = [off(parked)];
        let acc = preact_acc(A::FAST, offs, w, x, &state.h);
        finish_step(a, parked, (acc, offs), (tail, c_tail), state, gates, tanh_c);
    }
}

/// The cell pass of [`fused_step`]: the first `parked` blocks from their pre-activations in
/// `gates`, then the last group's from registers (`c_{t-1}` of the tail block preloaded).
#[inline(always)]
pub(super) fn finish_step<A: Policy, const G: usize, const H: usize>(
    a: A,
    parked: usize,
    (acc, offs): ([[f32x8; 4]; G], [usize; G]),
    (tail, c_tail): (bool, f32x8),
    state: &mut LstmState<H, f32>,
    gates: &mut [[f32; H]; 4],
    tanh_c: &mut [f32; H],
) {
    for b in 0..parked {
        let j = b * LANES;
        let z = core::array::from_fn(|q| load_blk(&gates[q], j));
        let c_prev = load_blk(&state.c, j);
        cell_store(a, j, z, c_prev, state, gates, tanh_c);
    }
    for (u, (z, &j)) in acc.into_iter().zip(&offs).enumerate() {
        let c_prev = if tail && u + 1 == G {
            c_tail
        } else {
            load_blk(&state.c, j)
        };
        cell_store(a, j, z, c_prev, state, gates, tanh_c);
    }
}
