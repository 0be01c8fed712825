//! Activations alone over a buffer of 1024 values spread over `[-8, 8]` (where LSTM
//! pre-activations live): the SIMD kernels (exact and fast) vs the libm scalar reference.
//!
//! Ids: `activations/<fn>/<impl>` with fn `sigmoid` or `tanh` and impl `libm_scalar`,
//! `simd_exact`, `scalar_fast`, `simd_fast`. Throughput: values.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lstm_kernel::activation::Activate;
use lstm_kernel::activation::reference::{sigmoid, tanh};
use wide::f32x8;

const N: usize = 1024;

fn simd_map(f: impl Fn(f32x8) -> f32x8, xs: &[f32; N], out: &mut [f32; N]) {
    let (xc, _) = xs.as_chunks::<8>();
    let (oc, _) = out.as_chunks_mut::<8>();
    for (o, x) in oc.iter_mut().zip(xc) {
        *o = f(f32x8::new(*x)).to_array();
    }
}

fn scalar_map(f: impl Fn(f32) -> f32, xs: &[f32; N], out: &mut [f32; N]) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = f(x);
    }
}

/// Registers one bench (`$map` applies `$f`, statically dispatched so it inlines).
macro_rules! bench {
    ($g:expr, $name:expr, $imp:expr, $map:ident, $f:expr, $xs:expr, $out:expr) => {
        $g.bench_function(BenchmarkId::new($name, $imp), |b| {
            b.iter(|| {
                $map($f, black_box($xs), $out);
                black_box(&*$out);
            });
        });
    };
}

fn activations(c: &mut Criterion) {
    let xs: [f32; N] = core::array::from_fn(|i| 16.0 * (i as f32 / N as f32) - 8.0);
    let out = &mut [0.0_f32; N];
    let mut g = c.benchmark_group("activations");
    g.throughput(Throughput::Elements(N as u64));
    bench!(
        g,
        "sigmoid",
        "libm_scalar",
        scalar_map,
        sigmoid::<f32>,
        &xs,
        out
    );
    bench!(
        g,
        "sigmoid",
        "simd_exact",
        simd_map,
        f32x8::sigmoid_exact,
        &xs,
        out
    );
    bench!(
        g,
        "sigmoid",
        "scalar_fast",
        scalar_map,
        f32::sigmoid_fast,
        &xs,
        out
    );
    bench!(
        g,
        "sigmoid",
        "simd_fast",
        simd_map,
        f32x8::sigmoid_fast,
        &xs,
        out
    );
    bench!(g, "tanh", "libm_scalar", scalar_map, libm_tanh, &xs, out);
    bench!(
        g,
        "tanh",
        "simd_exact",
        simd_map,
        f32x8::tanh_exact,
        &xs,
        out
    );
    bench!(
        g,
        "tanh",
        "scalar_fast",
        scalar_map,
        f32::tanh_fast,
        &xs,
        out
    );
    bench!(g, "tanh", "simd_fast", simd_map, f32x8::tanh_fast, &xs, out);
    g.finish();
}

fn libm_tanh(x: f32) -> f32 {
    tanh(x)
}

criterion_group!(benches, activations);
criterion_main!(benches);
