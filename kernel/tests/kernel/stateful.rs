//! Keras stateful semantics against `keras_stateful_batches.json`: a `stateful=True`
//! `LSTM(4)` called on batch `x1`, then on `x2` without a reset (row `i` of batch 2
//! continues row `i` of batch 1), then on `x2` again after `reset_states()`. We step a
//! `BatchState<3, LstmState<4>>` with `Lstm::step_batch_with` and compare every output and state;
//! then show that `reset_row` resets one row only and refuses a row out of range.
//!
//! Tolerances: `1e-12` absolute in `f64` (float64 oracle, rounding-order differences over
//! 10 steps, ~1e-16 seen); `1e-5` in `f32` with both kernels (f32 rounding of weights and
//! inputs plus 10 recurrent f32 steps: ~1e-7 seen).

use lstm_kernel::backend::{Kernels, Scalar, Simd};
use lstm_kernel::{
    BatchState, Float, Lstm, LstmState, LstmWeights, Recurrent, RecurrentActivation, RowOutOfRange,
};
use serde::Deserialize;

use crate::common::{Compare, OracleDims, arr, cast, flat2, load_oracle, widen};

const IN: usize = 2;
const H: usize = 4;
const B: usize = 3;
const T: usize = 5;

type Seq = Vec<Vec<Vec<f64>>>;

#[derive(Deserialize)]
struct Oracle {
    /// `IN`, `H`, `B`, `T` of the oracle.
    #[serde(flatten)]
    dims: OracleDims,
    kernel: Vec<Vec<f64>>,
    recurrent_kernel: Vec<Vec<f64>>,
    bias: Vec<f64>,
    x1: Seq,
    x2: Seq,
    y1: Seq,
    states_after_batch1: States,
    y2_no_reset: Seq,
    states_after_batch2_no_reset: States,
    states_after_reset: States,
    y2_after_reset: Seq,
    states_after_batch2_after_reset: States,
}

#[derive(Deserialize)]
struct States {
    h: Vec<Vec<f64>>,
    c: Vec<Vec<f64>>,
}

fn oracle() -> Oracle {
    let o: Oracle = load_oracle("keras_stateful_batches.json");
    o.dims.assert_is(IN, H, B, T);
    o
}

fn lstm<F: Float>(o: &Oracle) -> Lstm<IN, H, F> {
    let w = LstmWeights::from_keras(
        &cast(&flat2(&o.kernel)),
        &cast(&flat2(&o.recurrent_kernel)),
        &cast(&o.bias),
    )
    .expect("keras tensors have the documented shapes");
    Lstm::new(w, RecurrentActivation::Sigmoid)
}

/// Steps the whole batch through `x` (`[B][T][IN]`), comparing the outputs with `y`
/// (`[B][T][H]`).
fn run_batch<F: Float, K: Kernels<F>>(
    cmp: &mut Compare,
    what: &str,
    lstm: &Lstm<IN, H, F>,
    batch: &mut BatchState<B, LstmState<H, F>>,
    x: &Seq,
    y: &Seq,
) {
    for t in 0..T {
        let xs: [[F; IN]; B] = core::array::from_fn(|r| arr(&x[r][t]));
        lstm.step_batch_with::<K, B>(&xs, batch);
        for r in 0..B {
            cmp.slice(
                format_args!("{what} row {r} t {t} h"),
                &widen(&batch.rows[r].h),
                &y[r][t],
            );
        }
    }
}

fn compare_states<F: Float>(
    cmp: &mut Compare,
    what: &str,
    batch: &BatchState<B, LstmState<H, F>>,
    s: &States,
) {
    for r in 0..B {
        cmp.slice(
            format_args!("{what} row {r} h"),
            &widen(&batch.rows[r].h),
            &s.h[r],
        );
        cmp.slice(
            format_args!("{what} row {r} c"),
            &widen(&batch.rows[r].c),
            &s.c[r],
        );
    }
}

fn stateful_batches<F: Float, K: Kernels<F>>(label: &str, atol: f64) {
    let o = oracle();
    let lstm = lstm::<F>(&o);
    let mut cmp = Compare::new(format!("keras stateful batches {label}"), atol, 0.0);
    let mut batch = BatchState::<B, LstmState<H, F>>::zeroed();
    run_batch::<F, K>(&mut cmp, "y1", &lstm, &mut batch, &o.x1, &o.y1);
    compare_states(&mut cmp, "after batch 1", &batch, &o.states_after_batch1);
    run_batch::<F, K>(
        &mut cmp,
        "y2 no reset",
        &lstm,
        &mut batch,
        &o.x2,
        &o.y2_no_reset,
    );
    compare_states(
        &mut cmp,
        "after batch 2 (no reset)",
        &batch,
        &o.states_after_batch2_no_reset,
    );
    batch.reset_all();
    assert_eq!(batch, BatchState::zeroed(), "reset_all zeroes every row");
    compare_states(&mut cmp, "after reset", &batch, &o.states_after_reset);
    run_batch::<F, K>(
        &mut cmp,
        "y2 after reset",
        &lstm,
        &mut batch,
        &o.x2,
        &o.y2_after_reset,
    );
    compare_states(
        &mut cmp,
        "after batch 2 (after reset)",
        &batch,
        &o.states_after_batch2_after_reset,
    );
    cmp.finish();
}

#[test]
fn stateful_batches_carry_each_row_and_reset_all_matches_keras_in_f64() {
    stateful_batches::<f64, Scalar>("f64 scalar", 1e-12);
}

#[test]
fn stateful_batches_match_keras_in_f32_with_scalar_and_simd_kernels() {
    stateful_batches::<f32, Scalar>("f32 scalar", 1e-5);
    stateful_batches::<f32, Simd>("f32 simd", 1e-5);
}

#[test]
fn reset_row_resets_only_that_row_and_refuses_a_row_out_of_range() {
    let o = oracle();
    let lstm = lstm::<f64>(&o);
    let mut batch = BatchState::<B, LstmState<H, f64>>::zeroed();
    for t in 0..T {
        let xs: [[f64; IN]; B] = core::array::from_fn(|r| arr(&o.x1[r][t]));
        lstm.step_batch_with::<Scalar, B>(&xs, &mut batch);
    }
    let after1 = batch;
    assert!(
        after1.rows.iter().all(|r| *r != LstmState::zeroed()),
        "every row has a nonzero state after batch 1, so a reset is visible"
    );

    batch.reset_row(1).expect("row 1 exists");
    assert_eq!(batch.rows[0], after1.rows[0], "row 0 untouched");
    assert_eq!(batch.rows[1], LstmState::zeroed(), "row 1 reset");
    assert_eq!(batch.rows[2], after1.rows[2], "row 2 untouched");

    let before = batch;
    assert_eq!(batch.reset_row(3), Err(RowOutOfRange { row: 3, batch: 3 }));
    assert_eq!(batch, before, "a refused reset changes nothing");

    // Rows 0 and 2 continue their streams (Keras' y2_no_reset) while row 1 starts afresh
    // (Keras' y2_after_reset): streams of different lengths can share a batch.
    // 1e-12: float64 oracle, rounding-order differences only.
    let mut cmp = Compare::new("per-row reset then batch 2", 1e-12, 0.0);
    for t in 0..T {
        let xs: [[f64; IN]; B] = core::array::from_fn(|r| arr(&o.x2[r][t]));
        lstm.step_batch_with::<Scalar, B>(&xs, &mut batch);
        for (r, want) in [
            (0, &o.y2_no_reset),
            (1, &o.y2_after_reset),
            (2, &o.y2_no_reset),
        ] {
            cmp.slice(
                format_args!("row {r} t {t} h"),
                &batch.rows[r].h,
                &want[r][t],
            );
        }
    }
    cmp.finish();
}
