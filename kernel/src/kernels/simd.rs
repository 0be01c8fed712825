//! `f32` kernels on `wide` vectors: 8 lanes (`f32x8`: AVX on x86-64 with `-C
//! target-cpu=native`, two SSE2 halves on plain x86-64, portable scalar arrays on Cortex-M)
//! with a 4-lane (`f32x4`) or padded tail. Same contracts as [`super::Scalar`].
//!
//! The activations are vectorised here too (`simd_sigmoid`, `simd_tanh`): Cephes-style
//! `exp` on `[-87, 0]` with a degree-6 polynomial, and tanh's odd polynomial below
//! `|x| < 0.625`. Measured against libm over the whole `f32` range (see the tests), the
//! maximum absolute error is below `3e-7` for both; they saturate to exactly 0/±1 at
//! infinity and propagate NaN.

use wide::{f32x4, f32x8, i32x8};

use super::Kernels;
use crate::activation::RecurrentActivation;

/// SIMD kernels (`f32` only).
#[derive(Clone, Copy, Debug, Default)]
pub struct Simd;

const LANES: usize = 8;

#[inline(always)]
fn load8(s: &[f32; 8]) -> f32x8 {
    f32x8::new(*s)
}

#[inline(always)]
fn load4(s: &[f32; 4]) -> f32x4 {
    f32x4::new(*s)
}

/// `e^x` for `x <= 0` (inputs below -87 are clamped, giving about `1.6e-38` instead of a
/// subnormal or 0). Cephes `expf` reduction and polynomial.
#[inline(always)]
fn exp_nonpositive(x: f32x8) -> f32x8 {
    let x = x.fast_max(f32x8::splat(-87.0));
    let fx = (x * f32x8::splat(core::f32::consts::LOG2_E)).round();
    let r = fx.mul_neg_add(f32x8::splat(0.693_359_4), x);
    let r = fx.mul_neg_add(f32x8::splat(-2.121_944_4e-4), r);
    let mut p = f32x8::splat(1.987_569_1e-4);
    p = p.mul_add(r, f32x8::splat(1.398_199_9e-3));
    p = p.mul_add(r, f32x8::splat(8.333_452e-3));
    p = p.mul_add(r, f32x8::splat(4.166_579_6e-2));
    p = p.mul_add(r, f32x8::splat(0.166_666_65));
    p = p.mul_add(r, f32x8::splat(0.5));
    let y = p.mul_add(r * r, r) + f32x8::ONE;
    let n = fx.round_int() + i32x8::splat(127);
    let scale: f32x8 = wide::bytemuck::cast(n << 23_i32);
    y * scale
}

/// Vector logistic sigmoid, lane-wise `1 / (1 + e^-x)`; exact limits at ±inf, NaN kept.
#[inline(always)]
pub fn simd_sigmoid(x: f32x8) -> f32x8 {
    let e = exp_nonpositive(-x.abs());
    let pos = f32x8::ONE / (f32x8::ONE + e);
    let neg = e * pos;
    let s = x.simd_ge(f32x8::ZERO).select(pos, neg);
    // x = -inf gives e = 1.6e-38 from the clamp: flush to the exact limit.
    let s = x.simd_lt(f32x8::splat(-87.0)).select(f32x8::ZERO, s);
    x.is_nan().select(x, s)
}

/// Vector hyperbolic tangent; exact ±1 at ±inf, NaN kept.
#[inline(always)]
pub fn simd_tanh(x: f32x8) -> f32x8 {
    let a = x.abs();
    // Large branch: tanh|x| = (1 - e^{-2|x|}) / (1 + e^{-2|x|}), no cancellation for |x| >= 0.625.
    let t = exp_nonpositive(a * f32x8::splat(-2.0));
    let large = (f32x8::ONE - t) / (f32x8::ONE + t);
    // Small branch (Cephes tanhf): x + x^3 P(x^2).
    let z = a * a;
    let mut p = f32x8::splat(-5.704_988_7e-3);
    p = p.mul_add(z, f32x8::splat(2.063_909e-2));
    p = p.mul_add(z, f32x8::splat(-5.373_971_6e-2));
    p = p.mul_add(z, f32x8::splat(0.133_314_42));
    p = p.mul_add(z, f32x8::splat(-0.333_332_8));
    let small = (p * z).mul_add(a, a);
    let r = a.simd_lt(f32x8::splat(0.625)).select(small, large);
    let r = x.simd_lt(f32x8::ZERO).select(-r, r);
    x.is_nan().select(x, r)
}

#[inline(always)]
fn recurrent(act: RecurrentActivation, x: f32x8) -> f32x8 {
    match act.hard_slope() {
        None => simd_sigmoid(x),
        Some((slope, offset)) => {
            let y = x.mul_add(f32x8::splat(slope as f32), f32x8::splat(offset as f32));
            let y = y.fast_max(f32x8::ZERO).fast_min(f32x8::ONE);
            x.is_nan().select(x, y)
        }
    }
}

#[inline(always)]
fn recurrent_derivative(act: RecurrentActivation, y: f32x8) -> f32x8 {
    match act.hard_slope() {
        None => y * (f32x8::ONE - y),
        Some((slope, _)) => {
            let inside = y.simd_gt(f32x8::ZERO) & y.simd_lt(f32x8::ONE);
            inside.select(f32x8::splat(slope as f32), f32x8::ZERO)
        }
    }
}

/// Copies up to 8 values into a zero-padded lane array (for the `H % 8` tail).
#[inline(always)]
fn pad(s: &[f32]) -> [f32; 8] {
    let mut a = [0.0; 8];
    for (d, &v) in a.iter_mut().zip(s) {
        *d = v;
    }
    a
}

#[inline(always)]
fn unpad(d: &mut [f32], a: [f32; 8]) {
    for (d, v) in d.iter_mut().zip(a) {
        *d = v;
    }
}

/// One 8-lane block of the cell update (gate activations, c, tanh(c), h).
#[inline(always)]
fn cell_block(act: RecurrentActivation, g: [&mut [f32; 8]; 4], c: &mut [f32; 8]) -> [f32x8; 2] {
    let [zi, zf, zg, zo] = g;
    let i = recurrent(act, load8(zi));
    let f = recurrent(act, load8(zf));
    let gg = simd_tanh(load8(zg));
    let o = recurrent(act, load8(zo));
    let cn = f.mul_add(load8(c), i * gg);
    let tc = simd_tanh(cn);
    *zi = i.to_array();
    *zf = f.to_array();
    *zg = gg.to_array();
    *zo = o.to_array();
    *c = cn.to_array();
    [tc, o * tc]
}

/// One 8-lane block of the cell backward. Returns `[dz_i, dz_f, dz_g, dz_o, dc_prev]`.
#[inline(always)]
fn cell_backward_block(
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

impl Kernels<f32> for Simd {
    fn preact(z: &mut [f32], b: &[f32], w_ih: &[f32], x: &[f32], w_hh: &[f32], h: &[f32]) {
        let n = z.len();
        debug_assert_eq!(b.len(), n);
        debug_assert_eq!(w_ih.len(), x.len() * n);
        debug_assert_eq!(w_hh.len(), h.len() * n);
        z.copy_from_slice(b);
        if n == 0 {
            return;
        }
        for (w, v) in [(w_ih, x), (w_hh, h)] {
            for (row, &vk) in w.chunks_exact(n).zip(v) {
                Self::axpy(z, vk, row);
            }
        }
    }

    fn cell_forward(
        act: RecurrentActivation,
        gates: &mut [f32],
        c: &mut [f32],
        h: &mut [f32],
        tanh_c: &mut [f32],
    ) {
        let hn = c.len();
        debug_assert_eq!(gates.len(), 4 * hn);
        let (i, rest) = gates.split_at_mut(hn);
        let (f, rest) = rest.split_at_mut(hn);
        let (g, o) = rest.split_at_mut(hn);
        let (ic, it) = i.as_chunks_mut::<LANES>();
        let (fc, ft) = f.as_chunks_mut::<LANES>();
        let (gc, gt) = g.as_chunks_mut::<LANES>();
        let (oc, ot) = o.as_chunks_mut::<LANES>();
        let (cc, ct) = c.as_chunks_mut::<LANES>();
        let (hc, ht) = h.as_chunks_mut::<LANES>();
        let (tcc, tct) = tanh_c.as_chunks_mut::<LANES>();
        let blocks = ic
            .iter_mut()
            .zip(fc)
            .zip(gc)
            .zip(oc)
            .zip(cc)
            .zip(hc)
            .zip(tcc);
        for ((((((zi, zf), zg), zo), c), h), tc) in blocks {
            let [t, hv] = cell_block(act, [zi, zf, zg, zo], c);
            *tc = t.to_array();
            *h = hv.to_array();
        }
        if !ct.is_empty() {
            let mut tail = [pad(it), pad(ft), pad(gt), pad(ot)];
            let mut c8 = pad(ct);
            let [ti, tf, tg, to] = &mut tail;
            let [t, hv] = cell_block(act, [ti, tf, tg, to], &mut c8);
            unpad(it, tail[0]);
            unpad(ft, tail[1]);
            unpad(gt, tail[2]);
            unpad(ot, tail[3]);
            unpad(ct, c8);
            unpad(tct, t.to_array());
            unpad(ht, hv.to_array());
        }
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
        let (i, rest) = gates.split_at(hn);
        let (f, rest) = rest.split_at(hn);
        let (g, o) = rest.split_at(hn);
        let (dz_i, rest) = dz.split_at_mut(hn);
        let (dz_f, rest) = rest.split_at_mut(hn);
        let (dz_g, dz_o) = rest.split_at_mut(hn);
        let mut start = 0;
        while start < hn {
            let end = (start + LANES).min(hn);
            let ld = |s: &[f32]| f32x8::new(pad(s.get(start..end).unwrap_or(&[])));
            let gates = [ld(i), ld(f), ld(g), ld(o)];
            let out = cell_backward_block(act, gates, ld(c_prev), ld(tanh_c), ld(dh), ld(dc));
            let dsts: [&mut [f32]; 5] = [dz_i, dz_f, dz_g, dz_o, dc];
            for (d, v) in dsts.into_iter().zip(out) {
                if let Some(d) = d.get_mut(start..end) {
                    unpad(d, v.to_array());
                }
            }
            start = end;
        }
    }

    fn outer_acc(dw: &mut [f32], v: &[f32], dz: &[f32]) {
        let n = dz.len();
        debug_assert_eq!(dw.len(), v.len() * n);
        if n == 0 {
            return;
        }
        for (row, &vk) in dw.chunks_exact_mut(n).zip(v) {
            Self::axpy(row, vk, dz);
        }
    }

    fn matvec_acc(out: &mut [f32], w: &[f32], dz: &[f32]) {
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
}

impl Simd {
    /// `y += a * x` over 8-lane blocks with a 4-lane and scalar tail.
    #[inline(always)]
    fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
        let (yc, yt) = y.as_chunks_mut::<LANES>();
        let (xc, xt) = x.as_chunks::<LANES>();
        let a8 = f32x8::splat(a);
        for (yb, xb) in yc.iter_mut().zip(xc) {
            *yb = a8.mul_add(load8(xb), load8(yb)).to_array();
        }
        let (y4, yr) = yt.as_chunks_mut::<4>();
        let (x4, xr) = xt.as_chunks::<4>();
        for (yb, xb) in y4.iter_mut().zip(x4) {
            *yb = f32x4::splat(a).mul_add(load4(xb), load4(yb)).to_array();
        }
        for (yv, &xv) in yr.iter_mut().zip(xr) {
            *yv += a * xv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{sigmoid, tanh};

    /// Walks the whole finite f32 range (every 97th bit pattern of each sign, plus edge
    /// values) and returns the maximum absolute error of `simd` vs the libm reference.
    fn max_abs_error(simd: fn(f32x8) -> f32x8, reference: fn(f32) -> f32) -> f32 {
        let mut worst = 0.0_f32;
        let mut check = |xs: [f32; 8]| {
            let got = simd(f32x8::new(xs)).to_array();
            for (x, y) in xs.iter().zip(got) {
                let e = (reference(*x) - y).abs();
                assert!(e.is_finite(), "x={x} got {y}");
                worst = worst.max(e);
            }
        };
        let mut buf = [0.0_f32; 8];
        let mut n = 0;
        let mut bits = 0_u32;
        while bits < 0x7f80_0000 {
            for sign in [0, 0x8000_0000] {
                buf[n] = f32::from_bits(bits | sign);
                n += 1;
                if n == 8 {
                    check(buf);
                    n = 0;
                }
            }
            bits += 97;
        }
        check([0.0, -0.0, 1e-30, 0.625, -0.625, 87.0, -87.0, 88.8]);
        worst
    }

    #[test]
    fn simd_sigmoid_max_abs_error_vs_libm_is_below_3e7() {
        let worst = max_abs_error(simd_sigmoid, sigmoid::<f32>);
        assert!(worst < 3e-7, "sigmoid max abs error {worst:e}");
    }

    #[test]
    fn simd_tanh_max_abs_error_vs_libm_is_below_3e7() {
        let worst = max_abs_error(simd_tanh, tanh::<f32>);
        assert!(worst < 3e-7, "tanh max abs error {worst:e}");
    }

    #[test]
    fn simd_activations_saturate_and_keep_nan() {
        let x = f32x8::new([
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e30,
            -1e30,
            f32::NAN,
            0.0,
            200.0,
            -200.0,
        ]);
        let s = simd_sigmoid(x).to_array();
        let t = simd_tanh(x).to_array();
        assert_eq!(&s[..4], &[1.0, 0.0, 1.0, 0.0]);
        assert!(s[4].is_nan());
        assert_eq!(s[5], 0.5);
        assert_eq!(&t[..4], &[1.0, -1.0, 1.0, -1.0]);
        assert!(t[4].is_nan());
        assert_eq!(t[5], 0.0);
        assert_eq!((t[6], t[7]), (1.0, -1.0));
    }
}
