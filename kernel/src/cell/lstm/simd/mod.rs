//! The LSTM cell on `wide` vectors (`f32`): 8 lanes (`f32x8`: AVX on x86-64 with `-C
//! target-cpu=native` or `x86-64-v3`, two SSE2 halves on plain x86-64, portable scalar
//! arrays elsewhere) or 16 (`f32x16`, AVX-512). Same contracts as the scalar cell.
//!
//! # Which path runs (`fused.rs`, `tiled.rs`, `resident.rs`; constants in `tuning.rs`)
//! Weights "stream" when `16 (IN + H) H` bytes exceed `TILED_ABOVE_BYTES` (24 KiB).
//!
//! | target features | H | weights | [`LstmKernels::cell_step`] (tape) | [`LstmKernels::cell_step_state`] (inference) |
//! |---|---|---|---|---|
//! | any | `H < 8` | any | slice kernels (`preact` + `cell_forward_maths`) | same, scratch buffers |
//! | SSE2 / AVX | `H >= 8` | fit | fused: groups of `GROUP` 8-unit blocks (1 SSE2, 2 AVX) in registers | same, scratch buffers |
//! | SSE2 / AVX | `H % 8 == 0` | stream | tiled: `TILE` rows x `COLS` vectors (4 x 4 SSE2, 4 x 8 AVX), then the cell pass (pairs with AVX) | same, scratch buffers |
//! | AVX-512 | `H >= 8`, not below | fit | fused (split recurrent chain with fast maths when `H <= 16`) | same |
//! | AVX-512 | `H % 16 == 0`, `H <= 64` | stream | resident: all `4H` accumulators in `zmm` registers | resident, nothing stored but `(h, c)` |
//! | AVX-512 | `H % 8 == 0`, else | stream | tiled with resident column groups (256 columns), cell pass on 16-unit blocks when `H % 16 == 0` | same, scratch buffers |
//!
//! With fast activations, a single-group layer (`H <= 16` with AVX-512, `H <= 8` with AVX)
//! splits the recurrent rows into two accumulator chains (`split_chains`).
//!
//! # The fused step
//! [`LstmKernels::cell_step`] (what `Lstm::step` runs) is one pass over the weights with the
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
//! registers (no buffer at all in [`LstmKernels::cell_step_state`]); for larger `H`, 256 columns
//! at a time (a contiguous 1 KB run of every row), then the cell pass. The activations of
//! these paths run on `f32x16` (16 units per instruction), several blocks at once so their
//! latency chains interleave (all of a register group's blocks, gate activations first;
//! two at a time in the cell pass of larger layers): they are bound by those chains, not
//! by throughput.
//!
//! # Activations
//! Lane-wise [`crate::activation::Activate`] (one definition with the scalar functions). Exact: max abs error `< 3e-7` vs libm over the whole
//! `f32` range; Fast ([`Maths::Fast`]): the lanes of [`crate::activation::fast_sigmoid`] and
//! [`crate::activation::fast_tanh`] (power-of-two reduction + [2/2] rational, one division).
//! Both saturate for infinite inputs and propagate NaN.

mod blocks;
mod fused;
#[cfg(target_feature = "avx512f")]
mod resident;
mod streams;
mod tiled;
mod tuning;

use blocks::{cell_backward_block, cell_block, load_at, store_at, unpad};
use tuning::{LANES, streams_weights};

use super::LstmKernels;
use crate::activation::{Maths, RecurrentActivation};
use crate::primitives::Simd;
use crate::state::{LstmState, LstmStreams};
use crate::weights::LstmWeights;

impl LstmKernels<f32> for Simd {
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
        match path(IN, H) {
            #[cfg(target_feature = "avx512f")]
            Path::Resident => {
                crate::with_policy!(act, maths, |a| resident::step(a, w, x, state, |j, o| {
                    resident::store_tape(j, o, gates, tanh_c)
                }))
            }
            Path::Tiled => crate::with_policy!(act, maths, |a| tiled::tiled_step(
                a, w, x, state, gates, tanh_c
            )),
            Path::Fused => crate::with_policy!(act, maths, |a| fused::fused_step(
                a, w, x, state, gates, tanh_c
            )),
            Path::Slices => {
                let g = gates.as_flattened_mut();
                Self::preact(g, w.b_flat(), w.w_ih_flat(), x, w.w_hh_flat(), &state.h);
                Self::cell_forward_maths(act, maths, g, &mut state.c, &mut state.h, tanh_c);
            }
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
        if path(IN, H) == Path::Resident {
            return crate::with_policy!(act, maths, |a| resident::step(a, w, x, state, |_, _| {}));
        }
        super::step_with_scratch::<Self, f32, IN, H>(act, maths, w, x, state);
    }

    /// The streams in SIMD lanes (`streams.rs`), with the single-stream step's chains.
    #[inline(always)]
    fn cell_step_streams<const IN: usize, const H: usize, const B: usize>(
        act: RecurrentActivation,
        maths: Maths,
        w: &LstmWeights<IN, H, f32>,
        xs: &[[f32; B]; IN],
        state: &mut LstmStreams<H, B, f32>,
    ) {
        // The single-stream step splits its recurrent rows only on the fused path.
        let fused = path(IN, H) == Path::Fused;
        crate::with_policy!(act, maths, |a| streams::step(a, fused, w, xs, state))
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
        crate::with_policy!(act, maths, |a| {
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
}

/// The path [`LstmKernels::cell_step`] takes for an `(inputs, h)` layer (the table in the
/// module docs): the one dispatch, which the many-streams step (`streams.rs`) reads too, so
/// it keeps the single-stream step's summation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    /// AVX-512, `h % 16 == 0`, `h <= 64`, weights above 24 KiB: `resident.rs`.
    #[cfg(target_feature = "avx512f")]
    Resident,
    /// `h % 8 == 0`, weights above 24 KiB: `tiled.rs`.
    Tiled,
    /// `h >= 8` otherwise: `fused.rs` (recurrent rows in two chains under
    /// [`tuning::splits_recurrent_rows`]).
    Fused,
    /// `h < 8`: the slice kernels (`preact`, `cell_forward_maths`).
    Slices,
}

const fn path(inputs: usize, h: usize) -> Path {
    #[cfg(target_feature = "avx512f")]
    if resident::applies(inputs, h) {
        return Path::Resident;
    }
    if h.is_multiple_of(LANES) && streams_weights(inputs, h) {
        Path::Tiled
    } else if h >= LANES {
        Path::Fused
    } else {
        Path::Slices
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::Scalar;

    /// The fused SIMD step against the scalar reference step, over many steps so state
    /// errors would compound, for sizes with and without a partial 8-lane block (`H < 8`
    /// takes the slice path, `H % 8 != 0` the overlapping tail block), every recurrent
    /// activation and both maths policies.
    fn fused_step_matches_scalar<const IN: usize, const H: usize>() {
        use crate::{Lstm, LstmState, LstmTape, LstmWeights, Recurrent};
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
                let mut ta = LstmTape::<1, IN, H>::new();
                let mut tb = LstmTape::<1, IN, H>::new();
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
    // 18 sizes up to (32, 128) x 6 policies x 50 steps on both kernels: hours under Miri.
    #[cfg_attr(
        miri,
        ignore = "50-step SIMD-vs-scalar runs, 18 sizes: too slow under Miri"
    )]
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

    /// The many-streams step against each stream stepped alone by `Lstm::step_with`, on
    /// this build's kernels and on the scalar ones: every stream's `h` and `c` bit for bit,
    /// over 6 steps with different inputs per stream, every recurrent activation and both
    /// maths policies (so the split recurrent chains of the fast fused path are covered
    /// where this build splits), for `B` with and without a partial last chunk of 8.
    fn streams_match_single_streams<const IN: usize, const H: usize, const B: usize>() {
        use crate::{Lstm, LstmStreams, LstmWeights, Recurrent, StepStreams};
        let mut s = 0x2545_f491_u32 ^ (IN * 1000 + H * 10 + B) as u32;
        let mut uniform = move || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1 << 24) as f32
        };
        let mut w = LstmWeights::<IN, H>::zeroed();
        w.init_pytorch(&mut uniform);
        // Larger biases, so gates sit away from 1/2 and the states differ per stream.
        for v in w.b.as_flattened_mut() {
            *v *= 4.0;
        }
        for act in RecurrentActivation::ALL {
            for maths in [Maths::Exact, Maths::Fast] {
                let lstm = Lstm::new(w, act).with_maths(maths);
                let mut lanes = [LstmStreams::<H, B>::zeroed(); 2];
                let mut alone = [[crate::LstmState::<H>::zeroed(); B]; 2];
                for t in 0..6 {
                    let xs: [[f32; B]; IN] = core::array::from_fn(|k| {
                        core::array::from_fn(|b| {
                            2.0 * libm::sinf(0.37 * t as f32 + k as f32 + 0.61 * b as f32)
                        })
                    });
                    lstm.step_streams_with::<Simd>(&xs, &mut lanes[0]);
                    lstm.step_streams_with::<Scalar>(&xs, &mut lanes[1]);
                    for b in 0..B {
                        let x: [f32; IN] = core::array::from_fn(|k| xs[k][b]);
                        lstm.step_with::<Simd>(&x, &mut alone[0][b]);
                        lstm.step_with::<Scalar>(&x, &mut alone[1][b]);
                        for (k, kernel) in ["Simd", "Scalar"].into_iter().enumerate() {
                            let got = lanes[k].stream(b).unwrap();
                            let bits = |s: &crate::LstmState<H>| {
                                (s.h.map(f32::to_bits), s.c.map(f32::to_bits))
                            };
                            assert!(
                                bits(&got) == bits(&alone[k][b]),
                                "IN={IN} H={H} B={B} {act:?} {maths:?} t={t} stream {b} \
                                 {kernel}: {got:?} vs {:?}",
                                alone[k][b]
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "every path and policy over 6 steps: slow under Miri")]
    fn streams_in_lanes_give_each_stream_its_own_bits() {
        // Slice path (H < 8), fused with an overlapping tail block, fused splitting its
        // recurrent rows under fast maths (H = 8 with AVX, up to 16 with AVX-512), tiled
        // (weights above 24 KiB) and, with AVX-512, resident; B below one chunk, one
        // chunk plus a partial one, several full chunk groups plus a partial chunk.
        streams_match_single_streams::<1, 4, 3>();
        streams_match_single_streams::<1, 10, 110>();
        streams_match_single_streams::<3, 8, 17>();
        streams_match_single_streams::<2, 16, 8>();
        streams_match_single_streams::<5, 13, 40>();
        streams_match_single_streams::<8, 64, 9>();
        streams_match_single_streams::<16, 40, 33>();
        streams_match_single_streams::<32, 128, 5>();
        streams_match_single_streams::<100, 16, 12>();
        // H = 8 tiled (IN > 184: weights above 24 KiB, so no split even with fast maths),
        // and the slice path's 4-lane tail (H = 5, 1).
        streams_match_single_streams::<200, 8, 17>();
        streams_match_single_streams::<2, 5, 9>();
        streams_match_single_streams::<1, 1, 3>();
    }

    #[test]
    fn slice_kernels_match_scalar_reference() {
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
