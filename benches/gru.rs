//! GRU benches: the stateful forward step (batch 1) at the four reference sizes, exact and
//! fast maths, against the naive scalar GRU (benches/common) and, in the same group and
//! run, the LSTM of the same size (so the GRU/LSTM time ratio per size comes from one
//! binary and one run), and a reset-before GRU step. The GRU's training update is
//! `train_step/gru/IN1_H10_T1` in benches/training.rs. `scripts/gru-table.sh` runs both
//! and prints the Markdown tables of docs/performance.md.
//!
//! Ids: `gru_step/<variant>/IN<in>_H<h>` with variant `gru` (reset-after, exact), `gru_fast`
//! (`Maths::Fast`), `gru_reset_before`, `naive_gru`, `lstm` (the LSTM's exact step).
//! Throughput: the GRU's multiply-adds per step,
//! `3H (IN + H)`.

mod common;

use std::hint::black_box;

use common::{NaiveGru, gru_model, input, model};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use lstm_kernel::{Gru, GruState, GruVariant, LstmState, Maths, Recurrent};

/// Times `step(x_t, &mut state)` over 64 inputs in turn, the state carried (batch 1).
fn bench_step<I, S, const IN: usize>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    layer: I,
    mut state: S,
    xs: &[[f32; IN]; 64],
    step: impl Fn(&I, &[f32; IN], &mut S),
) {
    g.bench_function(id, |b| {
        let layer = black_box(&layer);
        let mut t = 0;
        b.iter(|| {
            t = (t + 1) & 63;
            step(layer, black_box(&xs[t]), &mut state);
            black_box(&state);
        });
    });
}

/// Benches one size; `G = 3H` is the naive baseline's row count.
fn size<const IN: usize, const H: usize, const G: usize>(c: &mut Criterion) {
    let id = format!("IN{IN}_H{H}");
    let gru = gru_model::<IN, H>(42).rnn;
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
        let id = BenchmarkId::new(name, &id);
        bench_step(&mut g, id, layer, GruState::zeroed(), &xs, |l, x, s| {
            l.step(x, s)
        });
    }
    let naive = NaiveGru::<IN, H, G>::from_weights(&gru.weights);
    let id_naive = BenchmarkId::new("naive_gru", &id);
    bench_step(&mut g, id_naive, naive, [0.0; H], &xs, NaiveGru::step);
    let lstm = model::<IN, H>(42).rnn;
    let id_lstm = BenchmarkId::new("lstm", &id);
    bench_step(
        &mut g,
        id_lstm,
        lstm,
        LstmState::zeroed(),
        &xs,
        |l, x, s| l.step(x, s),
    );
    g.finish();
}

fn sizes(c: &mut Criterion) {
    size::<1, 10, 30>(c);
    size::<1, 32, 96>(c);
    size::<8, 64, 192>(c);
    size::<32, 128, 384>(c);
}

criterion_group!(benches, sizes);
criterion_main!(benches);
