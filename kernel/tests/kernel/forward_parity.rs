//! Forward parity with PyTorch (`torch_lstm_forward.json`, imported with
//! `LstmWeights::from_torch`) and Keras (`keras_lstm_forward.json`, `from_keras`): every
//! `h_t` and `c_t` of every batch row, through `Lstm::step_with` and through
//! `Lstm::forward_window_with` (whose tape must hold the same states), in `f64` with the
//! scalar kernels and in `f32` with both the scalar and the SIMD kernels.
//!
//! Tolerances:
//! - `f64`: `1e-12` absolute. The oracles are float64 and so is our path; only the order
//!   of the rounding differs (a 7-step, 8-term recurrence with values below 1 accumulates
//!   a few ulps, ~1e-15).
//! - `f32`: `1e-5` absolute. The weights and inputs are rounded to f32 (relative 6e-8),
//!   then 7 recurrent f32 steps round again; PyTorch's own f32 run differs from its f64
//!   run by 3e-8 (h) and 6e-8 (c) (the oracle's `checks`), and the SIMD activations add at
//!   most 3e-7 per evaluation. 1e-5 leaves a 10x margin over the worst we see (see the
//!   printed figures) while still catching any formula error, which moves outputs by
//!   1e-2 or more.

use lstm_kernel::backend::{Kernels, Scalar, Simd};
use lstm_kernel::{Float, Lstm, LstmState, LstmTape, LstmWeights, Recurrent, RecurrentActivation};
use serde::Deserialize;

use crate::common::{Compare, OracleDims, arr, cast, flat2, load_oracle, widen};

const IN: usize = 3;
const H: usize = 5;
const B: usize = 2;
const T: usize = 7;

/// `f64` tolerance (see the module doc).
const ATOL_F64: f64 = 1e-12;
/// `f32` tolerance (see the module doc).
const ATOL_F32: f64 = 1e-5;

type Seq = Vec<Vec<Vec<f64>>>;

#[derive(Deserialize)]
struct TorchForward {
    /// `IN`, `H`, `B`, `T` of the oracle.
    #[serde(flatten)]
    dims: OracleDims,
    x: Seq,
    h0: Vec<Vec<f64>>,
    c0: Vec<Vec<f64>>,
    weight_ih: Vec<Vec<f64>>,
    weight_hh: Vec<Vec<f64>>,
    bias_ih: Vec<f64>,
    bias_hh: Vec<f64>,
    h_seq: Seq,
    c_seq: Seq,
    h_n: Vec<Vec<f64>>,
    c_n: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct KerasForward {
    /// `IN`, `H`, `B`, `T` of the oracle.
    #[serde(flatten)]
    dims: OracleDims,
    x: Seq,
    h0: Vec<Vec<f64>>,
    c0: Vec<Vec<f64>>,
    hard_sigmoid_probe: Probe,
    cases: Vec<KerasCase>,
}

#[derive(Deserialize)]
struct Probe {
    x: Vec<f64>,
    #[serde(rename = "keras_hard_sigmoid(x)")]
    y: Vec<f64>,
}

#[derive(Deserialize)]
struct KerasCase {
    name: String,
    recurrent_activation: String,
    kernel: Vec<Vec<f64>>,
    recurrent_kernel: Vec<Vec<f64>>,
    bias: Vec<f64>,
    h_seq: Seq,
    c_seq: Seq,
    final_h: Vec<Vec<f64>>,
    final_c: Vec<Vec<f64>>,
    keras1_hard_sigmoid_numpy: Option<NumpySeq>,
}

#[derive(Deserialize)]
struct NumpySeq {
    h_seq: Seq,
    c_seq: Seq,
}

/// Inputs shared by both oracles.
struct Inputs<'a> {
    x: &'a Seq,
    h0: &'a [Vec<f64>],
    c0: &'a [Vec<f64>],
}

/// Expected outputs: `[B][T][H]` sequences and the `[B][H]` final state.
struct Expected<'a> {
    h_seq: &'a Seq,
    c_seq: &'a Seq,
    h_final: &'a [Vec<f64>],
    c_final: &'a [Vec<f64>],
}

fn torch() -> TorchForward {
    let o: TorchForward = load_oracle("torch_lstm_forward.json");
    o.dims.assert_is(IN, H, B, T);
    o
}

fn keras() -> KerasForward {
    let o: KerasForward = load_oracle("keras_lstm_forward.json");
    o.dims.assert_is(IN, H, B, T);
    o
}

fn torch_lstm<F: Float>(o: &TorchForward) -> Lstm<IN, H, F> {
    let w = LstmWeights::from_torch(
        &cast(&flat2(&o.weight_ih)),
        &cast(&flat2(&o.weight_hh)),
        &cast(&o.bias_ih),
        &cast(&o.bias_hh),
    )
    .expect("torch oracle tensors have the documented shapes");
    Lstm::new(w, RecurrentActivation::Sigmoid)
}

fn keras_lstm<F: Float>(case: &KerasCase, activation: RecurrentActivation) -> Lstm<IN, H, F> {
    let w = LstmWeights::from_keras(
        &cast(&flat2(&case.kernel)),
        &cast(&flat2(&case.recurrent_kernel)),
        &cast(&case.bias),
    )
    .expect("keras oracle tensors have the documented shapes");
    Lstm::new(w, activation)
}

/// The activation a Keras case names. This Keras' `hard_sigmoid` is Keras 3's
/// (`relu6(x+3)/6`, checked against the file's probe in its own test).
fn keras_activation(name: &str) -> RecurrentActivation {
    match name {
        "sigmoid" => RecurrentActivation::Sigmoid,
        "hard_sigmoid" => RecurrentActivation::HardSigmoidKeras3,
        other => panic!("unknown recurrent activation {other:?} in the oracle"),
    }
}

/// Runs every row through `step_with::<K>` and through `forward_window_with::<K>` and
/// compares every `h_t`, `c_t` and the final state with `want`.
fn check_forward<F: Float, K: Kernels<F>>(
    cmp: &mut Compare,
    lstm: &Lstm<IN, H, F>,
    inputs: &Inputs,
    want: &Expected,
) {
    for r in 0..B {
        let start = LstmState {
            h: arr::<F, H>(&inputs.h0[r]),
            c: arr::<F, H>(&inputs.c0[r]),
        };
        let xs: Vec<[F; IN]> = inputs.x[r].iter().map(|x| arr::<F, IN>(x)).collect();
        assert_eq!(xs.len(), T);

        // Streaming, one step at a time.
        let mut state = start;
        for (t, x) in xs.iter().enumerate() {
            lstm.step_with::<K>(x, &mut state);
            cmp.slice(
                format_args!("step row {r} t {t} h"),
                &widen(&state.h),
                &want.h_seq[r][t],
            );
            cmp.slice(
                format_args!("step row {r} t {t} c"),
                &widen(&state.c),
                &want.c_seq[r][t],
            );
        }

        // A recorded window: h_t from each record, c_t as the next record's c_{t-1}.
        let mut wstate = start;
        let mut tape = LstmTape::<T, IN, H, F>::new();
        lstm.forward_window_with::<K, T>(&xs, &mut wstate, &mut tape)
            .expect("T steps fit a Tape<T>");
        let steps = tape.steps();
        assert_eq!(steps.len(), T);
        assert_eq!(steps[0].h_prev, start.h, "the tape records the initial h");
        assert_eq!(steps[0].c_prev, start.c, "the tape records the initial c");
        for t in 0..T {
            let h = steps[t].h();
            let c = if t + 1 < T {
                assert_eq!(steps[t + 1].h_prev, h, "record {t} h vs next h_prev");
                steps[t + 1].c_prev
            } else {
                wstate.c
            };
            assert_eq!(steps[t].x, xs[t], "record {t} holds x_t");
            cmp.slice(
                format_args!("window row {r} t {t} h"),
                &widen(&h),
                &want.h_seq[r][t],
            );
            cmp.slice(
                format_args!("window row {r} t {t} c"),
                &widen(&c),
                &want.c_seq[r][t],
            );
        }
        // Streaming and window runs are the same arithmetic: bit-identical states.
        assert_eq!(wstate, state, "row {r}: window and streaming final states");
        cmp.slice(
            format_args!("final row {r} h"),
            &widen(&wstate.h),
            &want.h_final[r],
        );
        cmp.slice(
            format_args!("final row {r} c"),
            &widen(&wstate.c),
            &want.c_final[r],
        );
    }
}

fn torch_case(cmp_label: &str, atol: f64, run: impl Fn(&mut Compare, &TorchForward)) -> f64 {
    let o = torch();
    let mut cmp = Compare::new(cmp_label, atol, 0.0);
    run(&mut cmp, &o);
    cmp.finish()
}

fn torch_expected(o: &TorchForward) -> (Inputs<'_>, Expected<'_>) {
    (
        Inputs {
            x: &o.x,
            h0: &o.h0,
            c0: &o.c0,
        },
        Expected {
            h_seq: &o.h_seq,
            c_seq: &o.c_seq,
            h_final: &o.h_n,
            c_final: &o.c_n,
        },
    )
}

#[test]
fn torch_forward_matches_every_step_of_every_row_in_f64() {
    torch_case("torch forward f64 scalar", ATOL_F64, |cmp, o| {
        let (inputs, want) = torch_expected(o);
        check_forward::<f64, Scalar>(cmp, &torch_lstm(o), &inputs, &want);
    });
}

#[test]
fn torch_forward_matches_in_f32_with_scalar_and_simd_kernels() {
    torch_case("torch forward f32 scalar", ATOL_F32, |cmp, o| {
        let (inputs, want) = torch_expected(o);
        check_forward::<f32, Scalar>(cmp, &torch_lstm(o), &inputs, &want);
    });
    torch_case("torch forward f32 simd", ATOL_F32, |cmp, o| {
        let (inputs, want) = torch_expected(o);
        check_forward::<f32, Simd>(cmp, &torch_lstm(o), &inputs, &want);
    });
}

/// Runs every Keras case (and the Keras 1 numpy block) with kernels `K` in precision `F`.
fn keras_cases<F: Float, K: Kernels<F>>(label: &str, atol: f64) {
    let o = keras();
    let inputs = Inputs {
        x: &o.x,
        h0: &o.h0,
        c0: &o.c0,
    };
    assert_eq!(
        o.cases.len(),
        2,
        "the oracle has a sigmoid and a hard_sigmoid case"
    );
    for case in &o.cases {
        let act = keras_activation(&case.recurrent_activation);
        let mut cmp = Compare::new(format!("keras {} forward {label}", case.name), atol, 0.0);
        let want = Expected {
            h_seq: &case.h_seq,
            c_seq: &case.c_seq,
            h_final: &case.final_h,
            c_final: &case.final_c,
        };
        check_forward::<F, K>(&mut cmp, &keras_lstm(case, act), &inputs, &want);
        cmp.finish();

        if let Some(k1) = &case.keras1_hard_sigmoid_numpy {
            // Same weights, Keras 1/2 hard sigmoid clip(0.2x + 0.5, 0, 1). The block has
            // no final state of its own: the last step of the sequence is the final state.
            let h_final: Vec<Vec<f64>> = k1.h_seq.iter().map(|r| r[T - 1].clone()).collect();
            let c_final: Vec<Vec<f64>> = k1.c_seq.iter().map(|r| r[T - 1].clone()).collect();
            let want = Expected {
                h_seq: &k1.h_seq,
                c_seq: &k1.c_seq,
                h_final: &h_final,
                c_final: &c_final,
            };
            let mut cmp = Compare::new(format!("keras1 hard_sigmoid numpy {label}"), atol, 0.0);
            let lstm = keras_lstm(case, RecurrentActivation::HardSigmoidKeras2);
            check_forward::<F, K>(&mut cmp, &lstm, &inputs, &want);
            cmp.finish();
        }
    }
    assert!(
        o.cases
            .iter()
            .any(|c| c.keras1_hard_sigmoid_numpy.is_some()),
        "the Keras 1 block is present"
    );
}

#[test]
fn keras_sigmoid_hard_sigmoid_and_keras1_forward_match_in_f64() {
    keras_cases::<f64, Scalar>("f64 scalar", ATOL_F64);
}

#[test]
fn keras_forward_matches_in_f32_with_scalar_and_simd_kernels() {
    keras_cases::<f32, Scalar>("f32 scalar", ATOL_F32);
    keras_cases::<f32, Simd>("f32 simd", ATOL_F32);
}

#[test]
fn keras_hard_sigmoid_probe_is_the_keras3_formula_and_not_the_keras2_one() {
    let o = keras();
    let p = &o.hard_sigmoid_probe;
    // The probe values are exact multiples of 1/6 computed in float64: 1e-15 is rounding.
    let mut k3 = Compare::new("keras hard_sigmoid probe vs HardSigmoidKeras3", 1e-15, 0.0);
    for (&x, &y) in p.x.iter().zip(&p.y) {
        k3.value(
            format_args!("x={x}"),
            RecurrentActivation::HardSigmoidKeras3.apply(x),
            y,
        );
    }
    k3.finish();
    let differs =
        p.x.iter()
            .zip(&p.y)
            .any(|(&x, &y)| (RecurrentActivation::HardSigmoidKeras2.apply(x) - y).abs() > 1e-3);
    assert!(differs, "the probe must tell the two hard sigmoids apart");
}

#[test]
fn torch_and_keras_layouts_import_to_the_same_weights() {
    let t = torch();
    let k = keras();
    let sig = k
        .cases
        .iter()
        .find(|c| c.name == "sigmoid")
        .expect("sigmoid case");
    let a = torch_lstm::<f64>(&t).weights;
    let b = keras_lstm::<f64>(sig, RecurrentActivation::Sigmoid).weights;
    // The transposes are copies (exact); the bias sum is one float64 addition done by
    // both numpy and us, so 1 ulp of values below 1 (2.3e-16) bounds the difference.
    let mut cmp = Compare::new("from_torch vs from_keras weights", 2.3e-16, 0.0);
    cmp.slice("w_ih", a.w_ih_flat(), b.w_ih_flat());
    cmp.slice("w_hh", a.w_hh_flat(), b.w_hh_flat());
    cmp.slice("b", a.b_flat(), b.b_flat());
    cmp.finish();
}
