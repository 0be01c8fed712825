//! The tiled step for large layers (weights above [`TILED_ABOVE_BYTES`](super::tuning::TILED_ABOVE_BYTES),
//! `H % 8 == 0`): row-sequential reads the prefetchers follow.

use wide::f32x8;

#[cfg(not(target_feature = "avx512f"))]
use super::blocks::load8;
use super::blocks::{cell_block, cell_store, load_blk, store_out};
#[cfg(not(target_feature = "avx512f"))]
use super::tuning::{COLS, TILE};
use super::tuning::{LANES, PAIR_CELLS};
use crate::activation::Policy;
use crate::state::LstmState;
use crate::weights::LstmWeights;

/// `z[c0 .. c0 + C]` (vectors) `+= Σ_k v_k W[k][c0 .. c0 + C]` over one tile of rows.
#[cfg(not(target_feature = "avx512f"))]
#[inline(always)]
pub(super) fn tile_columns<const C: usize, const H: usize>(
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
/// with AVX-512, [`super::resident::accumulate`] instead (all rows per column group, accumulators
/// in registers throughout). Then one pass applies the activations and the cell update.
#[inline(always)]
pub(super) fn tiled_step<A: Policy, const IN: usize, const H: usize>(
    a: A,
    w: &LstmWeights<IN, H, f32>,
    x: &[f32; IN],
    state: &mut LstmState<H, f32>,
    gates: &mut [[f32; H]; 4],
    tanh_c: &mut [f32; H],
) {
    #[cfg(target_feature = "avx512f")]
    super::resident::accumulate(gates, w, x, &state.h);
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
        super::resident::cell_pass(a, state, gates, tanh_c);
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
