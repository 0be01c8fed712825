//! The register-resident paths, with AVX-512 (32 vector registers, `f32x16`). [`step`]
//! (inference and the tape step, `H % 16 == 0` and `H <= 64`): all of a group's gate
//! pre-activations (`4 x 64` for `H = 64`; `H = 48` runs groups of 32 and 16 units) stay in
//! up to 16 `zmm` accumulators for the whole row loop, every row is read once, and the
//! activations and cell update run from those registers. [`accumulate`] (larger `H`): 256
//! gate columns at a time into the pre-activation buffer, then [`cell_pass`] on 16-unit
//! blocks. Same operations in the same order as the other paths (bias, then `x` and
//! `h_{t-1}` rows in order, one fused multiply-add each; the activations lane by lane), so
//! the same bits.

use wide::f32x16;

use super::blocks::{cell_update, gate_activations};
use crate::activation::Policy;
use crate::state::LstmState;
use crate::weights::LstmWeights;

/// Whether [`step`] applies: `H` a multiple of 16 and at most 64, so all `4 H`
/// pre-activations fit in 16 accumulators (one group: every row read once, front to
/// back). Larger layers take the tiled step with [`accumulate`]: a group of 64 units
/// reads four separate 256-byte pieces of every row, which measured no faster at
/// (32, 128) than whole 1 KB runs of columns (3.23-3.37 against 3.10-3.19 us, with the
/// weights 64-byte aligned).
pub(super) const fn applies(inputs: usize, h: usize) -> bool {
    h.is_multiple_of(16) && h <= 64 && super::tuning::streams_weights(inputs, h)
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
pub(super) fn step<A: Policy, const IN: usize, const H: usize>(
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
fn group<A: Policy, const C: usize, const IN: usize, const H: usize>(
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

/// [`cell_block`](super::blocks::cell_block) for `N` blocks of 16 units from unit `j0`, from
/// their pre-activations `z[v] = [z_i, z_f, z_g, z_o]`: every block's gate activations
/// first (`4 N` independent chains), then the `N` cell updates and `tanh c_t`, so the
/// chains of different blocks interleave (at (8, 64), `N = 4` measured 20-30 ns faster
/// than two blocks at a time, one pair after the other). Stores `c_t` and `h_t` in
/// `state`, then hands each block's `[i, f, g, o, c_t, tanh c_t, h_t]` to `sink`.
#[inline(always)]
fn blocks<A: Policy, const N: usize, const H: usize>(
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
pub(super) fn cell_pass<A: Policy, const H: usize>(
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
