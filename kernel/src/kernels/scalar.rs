//! Plain-loop kernels over any [`Real`]: the reference the SIMD path is tested against and
//! the path the `f64` gradient checks run on.

use super::Kernels;
use crate::activation::{Maths, RecurrentActivation, tanh_derivative_from_output};
use crate::real::Real;

/// Scalar reference kernels (any [`Real`]). Exact transcendentals from `libm`; the
/// [`Maths::Fast`] formulas of [`crate::activation`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Scalar;

impl<F: Real> Kernels<F> for Scalar {
    fn preact(z: &mut [F], b: &[F], w_ih: &[F], x: &[F], w_hh: &[F], h: &[F]) {
        let n = z.len();
        debug_assert_eq!(b.len(), n);
        debug_assert_eq!(w_ih.len(), x.len() * n);
        debug_assert_eq!(w_hh.len(), h.len() * n);
        z.copy_from_slice(b);
        for (w, v) in [(w_ih, x), (w_hh, h)] {
            for (row, &vk) in w.chunks_exact(n).zip(v) {
                for (zj, &wj) in z.iter_mut().zip(row) {
                    *zj += vk * wj;
                }
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
        let (i, rest) = gates.split_at_mut(hn);
        let (f, rest) = rest.split_at_mut(hn);
        let (g, o) = rest.split_at_mut(hn);
        for j in 0..hn.min(h.len()).min(tanh_c.len()).min(o.len()) {
            i[j] = act.apply_with(maths, i[j]);
            f[j] = act.apply_with(maths, f[j]);
            g[j] = maths.tanh(g[j]);
            o[j] = act.apply_with(maths, o[j]);
            c[j] = f[j] * c[j] + i[j] * g[j];
            tanh_c[j] = maths.tanh(c[j]);
            h[j] = o[j] * tanh_c[j];
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
        let (i, rest) = gates.split_at(hn);
        let (f, rest) = rest.split_at(hn);
        let (g, o) = rest.split_at(hn);
        let (dz_i, rest) = dz.split_at_mut(hn);
        let (dz_f, rest) = rest.split_at_mut(hn);
        let (dz_g, dz_o) = rest.split_at_mut(hn);
        let len = hn
            .min(c_prev.len())
            .min(tanh_c.len())
            .min(dh.len())
            .min(o.len());
        for j in 0..len.min(dz_o.len()) {
            let dct = dc[j] + dh[j] * o[j] * tanh_derivative_from_output(tanh_c[j]);
            dz_i[j] = dct * g[j] * act.derivative_from_output(i[j]);
            dz_f[j] = dct * c_prev[j] * act.derivative_from_output(f[j]);
            dz_g[j] = dct * i[j] * tanh_derivative_from_output(g[j]);
            dz_o[j] = dh[j] * tanh_c[j] * act.derivative_from_output(o[j]);
            dc[j] = dct * f[j];
        }
    }

    fn outer_acc(dw: &mut [F], v: &[F], dz: &[F]) {
        let n = dz.len();
        debug_assert_eq!(dw.len(), v.len() * n);
        for (row, &vk) in dw.chunks_exact_mut(n).zip(v) {
            for (d, &z) in row.iter_mut().zip(dz) {
                *d += vk * z;
            }
        }
    }

    fn matvec_acc(out: &mut [F], w: &[F], dz: &[F]) {
        let n = dz.len();
        debug_assert_eq!(w.len(), out.len() * n);
        for (o, row) in out.iter_mut().zip(w.chunks_exact(n)) {
            let mut s = F::ZERO;
            for (&wj, &z) in row.iter().zip(dz) {
                s += wj * z;
            }
            *o += s;
        }
    }
}
