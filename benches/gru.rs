//! GRU benches: the stateful forward step (batch 1) at the four reference sizes, exact and
//! fast maths, against the naive scalar GRU (benches/common) and, in the same group and
//! run, the LSTM of the same size (so the GRU/LSTM time ratio per size comes from one
//! binary and one run); a reset-before GRU step; and the post's GRU training update.
//! `scripts/gru-table.sh` prints the Markdown table of docs/performance.md.
//!
//! Ids: `gru_step/<variant>/IN<in>_H<h>` with variant `gru` (reset-after, exact), `gru_fast`
//! (`Maths::Fast`), `gru_reset_before`, `naive_gru`, `lstm` (the LSTM's exact step);
//! `gru_train_step/ours/IN1_H10_T1`. Throughput: the GRU's multiply-adds per step,
//! `3H (IN + H)`.

mod common;

use std::hint::black_box;

use common::{NaiveGru, gru_weights, input, model};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lstm_kernel::{
    Adam, AdamConfig, Dense, Grads, Gru, GruState, GruVariant, LstmState, Maths, Model, Recurrent,
    RecurrentActivation, Tape,
};

/// Benches one size; `G = 3H` is the naive baseline's row count.
fn size<const IN: usize, const H: usize, const G: usize>(c: &mut Criterion) {
    let id = format!("IN{IN}_H{H}");
    let w = gru_weights::<IN, H>(42);
    let gru = Gru::new(w, GruVariant::ResetAfter, RecurrentActivation::Sigmoid);
    let naive = NaiveGru::<IN, H, G>::from_weights(&w);
    let lstm = model::<IN, H>(42).rnn;
    let xs: [[f32; IN]; 64] = core::array::from_fn(input::<IN>);
    let mut g = c.benchmark_group("gru_step");
    g.throughput(Throughput::Elements((3 * H * (IN + H)) as u64));
    let variants = [
        ("gru", gru),
        ("gru_fast", gru.with_maths(Maths::Fast)),
        (
            "gru_reset_before",
            Gru {
                variant: GruVariant::ResetBefore,
                ..gru
            },
        ),
    ];
    for (name, layer) in variants {
        g.bench_function(BenchmarkId::new(name, &id), |b| {
            let layer = black_box(layer);
            let mut s = GruState::zeroed();
            let mut t = 0;
            b.iter(|| {
                t = (t + 1) & 63;
                layer.step(black_box(&xs[t]), &mut s);
                black_box(&s);
            });
        });
    }
    g.bench_function(BenchmarkId::new("naive_gru", &id), |b| {
        let naive = black_box(&naive);
        let mut h = [0.0; H];
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            naive.step(black_box(&xs[t]), &mut h);
            black_box(&h);
        });
    });
    g.bench_function(BenchmarkId::new("lstm", &id), |b| {
        let lstm = black_box(lstm);
        let mut s = LstmState::zeroed();
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            lstm.step(black_box(&xs[t]), &mut s);
            black_box(&s);
        });
    });
    g.finish();
}

fn sizes(c: &mut Criterion) {
    size::<1, 10, 30>(c);
    size::<1, 32, 96>(c);
    size::<8, 64, 192>(c);
    size::<32, 128, 384>(c);
}

/// The post's per-step training update on `GRU(1 -> 10) + Dense(10 -> 1)`: BCE on the
/// logit of a T = 1 window, Adam, zeroed gradients (as `train_step/ours/IN1_H10_T1` for the
/// LSTM in `benches/training.rs`).
fn train_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("gru_train_step");
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new("ours", "IN1_H10_T1"), |b| {
        let gru = Gru::new(
            gru_weights::<1, 10>(3),
            GruVariant::ResetAfter,
            RecurrentActivation::Sigmoid,
        );
        let mut m = Model::new(gru, Dense::<10, 1>::zeroed());
        let mut adam = Adam::new(AdamConfig::keras(), Grads::zeroed());
        let mut grads = Grads::zeroed();
        let mut tape = Tape::<1, <Gru<1, 10> as Recurrent<1, 10, f32>>::Record>::new();
        let mut state = GruState::zeroed();
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            let x = [input::<1>(t)];
            let y = [if x[0][0] > 0.0 { 1.0 } else { 0.0 }];
            let loss = m
                .train_sample_bce(black_box(&x), &y, 1.0, &mut state, &mut tape, &mut grads)
                .expect("T = 1 window fits");
            adam.step(&mut m, &grads).expect("finite gradients");
            grads.zero();
            black_box(loss)
        });
    });
    g.finish();
}

criterion_group!(benches, sizes, train_step);
criterion_main!(benches);
