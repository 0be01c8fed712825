//! The kernel never allocates: zero heap allocations (counted per thread by
//! `allocation_counter`, whose global allocator is linked only into this test binary)
//! while stepping, recording and back-propagating a window, training a sample and taking
//! Adam and SGD steps, in `f32` (default kernels, SIMD unless `scalar-reference`) and in
//! `f64` (scalar kernels). Each operation runs once before it is measured, and only the
//! closure is counted, so other tests running on other threads cannot interfere.

use allocation_counter::measure;
use lstm_kernel::{
    Adam, AdamConfig, BatchState, Float, Loss, LstmGrads, LstmModel, LstmState, LstmStreams,
    LstmTape, Recurrent, RecurrentActivation, Sgd, StepStreams,
};
use std::hint::black_box;

use crate::common::Rand;

const IN: usize = 1;
const H: usize = 10;
const T: usize = 20;
const B: usize = 4;

/// Runs `f` once to warm up, then counts the allocations of a second run.
fn assert_no_allocation(what: &str, mut f: impl FnMut()) {
    f();
    let info = measure(&mut f);
    assert_eq!(
        info.count_total, 0,
        "{what} allocated {} times ({} bytes)",
        info.count_total, info.bytes_total
    );
}

fn no_allocation_in_any_operation<F: Float>(label: &str) {
    let mut rng = Rand::new(7);
    let mut model = LstmModel::<IN, H, 1, F>::zeroed(RecurrentActivation::Sigmoid);
    let mut uniform = || F::from_f64(rng.sym(0.5) + 0.5);
    let mut rng2 = Rand::new(8);
    let mut normal = || F::from_f64(rng2.sym(1.0));
    model.init_keras(&mut uniform, &mut normal);
    let xs: Vec<[F; IN]> = (0..T)
        .map(|t| [F::from_f64((t % 3) as f64 - 1.0)])
        .collect();
    let xb: [[F; IN]; B] = core::array::from_fn(|r| [F::from_f64(r as f64 * 0.3)]);
    let mut state = LstmState::<H, F>::zeroed();
    let mut batch = BatchState::<B, LstmState<H, F>>::zeroed();
    let mut tape = LstmTape::<T, IN, H, F>::new();
    let mut grads = LstmGrads::<IN, H, 1, F>::zeroed();
    let mut adam = Adam::new(AdamConfig::keras(), LstmGrads::<IN, H, 1, F>::zeroed());
    let sgd = Sgd {
        lr: F::from_f64(1e-3),
    };
    let dh = [[F::from_f64(0.1); H]; 3];

    assert_no_allocation(&format!("{label} Lstm::step"), || {
        model.rnn.step(black_box(&xs[0]), &mut state);
    });
    assert_no_allocation(&format!("{label} Model::step"), || {
        black_box(model.step(black_box(&xs[1]), &mut state));
    });
    assert_no_allocation(&format!("{label} Lstm::step_batch"), || {
        model.rnn.step_batch(black_box(&xb), &mut batch);
    });
    let xl: [[F; B]; IN] = core::array::from_fn(|k| core::array::from_fn(|b| xb[b][k]));
    let mut lanes = LstmStreams::<H, B, F>::from(&batch);
    assert_no_allocation(&format!("{label} StepStreams::step_streams"), || {
        model.rnn.step_streams(black_box(&xl), &mut lanes);
    });
    assert_no_allocation(&format!("{label} Lstm::forward_window"), || {
        let mut s = state;
        model
            .rnn
            .forward_window(black_box(&xs), &mut s, &mut tape)
            .expect("fits");
    });
    assert_no_allocation(&format!("{label} Lstm::backward_window"), || {
        black_box(model.rnn.backward_window(
            &tape,
            black_box(&dh),
            &LstmState::zeroed(),
            &mut grads.rnn,
        ));
    });
    assert_no_allocation(&format!("{label} Model::train_sample_bce"), || {
        let mut s = LstmState::zeroed();
        black_box(
            model
                .train_sample_bce(&xs, &[F::ONE], F::ONE, &mut s, &mut tape, &mut grads)
                .expect("fits"),
        );
    });
    assert_no_allocation(&format!("{label} Adam::step"), || {
        adam.step(&mut model, black_box(&grads)).expect("finite");
    });
    assert_no_allocation(&format!("{label} Sgd::step"), || {
        sgd.step(&mut model, black_box(&grads)).expect("finite");
    });
    println!("{label}: 0 allocations in step, step_batch, step_streams, windows, train, Adam, SGD");
    no_allocation_in_stack_operations::<F>(label);
}

/// The same operations on a 2-layer stack model, plus the many-to-many paths (softmax CE
/// on every step, `backward_window_dx`).
fn no_allocation_in_stack_operations<F: Float>(label: &str) {
    type Rnn<F> = lstm_kernel::Lstm2<IN, H, 6, F>;
    type Rec<F> = <Rnn<F> as Recurrent<IN, 6, F>>::Record;
    type St<F> = <Rnn<F> as Recurrent<IN, 6, F>>::State;
    let mut rng = Rand::new(9);
    let mut uniform = || F::from_f64(rng.sym(0.5) + 0.5);
    let mut rng2 = Rand::new(10);
    let mut normal = || F::from_f64(rng2.sym(1.0));
    let mut model = lstm_kernel::Model::<Rnn<F>, IN, 6, 3, F>::new(
        lstm_kernel::Stack::new(
            lstm_kernel::Lstm::zeroed(RecurrentActivation::Sigmoid),
            lstm_kernel::Lstm::zeroed(RecurrentActivation::Sigmoid),
        ),
        lstm_kernel::Dense::zeroed(),
    );
    model.init_keras(&mut uniform, &mut normal);
    let xs: Vec<[F; IN]> = (0..T)
        .map(|t| [F::from_f64((t % 3) as f64 - 1.0)])
        .collect();
    let ys: Vec<[F; 3]> = (0..T).map(|_| [F::ONE, F::ZERO, F::ZERO]).collect();
    let xb: [[F; IN]; B] = core::array::from_fn(|r| [F::from_f64(r as f64 * 0.3)]);
    let mut state = <St<F> as lstm_kernel::StreamState>::zeroed();
    let mut batch = BatchState::<B, St<F>>::zeroed();
    let mut tape = lstm_kernel::Tape::<T, Rec<F>>::new();
    let mut grads = lstm_kernel::Grads::zeroed();
    let mut adam = Adam::new(AdamConfig::keras(), lstm_kernel::Grads::zeroed());
    let dh = [[F::from_f64(0.1); 6]; 3];
    let mut dxs = [[F::ZERO; IN]; T];
    assert_no_allocation(&format!("{label} stack Model::step"), || {
        black_box(model.step(black_box(&xs[1]), &mut state));
    });
    assert_no_allocation(&format!("{label} stack step_batch"), || {
        model.rnn.step_batch(black_box(&xb), &mut batch);
    });
    assert_no_allocation(&format!("{label} stack train_sample softmax CE"), || {
        let mut s = state;
        black_box(
            model
                .train_sample(
                    Loss::SoftmaxCe,
                    &xs,
                    &ys[0],
                    F::ONE,
                    &mut s,
                    &mut tape,
                    &mut grads,
                )
                .expect("fits"),
        );
    });
    assert_no_allocation(&format!("{label} stack train_sequence MSE"), || {
        let mut s = state;
        black_box(
            model
                .train_sequence(Loss::Mse, &xs, &ys, F::ONE, &mut s, &mut tape, &mut grads)
                .expect("fits"),
        );
    });
    assert_no_allocation(&format!("{label} stack backward_window_dx"), || {
        black_box(model.rnn.backward_window_dx(
            &tape,
            black_box(&dh),
            &<St<F> as lstm_kernel::StreamState>::zeroed(),
            &mut grads.rnn,
            &mut dxs,
        ));
    });
    assert_no_allocation(&format!("{label} stack Adam::step"), || {
        adam.step(&mut model, black_box(&grads)).expect("finite");
    });
    println!("{label}: 0 allocations in the 2-layer stack's step, batch, train, dx, Adam");
}

#[test]
fn stepping_windows_training_and_optimizer_steps_never_allocate() {
    // The counter works in this binary: a Box is one allocation.
    let info = measure(|| {
        black_box(Box::new(black_box(1_u64)));
    });
    assert_eq!(info.count_total, 1, "the allocation counter must see a Box");

    no_allocation_in_any_operation::<f32>("f32 default kernels");
    no_allocation_in_any_operation::<f64>("f64 scalar kernels");
}
