//! Forward-step benches (batch 1, stateful): the kernel vs the naive scalar baseline, for the
//! four reference sizes, with and without a `Dense(H -> 1)` + sigmoid head; plus a batch of
//! 110 streams. Throughput is in multiply-adds (`4H (IN + H)` per step) so criterion prints
//! MAC/s; `scripts/bench-table.sh` turns the estimates into the Markdown table of
//! `docs/performance.md`.
//!
//! Ids: `forward_step/<variant>/IN<in>_H<h>` with variant `ours` (exact activations),
//! `ours_fast` (`Maths::Fast`), `ours_dense` (with the head), `naive` (the baseline).

mod common;

use std::hint::black_box;

use common::{Naive, input, model};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lstm_kernel::{BatchState, LstmState, Maths, Recurrent};

/// Benches one size; `K = IN + H`, `G = 4H` are the naive baseline's array sizes.
fn size<const IN: usize, const H: usize, const K: usize, const G: usize>(c: &mut Criterion) {
    let id = format!("IN{IN}_H{H}");
    let m = model::<IN, H>(42);
    let naive = Naive::<IN, H, K, G>::from_weights(&m.rnn.weights);
    // A fixed array indexed by `t & 63`: no bounds check in the timed loop.
    let xs: [[f32; IN]; 64] = core::array::from_fn(input::<IN>);
    let mut g = c.benchmark_group("forward_step");
    g.throughput(Throughput::Elements((4 * H * (IN + H)) as u64));

    g.bench_function(BenchmarkId::new("ours", &id), |b| {
        let lstm = black_box(m.rnn);
        let mut s = LstmState::zeroed();
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            lstm.step(black_box(&xs[t]), &mut s);
            black_box(&s);
        });
    });
    g.bench_function(BenchmarkId::new("ours_fast", &id), |b| {
        let lstm = black_box(m.rnn.with_maths(Maths::Fast));
        let mut s = LstmState::zeroed();
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            lstm.step(black_box(&xs[t]), &mut s);
            black_box(&s);
        });
    });
    g.bench_function(BenchmarkId::new("ours_dense", &id), |b| {
        let model = black_box(m);
        let mut s = LstmState::zeroed();
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            let [logit] = model.step(black_box(&xs[t]), &mut s);
            black_box(1.0 / (1.0 + (-logit).exp()))
        });
    });
    g.bench_function(BenchmarkId::new("naive", &id), |b| {
        let naive = black_box(&naive);
        let (mut h, mut cs) = ([0.0; H], [0.0; H]);
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            naive.step(black_box(&xs[t]), &mut h, &mut cs);
            black_box((&h, &cs));
        });
    });
    g.finish();
}

fn sizes(c: &mut Criterion) {
    size::<1, 10, 11, 40>(c);
    size::<1, 32, 33, 128>(c);
    size::<8, 64, 72, 256>(c);
    size::<32, 128, 160, 512>(c);
}

/// 110 independent streams of `LSTM(1 -> 10)` (the post's validation batch), one step each.
fn batch(c: &mut Criterion) {
    const B: usize = 110;
    let m = model::<1, 10>(7);
    let xs: [[f32; 1]; B] = core::array::from_fn(input::<1>);
    let mut g = c.benchmark_group("step_batch");
    g.throughput(Throughput::Elements(B as u64));
    g.bench_function(BenchmarkId::new("ours", "B110_IN1_H10"), |b| {
        let lstm = black_box(m.rnn);
        let mut s = BatchState::<B, LstmState<10>>::zeroed();
        b.iter(|| {
            lstm.step_batch(black_box(&xs), &mut s);
            black_box(&s);
        });
    });
    g.finish();
}

criterion_group!(benches, sizes, batch);
criterion_main!(benches);
