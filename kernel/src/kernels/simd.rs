//! `f32` kernels on `wide` vectors: 8 lanes (`f32x8`: AVX on x86-64 with `-C
//! target-cpu=native`, two SSE2 halves on plain x86-64, portable scalar arrays on Cortex-M)
//! with a 4-lane (`f32x4`) or padded tail. Same contracts as [`super::Scalar`].
//!
//! # The fused step
//! [`Kernels::cell_step`] (what `Lstm::step` runs) is one pass over the weights with the
//! accumulators in registers: for a group of 8-unit blocks it keeps the four gate
//! pre-activations of each block (`z[q·H + j .. q·H + j + 8]`, gates q = i, f, g, o) in
//! `f32x8` accumulators across the whole `k` loop over `[x; h]` (broadcast `v[k]`, one fused
//! multiply-add per accumulator and weight vector), then applies the activations and the
//! cell update to those registers and stores `c`, `h` (and the tape's gates and `tanh c`)
//! once. The weights stay in the `LstmWeights` layout `[K][4][H]`: gate `q` of block `j` is
//! the 8 contiguous floats at `row[q][j..j + 8]` of every row. When `H` is not a multiple of
//! 8 the last block starts at `H - 8` and overlaps its neighbour (the overlapping lanes are
//! computed twice, bit-identically), so no lane is padded and every load is in bounds.
//! Blocks per group: 2 (8 accumulators) with AVX, 1 on SSE2 (16 vector registers, each
//! `f32x8` taking two). With fast activations, a layer that is a single group (H <= 16 with
//! AVX-512, H <= 8 with AVX) runs the rows of `h_{t-1}` as two accumulator chains added at
//! the end: its step is one latency chain, and this halves the dependent multiply-adds on
//! it. `H < 8` uses the slice kernels below.
//!
//! # Large layers
//! Weights above 24 KiB with `H % 8 == 0` stream from L2, so the order of reads decides the
//! speed. Without AVX-512 the tiled step reads 4 rows at a time front to back, column group
//! by column group, accumulating into the pre-activation buffer. With AVX-512 (`-C
//! target-cpu=native` on Zen 4 or recent Intel: 32 registers, `f32x16`) the accumulators
//! stay in registers for the whole row loop (`resident`): for `H <= 64` (`H % 16 == 0`)
//! all `4 H` pre-activations at once, each row read once, and the activations run from the
//! registers (no buffer at all in [`Kernels::cell_step_state`]); for larger `H`, 256 columns
//! at a time (a contiguous 1 KB run of every row), then the cell pass. The activations of
//! these paths run on `f32x16` (16 units per instruction), several blocks at once so their
//! latency chains interleave (all of a register group's blocks, gate activations first;
//! two at a time in the cell pass of larger layers): they are bound by those chains, not
//! by throughput.
//!
//! # Activations
//! Vectorised (see `simd_act.rs`). Exact: max abs error `< 3e-7` vs libm over the whole
//! `f32` range; Fast ([`Maths::Fast`]): the lanes of [`crate::activation::fast_sigmoid`] and
//! [`crate::activation::fast_tanh`] (power-of-two reduction + [2/2] rational, one division).
//! Both saturate for infinite inputs and propagate NaN.

use wide::{f32x4, f32x8};

use super::simd_act::{
    Activations, Hard, Logistic, sigmoid_exact, sigmoid_fast, tanh_exact, tanh_fast,
};
use super::{Kernels, Scalar};
use crate::activation::{ExpLane, Maths, RecurrentActivation};
use crate::optim::AdamUpdate;
use crate::state::LstmState;
use crate::weights::LstmWeights;

/// SIMD kernels (`f32` only).
#[derive(Clone, Copy, Debug, Default)]
pub struct Simd;

const LANES: usize = 8;

/// 8-unit blocks per group in the fused step: `4 * GROUP` accumulators (8 of the 16 `ymm`
/// registers with AVX; 4 `f32x8` = 8 of 16 `xmm` on SSE2). Measured on Zen 4 with
/// AVX-512's 32 registers, 3 or 4 blocks per group were slower (2x at `H = 32`).
const GROUP: usize = if cfg!(target_feature = "avx") { 2 } else { 1 };

/// Vectors per column group of the tiled step (accumulators in registers).
#[cfg(not(target_feature = "avx512f"))]
const COLS: usize = if cfg!(target_feature = "avx") { 8 } else { 4 };

/// Rows per tile of the tiled step: that many sequential row streams are read at once.
/// Measured (interleaved A/B, Zen 4): 4 beats 8 by 3 % at (8, 64) and ties at (32, 128);
/// 2 loses 4 % at (32, 128); 16 columns per group instead of 8 lose 20 % at (32, 128).
#[cfg(not(target_feature = "avx512f"))]
const TILE: usize = 4;

/// Whether the tiled step's cell pass computes two 8-unit blocks before storing either, so
/// their independent activation chains interleave: with AVX (3.83 -> 3.73 us at (32, 128) on
/// Zen 4; four blocks spill, 5.3 us), not on SSE2 (16 registers: two blocks spill).
const PAIR_CELLS: bool = cfg!(target_feature = "avx");

/// Weights above this many bytes (`16 K H`) take the tiled step, whose row-sequential
/// reads the hardware prefetchers follow (the fused step reads each row at a 4H-float
/// stride, which they do not follow across pages).
const TILED_ABOVE_BYTES: usize = 24 * 1024;

/// Whether a layer's weights (`4 H (IN + H)` floats) exceed [`TILED_ABOVE_BYTES`].
const fn streams_weights(inputs: usize, h: usize) -> bool {
    16 * (inputs + h) * h > TILED_ABOVE_BYTES
}

/// Exact vector logistic sigmoid (lane-wise `1 / (1 + e^-x)`): max abs error vs libm below
/// `3e-7` over the whole `f32` range; exactly 0 / 1 at -inf / +inf; NaN kept.
#[inline(always)]
pub fn simd_sigmoid(x: f32x8) -> f32x8 {
    sigmoid_exact(x)
}

/// Exact vector hyperbolic tangent: max abs error vs libm below `3e-7` over the whole `f32`
/// range; exactly ±1 at ±inf; NaN kept.
#[inline(always)]
pub fn simd_tanh(x: f32x8) -> f32x8 {
    tanh_exact(x)
}

/// Vector [`crate::activation::fast_sigmoid`] (same formula, fused multiply-adds where the
/// target has them).
#[inline(always)]
pub fn simd_fast_sigmoid(x: f32x8) -> f32x8 {
    sigmoid_fast(x)
}

/// Vector [`crate::activation::fast_tanh`].
#[inline(always)]
pub fn simd_fast_tanh(x: f32x8) -> f32x8 {
    tanh_fast(x)
}

/// Runs `$body` with `$a` bound to the compile-time activation policy for `($act, $maths)`.
macro_rules! with_activations {
    ($act:expr, $maths:expr, |$a:ident| $body:expr) => {
        match ($act.hard_slope(), $maths) {
            (None, Maths::Exact) => {
                let $a = Logistic::<false>;
                $body
            }
            (None, Maths::Fast) => {
                let $a = Logistic::<true>;
                $body
            }
            (Some((slope, offset)), Maths::Exact) => {
                let $a = Hard::<false> {
                    slope: slope as f32,
                    offset: offset as f32,
                };
                $body
            }
            (Some((slope, offset)), Maths::Fast) => {
                let $a = Hard::<true> {
                    slope: slope as f32,
                    offset: offset as f32,
                };
                $body
            }
        }
    };
}

#[inline(always)]
fn load8(s: &[f32; 8]) -> f32x8 {
    f32x8::new(*s)
}

#[inline(always)]
fn load4(s: &[f32; 4]) -> f32x4 {
    f32x4::new(*s)
}

/// The 8 values at `s[j..j + 8]`, or zero-padded if fewer remain (never panics).
#[inline(always)]
fn load_at(s: &[f32], j: usize) -> f32x8 {
    match s.get(j..) {
        Some(t) => match t.first_chunk::<LANES>() {
            Some(a) => load8(a),
            None => f32x8::new(pad(t)),
        },
        None => f32x8::ZERO,
    }
}

/// Stores `v` to `s[j..j + 8]`, or as many lanes as fit.
#[inline(always)]
fn store_at(s: &mut [f32], j: usize, v: f32x8) {
    if let Some(t) = s.get_mut(j..) {
        match t.first_chunk_mut::<LANES>() {
            Some(a) => *a = v.to_array(),
            None => unpad(t, v.to_array()),
        }
    }
}

/// The 8 values at `s[j..j + 8]` of a fixed-size array, for `j <= H - 8` (larger `j` are
/// clamped to `H - 8`). The clamp lets the compiler prove the range in bounds, so the load
/// has no check and no padding path; `H < 8` gives zeros (those sizes never come here).
#[inline(always)]
fn load_blk<const H: usize>(s: &[f32; H], j: usize) -> f32x8 {
    let j = j.min(H.saturating_sub(LANES));
    s.get(j..j + LANES)
        .and_then(|t| t.first_chunk::<LANES>())
        .map_or(f32x8::ZERO, load8)
}

/// Stores `v` to `s[j..j + 8]` (`j` clamped like [`load_blk`]).
#[inline(always)]
fn store_blk<const H: usize>(s: &mut [f32; H], j: usize, v: f32x8) {
    let j = j.min(H.saturating_sub(LANES));
    if let Some(t) = s
        .get_mut(j..j + LANES)
        .and_then(|t| t.first_chunk_mut::<LANES>())
    {
        *t = v.to_array();
    }
}

/// Copies up to 8 values into a zero-padded lane array (for the `H % 8` tail).
#[inline(always)]
fn pad(s: &[f32]) -> [f32; 8] {
    let mut a = [0.0; 8];
    for (d, &v) in a.iter_mut().zip(s) {
        *d = v;
    }
    a
}

#[inline(always)]
fn unpad(d: &mut [f32], a: [f32; 8]) {
    for (d, v) in d.iter_mut().zip(a) {
        *d = v;
    }
}

/// One block of the cell update from pre-activations `z = [z_i, z_f, z_g, z_o]` and
/// `c_{t-1}`: returns `[i, f, g, o, c_t, tanh(c_t), h_t]`.
#[inline(always)]
fn cell_block<A: Activations, L: ExpLane>(a: A, z: [L; 4], c_prev: L) -> [L; 7] {
    cell_update(a, gate_activations(a, z), c_prev)
}

/// `[i, f, g, o]` from `[z_i, z_f, z_g, z_o]`: the first half of [`cell_block`].
#[inline(always)]
fn gate_activations<A: Activations, L: ExpLane>(a: A, [zi, zf, zg, zo]: [L; 4]) -> [L; 4] {
    [a.gate(zi), a.gate(zf), a.tanh(zg), a.gate(zo)]
}

/// `c_t = f ⊙ c_{t-1} + i ⊙ g`, `tanh c_t`, `h_t = o ⊙ tanh c_t` from the activated gates:
/// the second half of [`cell_block`], returning its seven outputs.
#[inline(always)]
fn cell_update<A: Activations, L: ExpLane>(a: A, [i, f, g, o]: [L; 4], c_prev: L) -> [L; 7] {
    let c = f.mul_add(c_prev, i * g);
    let tc = a.tanh(c);
    [i, f, g, o, c, tc, o * tc]
}

#[inline(always)]
fn recurrent_derivative(act: RecurrentActivation, y: f32x8) -> f32x8 {
    match act.hard_slope() {
        None => y * (f32x8::ONE - y),
        Some((slope, _)) => {
            let inside = y.simd_gt(f32x8::ZERO) & y.simd_lt(f32x8::ONE);
            inside.select(f32x8::splat(slope as f32), f32x8::ZERO)
        }
    }
}

/// One 8-lane block of the cell backward. Returns `[dz_i, dz_f, dz_g, dz_o, dc_prev]`.
#[inline(always)]
fn cell_backward_block(
    act: RecurrentActivation,
    gates: [f32x8; 4],
    c_prev: f32x8,
    tc: f32x8,
    dh: f32x8,
    dc: f32x8,
) -> [f32x8; 5] {
    let [i, f, g, o] = gates;
    let dct = (dh * o).mul_add(f32x8::ONE - tc * tc, dc);
    [
        dct * g * recurrent_derivative(act, i),
        dct * c_prev * recurrent_derivative(act, f),
        dct * i * (f32x8::ONE - g * g),
        dh * tc * recurrent_derivative(act, o),
        dct * f,
    ]
}

/// `acc[u][q] += v * row[q][offs[u] .. offs[u] + 8]`.
#[inline(always)]
fn accumulate_row<const G: usize, const H: usize>(
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
/// activations) and [`split_chains`], the rows of `h_{t-1}` run as two chains of `4 G`
/// accumulators each, the second starting from zero, added at the end (a different
/// summation order, so not the same bits as the scalar reference; `step` and the taped step
/// share it).
#[inline(always)]
fn preact_acc<const G: usize, const IN: usize, const H: usize>(
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
    if split && split_chains(H) {
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

/// Whether [`preact_acc`] may split the recurrent rows into two chains for this `H`: a
/// single block group whose doubled accumulators (`8` per 8-unit block) fit in half the
/// vector registers (AVX-512: 32, AVX: 16; never on SSE2, where `f32x8` is a register
/// pair).
const fn split_chains(h: usize) -> bool {
    let regs = if cfg!(target_feature = "avx512f") {
        32
    } else if cfg!(target_feature = "avx") {
        16
    } else {
        0
    };
    8 * h.div_ceil(LANES) <= regs / 2
}

/// The fused step for `H >= 8` (see the module docs). Every group's pre-activations are
/// computed first (all but the last group's parked in `gates`, the last group's kept in
/// registers), then the activations and cell update of all blocks run back to back, so the
/// blocks' long activation chains are independent and overlap. The partial tail block (at
/// `H - 8`) is always in the last group, so no overlapping vectors go through memory.
#[inline(always)]
fn fused_step<A: Activations, const IN: usize, const H: usize>(
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
        let acc = preact_acc(A::SPLIT_ROWS, offs, w, x, &state.h);
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
        let acc = preact_acc(A::SPLIT_ROWS, offs, w, x, &state.h);
        finish_step(a, parked, (acc, offs), (tail, c_tail), state, gates, tanh_c);
    } else {
        let offs = [off(parked)];
        let acc = preact_acc(A::SPLIT_ROWS, offs, w, x, &state.h);
        finish_step(a, parked, (acc, offs), (tail, c_tail), state, gates, tanh_c);
    }
}

/// The cell pass of [`fused_step`]: the first `parked` blocks from their pre-activations in
/// `gates`, then the last group's from registers (`c_{t-1}` of the tail block preloaded).
#[inline(always)]
fn finish_step<A: Activations, const G: usize, const H: usize>(
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

/// [`cell_block`] for the block at unit `j`, storing the gates, `c`, `tanh c` and `h`.
#[inline(always)]
fn cell_store<A: Activations, const H: usize>(
    a: A,
    j: usize,
    z: [f32x8; 4],
    c_prev: f32x8,
    state: &mut LstmState<H, f32>,
    gates: &mut [[f32; H]; 4],
    tanh_c: &mut [f32; H],
) {
    store_out(j, cell_block(a, z, c_prev), state, gates, tanh_c);
}

/// Stores [`cell_block`]'s outputs for the block at unit `j`: the gates, `c`, `tanh c`, `h`.
#[inline(always)]
fn store_out<const H: usize>(
    j: usize,
    [i, f, g, o, c, tc, h]: [f32x8; 7],
    state: &mut LstmState<H, f32>,
    gates: &mut [[f32; H]; 4],
    tanh_c: &mut [f32; H],
) {
    for (gq, v) in gates.iter_mut().zip([i, f, g, o]) {
        store_blk(gq, j, v);
    }
    store_blk(&mut state.c, j, c);
    store_blk(tanh_c, j, tc);
    store_blk(&mut state.h, j, h);
}

/// `z[c0 .. c0 + C]` (vectors) `+= Σ_k v_k W[k][c0 .. c0 + C]` over one tile of rows.
#[cfg(not(target_feature = "avx512f"))]
#[inline(always)]
fn tile_columns<const C: usize, const H: usize>(
    z: &mut [[f32; LANES]; C],
    c0: usize,
    tile: &[(&[[f32; H]; 4], f32)],
) {
    let mut acc: [f32x8; C] = core::array::from_fn(|u| load8(&z[u]));
    for &(row, v) in tile {
        let v = f32x8::splat(v);
        let (rc, _) = row.as_flattened().as_chunks::<LANES>();
        if let Some(r) = rc.get(c0..).and_then(|r| r.first_chunk::<C>()) {
            for (z, wv) in acc.iter_mut().zip(r) {
                *z = v.mul_add(load8(wv), *z);
            }
        }
    }
    for (d, z) in z.iter_mut().zip(acc) {
        *d = z.to_array();
    }
}

/// The tiled step for large layers with `H % 8 == 0`: pre-activations accumulate in the
/// `gates` buffer, `TILE` rows at a time, each tile swept column group by column group with
/// `COLS` accumulators in registers (every row is read front to back, so prefetchers keep up);
/// with AVX-512, [`resident::accumulate`] instead (all rows per column group, accumulators
/// in registers throughout). Then one pass applies the activations and the cell update.
#[inline(always)]
fn tiled_step<A: Activations, const IN: usize, const H: usize>(
    a: A,
    w: &LstmWeights<IN, H, f32>,
    x: &[f32; IN],
    state: &mut LstmState<H, f32>,
    gates: &mut [[f32; H]; 4],
    tanh_c: &mut [f32; H],
) {
    #[cfg(target_feature = "avx512f")]
    resident::accumulate(gates, w, x, &state.h);
    #[cfg(not(target_feature = "avx512f"))]
    {
        *gates = w.b;
        let (zc, _) = gates.as_flattened_mut().as_chunks_mut::<LANES>();
        let mut rows = w.w_ih.iter().zip(x.iter().copied());
        let mut hrows = w.w_hh.iter().zip(state.h.iter().copied());
        loop {
            let mut tile = [(&w.b, 0.0_f32); TILE];
            let mut n = 0;
            for slot in tile.iter_mut() {
                match rows.next().or_else(|| hrows.next()) {
                    Some(r) => {
                        *slot = r;
                        n += 1;
                    }
                    None => break,
                }
            }
            let Some(tile) = tile.get(..n).filter(|t| !t.is_empty()) else {
                break;
            };
            let (groups, rest) = zc.as_chunks_mut::<COLS>();
            for (g, zg) in groups.iter_mut().enumerate() {
                tile_columns(zg, g * COLS, tile);
            }
            // 4H / 8 = H / 2 vectors with H % 8 == 0: the rest is a multiple of 4.
            let base = groups.len() * COLS;
            let (quads, _) = rest.as_chunks_mut::<4>();
            for (g, zg) in quads.iter_mut().enumerate() {
                tile_columns(zg, base + 4 * g, tile);
            }
        }
    }
    #[cfg(target_feature = "avx512f")]
    if H.is_multiple_of(16) {
        resident::cell_pass(a, state, gates, tanh_c);
        return;
    }
    let mut j = 0;
    if PAIR_CELLS {
        while j + 2 * LANES <= H {
            let outs: [[f32x8; 7]; 2] = core::array::from_fn(|u| {
                let jj = j + u * LANES;
                let z = core::array::from_fn(|q| load_blk(&gates[q], jj));
                cell_block(a, z, load_blk(&state.c, jj))
            });
            for (u, out) in outs.into_iter().enumerate() {
                store_out(j + u * LANES, out, state, gates, tanh_c);
            }
            j += 2 * LANES;
        }
    }
    while j < H {
        let z = core::array::from_fn(|q| load_blk(&gates[q], j));
        let c_prev = load_blk(&state.c, j);
        cell_store(a, j, z, c_prev, state, gates, tanh_c);
        j += LANES;
    }
}

/// The register-resident paths, with AVX-512 (32 vector registers, `f32x16`). [`step`]
/// (inference and the tape step, `H % 16 == 0` and `H <= 64`): all of a group's gate
/// pre-activations (`4 x 64` for `H = 64`; `H = 48` runs groups of 32 and 16 units) stay in
/// up to 16 `zmm` accumulators for the whole row loop, every row is read once, and the
/// activations and cell update run from those registers. [`accumulate`] (larger `H`): 256
/// gate columns at a time into the pre-activation buffer, then [`cell_pass`] on 16-unit
/// blocks. Same operations in the same order as the other paths (bias, then `x` and
/// `h_{t-1}` rows in order, one fused multiply-add each; the activations lane by lane), so
/// the same bits.
#[cfg(target_feature = "avx512f")]
mod resident {
    use wide::f32x16;

    use super::{Activations, cell_update, gate_activations};
    use crate::state::LstmState;
    use crate::weights::LstmWeights;

    /// Whether [`step`] applies: `H` a multiple of 16 and at most 64, so all `4 H`
    /// pre-activations fit in 16 accumulators (one group: every row read once, front to
    /// back). Larger layers take the tiled step with [`accumulate`]: a group of 64 units
    /// reads four separate 256-byte pieces of every row, which measured no faster at
    /// (32, 128) than whole 1 KB runs of columns (3.23-3.37 against 3.10-3.19 us, with the
    /// weights 64-byte aligned).
    pub(super) const fn applies(inputs: usize, h: usize) -> bool {
        h.is_multiple_of(16) && h <= 64 && super::streams_weights(inputs, h)
    }

    /// The pre-activations `gates = b + W^T [x; h]` for the tiled step, in column groups of
    /// 16 accumulators (256 consecutive gate columns, one contiguous 1 KB run of every row),
    /// then groups of 8, 4 and 2 for the rest (`4 H / 16` vectors, even for `H % 8 == 0`).
    #[inline(always)]
    pub(super) fn accumulate<const IN: usize, const H: usize>(
        gates: &mut [[f32; H]; 4],
        w: &LstmWeights<IN, H, f32>,
        x: &[f32; IN],
        h: &[f32; H],
    ) {
        let (zc, _) = gates.as_flattened_mut().as_chunks_mut::<16>();
        let (groups, rest) = zc.as_chunks_mut::<16>();
        for (g, zg) in groups.iter_mut().enumerate() {
            columns(zg, 16 * g, w, x, h);
        }
        let base = 16 * groups.len();
        let (g8, rest) = rest.as_chunks_mut::<8>();
        if let Some(zg) = g8.first_mut() {
            columns(zg, base, w, x, h);
        }
        let base = base + 8 * g8.len();
        let (g4, rest) = rest.as_chunks_mut::<4>();
        if let Some(zg) = g4.first_mut() {
            columns(zg, base, w, x, h);
        }
        let base = base + 4 * g4.len();
        let (g2, _) = rest.as_chunks_mut::<2>();
        if let Some(zg) = g2.first_mut() {
            columns(zg, base, w, x, h);
        }
    }

    /// Column vectors `c0 .. c0 + C` (16 floats each, over the flattened `[4][H]` rows).
    #[inline(always)]
    fn columns<const C: usize, const IN: usize, const H: usize>(
        z: &mut [[f32; 16]; C],
        c0: usize,
        w: &LstmWeights<IN, H, f32>,
        x: &[f32; IN],
        h: &[f32; H],
    ) {
        let chunk = |row: &[[f32; H]; 4], u: usize| {
            let (rc, _) = row.as_flattened().as_chunks::<16>();
            rc.get(c0 + u).map_or(f32x16::ZERO, |t| f32x16::new(*t))
        };
        let mut acc: [f32x16; C] = core::array::from_fn(|u| chunk(&w.b, u));
        for (row, &v) in w.w_ih.iter().zip(x).chain(w.w_hh.iter().zip(h)) {
            let v = f32x16::splat(v);
            for (u, a) in acc.iter_mut().enumerate() {
                *a = v.mul_add(chunk(row, u), *a);
            }
        }
        for (d, a) in z.iter_mut().zip(acc) {
            *d = a.to_array();
        }
    }

    /// One step. `sink(j, [i, f, g, o, c_t, tanh c_t, h_t])` receives every 16-unit block
    /// (`j` its first unit) after `c_t` and `h_t` are stored in `state`; `h_{t-1}` is read
    /// from a copy, so later groups see the old state.
    #[inline(always)]
    pub(super) fn step<A: Activations, const IN: usize, const H: usize>(
        a: A,
        w: &LstmWeights<IN, H, f32>,
        x: &[f32; IN],
        state: &mut LstmState<H, f32>,
        mut sink: impl FnMut(usize, [f32x16; 7]),
    ) {
        let h_prev = state.h;
        let mut u0 = 0;
        // H <= 64 ([`applies`]): 64, 32, 16 or 32 + 16 units.
        if H == 64 {
            group::<A, 16, IN, H>(a, u0, w, x, &h_prev, state, &mut sink);
            u0 += 64;
        }
        if u0 + 32 <= H {
            group::<A, 8, IN, H>(a, u0, w, x, &h_prev, state, &mut sink);
            u0 += 32;
        }
        if u0 + 16 <= H {
            group::<A, 4, IN, H>(a, u0, w, x, &h_prev, state, &mut sink);
        }
    }

    /// Units `u0 .. u0 + 4 C` (`C` accumulators: `C / 4` vectors of 16 units per gate,
    /// `acc[q C / 4 + v]` = gate `q`, units `u0 + 16 v ..`).
    #[inline(always)]
    fn group<A: Activations, const C: usize, const IN: usize, const H: usize>(
        a: A,
        u0: usize,
        w: &LstmWeights<IN, H, f32>,
        x: &[f32; IN],
        h_prev: &[f32; H],
        state: &mut LstmState<H, f32>,
        sink: &mut impl FnMut(usize, [f32x16; 7]),
    ) {
        let n = C / 4;
        let mut acc: [f32x16; C] = core::array::from_fn(|i| load16(&w.b[i / n], u0 + 16 * (i % n)));
        for (row, &v) in w.w_ih.iter().zip(x) {
            row_fma(&mut acc, u0, row, v);
        }
        for (row, &v) in w.w_hh.iter().zip(h_prev) {
            row_fma(&mut acc, u0, row, v);
        }
        // n = C / 4 is 4, 2 or 1 (groups of 64, 32 or 16 units): constant per instance. Any
        // other C would lose blocks in the match below, so it does not compile.
        const { assert!(C == 16 || C == 8 || C == 4) };
        let z = |v: usize| core::array::from_fn(|q| acc[q * n + v]);
        match n {
            4 => blocks::<A, 4, H>(a, u0, core::array::from_fn(z), state, sink),
            2 => blocks::<A, 2, H>(a, u0, core::array::from_fn(z), state, sink),
            _ => blocks::<A, 1, H>(a, u0, core::array::from_fn(z), state, sink),
        }
    }

    /// [`cell_block`](super::cell_block) for `N` blocks of 16 units from unit `j0`, from
    /// their pre-activations `z[v] = [z_i, z_f, z_g, z_o]`: every block's gate activations
    /// first (`4 N` independent chains), then the `N` cell updates and `tanh c_t`, so the
    /// chains of different blocks interleave (at (8, 64), `N = 4` measured 20-30 ns faster
    /// than two blocks at a time, one pair after the other). Stores `c_t` and `h_t` in
    /// `state`, then hands each block's `[i, f, g, o, c_t, tanh c_t, h_t]` to `sink`.
    #[inline(always)]
    fn blocks<A: Activations, const N: usize, const H: usize>(
        a: A,
        j0: usize,
        z: [[f32x16; 4]; N],
        state: &mut LstmState<H, f32>,
        mut sink: impl FnMut(usize, [f32x16; 7]),
    ) {
        let acts: [[f32x16; 4]; N] = core::array::from_fn(|v| gate_activations(a, z[v]));
        let outs: [[f32x16; 7]; N] =
            core::array::from_fn(|v| cell_update(a, acts[v], load16(&state.c, j0 + 16 * v)));
        for (v, out) in outs.into_iter().enumerate() {
            let j = j0 + 16 * v;
            store16(&mut state.c, j, out[4]);
            store16(&mut state.h, j, out[6]);
            sink(j, out);
        }
    }

    /// `acc[q C / 4 + v] += v_k * row[q][u0 + 16 v ..]`.
    #[inline(always)]
    fn row_fma<const C: usize, const H: usize>(
        acc: &mut [f32x16; C],
        u0: usize,
        row: &[[f32; H]; 4],
        v: f32,
    ) {
        let n = C / 4;
        let v = f32x16::splat(v);
        for (i, a) in acc.iter_mut().enumerate() {
            *a = v.mul_add(load16(&row[i / n], u0 + 16 * (i % n)), *a);
        }
    }

    /// The 16 values at `s[j..j + 16]` (`j + 16 <= H` for every caller; zeros otherwise,
    /// never a panic).
    #[inline(always)]
    fn load16<const H: usize>(s: &[f32; H], j: usize) -> f32x16 {
        s.get(j..)
            .and_then(|t| t.first_chunk::<16>())
            .map_or(f32x16::ZERO, |t| f32x16::new(*t))
    }

    /// The tiled step's cell pass on 16-unit blocks, two at a time ([`blocks`]; four at a
    /// time measured 20 % slower at (32, 128): their pre-activations come from memory and
    /// the chains spill): pre-activations from `gates`, which it overwrites with the
    /// activated gates, `tanh c` into `tanh_c`.
    #[inline(always)]
    pub(super) fn cell_pass<A: Activations, const H: usize>(
        a: A,
        state: &mut LstmState<H, f32>,
        gates: &mut [[f32; H]; 4],
        tanh_c: &mut [f32; H],
    ) {
        let z = |gates: &[[f32; H]; 4], j: usize, v: usize| {
            core::array::from_fn(|q| load16(&gates[q], j + 16 * v))
        };
        let mut j = 0;
        while j + 32 <= H {
            let zj = core::array::from_fn(|v| z(gates, j, v));
            blocks::<A, 2, H>(a, j, zj, state, |jj, out| {
                store_tape(jj, out, gates, tanh_c)
            });
            j += 32;
        }
        if j < H {
            let zj = [z(gates, j, 0)];
            blocks::<A, 1, H>(a, j, zj, state, |jj, out| {
                store_tape(jj, out, gates, tanh_c)
            });
        }
    }

    /// Stores the activated gates and `tanh c_t` of the 16-unit block at unit `j` (what a
    /// tape records besides the state).
    #[inline(always)]
    pub(super) fn store_tape<const H: usize>(
        j: usize,
        [i, f, g, o, _, tc, _]: [f32x16; 7],
        gates: &mut [[f32; H]; 4],
        tanh_c: &mut [f32; H],
    ) {
        for (gq, v) in gates.iter_mut().zip([i, f, g, o]) {
            store16(gq, j, v);
        }
        store16(tanh_c, j, tc);
    }

    /// Stores `v` to `s[j..j + 16]` (nothing if that is out of range; never a panic).
    #[inline(always)]
    fn store16<const H: usize>(s: &mut [f32; H], j: usize, v: f32x16) {
        if let Some(t) = s.get_mut(j..).and_then(|t| t.first_chunk_mut::<16>()) {
            *t = v.to_array();
        }
    }
}

impl Kernels<f32> for Simd {
    #[inline]
    fn adam_update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], u: AdamUpdate<f32>) {
        Self::adam_blocks(p, g, m, v, u);
    }

    #[inline]
    fn all_finite(x: &[f32]) -> bool {
        // x * 0 is 0 for finite x and NaN for ±inf or NaN; NaN stays NaN through the sum.
        let (xc, xt) = x.as_chunks::<LANES>();
        let mut acc = f32x8::ZERO;
        for b in xc {
            acc += load8(b) * f32x8::ZERO;
        }
        let tail = xt.iter().fold(0.0_f32, |a, &v| a + v * 0.0);
        (acc.reduce_add() + tail) == 0.0
    }

    #[inline(always)]
    fn cell_step<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        w: &LstmWeights<IN, H, f32>,
        x: &[f32; IN],
        state: &mut LstmState<H, f32>,
        gates: &mut [[f32; H]; 4],
        tanh_c: &mut [f32; H],
    ) {
        #[cfg(target_feature = "avx512f")]
        if resident::applies(IN, H) {
            return with_activations!(act, maths, |a| resident::step(a, w, x, state, |j, o| {
                resident::store_tape(j, o, gates, tanh_c)
            }));
        }
        if H.is_multiple_of(LANES) && streams_weights(IN, H) {
            with_activations!(act, maths, |a| tiled_step(a, w, x, state, gates, tanh_c))
        } else if H >= LANES {
            with_activations!(act, maths, |a| fused_step(a, w, x, state, gates, tanh_c))
        } else {
            let g = gates.as_flattened_mut();
            Self::preact(g, w.b_flat(), w.w_ih_flat(), x, w.w_hh_flat(), &state.h);
            Self::cell_forward_maths(act, maths, g, &mut state.c, &mut state.h, tanh_c);
        }
    }

    /// Inference: with AVX-512 and a large layer the resident step with nothing stored but
    /// `c_t` and `h_t` (no gate or `tanh c` buffers); otherwise the default.
    #[inline(always)]
    fn cell_step_state<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        w: &LstmWeights<IN, H, f32>,
        x: &[f32; IN],
        state: &mut LstmState<H, f32>,
    ) {
        #[cfg(target_feature = "avx512f")]
        if resident::applies(IN, H) {
            return with_activations!(act, maths, |a| resident::step(a, w, x, state, |_, _| {}));
        }
        super::step_with_scratch::<Self, f32, IN, H>(act, maths, w, x, state);
    }

    fn preact(z: &mut [f32], b: &[f32], w_ih: &[f32], x: &[f32], w_hh: &[f32], h: &[f32]) {
        let n = z.len();
        debug_assert_eq!(b.len(), n);
        debug_assert_eq!(w_ih.len(), x.len() * n);
        debug_assert_eq!(w_hh.len(), h.len() * n);
        for (d, &s) in z.iter_mut().zip(b) {
            *d = s;
        }
        if n == 0 {
            return;
        }
        let rows = || {
            w_ih.chunks_exact(n)
                .zip(x)
                .chain(w_hh.chunks_exact(n).zip(h))
        };
        let (zc, zt) = z.as_chunks_mut::<LANES>();
        // Register blocks of 4 vectors: accumulate over every row, store once.
        let mut col = 0;
        for blk in zc.chunks_mut(4) {
            let mut acc: [f32x8; 4] =
                core::array::from_fn(|u| blk.get(u).map_or(f32x8::ZERO, load8));
            for (row, &v) in rows() {
                let v = f32x8::splat(v);
                let (rc, _) = row.as_chunks::<LANES>();
                if let Some(r) = rc.get(col..) {
                    for (z, wv) in acc.iter_mut().zip(r) {
                        *z = v.mul_add(load8(wv), *z);
                    }
                }
            }
            for (d, z) in blk.iter_mut().zip(acc) {
                *d = z.to_array();
            }
            col += 4;
        }
        // N = 4H, so the tail is 0 or 4 lanes.
        let tail = n - zt.len();
        let (z4, zr) = zt.as_chunks_mut::<4>();
        for z in z4 {
            let mut acc = load4(z);
            for (row, &v) in rows() {
                if let Some(r) = row.get(tail..).and_then(|r| r.first_chunk::<4>()) {
                    acc = f32x4::splat(v).mul_add(load4(r), acc);
                }
            }
            *z = acc.to_array();
        }
        let base = n - zr.len();
        for (j, z) in zr.iter_mut().enumerate() {
            for (row, &v) in rows() {
                *z += v * row.get(base + j).copied().unwrap_or(0.0);
            }
        }
    }

    fn cell_forward_maths(
        act: RecurrentActivation,
        maths: Maths,
        gates: &mut [f32],
        c: &mut [f32],
        h: &mut [f32],
        tanh_c: &mut [f32],
    ) {
        let hn = c.len();
        debug_assert_eq!(gates.len(), 4 * hn);
        with_activations!(act, maths, |a| {
            let mut j = 0;
            while j < hn {
                let z = core::array::from_fn(|q| load_at(gates, q * hn + j));
                let [i, f, g, o, cn, tc, hv] = cell_block(a, z, load_at(c, j));
                let end = (j + LANES).min(hn);
                for (q, v) in [i, f, g, o].into_iter().enumerate() {
                    if let Some(d) = gates.get_mut(q * hn + j..q * hn + end) {
                        unpad(d, v.to_array());
                    }
                }
                store_at(c, j, cn);
                store_at(tanh_c, j, tc);
                store_at(h, j, hv);
                j = end;
            }
        })
    }

    fn cell_backward(
        act: RecurrentActivation,
        gates: &[f32],
        c_prev: &[f32],
        tanh_c: &[f32],
        dh: &[f32],
        dc: &mut [f32],
        dz: &mut [f32],
    ) {
        let hn = dc.len();
        debug_assert_eq!(gates.len(), 4 * hn);
        debug_assert_eq!(dz.len(), 4 * hn);
        let mut j = 0;
        while j < hn {
            let end = (j + LANES).min(hn);
            let g4 = core::array::from_fn(|q| load_at(gates, q * hn + j));
            let [di, df, dg, d_o, dcp] = cell_backward_block(
                act,
                g4,
                load_at(c_prev, j),
                load_at(tanh_c, j),
                load_at(dh, j),
                load_at(dc, j),
            );
            for (q, v) in [di, df, dg, d_o].into_iter().enumerate() {
                if let Some(d) = dz.get_mut(q * hn + j..q * hn + end) {
                    unpad(d, v.to_array());
                }
            }
            store_at(dc, j, dcp);
            j = end;
        }
    }

    fn outer_acc(dw: &mut [f32], v: &[f32], dz: &[f32]) {
        let n = dz.len();
        debug_assert_eq!(dw.len(), v.len() * n);
        if n == 0 {
            return;
        }
        for (row, &vk) in dw.chunks_exact_mut(n).zip(v) {
            Self::axpy(row, vk, dz);
        }
    }

    fn matvec_acc(out: &mut [f32], w: &[f32], dz: &[f32]) {
        let n = dz.len();
        debug_assert_eq!(w.len(), out.len() * n);
        if n == 0 {
            return;
        }
        let (dzc, dzt) = dz.as_chunks::<LANES>();
        for (o, row) in out.iter_mut().zip(w.chunks_exact(n)) {
            let (rc, rt) = row.as_chunks::<LANES>();
            let mut acc = f32x8::ZERO;
            for (r, d) in rc.iter().zip(dzc) {
                acc = load8(r).mul_add(load8(d), acc);
            }
            let mut s = acc.reduce_add();
            for (&r, &d) in rt.iter().zip(dzt) {
                s += r * d;
            }
            *o += s;
        }
    }
}

impl Simd {
    /// Adam over 8-lane blocks with a scalar tail: the scalar formula's operations in the
    /// same order, unfused, so the result is bit-identical to [`super::Scalar`]'s (IEEE
    /// `+ - * / sqrt` are correctly rounded lane by lane).
    #[inline]
    fn adam_blocks(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], u: AdamUpdate<f32>) {
        let (pc, pt) = p.as_chunks_mut::<LANES>();
        let (gc, gt) = g.as_chunks::<LANES>();
        let (mc, mt) = m.as_chunks_mut::<LANES>();
        let (vc, vt) = v.as_chunks_mut::<LANES>();
        let s = f32x8::splat;
        let (b1, b2, ob1, ob2) = (s(u.beta1), s(u.beta2), s(1.0 - u.beta1), s(1.0 - u.beta2));
        let (step, vs, eps) = (s(u.step), s(u.v_scale), s(u.eps));
        for (((pb, gb), mb), vb) in pc.iter_mut().zip(gc).zip(mc.iter_mut()).zip(vc.iter_mut()) {
            let gv = load8(gb);
            let mv = b1 * load8(mb) + ob1 * gv;
            let vv = b2 * load8(vb) + ob2 * gv * gv;
            *mb = mv.to_array();
            *vb = vv.to_array();
            *pb = (load8(pb) - step * mv / (vv.sqrt() * vs + eps)).to_array();
        }
        <Scalar as Kernels<f32>>::adam_update(pt, gt, mt, vt, u);
    }

    /// `y += a * x` over 8-lane blocks with a 4-lane and scalar tail.
    #[inline(always)]
    fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
        let (yc, yt) = y.as_chunks_mut::<LANES>();
        let (xc, xt) = x.as_chunks::<LANES>();
        let a8 = f32x8::splat(a);
        for (yb, xb) in yc.iter_mut().zip(xc) {
            *yb = a8.mul_add(load8(xb), load8(yb)).to_array();
        }
        let (y4, yr) = yt.as_chunks_mut::<4>();
        let (x4, xr) = xt.as_chunks::<4>();
        for (yb, xb) in y4.iter_mut().zip(x4) {
            *yb = f32x4::splat(a).mul_add(load4(xb), load4(yb)).to_array();
        }
        for (yv, &xv) in yr.iter_mut().zip(xr) {
            *yv += a * xv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{sigmoid, tanh};
    use crate::kernels::Kernels;

    /// Walks the whole finite f32 range (every 97th bit pattern of each sign, plus edge
    /// values) and returns the maximum absolute error of `simd` vs the libm reference.
    fn max_abs_error(simd: fn(f32x8) -> f32x8, reference: fn(f32) -> f32) -> f32 {
        let mut worst = 0.0_f32;
        let mut check = |xs: [f32; 8]| {
            let got = simd(f32x8::new(xs)).to_array();
            for (x, y) in xs.iter().zip(got) {
                let e = (reference(*x) - y).abs();
                assert!(e.is_finite(), "x={x} got {y}");
                worst = worst.max(e);
            }
        };
        let mut buf = [0.0_f32; 8];
        let mut n = 0;
        let mut bits = 0_u32;
        while bits < 0x7f80_0000 {
            for sign in [0, 0x8000_0000] {
                buf[n] = f32::from_bits(bits | sign);
                n += 1;
                if n == 8 {
                    check(buf);
                    n = 0;
                }
            }
            bits += 97;
        }
        check([0.0, -0.0, 1e-30, 0.625, -0.625, 87.0, -87.0, 88.8]);
        worst
    }

    #[test]
    fn simd_sigmoid_max_abs_error_vs_libm_is_below_3e7() {
        let worst = max_abs_error(simd_sigmoid, sigmoid::<f32>);
        assert!(worst < 3e-7, "sigmoid max abs error {worst:e}");
    }

    #[test]
    fn simd_tanh_max_abs_error_vs_libm_is_below_3e7() {
        let worst = max_abs_error(simd_tanh, tanh::<f32>);
        assert!(worst < 3e-7, "tanh max abs error {worst:e}");
    }

    /// The lanes' `round_split` (AVX: `vroundps`; AVX-512: `vrndscaleps`) against the scalar
    /// magic-number rounding, every lane of `f32x8` and `f32x16`, over the fast
    /// activations' whole clamped range `±120` in steps of 1/16 (every tie `n + 1/2`, ties
    /// to even in both) plus `±0`: the same `n` value and `n + ROUND_MAGIC` bits, and the
    /// same reduced argument `f = t - n` except for the sign of a zero `f` (which the
    /// rational cannot see: it enters as `f²` and `±0 · C1`, added to nonzero terms).
    #[test]
    fn simd_round_split_is_the_scalar_rounding() {
        use crate::activation::ExpLane;
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
            let (n, k) = wide::f32x16::new(*c).round_split();
            for (j, &t) in c.iter().enumerate() {
                same(t, n.to_array()[j], k.to_array()[j]);
            }
        }
    }

    /// The exact activations are one definition for a scalar and a lane: without FMA (the
    /// default x86-64 build, and every Cortex-M) each lane is bit-identical to the scalar
    /// `exp_sigmoid` / `exp_tanh` that `Maths::Exact` runs in the scalar kernels; with FMA
    /// they differ by the fused roundings only.
    #[test]
    fn simd_exact_lanes_are_the_scalar_exp_activations() {
        use crate::activation::{exp_sigmoid, exp_tanh};
        let fused = cfg!(target_feature = "fma");
        // With FMA the lanes fuse the polynomial's multiply-adds; outputs are in [-1, 1], so
        // the differing roundings move a result by at most 2 ulp of 1.0 (measured: 1 ulp).
        let tol = if fused { 2.0 * f32::EPSILON } else { 0.0 };
        let worst = max_abs_error(simd_sigmoid, exp_sigmoid);
        assert!(worst <= tol, "sigmoid lanes vs scalar {worst:e}");
        let worst = max_abs_error(simd_tanh, exp_tanh);
        assert!(worst <= tol, "tanh lanes vs scalar {worst:e}");
    }

    #[test]
    fn simd_fast_activations_stay_within_their_documented_bounds_and_match_scalar() {
        use crate::activation::{
            FAST_SIGMOID_MAX_ERROR, FAST_TANH_MAX_ERROR, fast_sigmoid, fast_tanh,
        };
        // Against libm: the documented bounds (the approximation error dominates).
        let worst = max_abs_error(simd_fast_tanh, tanh::<f32>);
        assert!(worst < FAST_TANH_MAX_ERROR, "fast tanh {worst:e}");
        let worst = max_abs_error(simd_fast_sigmoid, sigmoid::<f32>);
        assert!(worst < FAST_SIGMOID_MAX_ERROR, "fast sigmoid {worst:e}");
        // Against the scalar reference of the same formula: only rounding differs (FMA vs
        // separate multiply and add in the degree-2 rational, one division: a few ulp of 1).
        let worst = max_abs_error(simd_fast_tanh, fast_tanh::<f32>);
        assert!(worst < 5e-7, "fast tanh vs scalar {worst:e}");
        let worst = max_abs_error(simd_fast_sigmoid, fast_sigmoid::<f32>);
        assert!(worst < 5e-7, "fast sigmoid vs scalar {worst:e}");
    }

    #[test]
    fn simd_activations_saturate_and_keep_nan() {
        let x = f32x8::new([
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e30,
            -1e30,
            f32::NAN,
            0.0,
            200.0,
            -200.0,
        ]);
        let s = simd_sigmoid(x).to_array();
        let t = simd_tanh(x).to_array();
        assert_eq!(&s[..4], &[1.0, 0.0, 1.0, 0.0]);
        assert!(s[4].is_nan());
        assert_eq!(s[5], 0.5);
        assert_eq!(&t[..4], &[1.0, -1.0, 1.0, -1.0]);
        assert!(t[4].is_nan());
        assert_eq!(t[5], 0.0);
        assert_eq!((t[6], t[7]), (1.0, -1.0));
        let s = simd_fast_sigmoid(x).to_array();
        let t = simd_fast_tanh(x).to_array();
        // The fast sigmoid's negative limit is 2^-120 times a ratio near 1, not 0.
        assert_eq!((s[0], s[2], s[6]), (1.0, 1.0, 1.0));
        for v in [s[1], s[3], s[7]] {
            assert!(v > 0.0 && v < 7.6e-37, "{v:e}");
        }
        assert!(s[4].is_nan() && t[4].is_nan());
        assert_eq!((s[5], t[5]), (0.5, 0.0));
        assert_eq!(&t[..4], &[1.0, -1.0, 1.0, -1.0]);
        assert_eq!((t[6], t[7]), (1.0, -1.0));
    }

    /// The fused SIMD step against the scalar reference step, over many steps so state
    /// errors would compound, for sizes with and without a partial 8-lane block (`H < 8`
    /// takes the slice path, `H % 8 != 0` the overlapping tail block), every recurrent
    /// activation and both maths policies.
    fn fused_step_matches_scalar<const IN: usize, const H: usize>() {
        use crate::kernels::Scalar;
        use crate::{Lstm, LstmState, LstmWeights, Tape};
        let mut s = 0x9e37_79b9_u32;
        let mut uniform = move || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1 << 24) as f32
        };
        let mut w = LstmWeights::<IN, H>::zeroed();
        w.init_pytorch(&mut uniform);
        for act in RecurrentActivation::ALL {
            for maths in [Maths::Exact, Maths::Fast] {
                let lstm = Lstm::new(w, act).with_maths(maths);
                let (mut a, mut b) = (LstmState::<H>::zeroed(), LstmState::<H>::zeroed());
                let mut ta = Tape::<1, IN, H>::new();
                let mut tb = Tape::<1, IN, H>::new();
                for t in 0..50 {
                    let x: [f32; IN] =
                        core::array::from_fn(|k| 2.0 * libm::sinf(0.37 * t as f32 + k as f32));
                    let (a_prev, b_prev) = (a, b);
                    lstm.forward_window_with::<Simd, 1>(&[x], &mut a, &mut ta)
                        .unwrap();
                    lstm.forward_window_with::<Scalar, 1>(&[x], &mut b, &mut tb)
                        .unwrap();
                    // Per step: activations differ by < 3e-7 (exact) or by rounding
                    // (fast, < 5e-7) and the dot products by FMA rounding (|z| < 10,
                    // ~1e-6); the state is contractive, so 50 steps stay within 2e-5.
                    let ra = &ta.steps()[0];
                    let rb = &tb.steps()[0];
                    let pairs = a.h.iter().zip(&b.h).chain(a.c.iter().zip(&b.c));
                    let pairs = pairs
                        .chain(ra.gates.as_flattened().iter().zip(rb.gates.as_flattened()))
                        .chain(ra.tanh_c.iter().zip(&rb.tanh_c));
                    for (p, q) in pairs {
                        assert!(
                            (p - q).abs() < 2e-5,
                            "IN={IN} H={H} {act:?} {maths:?} t={t}: {p} vs {q}"
                        );
                    }
                    // `step` (no tape; its own path for large layers) is the same
                    // computation, bit for bit, on either kernels.
                    for (mut c, want, k) in [(a_prev, a, "Simd"), (b_prev, b, "Scalar")] {
                        if k == "Simd" {
                            lstm.step_with::<Simd>(&x, &mut c);
                        } else {
                            lstm.step_with::<Scalar>(&x, &mut c);
                        }
                        let bits =
                            |s: &LstmState<H>| (s.h.map(f32::to_bits), s.c.map(f32::to_bits));
                        assert!(
                            bits(&c) == bits(&want),
                            "IN={IN} H={H} {act:?} {maths:?} t={t} {k}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn fused_step_matches_scalar_reference_for_many_sizes() {
        fused_step_matches_scalar::<1, 1>();
        fused_step_matches_scalar::<1, 4>();
        fused_step_matches_scalar::<3, 7>();
        fused_step_matches_scalar::<1, 8>();
        fused_step_matches_scalar::<1, 10>();
        fused_step_matches_scalar::<2, 13>();
        fused_step_matches_scalar::<4, 16>();
        fused_step_matches_scalar::<1, 24>();
        fused_step_matches_scalar::<5, 27>();
        // Tiled (weights above 24 KiB, H % 8 == 0), including a column remainder of 4
        // vectors (H = 40: 20 vectors = 2 groups of 8 + 4).
        fused_step_matches_scalar::<8, 64>();
        fused_step_matches_scalar::<16, 40>();
        fused_step_matches_scalar::<32, 128>();
        // With AVX-512: the resident inference step's unit groups (32 + 16, 32, 16; 64 is
        // (8, 64) above) and the resident column groups of the tiled step (16 + 4 and
        // 16 + 8 vectors of 16 columns).
        fused_step_matches_scalar::<40, 48>();
        fused_step_matches_scalar::<20, 32>();
        fused_step_matches_scalar::<100, 16>();
        fused_step_matches_scalar::<8, 80>();
        fused_step_matches_scalar::<2, 96>();
        // Large but H % 8 != 0: the fused path.
        fused_step_matches_scalar::<4, 60>();
    }

    #[test]
    fn simd_adam_update_is_bit_identical_to_scalar() {
        use crate::kernels::Scalar;
        // 21 elements: two 8-lane blocks and a scalar tail of 5.
        const N: usize = 21;
        let g: [f32; N] =
            core::array::from_fn(|i| libm::sinf(1.7 * i as f32) * 10f32.powi(i as i32 % 7 - 3));
        let u = AdamUpdate {
            beta1: 0.9,
            beta2: 0.999,
            step: 1e-3 * libm::sqrtf(1.0 - 0.999) / (1.0 - 0.9),
            v_scale: 1.0,
            eps: 1e-7,
        };
        let (mut pa, mut ma, mut va) = ([0.5_f32; N], [0.01_f32; N], [1e-4_f32; N]);
        let (mut pb, mut mb, mut vb) = (pa, ma, va);
        for _ in 0..5 {
            Simd::adam_update(&mut pa, &g, &mut ma, &mut va, u);
            Scalar::adam_update(&mut pb, &g, &mut mb, &mut vb, u);
        }
        // Same IEEE operations in the same order, none fused: exactly equal.
        assert_eq!((pa, ma, va), (pb, mb, vb));
        assert_ne!(pa, [0.5; N], "the update moved the parameters");
    }

    #[test]
    fn simd_all_finite_finds_every_non_finite_position() {
        let mut x = [1e38_f32; 19];
        assert!(<Simd as Kernels<f32>>::all_finite(&x));
        for i in 0..19 {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let saved = x[i];
                x[i] = bad;
                assert!(!<Simd as Kernels<f32>>::all_finite(&x), "{bad} at {i}");
                x[i] = saved;
            }
        }
    }

    #[test]
    fn slice_kernels_match_scalar_reference() {
        use crate::kernels::Scalar;
        // preact and cell_forward_maths through the trait, with a 4-lane tail (H = 5).
        const H: usize = 5;
        const IN: usize = 3;
        let w: [f32; (IN + H) * 4 * H] = core::array::from_fn(|i| libm::sinf(i as f32) * 0.5);
        let b: [f32; 4 * H] = core::array::from_fn(|i| libm::cosf(i as f32) * 0.1);
        let x = [0.3, -0.7, 1.1];
        let h = [0.1, -0.2, 0.3, -0.4, 0.5];
        let (w_ih, w_hh) = w.split_at(IN * 4 * H);
        let mut za = [0.0; 4 * H];
        let mut zb = [0.0; 4 * H];
        Simd::preact(&mut za, &b, w_ih, &x, w_hh, &h);
        Scalar::preact(&mut zb, &b, w_ih, &x, w_hh, &h);
        for (p, q) in za.iter().zip(&zb) {
            assert!((p - q).abs() < 1e-6, "{p} vs {q}");
        }
        for maths in [Maths::Exact, Maths::Fast] {
            let (mut ga, mut gb) = (za, za);
            let (mut ca, mut cb) = ([0.5; H], [0.5; H]);
            let (mut ha, mut hb) = ([0.0; H], [0.0; H]);
            let (mut ta, mut tb) = ([0.0; H], [0.0; H]);
            let act = RecurrentActivation::Sigmoid;
            Simd::cell_forward_maths(act, maths, &mut ga, &mut ca, &mut ha, &mut ta);
            Scalar::cell_forward_maths(act, maths, &mut gb, &mut cb, &mut hb, &mut tb);
            let all_a = ga.iter().chain(&ca).chain(&ha).chain(&ta);
            for (p, q) in all_a.zip(gb.iter().chain(&cb).chain(&hb).chain(&tb)) {
                assert!((p - q).abs() < 1e-6, "{maths:?}: {p} vs {q}");
            }
        }
    }
}
