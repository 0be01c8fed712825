//! Training benches on the post's model `LSTM(1 -> 10) + Dense(10 -> 1)`, BCE on the logit:
//! one per-step training update (T = 1 tape: `Model::train_sample_bce`, `Adam::step`,
//! `Grads::zero`; also for `GRU(1 -> 10)` in its place), BPTT through recorded windows of T = 10 and T = 20, and the Adam update
//! alone (for the post's model and for `LSTM(8 -> 64)`).
//!
//! Ids: `train_step/{ours,gru}/IN1_H10_T1`, `backward_window/ours/IN1_H10_T{10,20}`,
//! `adam_step/ours/IN{in}_H{h}`. Throughput: steps (train, backward) or parameters (Adam).

mod common;

use std::hint::black_box;

use common::{gru_model, input, model};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use lstm_kernel::{
    Adam, AdamConfig, Grads, LstmGrads, LstmModel, LstmState, LstmTape, Model, Recurrent,
    StreamState, Tape,
};

/// One per-step training update of the post's model with either cell: BCE on the logit
/// of a T = 1 window, Adam (Keras defaults), gradients zeroed after each update.
fn update<R: Recurrent<1, 10, f32>>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut m: Model<R, 1, 10, 1>,
) {
    g.bench_function(BenchmarkId::new(name, "IN1_H10_T1"), |b| {
        let mut adam = Adam::new(AdamConfig::keras(), Grads::zeroed());
        let mut grads = Grads::zeroed();
        let mut tape = Tape::<1, R::Record>::new();
        let mut state = R::State::zeroed();
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
}

/// The per-step update of `LSTM(1 -> 10) + Dense(10 -> 1)` (`ours`) and of
/// `GRU(1 -> 10) + Dense(10 -> 1)` (`gru`, reset-after), random heads, in one group.
fn train_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("train_step");
    g.throughput(Throughput::Elements(1));
    update(&mut g, "ours", model::<1, 10>(3));
    update(&mut g, "gru", gru_model::<1, 10>(3));
    g.finish();
}

fn backward<const T: usize>(c: &mut Criterion) {
    let m = model::<1, 10>(5);
    let xs: Vec<[f32; 1]> = (0..T).map(input::<1>).collect();
    let mut tape = LstmTape::<T, 1, 10>::new();
    let mut state = LstmState::zeroed();
    m.forward_window(&xs, &mut state, &mut tape).expect("fits");
    let mut g = c.benchmark_group("backward_window");
    g.throughput(Throughput::Elements(T as u64));
    g.bench_function(BenchmarkId::new("ours", format!("IN1_H10_T{T}")), |b| {
        // Gradients accumulate across iterations (they stay finite: ~1e6 iterations of
        // O(1) values); zeroing them would add a memset to what is measured.
        let mut grads = LstmGrads::<1, 10, 1>::zeroed();
        b.iter(|| {
            let d0 = black_box(&m).backward_window(
                black_box(&tape),
                &[1.0],
                &LstmState::zeroed(),
                &mut grads,
            );
            black_box(d0)
        });
    });
    g.finish();
}

fn backwards(c: &mut Criterion) {
    backward::<10>(c);
    backward::<20>(c);
}

fn adam_size<const IN: usize, const H: usize>(c: &mut Criterion) {
    let mut m: LstmModel<IN, H, 1> = model::<IN, H>(9);
    let mut grads = LstmGrads::<IN, H, 1>::zeroed();
    let mut u = common::uniform(11);
    for w in grads.rnn.w_ih.as_flattened_mut().as_flattened_mut() {
        *w = u() - 0.5;
    }
    let params = LstmWeightsCount::<IN, H>::N + H + 1;
    let mut g = c.benchmark_group("adam_step");
    g.throughput(Throughput::Elements(params as u64));
    g.bench_function(BenchmarkId::new("ours", format!("IN{IN}_H{H}")), |b| {
        let mut adam = Adam::new(AdamConfig::keras(), LstmGrads::<IN, H, 1>::zeroed());
        b.iter(|| {
            adam.step(&mut m, black_box(&grads)).expect("finite");
        });
    });
    g.finish();
}

/// Parameter count of the LSTM layer, `4H (IN + H + 1)`.
struct LstmWeightsCount<const IN: usize, const H: usize>;
impl<const IN: usize, const H: usize> LstmWeightsCount<IN, H> {
    const N: usize = lstm_kernel::LstmWeights::<IN, H, f32>::PARAMS;
}

fn adams(c: &mut Criterion) {
    adam_size::<1, 10>(c);
    adam_size::<8, 64>(c);
}

criterion_group!(benches, train_step, backwards, adams);
criterion_main!(benches);
