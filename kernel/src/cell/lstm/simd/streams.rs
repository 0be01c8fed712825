//! Many streams of one LSTM layer in one step, the streams in the SIMD lanes: lane `l` of
//! every vector is stream `s0 + l`, so one `f32x8` multiply-add advances the same
//! pre-activation of 8 streams (the state is stream-minor, [`LstmStreams`]). Each weight is
//! broadcast once per [`STREAM_CHUNKS`] chunks of 8 streams and used by all of them.
//!
//! Per lane, the operations and their order are those of the single-stream step of this
//! backend (the fused, tiled or resident path, see the [parent module](super)): `z` starts
//! from the bias, then one fused multiply-add per row of `x`, then per row of `h_{t-1}` in
//! index order (where the single-stream step splits the recurrent rows into two chains,
//! [`splits_recurrent_rows`], the same two chains here), then the gate activations
//! and the cell update of [`super::blocks::cell_block`] (the gates first, for a block of
//! units, then each unit's cell update: the same elementwise functions). Every lane
//! therefore gets the bits that stream gets from `Lstm::step` alone (tested for every
//! path, policy and a partial last chunk; NaN payloads aside, as between the single-stream
//! step's own inlinings).
//!
//! Stack: each pass copies the chunks' `x_t` and `h_{t-1}` lanes (`(IN + H) · C · 32` bytes)
//! and parks `4 · 16 · C · 32` bytes of pre-activations: with AVX's 2 chunks about 14 KiB
//! at (32, 128), 5 KiB at (1, 10). A host stack holds that; the
//! `no_std` targets without SIMD run the per-stream default instead.

use wide::f32x8;

use super::blocks::{cell_update, gate_activation, load_at, store_at};
use super::tuning::{LANES, STREAM_CHUNKS, splits_recurrent_rows};
use crate::activation::Policy;
use crate::state::LstmStreams;
use crate::weights::LstmWeights;

/// One step of all `B` streams: full groups of [`STREAM_CHUNKS`] chunks of 8 streams, then
/// the rest one chunk at a time (the last chunk zero-padded past `B`; its padding lanes are
/// computed and dropped). `fused`: the single-stream step of this layer takes the fused
/// path, so its recurrent rows run as two chains where [`splits_recurrent_rows`] says so.
#[inline(always)]
pub(super) fn step<A: Policy, const IN: usize, const H: usize, const B: usize>(
    a: A,
    fused: bool,
    w: &LstmWeights<IN, H, f32>,
    xs: &[[f32; B]; IN],
    state: &mut LstmStreams<H, B, f32>,
) {
    let split = fused && splits_recurrent_rows(A::FAST, H);
    let mut s0 = 0;
    while s0 + STREAM_CHUNKS * LANES <= B {
        chunks::<A, STREAM_CHUNKS, IN, H, B>(a, split, s0, w, xs, state);
        s0 += STREAM_CHUNKS * LANES;
    }
    while s0 < B {
        chunks::<A, 1, IN, H, B>(a, split, s0, w, xs, state);
        s0 += LANES;
    }
}

/// `acc[q][u] += v_k[u] · row[q][j]` for the four gates `q` and the `C` chunks `u`: one
/// broadcast per gate, shared by the chunks.
#[inline(always)]
fn accumulate<const C: usize, const H: usize>(
    acc: &mut [[f32x8; C]; 4],
    row: &[[f32; H]; 4],
    j: usize,
    v: &[f32x8; C],
) {
    for (acc_q, wq) in acc.iter_mut().zip(row) {
        let wv = f32x8::splat(wq.get(j).copied().unwrap_or(0.0));
        // Input first, as the single-stream kernels order the operands (`v_k · w + z`): the
        // same rounding either way, and the same NaN payload where two operands are NaN.
        for (z, &vu) in acc_q.iter_mut().zip(v) {
            *z = vu.mul_add(wv, *z);
        }
    }
}

/// Units per pass of [`chunks`]: their pre-activations are summed first (registers, then a
/// small buffer), then activated gate by gate over the whole block, so the activations of
/// many units and chunks are independent work in one short loop (with the cell update
/// interleaved unit by unit they were bound by their latency: 49 against 41 ns per
/// stream-step, exact activations, at (1, 10), B = 110, AVX2 build on Zen 4, one criterion
/// run each).
const UNITS: usize = 16;

/// Streams `s0 .. s0 + 8 C`: their `x_t` and `h_{t-1}` lanes are loaded once (so every
/// unit reads the old `h`); then, [`UNITS`] units at a time, each unit's four
/// pre-activations of the `C` chunks are summed in registers and parked, the gates
/// activated, and the cell update stores `c_t`, `h_t`.
#[inline(always)]
fn chunks<A: Policy, const C: usize, const IN: usize, const H: usize, const B: usize>(
    a: A,
    split: bool,
    s0: usize,
    w: &LstmWeights<IN, H, f32>,
    xs: &[[f32; B]; IN],
    state: &mut LstmStreams<H, B, f32>,
) {
    let lanes =
        |m: &[f32; B]| -> [f32x8; C] { core::array::from_fn(|u| load_at(m, s0 + u * LANES)) };
    let x: [[f32x8; C]; IN] = core::array::from_fn(|k| lanes(&xs[k]));
    let h_prev: [[f32x8; C]; H] = core::array::from_fn(|k| lanes(&state.h[k]));
    let half = if split { H / 2 } else { H };
    let (w0, w1) = w.w_hh.split_at(half);
    let (h0, h1) = h_prev.split_at(half);
    let mut j0 = 0;
    while j0 < H {
        let n = UNITS.min(H - j0);
        // z[q][unit - j0][chunk]
        let mut zb = [[[f32x8::ZERO; C]; UNITS]; 4];
        for (r, j) in (j0..j0 + n).enumerate() {
            let mut z: [[f32x8; C]; 4] =
                core::array::from_fn(|q| [f32x8::splat(w.b[q].get(j).copied().unwrap_or(0.0)); C]);
            for (row, v) in w.w_ih.iter().zip(&x) {
                accumulate(&mut z, row, j, v);
            }
            if split {
                let mut z2 = [[f32x8::ZERO; C]; 4];
                for (row, v) in w1.iter().zip(h1) {
                    accumulate(&mut z2, row, j, v);
                }
                for (row, v) in w0.iter().zip(h0) {
                    accumulate(&mut z, row, j, v);
                }
                for (zq, z2q) in z.iter_mut().zip(z2) {
                    for (a, b) in zq.iter_mut().zip(z2q) {
                        *a += b;
                    }
                }
            } else {
                for (row, v) in w0.iter().zip(h0) {
                    accumulate(&mut z, row, j, v);
                }
            }
            for (zq, bq) in z.into_iter().zip(zb.iter_mut()) {
                if let Some(d) = bq.get_mut(r) {
                    *d = zq;
                }
            }
        }
        // The gates, one gate at a time over the block (then in place: zb holds i, f, g, o).
        for (q, bq) in zb.iter_mut().enumerate() {
            for v in bq.iter_mut().take(n).flatten() {
                *v = gate_activation(a, q, *v);
            }
        }
        for (r, j) in (j0..j0 + n).enumerate() {
            let (Some(cj), Some(hj)) = (state.c.get_mut(j), state.h.get_mut(j)) else {
                return;
            };
            for u in 0..C {
                let g = core::array::from_fn(|q| zb[q].get(r).map_or(f32x8::ZERO, |v| v[u]));
                let [.., c, _, h] = cell_update(a, g, load_at(cj, s0 + u * LANES));
                store_at(cj, s0 + u * LANES, c);
                store_at(hj, s0 + u * LANES, h);
            }
        }
        j0 += n;
    }
}
