//! The plain-loop primitives over any [`Real`].

use super::{Primitives, Scalar};
use crate::real::Real;

impl<F: Real> Primitives<F> for Scalar {
    fn gemv_t_acc(z: &mut [F], w: &[F], v: &[F]) {
        let n = z.len();
        debug_assert_eq!(w.len(), v.len() * n);
        // `chunks_exact(0)` would panic; the early return also lets the compiler drop that
        // check when the sizes are only known at run time (no panic path on Cortex-M).
        if n == 0 {
            return;
        }
        for (row, &vk) in w.chunks_exact(n).zip(v) {
            for (zj, &wj) in z.iter_mut().zip(row) {
                *zj += vk * wj;
            }
        }
    }

    fn gemv_acc(out: &mut [F], w: &[F], dz: &[F]) {
        let n = dz.len();
        debug_assert_eq!(w.len(), out.len() * n);
        if n == 0 {
            return;
        }
        for (o, row) in out.iter_mut().zip(w.chunks_exact(n)) {
            let mut s = F::ZERO;
            for (&wj, &z) in row.iter().zip(dz) {
                s += wj * z;
            }
            *o += s;
        }
    }

    fn ger_acc(dw: &mut [F], v: &[F], dz: &[F]) {
        let n = dz.len();
        debug_assert_eq!(dw.len(), v.len() * n);
        if n == 0 {
            return;
        }
        for (row, &vk) in dw.chunks_exact_mut(n).zip(v) {
            Self::axpy(row, vk, dz);
        }
    }

    fn axpy(y: &mut [F], a: F, x: &[F]) {
        debug_assert_eq!(y.len(), x.len());
        for (yv, &xv) in y.iter_mut().zip(x) {
            *yv += a * xv;
        }
    }
}
