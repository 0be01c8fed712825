//! The primitives on `wide` vectors (`f32`): 8-lane blocks (`f32x8`: AVX with `-C
//! target-cpu=native` or `x86-64-v3`, two SSE2 halves on plain x86-64) with a 4-lane and a
//! scalar tail. Same contracts and summation order as [`super::Scalar`]; Adam is
//! bit-identical to it (no fused operations).

use wide::{f32x4, f32x8};

use super::{AdamUpdate, Primitives, Scalar, Simd};

const LANES: usize = 8;

#[inline(always)]
fn load8(s: &[f32; 8]) -> f32x8 {
    f32x8::new(*s)
}

#[inline(always)]
fn load4(s: &[f32; 4]) -> f32x4 {
    f32x4::new(*s)
}

/// The columns of `gemv_t_acc` past its 8-lane blocks, for one row: `zt` is the last
/// `zt.len()` of the `n` columns of `z`; 4-lane blocks then single columns, each summed over
/// the rows of `w` in index order (the order every implementation keeps).
#[inline(always)]
fn gemv_t_tail(zt: &mut [f32], w: &[f32], v: &[f32], n: usize) {
    let rows = || w.chunks_exact(n).zip(v);
    let tail = n - zt.len();
    let (z4, zr) = zt.as_chunks_mut::<4>();
    for z in z4 {
        let mut acc = load4(z);
        for (row, &vk) in rows() {
            if let Some(r) = row.get(tail..).and_then(|r| r.first_chunk::<4>()) {
                acc = f32x4::splat(vk).mul_add(load4(r), acc);
            }
        }
        *z = acc.to_array();
    }
    let base = n - zr.len();
    for (j, z) in zr.iter_mut().enumerate() {
        for (row, &vk) in rows() {
            *z += vk * row.get(base + j).copied().unwrap_or(0.0);
        }
    }
}

/// `axpy` past its 8-lane blocks: a 4-lane block, then single elements.
#[inline(always)]
fn axpy_tail(yt: &mut [f32], a: f32, xt: &[f32]) {
    let (y4, yr) = yt.as_chunks_mut::<4>();
    let (x4, xr) = xt.as_chunks::<4>();
    for (yb, xb) in y4.iter_mut().zip(x4) {
        *yb = f32x4::splat(a).mul_add(load4(xb), load4(yb)).to_array();
    }
    for (yv, &xv) in yr.iter_mut().zip(xr) {
        *yv += a * xv;
    }
}

/// `C` 8-lane column blocks (vectors `col..col + C`) of `R` rows of the broadcast product:
/// accumulate over every row of `w`, store once.
#[inline(always)]
fn gemm_t_block<const R: usize, const C: usize>(
    z: &mut [&mut [f32]; R],
    w: &[f32],
    v: &[&[f32]; R],
    n: usize,
    col: usize,
) {
    // Whole `C`-vector chunks (the caller keeps `col + C` within the blocks), so the loads
    // and stores below are `C` vector moves, not a copy of a run-time length.
    let mut acc = [[f32x8::ZERO; C]; R];
    for (a, z) in acc.iter_mut().zip(z.iter()) {
        let (zc, _) = z.as_chunks::<LANES>();
        if let Some(zb) = zc.get(col..).and_then(|r| r.first_chunk::<C>()) {
            *a = core::array::from_fn(|u| load8(&zb[u]));
        }
    }
    for (k, row) in w.chunks_exact(n).enumerate() {
        let (rc, _) = row.as_chunks::<LANES>();
        let Some(wb) = rc.get(col..).and_then(|r| r.first_chunk::<C>()) else {
            continue;
        };
        let wv: [f32x8; C] = core::array::from_fn(|u| load8(&wb[u]));
        for (a, v) in acc.iter_mut().zip(v) {
            let vk = f32x8::splat(v.get(k).copied().unwrap_or(0.0));
            for (a, &wv) in a.iter_mut().zip(&wv) {
                *a = vk.mul_add(wv, *a);
            }
        }
    }
    for (a, z) in acc.iter().zip(z.iter_mut()) {
        let (zc, _) = z.as_chunks_mut::<LANES>();
        if let Some(zb) = zc.get_mut(col..).and_then(|r| r.first_chunk_mut::<C>()) {
            for (zb, a) in zb.iter_mut().zip(a) {
                *zb = a.to_array();
            }
        }
    }
}

/// The `R` dot products `w · dz[r]` (`w` one row `[N]`), each as `gemv_acc` sums it: one
/// 8-lane accumulator over the blocks, reduced, then the scalar tail.
#[inline(always)]
fn dots<const R: usize>(w: &[f32], dzc: &[(&[[f32; LANES]], &[f32]); R]) -> [f32; R] {
    let (rc, rt) = w.as_chunks::<LANES>();
    let mut acc = [f32x8::ZERO; R];
    for (c, wb) in rc.iter().enumerate() {
        let wv = load8(wb);
        for (a, (dc, _)) in acc.iter_mut().zip(dzc) {
            if let Some(d) = dc.get(c) {
                *a = wv.mul_add(load8(d), *a);
            }
        }
    }
    core::array::from_fn(|r| {
        let mut s = acc[r].reduce_add();
        for (&a, &b) in rt.iter().zip(dzc[r].1) {
            s += a * b;
        }
        s
    })
}

impl Primitives<f32> for Simd {
    fn gemv_t_acc(z: &mut [f32], w: &[f32], v: &[f32]) {
        let n = z.len();
        debug_assert_eq!(w.len(), v.len() * n);
        if n == 0 {
            return;
        }
        let rows = || w.chunks_exact(n).zip(v);
        let (zc, zt) = z.as_chunks_mut::<LANES>();
        // Register blocks of 4 vectors: accumulate over every row, store once.
        let mut col = 0;
        for blk in zc.chunks_mut(4) {
            let mut acc: [f32x8; 4] =
                core::array::from_fn(|u| blk.get(u).map_or(f32x8::ZERO, load8));
            for (row, &vk) in rows() {
                let vk = f32x8::splat(vk);
                let (rc, _) = row.as_chunks::<LANES>();
                if let Some(r) = rc.get(col..) {
                    for (z, wv) in acc.iter_mut().zip(r) {
                        *z = vk.mul_add(load8(wv), *z);
                    }
                }
            }
            for (d, z) in blk.iter_mut().zip(acc) {
                *d = z.to_array();
            }
            col += 4;
        }
        gemv_t_tail(zt, w, v, n);
    }

    fn gemv_acc(out: &mut [f32], w: &[f32], dz: &[f32]) {
        let n = dz.len();
        debug_assert_eq!(w.len(), out.len() * n);
        if n == 0 {
            return;
        }
        let (dzc, dzt) = dz.as_chunks::<LANES>();
        for (o, row) in out.iter_mut().zip(w.chunks_exact(n)) {
            let (rc, rt) = row.as_chunks::<LANES>();
            let mut acc = f32x8::ZERO;
            for (r, d) in rc.iter().zip(dzc) {
                acc = load8(r).mul_add(load8(d), acc);
            }
            let mut s = acc.reduce_add();
            for (&r, &d) in rt.iter().zip(dzt) {
                s += r * d;
            }
            *o += s;
        }
    }

    fn ger_acc(dw: &mut [f32], v: &[f32], dz: &[f32]) {
        let n = dz.len();
        debug_assert_eq!(dw.len(), v.len() * n);
        if n == 0 {
            return;
        }
        for (row, &vk) in dw.chunks_exact_mut(n).zip(v) {
            Self::axpy(row, vk, dz);
        }
    }

    fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
        let (yc, yt) = y.as_chunks_mut::<LANES>();
        let (xc, xt) = x.as_chunks::<LANES>();
        let a8 = f32x8::splat(a);
        for (yb, xb) in yc.iter_mut().zip(xc) {
            *yb = a8.mul_add(load8(xb), load8(yb)).to_array();
        }
        axpy_tail(yt, a, xt);
    }

    /// Column blocks of 2 vectors for all `R` rows: each weight vector is loaded once and
    /// multiplied into `R` accumulators (`2R` live vectors: 8 of AVX2's 16 registers at
    /// `R = 4`); per element the same multiply-adds in the same order as `gemv_t_acc`.
    fn gemm_t_acc_rows<const R: usize>(z: [&mut [f32]; R], w: &[f32], v: [&[f32]; R]) {
        let Some(n) = z.first().map(|z| z.len()) else {
            return;
        };
        debug_assert!(z.iter().all(|z| z.len() == n));
        debug_assert!(v.iter().all(|v| w.len() == v.len() * n));
        if n == 0 {
            return;
        }
        let mut z = z;
        let blocks = n / LANES;
        let mut col = 0;
        while col + 2 <= blocks {
            gemm_t_block::<R, 2>(&mut z, w, &v, n, col);
            col += 2;
        }
        if col < blocks {
            gemm_t_block::<R, 1>(&mut z, w, &v, n, col);
        }
        for (z, v) in z.iter_mut().zip(v) {
            if let Some(zt) = z.get_mut(blocks * LANES..) {
                gemv_t_tail(zt, w, v, n);
            }
        }
    }

    /// Two weight rows at a time against all `R` rows of `dz`: `2R` independent dot
    /// products in flight (one dependent chain per row would wait on the multiply-add
    /// latency), each summed exactly as `gemv_acc` sums it.
    fn gemv_acc_rows<const R: usize>(out: [&mut [f32]; R], w: &[f32], dz: [&[f32]; R]) {
        let Some(n) = dz.first().map(|d| d.len()) else {
            return;
        };
        debug_assert!(dz.iter().all(|d| d.len() == n));
        debug_assert!(out.iter().all(|o| w.len() == o.len() * n));
        if n == 0 {
            return;
        }
        let mut out = out;
        let dzc: [(&[[f32; LANES]], &[f32]); R] = core::array::from_fn(|r| dz[r].as_chunks());
        let mut pairs = w.chunks_exact(2 * n);
        let mut k = 0;
        for pair in pairs.by_ref() {
            let (w0, w1) = pair.split_at(n);
            let s0 = dots::<R>(w0, &dzc);
            let s1 = dots::<R>(w1, &dzc);
            for (o, (a, b)) in out.iter_mut().zip(s0.into_iter().zip(s1)) {
                if let Some([o0, o1]) = o.get_mut(k..k + 2).and_then(|o| o.first_chunk_mut()) {
                    *o0 += a;
                    *o1 += b;
                }
            }
            k += 2;
        }
        let last = pairs.remainder();
        if last.len() == n {
            let s = dots::<R>(last, &dzc);
            for (o, a) in out.iter_mut().zip(s) {
                if let Some(o) = o.get_mut(k) {
                    *o += a;
                }
            }
        }
    }

    /// Each vector of `dw` is loaded once, receives the `R` rows' multiply-adds in row
    /// order (as `R` `ger_acc` calls would) and is stored once.
    fn ger_acc_rows<const R: usize>(dw: &mut [f32], v: [&[f32]; R], dz: [&[f32]; R]) {
        let Some(n) = dz.first().map(|d| d.len()) else {
            return;
        };
        debug_assert!(dz.iter().all(|d| d.len() == n));
        debug_assert!(v.iter().all(|v| dw.len() == v.len() * n));
        if n == 0 {
            return;
        }
        let dzc: [(&[[f32; LANES]], &[f32]); R] = core::array::from_fn(|r| dz[r].as_chunks());
        for (k, row) in dw.chunks_exact_mut(n).enumerate() {
            let a: [f32; R] = core::array::from_fn(|r| v[r].get(k).copied().unwrap_or(0.0));
            let a8 = a.map(f32x8::splat);
            let (yc, yt) = row.as_chunks_mut::<LANES>();
            for (c, yb) in yc.iter_mut().enumerate() {
                let mut y = load8(yb);
                for (a8, (xc, _)) in a8.iter().zip(&dzc) {
                    if let Some(xb) = xc.get(c) {
                        y = a8.mul_add(load8(xb), y);
                    }
                }
                *yb = y.to_array();
            }
            for (&a, (_, xt)) in a.iter().zip(&dzc) {
                axpy_tail(yt, a, xt);
            }
        }
    }

    /// Adam over 8-lane blocks with a scalar tail: the scalar formula's operations in the
    /// same order, unfused, so the result is bit-identical to [`Scalar`]'s (IEEE
    /// `+ - * / sqrt` are correctly rounded lane by lane).
    #[inline]
    fn adam_update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], u: AdamUpdate<f32>) {
        let (pc, pt) = p.as_chunks_mut::<LANES>();
        let (gc, gt) = g.as_chunks::<LANES>();
        let (mc, mt) = m.as_chunks_mut::<LANES>();
        let (vc, vt) = v.as_chunks_mut::<LANES>();
        let s = f32x8::splat;
        let (b1, b2, ob1, ob2) = (s(u.beta1), s(u.beta2), s(1.0 - u.beta1), s(1.0 - u.beta2));
        let (step, vs, eps) = (s(u.step), s(u.v_scale), s(u.eps));
        for (((pb, gb), mb), vb) in pc.iter_mut().zip(gc).zip(mc.iter_mut()).zip(vc.iter_mut()) {
            let gv = load8(gb);
            let mv = b1 * load8(mb) + ob1 * gv;
            let vv = b2 * load8(vb) + ob2 * gv * gv;
            *mb = mv.to_array();
            *vb = vv.to_array();
            *pb = (load8(pb) - step * mv / (vv.sqrt() * vs + eps)).to_array();
        }
        <Scalar as Primitives<f32>>::adam_update(pt, gt, mt, vt, u);
    }

    #[inline]
    fn all_finite(x: &[f32]) -> bool {
        // x * 0 is 0 for finite x and NaN for ±inf or NaN; NaN stays NaN through the sum.
        let (xc, xt) = x.as_chunks::<LANES>();
        let mut acc = f32x8::ZERO;
        for b in xc {
            acc += load8(b) * f32x8::ZERO;
        }
        let tail = xt.iter().fold(0.0_f32, |a, &v| a + v * 0.0);
        (acc.reduce_add() + tail) == 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: f32) -> [f32; 128] {
        core::array::from_fn(|i| {
            if i < n {
                libm::sinf(seed * i as f32 + 0.3)
            } else {
                0.0
            }
        })
    }

    /// Every primitive against the scalar twin, for lengths with 8-lane, 4-lane and scalar
    /// tails. The broadcast product and `axpy` sum in the same order (one multiply-add per
    /// element and row), so they differ only by FMA rounding; `gemv_acc` also reorders its
    /// dot products into 8 partial sums: 1e-5 covers both for values below 1 and K <= 7.
    #[test]
    fn simd_primitives_match_the_scalar_twins() {
        for (k, n) in [(1, 1), (3, 5), (2, 8), (7, 12), (4, 20), (3, 21)] {
            let w = values(k * n, 1.3);
            let (w, v, dz) = (&w[..k * n], &values(k, 0.7)[..k], &values(n, 2.1)[..n]);
            let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
            let (mut za, mut zb) = (values(n, 0.2), values(n, 0.2));
            Simd::gemv_t_acc(&mut za[..n], w, v);
            Scalar::gemv_t_acc(&mut zb[..n], w, v);
            assert!(close(&za, &zb), "gemv_t ({k}, {n})");
            let (mut oa, mut ob) = (values(k, 0.9), values(k, 0.9));
            Simd::gemv_acc(&mut oa[..k], w, dz);
            Scalar::gemv_acc(&mut ob[..k], w, dz);
            assert!(close(&oa, &ob), "gemv ({k}, {n})");
            let (mut da, mut db) = (values(k * n, 0.4), values(k * n, 0.4));
            Simd::ger_acc(&mut da[..k * n], v, dz);
            Scalar::ger_acc(&mut db[..k * n], v, dz);
            assert!(close(&da, &db), "ger ({k}, {n})");
            assert_ne!(da, values(k * n, 0.4), "ger moved the values");
        }
    }

    /// The `R`-row primitives against `R` single-row calls of the same backend: the same
    /// operations in the same order, so bit for bit, for `R = 1..=4`, odd `K` (the weight
    /// row pairs of `gemv_acc_rows` leave one over) and `N` with 8-lane, 4-lane and scalar
    /// tails (and an odd number of 8-lane blocks for the 2-block columns of the product).
    #[test]
    fn simd_row_primitives_are_bit_identical_to_single_rows() {
        fn check<const R: usize>(k: usize, n: usize) {
            let w = values(k * n, 1.3);
            let w = &w[..k * n];
            let vs: [[f32; 128]; R] = core::array::from_fn(|r| values(k, 0.7 + r as f32));
            let dzs: [[f32; 128]; R] = core::array::from_fn(|r| values(n, 2.1 + r as f32));
            let mut za: [[f32; 128]; R] = core::array::from_fn(|r| values(n, 0.2 + r as f32));
            let mut zb = za;
            for (z, v) in zb.iter_mut().zip(&vs) {
                Simd::gemv_t_acc(&mut z[..n], w, &v[..k]);
            }
            let rows = za.each_mut().map(|z| &mut z[..n]);
            Simd::gemm_t_acc_rows(rows, w, vs.each_ref().map(|v| &v[..k]));
            assert_eq!(za, zb, "gemm_t rows {R} ({k}, {n})");
            let mut oa: [[f32; 128]; R] = core::array::from_fn(|r| values(k, 0.9 + r as f32));
            let mut ob = oa;
            for (o, dz) in ob.iter_mut().zip(&dzs) {
                Simd::gemv_acc(&mut o[..k], w, &dz[..n]);
            }
            let rows = oa.each_mut().map(|o| &mut o[..k]);
            Simd::gemv_acc_rows(rows, w, dzs.each_ref().map(|d| &d[..n]));
            assert_eq!(oa, ob, "gemv rows {R} ({k}, {n})");
            let (mut da, mut db) = (values(k * n, 0.4), values(k * n, 0.4));
            for (v, dz) in vs.iter().zip(&dzs) {
                Simd::ger_acc(&mut db[..k * n], &v[..k], &dz[..n]);
            }
            let (v, dz) = (
                vs.each_ref().map(|v| &v[..k]),
                dzs.each_ref().map(|d| &d[..n]),
            );
            Simd::ger_acc_rows(&mut da[..k * n], v, dz);
            assert_eq!(da, db, "ger rows {R} ({k}, {n})");
            assert_ne!(da, values(k * n, 0.4), "ger moved the values");
        }
        for (k, n) in [
            (1, 1),
            (3, 5),
            (2, 8),
            (7, 12),
            (4, 20),
            (3, 21),
            (3, 40),
            (5, 24),
            (3, 29),
        ] {
            check::<1>(k, n);
            check::<2>(k, n);
            check::<3>(k, n);
            check::<4>(k, n);
        }
    }

    #[test]
    fn simd_adam_update_is_bit_identical_to_scalar() {
        // 21 elements: two 8-lane blocks and a scalar tail of 5.
        const N: usize = 21;
        let g: [f32; N] =
            core::array::from_fn(|i| libm::sinf(1.7 * i as f32) * 10f32.powi(i as i32 % 7 - 3));
        let u = AdamUpdate {
            beta1: 0.9,
            beta2: 0.999,
            step: 1e-3 * libm::sqrtf(1.0 - 0.999) / (1.0 - 0.9),
            v_scale: 1.0,
            eps: 1e-7,
        };
        let (mut pa, mut ma, mut va) = ([0.5_f32; N], [0.01_f32; N], [1e-4_f32; N]);
        let (mut pb, mut mb, mut vb) = (pa, ma, va);
        for _ in 0..5 {
            Simd::adam_update(&mut pa, &g, &mut ma, &mut va, u);
            Scalar::adam_update(&mut pb, &g, &mut mb, &mut vb, u);
        }
        // Same IEEE operations in the same order, none fused: exactly equal.
        assert_eq!((pa, ma, va), (pb, mb, vb));
        assert_ne!(pa, [0.5; N], "the update moved the parameters");
    }

    #[test]
    fn simd_all_finite_finds_every_non_finite_position() {
        let mut x = [1e38_f32; 19];
        assert!(<Simd as Primitives<f32>>::all_finite(&x));
        for i in 0..19 {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let saved = x[i];
                x[i] = bad;
                assert!(!<Simd as Primitives<f32>>::all_finite(&x), "{bad} at {i}");
                x[i] = saved;
            }
        }
    }
}
