//! The GRU cell's kernels: the step (pre-activations, gates, state update) and its backward
//! pass, behind [`GruKernels`], implemented by [`Scalar`](crate::primitives::Scalar)
//! (`scalar.rs`: fused per-unit loops, any [`Real`]) and [`Simd`](crate::primitives::Simd)
//! (`simd.rs`: the trait's slice path on the SIMD primitives, gate maths on 8-lane vectors).
//!
//! # Equations, gate order r, z, n (PyTorch `nn.GRU` documentation)
//! [`GruVariant::ResetAfter`] (PyTorch; Keras `reset_after=True`, the Keras 3 / TF2 default):
//! ```text
//! r   = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
//! z   = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
//! n   = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
//! h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}        (computed as n + z ⊙ (h_{t-1} - n))
//! ```
//! [`GruVariant::ResetBefore`] (Keras `reset_after=False`, Keras 1/2's default; Cho et al.
//! 2014): the reset gate scales `h_{t-1}` before the recurrent product, one bias per gate:
//! ```text
//! n   = tanh(W_in x_t + (b_in + b_hn) + W_hn (r ⊙ h_{t-1}))
//! ```
//! with r, z and `h_t` as above. `σ` is the layer's [`RecurrentActivation`]; the weights
//! are in the [`GruWeights`] layout `[K][3][H]` (`b` holds `b_ir + b_hr`, `b_iz + b_hz`,
//! `b_in`; `b_hn` apart).
//!
//! # What a step records (for backward)
//! The activated gates `[3][H]` (r, z, n) and `hn` `[H]`: `W_hn h_{t-1} + b_hn` under
//! reset-after (`dL/dr` needs it), `r ⊙ h_{t-1}` under reset-before (`dL/dW_hn` needs it).

mod scalar;
mod simd;

use core::ops::{Add, Mul, Sub};

use crate::activation::{
    Activate, Maths, Policy, RecurrentActivation, tanh_derivative_from_output,
};
pub use crate::gru_weights::GruVariant;
use crate::gru_weights::GruWeights;
use crate::primitives::Primitives;
use crate::real::Real;

/// Arithmetic and the activations on a scalar or on a vector of lanes: what the GRU's
/// element-wise maths is written on once, for both backends.
pub trait Arith: Activate + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> {}

impl<T: Activate + Add<Output = T> + Sub<Output = T> + Mul<Output = T>> Arith for T {}

/// An element-wise function of `I` values per unit to `O` values per unit, generic over
/// scalars and lane vectors ([`GruKernels::map_units`] applies it to every unit).
pub trait UnitMap<const I: usize, const O: usize>: Copy {
    /// The function on one unit (or one vector of units).
    fn apply<T: Arith>(self, v: [T; I]) -> [T; O];
}

/// Reset-after update: `[a_r, a_z, a_in, a_hr, a_hz, a_hn, h_{t-1}]` (input and recurrent
/// pre-activations) to `[r, z, n, h_t]`.
#[derive(Clone, Copy, Debug)]
pub struct AfterUpdate<P>(pub P);

impl<P: Policy> UnitMap<7, 4> for AfterUpdate<P> {
    #[inline(always)]
    fn apply<T: Arith>(self, [ir, iz, inn, hr, hz, hn, h]: [T; 7]) -> [T; 4] {
        let r = self.0.gate(ir + hr);
        let z = self.0.gate(iz + hz);
        let n = self.0.tanh(inn + r * hn);
        [r, z, n, n + z * (h - n)]
    }
}

/// Reset-before, first half: `[a_ir, a_iz, a_hr, a_hz, h_{t-1}]` to `[r, z, r ⊙ h_{t-1}]`.
#[derive(Clone, Copy, Debug)]
pub struct BeforeGates<P>(pub P);

impl<P: Policy> UnitMap<5, 3> for BeforeGates<P> {
    #[inline(always)]
    fn apply<T: Arith>(self, [ir, iz, hr, hz, h]: [T; 5]) -> [T; 3] {
        let r = self.0.gate(ir + hr);
        [r, self.0.gate(iz + hz), r * h]
    }
}

/// Reset-before, second half: `[a_n, z, h_{t-1}]` to `[n, h_t]`.
#[derive(Clone, Copy, Debug)]
pub struct BeforeUpdate<P>(pub P);

impl<P: Policy> UnitMap<3, 2> for BeforeUpdate<P> {
    #[inline(always)]
    fn apply<T: Arith>(self, [an, z, h]: [T; 3]) -> [T; 2] {
        let n = self.0.tanh(an);
        [n, n + z * (h - n)]
    }
}

/// The numeric kernels of a GRU cell (equations and shapes in the [module docs](self)).
pub trait GruKernels<F: Real + Activate>: Primitives<F> {
    /// Applies `m` to every unit: unit `j` reads `ins[q][j]` and writes `outs[q][j]`
    /// (slices of equal length; extra elements are ignored). The default is a plain loop;
    /// [`Simd`](crate::primitives::Simd) runs 8 units per vector.
    #[inline(always)]
    fn map_units<M: UnitMap<I, O>, const I: usize, const O: usize>(
        m: M,
        ins: [&[F]; I],
        mut outs: [&mut [F]; O],
    ) {
        let n = ins
            .iter()
            .map(|s| s.len())
            .chain(outs.iter().map(|s| s.len()))
            .min();
        for j in 0..n.unwrap_or(0) {
            let v = m.apply(ins.map(|s| s[j]));
            for (o, y) in outs.iter_mut().zip(v) {
                o[j] = y;
            }
        }
    }

    /// One GRU step with the record backward needs: reads `x` (`[IN]`) and `h_prev`
    /// (`h_{t-1}`, `[H]`), writes `h` (`h_t`), `gates` (r, z, n, `[3][H]`) and `hn` (see
    /// the [module docs](self)); all three outputs are write-only.
    ///
    /// The default runs the slice primitives (`gemv_t_acc`, `axpy`) and
    /// [`Self::map_units`]: input pre-activations `b + W_ihᵀ x` (reset-before: `b_hn` added
    /// to the n bias first), recurrent ones `W_hhᵀ h_{t-1}` (reset-after: from `b_hn` in the
    /// n block), each summed in index order; [`Scalar`](crate::primitives::Scalar)
    /// overrides it with fused per-unit loops in the same order (the same bits).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
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
        let mut ai = w.b;
        if variant == GruVariant::ResetBefore {
            for (b, &c) in ai[2].iter_mut().zip(&w.b_hn) {
                *b += c;
            }
        }
        Self::gemv_t_acc(ai.as_flattened_mut(), w.w_ih_flat(), x);
        let [ir, iz, inn] = &ai;
        let [gr, gz, gn] = gates;
        match variant {
            GruVariant::ResetAfter => {
                let mut ah = [[F::ZERO; H]; 3];
                ah[2] = w.b_hn;
                Self::gemv_t_acc(ah.as_flattened_mut(), w.w_hh_flat(), h_prev);
                let [hr, hz, hnn] = &ah;
                crate::with_policy!(act, maths, |p| Self::map_units(
                    AfterUpdate(p),
                    [ir, iz, inn, hr, hz, hnn, h_prev],
                    [gr, gz, gn, h]
                ));
                *hn = ah[2];
            }
            GruVariant::ResetBefore => {
                let mut ah = [[F::ZERO; H]; 2];
                for (row, &v) in w.w_hh.iter().zip(h_prev) {
                    if let Some(rz) = row.as_flattened().get(..2 * H) {
                        Self::axpy(ah.as_flattened_mut(), v, rz);
                    }
                }
                let [hr, hz] = &ah;
                crate::with_policy!(act, maths, |p| Self::map_units(
                    BeforeGates(p),
                    [ir, iz, hr, hz, h_prev],
                    [&mut *gr, &mut *gz, &mut *hn]
                ));
                let mut an = *inn;
                for (row, &v) in w.w_hh.iter().zip(hn.iter()) {
                    Self::axpy(&mut an, v, &row[2]);
                }
                crate::with_policy!(act, maths, |p| Self::map_units(
                    BeforeUpdate(p),
                    [&an, gz, h_prev],
                    [gn, h]
                ));
            }
        }
    }

    /// [`Self::gru_step`] without the record (inference): advances `h` in place. Same bits
    /// as `gru_step`. The default runs it with scratch buffers;
    /// [`Scalar`](crate::primitives::Scalar) overrides it so the gates stay in registers.
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
        let mut gates = [[F::ZERO; H]; 3];
        let mut hn = [F::ZERO; H];
        Self::gru_step(act, maths, variant, w, x, &h_prev, h, &mut gates, &mut hn);
    }

    /// Backward through one recorded step (shared by both backends: the element-wise part
    /// is a plain loop over the units, the products the backend's primitives).
    ///
    /// Reads the step's `x`, `h_prev`, `gates`, `hn` and `dh = dL/dh_t` (the loss's share
    /// plus what flows back from `t + 1`). Writes `dh_prev = dL/dh_{t-1}` and, if given,
    /// `dx = dL/dx_t`; accumulates (`+=`) every parameter's gradient into `grads`.
    /// With `a` the pre-activations: `dn = dh ⊙ (1 - z)`, `dz = dh ⊙ (h_{t-1} - n)`,
    /// `da_n = dn ⊙ (1 - n²)`, then reset-after `da_hn = da_n ⊙ r`, `dr = da_n ⊙ hn`;
    /// reset-before `d(r⊙h) = W_hn da_n`, `dr = d(r⊙h) ⊙ h_{t-1}`.
    #[allow(clippy::too_many_arguments)]
    fn gru_backward<const IN: usize, const H: usize>(
        act: RecurrentActivation,
        variant: GruVariant,
        w: &GruWeights<IN, H, F>,
        x: &[F; IN],
        h_prev: &[F; H],
        gates: &[[F; H]; 3],
        hn: &[F; H],
        dh: &[F; H],
        dh_prev: &mut [F; H],
        grads: &mut GruWeights<IN, H, F>,
        dx: Option<&mut [F; IN]>,
    ) {
        let [r, z, n] = gates;
        // dzi: dL/d(input pre-activations) r, z, n; da_hn: the n block of the recurrent ones.
        let mut dzi = [[F::ZERO; H]; 3];
        let mut da_hn = [F::ZERO; H];
        for j in 0..H {
            let dn = dh[j] * (F::ONE - z[j]);
            let da_n = dn * tanh_derivative_from_output(n[j]);
            dzi[1][j] = dh[j] * (h_prev[j] - n[j]) * act.derivative_from_output(z[j]);
            dzi[2][j] = da_n;
            dh_prev[j] = dh[j] * z[j];
            if variant == GruVariant::ResetAfter {
                da_hn[j] = da_n * r[j];
                dzi[0][j] = da_n * hn[j] * act.derivative_from_output(r[j]);
            }
        }
        match variant {
            GruVariant::ResetAfter => {
                let mut dzh = dzi;
                dzh[2] = da_hn;
                let dzh = dzh.as_flattened();
                Self::ger_acc(grads.w_hh_flat_mut(), h_prev, dzh);
                Self::gemv_acc(dh_prev, w.w_hh_flat(), dzh);
            }
            GruVariant::ResetBefore => {
                // d(r ⊙ h_{t-1})[k] = W_hn[k] · da_n, then the reset gate's share.
                for (k, row) in w.w_hh.iter().enumerate() {
                    let mut d_rh = [F::ZERO];
                    Self::gemv_acc(&mut d_rh, &row[2], &dzi[2]);
                    dzi[0][k] = d_rh[0] * h_prev[k] * act.derivative_from_output(r[k]);
                    dh_prev[k] += d_rh[0] * r[k];
                }
                let (drz, dan) = dzi.split_at(2);
                let drz = drz.as_flattened();
                for (k, (g, row)) in grads.w_hh.iter_mut().zip(&w.w_hh).enumerate() {
                    let (g_rz, g_n) = g.split_at_mut(2);
                    Self::axpy(g_rz.as_flattened_mut(), h_prev[k], drz);
                    Self::axpy(&mut g_n[0], hn[k], &dan[0]);
                    let mut d = [F::ZERO];
                    Self::gemv_acc(&mut d, &row.as_flattened()[..2 * H], drz);
                    dh_prev[k] += d[0];
                }
                // b_hn gets no gradient: the reset-before cell has one n bias (Keras'
                // `reset_after=False`), `b[n]`; b_hn only adds to it (0 when imported from
                // Keras). Training both would move their sum at twice the rate.
            }
        }
        let dzi = dzi.as_flattened();
        Self::ger_acc(grads.w_ih_flat_mut(), x, dzi);
        for (b, &d) in grads.b_flat_mut().iter_mut().zip(dzi) {
            *b += d;
        }
        for (b, &d) in grads.b_hn.iter_mut().zip(&da_hn) {
            *b += d;
        }
        if let Some(dx) = dx {
            *dx = [F::ZERO; IN];
            Self::gemv_acc(dx, w.w_ih_flat(), dzi);
        }
    }
}
