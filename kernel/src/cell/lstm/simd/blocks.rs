//! Lane-block helpers of the SIMD LSTM cell: bounds-proof loads and stores of 8-lane
//! blocks, and one block's cell update (forward) and its backward.

use wide::f32x8;

use crate::activation::{Policy, RecurrentActivation};
pub(super) use crate::cell::lanes::{LANES, load_blk, load8, store_blk};
use crate::lane::Lane;
use crate::state::LstmState;

/// The 8 values at `s[j..j + 8]`, or zero-padded if fewer remain (never panics).
#[inline(always)]
pub(super) fn load_at(s: &[f32], j: usize) -> f32x8 {
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
pub(super) fn store_at(s: &mut [f32], j: usize, v: f32x8) {
    if let Some(t) = s.get_mut(j..) {
        match t.first_chunk_mut::<LANES>() {
            Some(a) => *a = v.to_array(),
            None => unpad(t, v.to_array()),
        }
    }
}

/// Copies up to 8 values into a zero-padded lane array (for the `H % 8` tail).
#[inline(always)]
pub(super) fn pad(s: &[f32]) -> [f32; 8] {
    let mut a = [0.0; 8];
    for (d, &v) in a.iter_mut().zip(s) {
        *d = v;
    }
    a
}

#[inline(always)]
pub(super) fn unpad(d: &mut [f32], a: [f32; 8]) {
    for (d, v) in d.iter_mut().zip(a) {
        *d = v;
    }
}

/// One block of the cell update from pre-activations `z = [z_i, z_f, z_g, z_o]` and
/// `c_{t-1}`: returns `[i, f, g, o, c_t, tanh(c_t), h_t]`.
#[inline(always)]
pub(super) fn cell_block<A: Policy, L: Lane>(a: A, z: [L; 4], c_prev: L) -> [L; 7] {
    cell_update(a, gate_activations(a, z), c_prev)
}

/// `[i, f, g, o]` from `[z_i, z_f, z_g, z_o]`: the first half of [`cell_block`].
#[inline(always)]
pub(super) fn gate_activations<A: Policy, L: Lane>(a: A, [zi, zf, zg, zo]: [L; 4]) -> [L; 4] {
    [
        gate_activation(a, 0, zi),
        gate_activation(a, 1, zf),
        gate_activation(a, 2, zg),
        gate_activation(a, 3, zo),
    ]
}

/// Gate `q`'s activation (order i, f, g, o): `tanh` for `g` (`q = 2`), `σ` for the others.
#[inline(always)]
pub(super) fn gate_activation<A: Policy, L: Lane>(a: A, q: usize, z: L) -> L {
    if q == 2 { a.tanh(z) } else { a.gate(z) }
}

/// `c_t = f ⊙ c_{t-1} + i ⊙ g`, `tanh c_t`, `h_t = o ⊙ tanh c_t` from the activated gates:
/// the second half of [`cell_block`], returning its seven outputs.
#[inline(always)]
pub(super) fn cell_update<A: Policy, L: Lane>(a: A, [i, f, g, o]: [L; 4], c_prev: L) -> [L; 7] {
    let c = f.mul_add(c_prev, i * g);
    let tc = a.tanh(c);
    [i, f, g, o, c, tc, o * tc]
}

#[inline(always)]
pub(super) fn recurrent_derivative(act: RecurrentActivation, y: f32x8) -> f32x8 {
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
pub(super) fn cell_backward_block(
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

/// [`cell_block`] for the block at unit `j`, storing the gates, `c`, `tanh c` and `h`.
#[inline(always)]
pub(super) fn cell_store<A: Policy, const H: usize>(
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
pub(super) fn store_out<const H: usize>(
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
