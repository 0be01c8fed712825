//! The LSTM cell on plain loops over any [`Real`]: the reference the SIMD cell is tested
//! against and the path the `f64` gradient checks and Cortex-M run on. [`Maths::Exact`] is
//! [`Activate::sigmoid_exact`] / [`Activate::tanh_exact`] (one Cephes-style `e^x` per
//! activation for `f32`, shared with the SIMD lanes; libm for `f64`); [`Maths::Fast`] the
//! rational formulas of [`crate::activation`].

use super::LstmKernels;
use crate::activation::{
    Activate, HardAnyMaths, Logistic, Maths, Policy, RecurrentActivation,
    tanh_derivative_from_output,
};
use crate::primitives::Scalar;
use crate::real::Real;
use crate::state::LstmState;
use crate::weights::LstmWeights;

impl<F: Real + Activate> LstmKernels<F> for Scalar {
    /// The whole step, per hidden unit and without a `[4H]` round trip through memory
    /// beyond the gate buffer the caller passes anyway. Pass 1 (one copy, shared by every
    /// activation policy): unit `j`'s four pre-activations are summed in registers (bias
    /// first, then `x` and `h_{t-1}` in index order: the same operations in the same order
    /// as [`LstmKernels::preact`], so the same bits) and stored in `gates`. Pass 2: the
    /// activations and the cell update, monomorphised over a compile-time policy
    /// ([`Policy`]) chosen by one `match` on the model's run-time `activation` and `maths`,
    /// so the per-unit loop has no branch on them (except the hard-sigmoid policy's `tanh`
    /// choice, see [`HardAnyMaths`]). No bounds checks (the sizes are
    /// compile-time constants), which is what a Cortex-M without vector registers needs. The
    /// trait's default (`preact` + `cell_forward_maths`) is the reference it is tested
    /// against (`scalar_fused_step_matches_the_two_kernel_reference`).
    #[inline(always)]
    fn cell_step<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        w: &LstmWeights<IN, H, F>,
        x: &[F; IN],
        state: &mut LstmState<H, F>,
        gates: &mut [[F; H]; 4],
        tanh_c: &mut [F; H],
    ) {
        preact_units(w, x, &state.h, gates);
        match (act.hard_slope(), maths) {
            (None, Maths::Exact) => activate_units(Logistic::<false>, state, gates, tanh_c),
            (None, Maths::Fast) => activate_units(Logistic::<true>, state, gates, tanh_c),
            (Some((slope, offset)), maths) => {
                let p = HardAnyMaths {
                    slope,
                    offset,
                    maths,
                };
                activate_units(p, state, gates, tanh_c);
            }
        }
    }

    /// [`Self::cell_step`] for inference: one pass over the units, each unit's
    /// pre-activations and cell update together (`h_{t-1}` copied first, so every unit reads
    /// the old state), storing neither the gates nor `tanh c`. Same operations in the same
    /// order, so the same bits (`scalar_fused_step_matches_the_two_kernel_reference`).
    #[inline(always)]
    fn cell_step_state<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        w: &LstmWeights<IN, H, F>,
        x: &[F; IN],
        state: &mut LstmState<H, F>,
    ) {
        match (act.hard_slope(), maths) {
            (None, Maths::Exact) => advance_units(Logistic::<false>, w, x, state),
            (None, Maths::Fast) => advance_units(Logistic::<true>, w, x, state),
            (Some((slope, offset)), maths) => {
                let p = HardAnyMaths {
                    slope,
                    offset,
                    maths,
                };
                advance_units(p, w, x, state);
            }
        }
    }

    fn cell_forward_maths(
        act: RecurrentActivation,
        maths: Maths,
        gates: &mut [F],
        c: &mut [F],
        h: &mut [F],
        tanh_c: &mut [F],
    ) {
        let hn = c.len();
        debug_assert_eq!(gates.len(), 4 * hn);
        // Checked splits and zipped iterators: no index, so no bounds check or panic path
        // even where the sizes are run-time values (the outlined training kernels).
        let Some((i, rest)) = gates.split_at_mut_checked(hn) else {
            return;
        };
        let Some((f, rest)) = rest.split_at_mut_checked(hn) else {
            return;
        };
        let Some((g, o)) = rest.split_at_mut_checked(hn) else {
            return;
        };
        let gates = i.iter_mut().zip(f).zip(g).zip(o);
        let cells = c.iter_mut().zip(h.iter_mut()).zip(tanh_c.iter_mut());
        for ((((i, f), g), o), ((c, h), tc)) in gates.zip(cells) {
            *i = act.apply_with(maths, *i);
            *f = act.apply_with(maths, *f);
            *g = maths.tanh(*g);
            *o = act.apply_with(maths, *o);
            *c = *f * *c + *i * *g;
            *tc = maths.tanh(*c);
            *h = *o * *tc;
        }
    }

    fn cell_backward(
        act: RecurrentActivation,
        gates: &[F],
        c_prev: &[F],
        tanh_c: &[F],
        dh: &[F],
        dc: &mut [F],
        dz: &mut [F],
    ) {
        let hn = dc.len();
        debug_assert_eq!(gates.len(), 4 * hn);
        debug_assert_eq!(dz.len(), 4 * hn);
        // As in `cell_forward_maths`: checked splits, zipped iterators, no panic path.
        let Some((i, rest)) = gates.split_at_checked(hn) else {
            return;
        };
        let Some((f, rest)) = rest.split_at_checked(hn) else {
            return;
        };
        let Some((g, o)) = rest.split_at_checked(hn) else {
            return;
        };
        let Some((dz_i, rest)) = dz.split_at_mut_checked(hn) else {
            return;
        };
        let Some((dz_f, rest)) = rest.split_at_mut_checked(hn) else {
            return;
        };
        let Some((dz_g, dz_o)) = rest.split_at_mut_checked(hn) else {
            return;
        };
        let gates = i.iter().zip(f).zip(g).zip(o);
        let dzs = dz_i.iter_mut().zip(dz_f).zip(dz_g).zip(dz_o);
        let cells = dc.iter_mut().zip(c_prev).zip(tanh_c).zip(dh);
        for (((((&i, &f), &g), &o), (((dz_i, dz_f), dz_g), dz_o)), (((dc, &cp), &tc), &dh)) in
            gates.zip(dzs).zip(cells)
        {
            let dct = *dc + dh * o * tanh_derivative_from_output(tc);
            *dz_i = dct * g * act.derivative_from_output(i);
            *dz_f = dct * cp * act.derivative_from_output(f);
            *dz_g = dct * i * tanh_derivative_from_output(g);
            *dz_o = dh * tc * act.derivative_from_output(o);
            *dc = dct * f;
        }
    }
}

/// Unit `j`'s four pre-activations `b[q][j] + x · W_ih[.][q][j] + h · W_hh[.][q][j]`, summed
/// in registers (bias, then `x`, then `h` in index order, as [`LstmKernels::preact`]).
#[inline(always)]
fn unit_preact<F: Real, const IN: usize, const H: usize>(
    w: &LstmWeights<IN, H, F>,
    x: &[F; IN],
    h_prev: &[F; H],
    j: usize,
) -> [F; 4] {
    let mut z = [w.b[0][j], w.b[1][j], w.b[2][j], w.b[3][j]];
    for (row, &v) in w.w_ih.iter().zip(x) {
        for (zq, wq) in z.iter_mut().zip(row) {
            *zq += v * wq[j];
        }
    }
    for (row, &v) in w.w_hh.iter().zip(h_prev) {
        for (zq, wq) in z.iter_mut().zip(row) {
            *zq += v * wq[j];
        }
    }
    z
}

/// Pass 1 of [`Scalar::cell_step`]: every unit's [`unit_preact`] into `gates[q][j]`.
#[inline(always)]
fn preact_units<F: Real, const IN: usize, const H: usize>(
    w: &LstmWeights<IN, H, F>,
    x: &[F; IN],
    h_prev: &[F; H],
    gates: &mut [[F; H]; 4],
) {
    for j in 0..H {
        for (g, zq) in gates.iter_mut().zip(unit_preact(w, x, h_prev, j)) {
            g[j] = zq;
        }
    }
}

/// Pass 2 of [`Scalar::cell_step`]: activations and the cell update from the
/// pre-activations in `gates` (overwritten with the activated gates).
#[inline(always)]
fn activate_units<F: Real + Activate, P: Policy, const H: usize>(
    p: P,
    state: &mut LstmState<H, F>,
    gates: &mut [[F; H]; 4],
    tanh_c: &mut [F; H],
) {
    let [gi, gf, gg, go] = gates;
    let units = gi
        .iter_mut()
        .zip(gf.iter_mut())
        .zip(gg.iter_mut())
        .zip(go.iter_mut());
    let cells = state
        .c
        .iter_mut()
        .zip(state.h.iter_mut())
        .zip(tanh_c.iter_mut());
    for ((((i, f), g), o), ((c, h), tc)) in units.zip(cells) {
        [*i, *f, *g, *o, *c, *tc, *h] = unit_update(p, [*i, *f, *g, *o], *c);
    }
}

/// The cell update of one unit from its pre-activations `z = [z_i, z_f, z_g, z_o]` and
/// `c_{t-1}`: returns `[i, f, g, o, c_t, tanh(c_t), h_t]`.
#[inline(always)]
fn unit_update<F: Real + Activate, P: Policy>(p: P, z: [F; 4], c_prev: F) -> [F; 7] {
    let i = p.gate(z[0]);
    let f = p.gate(z[1]);
    let g = p.tanh(z[2]);
    let o = p.gate(z[3]);
    let c = f * c_prev + i * g;
    let tc = p.tanh(c);
    [i, f, g, o, c, tc, o * tc]
}

/// [`Scalar::cell_step_state`] under one policy: one pass over the units, each unit's
/// pre-activations ([`unit_preact`], from a copy of `h_{t-1}` that the compiler keeps in
/// registers) and its cell update, `c_t` and `h_t` written straight into the state. No
/// pre-activation buffer (no zero fill, no stores and reloads of `4 H` values).
#[inline(always)]
fn advance_units<F: Real + Activate, P: Policy, const IN: usize, const H: usize>(
    p: P,
    w: &LstmWeights<IN, H, F>,
    x: &[F; IN],
    state: &mut LstmState<H, F>,
) {
    let h_prev = state.h;
    for (j, (c, h)) in state.c.iter_mut().zip(state.h.iter_mut()).enumerate() {
        let [_, _, _, _, cn, _, hn] = unit_update(p, unit_preact(w, x, &h_prev, j), *c);
        *c = cn;
        *h = hn;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in `[-scale, scale)` (a 64-bit LCG; no dependencies).
    struct Lcg(u64);
    impl Lcg {
        fn next<F: Real>(&mut self, scale: f64) -> F {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            F::from_f64(((self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * scale)
        }
    }

    fn check<const IN: usize, const H: usize, F: Real + Activate>(seed: u64) {
        let mut r = Lcg(seed);
        let mut w = LstmWeights::<IN, H, F>::zeroed();
        for v in w.w_ih.as_flattened_mut().as_flattened_mut() {
            *v = r.next(1.5);
        }
        for v in w.w_hh.as_flattened_mut().as_flattened_mut() {
            *v = r.next(1.5);
        }
        for v in w.b.as_flattened_mut() {
            *v = r.next(1.0);
        }
        for act in RecurrentActivation::ALL {
            for maths in [Maths::Exact, Maths::Fast] {
                let mut fused = LstmState::<H, F>::zeroed();
                let mut reference = fused;
                let mut untaped = fused;
                for step in 0..12 {
                    // Large inputs now and then, so saturated gates are covered too.
                    let scale = if step % 4 == 3 { 40.0 } else { 2.0 };
                    let x: [F; IN] = core::array::from_fn(|_| r.next(scale));
                    let (mut g1, mut t1) = ([[F::ZERO; H]; 4], [F::ZERO; H]);
                    <Scalar as LstmKernels<F>>::cell_step(
                        act, maths, &w, &x, &mut fused, &mut g1, &mut t1,
                    );
                    <Scalar as LstmKernels<F>>::cell_step_state(act, maths, &w, &x, &mut untaped);
                    let (mut g2, mut t2) = ([[F::ZERO; H]; 4], [F::ZERO; H]);
                    let g2f = g2.as_flattened_mut();
                    <Scalar as LstmKernels<F>>::preact(
                        g2f,
                        w.b_flat(),
                        w.w_ih_flat(),
                        &x,
                        w.w_hh_flat(),
                        &reference.h,
                    );
                    <Scalar as LstmKernels<F>>::cell_forward_maths(
                        act,
                        maths,
                        g2f,
                        &mut reference.c,
                        &mut reference.h,
                        &mut t2,
                    );
                    // Every value, bit for bit.
                    let same = |a: &[F], b: &[F]| {
                        a.len() == b.len()
                            && a.iter()
                                .zip(b)
                                .all(|(x, y)| x.to_f64().to_bits() == y.to_f64().to_bits())
                    };
                    let ctx = (IN, H, act, maths, step);
                    assert!(same(&fused.h, &reference.h), "h {ctx:?}");
                    assert!(same(&fused.c, &reference.c), "c {ctx:?}");
                    assert!(same(&t1, &t2), "tanh_c {ctx:?}");
                    assert!(same(&untaped.h, &fused.h), "untaped h {ctx:?}");
                    assert!(same(&untaped.c, &fused.c), "untaped c {ctx:?}");
                    assert!(same(g1.as_flattened(), g2.as_flattened()), "gates {ctx:?}");
                }
            }
        }
    }

    /// The fused `Scalar::cell_step` gives the same bits as `preact` + `cell_forward_maths`,
    /// and the inference step `cell_step_state` the same state (every policy).
    #[test]
    // 6 sizes x 6 policies x 12 steps x 3 kernels (libm activations): ~6 CPU minutes under Miri.
    #[cfg_attr(miri, ignore = "432 steps of 3 scalar kernels: too slow under Miri")]
    fn scalar_fused_step_matches_the_two_kernel_reference() {
        check::<1, 10, f32>(1);
        check::<3, 5, f32>(2);
        check::<2, 1, f32>(3);
        check::<1, 16, f32>(4);
        check::<1, 10, f64>(5);
        check::<4, 7, f64>(6);
    }
}
