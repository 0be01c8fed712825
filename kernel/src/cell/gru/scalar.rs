//! The GRU cell on plain loops over any [`Real`]: the reference the SIMD cell is tested
//! against and what the `f64` gradient checks and Cortex-M run. The step is fused per unit:
//! unit `j`'s pre-activations are summed in registers (bias first, then `x` and `h_{t-1}` in
//! index order: the order of the trait's slice path, so the same bits), then its gates and
//! state update, with no `[3H]` pre-activation buffer. Policy choice as the LSTM's scalar
//! cell: one `match` on `(activation, maths)`, hard sigmoids sharing one copy of the loop
//! ([`HardAnyMaths`]).

use super::{AfterUpdate, BeforeGates, BeforeUpdate, GruKernels, GruVariant, UnitMap};
use crate::activation::{Activate, HardAnyMaths, Logistic, Maths, Policy, RecurrentActivation};
use crate::gru_weights::GruWeights;
use crate::primitives::Scalar;
use crate::real::Real;

impl<F: Real + Activate> GruKernels<F> for Scalar {
    #[inline(always)]
    fn gru_step<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        variant: GruVariant,
        w: &GruWeights<IN, H, F>,
        x: &[F; IN],
        h_prev: &[F; H],
        h: &mut [F; H],
        gates: &mut [[F; H]; 3],
        hn: &mut [F; H],
    ) {
        match (act.hard_slope(), maths) {
            (None, Maths::Exact) => fused(Logistic::<false>, variant, w, x, h_prev, h, gates, hn),
            (None, Maths::Fast) => fused(Logistic::<true>, variant, w, x, h_prev, h, gates, hn),
            (Some((slope, offset)), maths) => {
                let p = HardAnyMaths {
                    slope,
                    offset,
                    maths,
                };
                fused(p, variant, w, x, h_prev, h, gates, hn);
            }
        }
    }

    /// Reset-after: one pass, each unit's six pre-activations and its update, `h_t` written
    /// straight into the state (from a copy of `h_{t-1}`), nothing else stored.
    /// Reset-before needs every `r ⊙ h_{t-1}` before any candidate, so it runs the taped
    /// step on scratch buffers, in a function of its own.
    #[inline(always)]
    fn gru_step_state<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        maths: Maths,
        variant: GruVariant,
        w: &GruWeights<IN, H, F>,
        x: &[F; IN],
        h: &mut [F; H],
    ) {
        let h_prev = *h;
        if variant == GruVariant::ResetAfter {
            match (act.hard_slope(), maths) {
                (None, Maths::Exact) => advance_after(Logistic::<false>, w, x, &h_prev, h),
                (None, Maths::Fast) => advance_after(Logistic::<true>, w, x, &h_prev, h),
                (Some((slope, offset)), maths) => {
                    let p = HardAnyMaths {
                        slope,
                        offset,
                        maths,
                    };
                    advance_after(p, w, x, &h_prev, h);
                }
            }
            return;
        }
        step_before_state(act, maths, w, x, &h_prev, h);
    }
}

/// The reset-before inference step: the taped step on scratch buffers, out of line so its
/// `4H` scratch values are not in the reset-after step's frame (a Cortex-M stack figure).
#[inline(never)]
fn step_before_state<F: Real + Activate, const IN: usize, const H: usize>(
    act: RecurrentActivation,
    maths: Maths,
    w: &GruWeights<IN, H, F>,
    x: &[F; IN],
    h_prev: &[F; H],
    h: &mut [F; H],
) {
    let mut gates = [[F::ZERO; H]; 3];
    let mut hn = [F::ZERO; H];
    <Scalar as GruKernels<F>>::gru_step(
        act,
        maths,
        GruVariant::ResetBefore,
        w,
        x,
        h_prev,
        h,
        &mut gates,
        &mut hn,
    );
}

/// Unit `j`'s input pre-activations `b[q][j] + x · W_ih[.][q][j]` (`n_bias` added to the n
/// bias first) and recurrent ones `h · W_hh[.][q][j]` from `h0` (for the first `Q` gates),
/// in the slice path's order.
#[inline(always)]
fn unit_preact<F: Real, const IN: usize, const H: usize, const Q: usize>(
    w: &GruWeights<IN, H, F>,
    x: &[F; IN],
    h_prev: &[F; H],
    j: usize,
    n_bias: Option<F>,
    h0: [F; Q],
) -> ([F; 3], [F; Q]) {
    let mut ai = [w.b[0][j], w.b[1][j], w.b[2][j]];
    if let Some(c) = n_bias {
        ai[2] += c;
    }
    for (row, &v) in w.w_ih.iter().zip(x) {
        for (a, wq) in ai.iter_mut().zip(row) {
            *a += v * wq[j];
        }
    }
    let mut ah = h0;
    for (row, &v) in w.w_hh.iter().zip(h_prev) {
        for (a, wq) in ah.iter_mut().zip(row) {
            *a += v * wq[j];
        }
    }
    (ai, ah)
}

/// Reset-after unit `j`: `[r, z, n, h_t]` and `W_hn h + b_hn`.
#[inline(always)]
fn unit_after<F: Real + Activate, P: Policy, const IN: usize, const H: usize>(
    p: P,
    w: &GruWeights<IN, H, F>,
    x: &[F; IN],
    h_prev: &[F; H],
    j: usize,
) -> ([F; 4], F) {
    let (ai, ah) = unit_preact(w, x, h_prev, j, None, [F::ZERO, F::ZERO, w.b_hn[j]]);
    let out = AfterUpdate(p).apply([ai[0], ai[1], ai[2], ah[0], ah[1], ah[2], h_prev[j]]);
    (out, ah[2])
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn fused<F: Real + Activate, P: Policy, const IN: usize, const H: usize>(
    p: P,
    variant: GruVariant,
    w: &GruWeights<IN, H, F>,
    x: &[F; IN],
    h_prev: &[F; H],
    h: &mut [F; H],
    gates: &mut [[F; H]; 3],
    hn: &mut [F; H],
) {
    match variant {
        GruVariant::ResetAfter => {
            for j in 0..H {
                let ([r, z, n, hj], a_hn) = unit_after(p, w, x, h_prev, j);
                [gates[0][j], gates[1][j], gates[2][j], h[j], hn[j]] = [r, z, n, hj, a_hn];
            }
        }
        GruVariant::ResetBefore => {
            // Pass 1: r, z, r ⊙ h_{t-1}, and the n gate's input pre-activation (kept in
            // gates[2] until pass 2 replaces it with n).
            for j in 0..H {
                let (ai, ah) = unit_preact(w, x, h_prev, j, Some(w.b_hn[j]), [F::ZERO; 2]);
                let [r, z, rh] = BeforeGates(p).apply([ai[0], ai[1], ah[0], ah[1], h_prev[j]]);
                [gates[0][j], gates[1][j], gates[2][j], hn[j]] = [r, z, ai[2], rh];
            }
            // Pass 2: a_n = (input part) + Σ_k (r ⊙ h)_k W_hn[k][j], then n and h_t.
            for j in 0..H {
                let mut an = gates[2][j];
                for (row, &v) in w.w_hh.iter().zip(hn.iter()) {
                    an += v * row[2][j];
                }
                let [n, hj] = BeforeUpdate(p).apply([an, gates[1][j], h_prev[j]]);
                gates[2][j] = n;
                h[j] = hj;
            }
        }
    }
}

/// The reset-after inference step under one policy (see [`Scalar::gru_step_state`]).
#[inline(always)]
fn advance_after<F: Real + Activate, P: Policy, const IN: usize, const H: usize>(
    p: P,
    w: &GruWeights<IN, H, F>,
    x: &[F; IN],
    h_prev: &[F; H],
    h: &mut [F; H],
) {
    for (j, hj) in h.iter_mut().enumerate() {
        *hj = unit_after(p, w, x, h_prev, j).0[3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::Primitives;

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

    /// The trait's slice path, run on the scalar primitives (the reference).
    struct SliceRef;
    impl<F: Real> Primitives<F> for SliceRef {
        fn gemv_t_acc(z: &mut [F], w: &[F], v: &[F]) {
            Scalar::gemv_t_acc(z, w, v);
        }
        fn gemv_acc(out: &mut [F], w: &[F], dz: &[F]) {
            Scalar::gemv_acc(out, w, dz);
        }
        fn ger_acc(dw: &mut [F], v: &[F], dz: &[F]) {
            Scalar::ger_acc(dw, v, dz);
        }
        fn axpy(y: &mut [F], a: F, x: &[F]) {
            Scalar::axpy(y, a, x);
        }
    }
    impl<F: Real + Activate> GruKernels<F> for SliceRef {}

    fn check<const IN: usize, const H: usize, F: Real + Activate>(seed: u64) {
        let mut r = Lcg(seed);
        let mut w = GruWeights::<IN, H, F>::zeroed();
        for t in 0..4 {
            let scale = if t < 2 { 1.5 } else { 1.0 };
            for v in crate::tensors::Tensors::tensor_mut(&mut w, t) {
                *v = r.next(scale);
            }
        }
        let same = |a: &[F], b: &[F]| {
            a.iter()
                .zip(b)
                .all(|(x, y)| x.to_f64().to_bits() == y.to_f64().to_bits())
        };
        for variant in GruVariant::ALL {
            for act in RecurrentActivation::ALL {
                for maths in Maths::ALL {
                    let (mut fused, mut reference, mut untaped) =
                        ([F::ZERO; H], [F::ZERO; H], [F::ZERO; H]);
                    for step in 0..12 {
                        let scale = if step % 4 == 3 { 40.0 } else { 2.0 };
                        let x: [F; IN] = core::array::from_fn(|_| r.next(scale));
                        let (mut g1, mut n1) = ([[F::ZERO; H]; 3], [F::ZERO; H]);
                        let (mut g2, mut n2) = (g1, n1);
                        let prev = fused;
                        Scalar::gru_step(
                            act, maths, variant, &w, &x, &prev, &mut fused, &mut g1, &mut n1,
                        );
                        let prev_ref = reference;
                        SliceRef::gru_step(
                            act,
                            maths,
                            variant,
                            &w,
                            &x,
                            &prev_ref,
                            &mut reference,
                            &mut g2,
                            &mut n2,
                        );
                        Scalar::gru_step_state(act, maths, variant, &w, &x, &mut untaped);
                        let ctx = (IN, H, variant, act, maths, step);
                        assert!(same(&fused, &reference), "h {ctx:?}");
                        assert!(same(g1.as_flattened(), g2.as_flattened()), "gates {ctx:?}");
                        assert!(same(&n1, &n2), "hn {ctx:?}");
                        assert!(same(&untaped, &fused), "untaped {ctx:?}");
                    }
                }
            }
        }
    }

    /// The fused scalar step gives the same bits as the trait's slice path, and the
    /// inference step the same state (every variant and policy).
    #[test]
    #[cfg_attr(miri, ignore = "864 steps of 3 scalar kernels: too slow under Miri")]
    fn scalar_fused_gru_step_matches_the_slice_path() {
        check::<1, 10, f32>(1);
        check::<3, 5, f32>(2);
        check::<2, 1, f32>(3);
        check::<1, 10, f64>(4);
        check::<4, 7, f64>(5);
    }
}
