//! Forward-step benches (batch 1, stateful): the kernel vs the naive scalar baseline, for the
//! four reference sizes, with and without a `Dense(H -> 1)` + sigmoid head; plus batches of
//! independent streams, one after another and in SIMD lanes. Throughput is in multiply-adds
//! (`4H (IN + H)` per step) so criterion prints MAC/s (stream-steps for the batches);
//! `scripts/bench-table.sh` turns the estimates into the Markdown table of
//! `docs/performance.md`.
//!
//! The models live on the heap (`Box`), as a large layer does in a program (a 320 KiB
//! layer copied onto the bench closure's stack made the (32, 128) fast step 4.14 us instead
//! of 3.33 us in one binary, and not in another: placement, not code).
//!
//! Ids: `forward_step/<variant>/IN<in>_H<h>` with variant `ours` (exact activations),
//! `ours_fast` (`Maths::Fast`), `ours_dense` (with the head), `naive` (the baseline).

mod common;

use std::hint::black_box;

use common::{Naive, input, model};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lstm_kernel::{BatchState, LstmState, LstmStreams, Maths, Recurrent, StepStreams};

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
        let lstm = black_box(Box::new(m.rnn));
        let mut s = LstmState::zeroed();
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            lstm.step(black_box(&xs[t]), &mut s);
            black_box(&s);
        });
    });
    g.bench_function(BenchmarkId::new("ours_fast", &id), |b| {
        let lstm = black_box(Box::new(m.rnn.with_maths(Maths::Fast)));
        let mut s = LstmState::zeroed();
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            lstm.step(black_box(&xs[t]), &mut s);
            black_box(&s);
        });
    });
    g.bench_function(BenchmarkId::new("ours_dense", &id), |b| {
        let model = black_box(Box::new(m));
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

/// `B` independent streams of `LSTM(IN -> H)`, one step each: `step_batch` (one stream after
/// another, `BatchState`) against `step_streams` (the streams in SIMD lanes,
/// `LstmStreams`), exact and fast activations. Throughput in stream-steps, so criterion's
/// time per element is the time per stream-step. Ids `step_batch/<variant>/B<b>_IN<in>_H<h>`
/// with variant `rows` (step_batch), `lanes`, `lanes_fast`.
fn streams<const IN: usize, const H: usize, const B: usize>(c: &mut Criterion) {
    let id = format!("B{B}_IN{IN}_H{H}");
    let m = model::<IN, H>(7);
    let rows: [[f32; IN]; B] = core::array::from_fn(input::<IN>);
    let lanes: [[f32; B]; IN] = core::array::from_fn(|k| core::array::from_fn(|b| rows[b][k]));
    let mut g = c.benchmark_group("step_batch");
    g.throughput(Throughput::Elements(B as u64));
    g.bench_function(BenchmarkId::new("rows", &id), |b| {
        let lstm = black_box(Box::new(m.rnn));
        let mut s = BatchState::<B, LstmState<H>>::zeroed();
        b.iter(|| {
            lstm.step_batch(black_box(&rows), &mut s);
            black_box(&s);
        });
    });
    for (name, maths) in [("lanes", Maths::Exact), ("lanes_fast", Maths::Fast)] {
        g.bench_function(BenchmarkId::new(name, &id), |b| {
            let lstm = black_box(Box::new(m.rnn.with_maths(maths)));
            let mut s = LstmStreams::<H, B>::zeroed();
            b.iter(|| {
                lstm.step_streams(black_box(&lanes), &mut s);
                black_box(&s);
            });
        });
    }
    g.finish();
}

/// The post's validation batch (110 streams of `LSTM(1 -> 10)`) and batches of 64 at the
/// larger sizes.
fn batch(c: &mut Criterion) {
    streams::<1, 10, 110>(c);
    streams::<1, 32, 64>(c);
    streams::<8, 64, 64>(c);
}

criterion_group!(benches, sizes, batch);
criterion_main!(benches);
