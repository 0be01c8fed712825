//! The forward step timed in a plain loop, without criterion: the second measurement of
//! docs/performance.md's step table (issue 14 asks that the two agree within 10 %, since
//! code generation can differ between binaries). Same models and inputs as the `forward`
//! bench (`common::model(42)`, the 64 inputs indexed by `t & 63`, exact and fast
//! activations, the model on the heap), and the 110 streams of `step_batch`.
//!
//! Each figure: `ROUNDS` rounds of `steps` calls (about 20 ms per round), the minimum and the
//! median of the rounds' ns per step (per stream-step for the batches), after one untimed
//! warm-up round. Run: `cargo bench --bench plain` (add `RUSTFLAGS="-C
//! target-cpu=x86-64-v3"` for the AVX2 path); `-- --quick` runs 3 short rounds (a smoke
//! test).

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{input, model};
use lstm_kernel::{
    BatchState, LstmState, LstmStreams, Maths, Recurrent, StepStreams, backend::VECTOR_ISA,
};

/// Rounds per figure (the median and minimum are over these).
const ROUNDS: usize = 15;

/// Times `f` (one call = `per_call` steps) and prints one line.
fn report(name: &str, quick: bool, per_call: usize, mut f: impl FnMut()) {
    // Calibrate: calls per round for about 20 ms (2 ms when quick).
    let target = if quick { 2e-3 } else { 2e-2 };
    let t0 = Instant::now();
    let mut calls = 0u64;
    while t0.elapsed().as_secs_f64() < target / 4.0 {
        f();
        calls += 1;
    }
    let calls = calls.max(1) * 4;
    let rounds = if quick { 3 } else { ROUNDS };
    let mut ns: Vec<f64> = (0..=rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                f();
            }
            t.elapsed().as_secs_f64() * 1e9 / (calls as f64 * per_call as f64)
        })
        .skip(1)
        .collect();
    ns.sort_by(f64::total_cmp);
    let median = ns[ns.len() / 2];
    println!(
        "{name:<32} min {:>9.1} ns   median {:>9.1} ns   ({rounds} rounds of {calls} calls)",
        ns[0], median
    );
}

fn size<const IN: usize, const H: usize>(quick: bool) {
    let m = model::<IN, H>(42);
    let xs: [[f32; IN]; 64] = core::array::from_fn(input::<IN>);
    for (variant, maths) in [("ours", Maths::Exact), ("ours_fast", Maths::Fast)] {
        let lstm = black_box(Box::new(m.rnn.with_maths(maths)));
        let mut s = LstmState::<H>::zeroed();
        let mut t = 0;
        report(
            &format!("forward_step/{variant}/IN{IN}_H{H}"),
            quick,
            1,
            || {
                t = (t + 1) & 63;
                lstm.step(black_box(&xs[t]), &mut s);
                black_box(&s);
            },
        );
    }
}

fn streams(quick: bool) {
    const B: usize = 110;
    let m = model::<1, 10>(7);
    let rows: [[f32; 1]; B] = core::array::from_fn(input::<1>);
    let lanes: [[f32; B]; 1] = [core::array::from_fn(|b| rows[b][0])];
    let lstm = black_box(Box::new(m.rnn));
    let mut s = BatchState::<B, LstmState<10>>::zeroed();
    report("step_batch/rows/B110_IN1_H10", quick, B, || {
        lstm.step_batch(black_box(&rows), &mut s);
        black_box(&s);
    });
    for (variant, maths) in [("lanes", Maths::Exact), ("lanes_fast", Maths::Fast)] {
        let lstm = black_box(Box::new(m.rnn.with_maths(maths)));
        let mut s = LstmStreams::<10, B>::zeroed();
        report(
            &format!("step_batch/{variant}/B110_IN1_H10"),
            quick,
            B,
            || {
                lstm.step_streams(black_box(&lanes), &mut s);
                black_box(&s);
            },
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `--quick` is ours.
    let quick = std::env::args().any(|a| a == "--quick");
    println!("kernels: {VECTOR_ISA} (compile time)");
    size::<1, 10>(quick);
    size::<1, 32>(quick);
    size::<8, 64>(quick);
    size::<32, 128>(quick);
    streams(quick);
}
