//! The GRU against the real PyTorch / Keras 3 oracles in `testdata/parity/`:
//!
//! - `torch_gru_forward.json`: `nn.GRU(3, 5)` from a nonzero `h0`, B = 2 rows of T = 7
//!   steps: every `h_t` and the final `h`, through `step`, `step_batch` and
//!   `forward_window`, from the PyTorch layout.
//! - `keras_gru_forward.json`: Keras 3 `GRU(5)` with `reset_after=True` (torch's weights
//!   converted: must equal torch), `reset_after=False` ([`GruVariant::ResetBefore`]) and
//!   `reset_after=True` with Keras 3's hard sigmoid, from the Keras layout.
//! - `keras_gru_stateful_batches.json`: a stateful Keras GRU over two batches of 3 rows,
//!   with and without `reset_states()` between them ([`BatchState`]).
//! - `grads_v2.json` cases (a) `GRU(2 -> 4) -> Linear(4, 1) -> BCE` on the last step and
//!   (d) `GRU(2 -> 4) -> Linear(4, 2) -> MSE` on every step: loss, outputs, every
//!   parameter's gradient in both layouts and `dL/dh0`.
//!
//! Tolerances (why): `f64` `1e-13 + 1e-12·|want|` (the oracles agree with each other and with
//! numpy to ~2e-16; only our summation order differs). `f32` forward `2e-6` absolute
//! (|h| < 1, seven contractive steps from f32-rounded weights: torch's own f32 run is
//! 6e-8 from f64; the SIMD path adds FMA rounding and activations within 3e-7 of libm);
//! `f32` gradients `1e-5 + 1e-4·|want|`.

use lstm_kernel::backend::{Kernels, Scalar, Simd};
use lstm_kernel::{
    BatchState, Dense, Float, Grads, Gru, GruState, GruVariant, GruWeights, Loss, Model, Recurrent,
    RecurrentActivation, Tape,
};
use serde_json::Value;

use crate::common::{Compare, arr, cast, load_oracle, widen};

/// The numbers of a nested JSON list, flattened row-major.
pub fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().expect("a number")],
        other => panic!("not a number or a list: {other}"),
    }
}

/// A GRU from the torch-layout tensors `weight_ih` ... `bias_hh` of `j`.
pub fn torch_gru<const IN: usize, const H: usize, F: Float>(j: &Value) -> Gru<IN, H, F> {
    let t = |n: &str| cast::<F>(&flat(&j[n]));
    let w = GruWeights::from_torch(
        &t("weight_ih"),
        &t("weight_hh"),
        &t("bias_ih"),
        &t("bias_hh"),
    )
    .expect("torch tensors have the documented shapes");
    Gru::new(w, GruVariant::ResetAfter, RecurrentActivation::Sigmoid)
}

/// A GRU from Keras-layout `kernel`, `recurrent_kernel`, `bias` (the variant from the
/// bias's shape).
fn keras_gru<const IN: usize, const H: usize, F: Float>(
    j: &Value,
    act: RecurrentActivation,
) -> Gru<IN, H, F> {
    let t = |n: &str| cast::<F>(&flat(&j[n]));
    let (w, v) = GruWeights::from_keras(&t("kernel"), &t("recurrent_kernel"), &t("bias"))
        .expect("keras tensors have the documented shapes");
    Gru::new(w, v, act)
}

/// Every `h_t` of both rows of a forward oracle (`x`, `h0` at the top of `o`, per-step
/// `h` in `o[seq]`, final `h` in `o[last]`), through the three forward routes.
#[allow(clippy::too_many_arguments)]
fn check_forward<const IN: usize, const H: usize, F: Float, K: Kernels<F>>(
    label: &str,
    gru: &Gru<IN, H, F>,
    o: &Value,
    data: &Value,
    seq: &str,
    last: &str,
    atol: f64,
) {
    let (rows, steps) = (2, 7);
    let mut cmp = Compare::new(format!("gru forward {label}"), atol, 0.0);
    let h0 = |b: usize| GruState::<H, F> {
        h: arr(&flat(&data["h0"][b])),
    };
    let xs =
        |b: usize| -> Vec<[F; IN]> { (0..steps).map(|t| arr(&flat(&data["x"][b][t]))).collect() };
    let mut batch = BatchState::<2, GruState<H, F>> {
        rows: [h0(0), h0(1)],
    };
    let mut streams = [h0(0), h0(1)];
    for t in 0..steps {
        let bx: [[F; IN]; 2] = [xs(0)[t], xs(1)[t]];
        gru.step_batch_with::<K, 2>(&bx, &mut batch);
        for b in 0..rows {
            gru.step_with::<K>(&bx[b], &mut streams[b]);
            let want = flat(&o[seq][b][t]);
            cmp.slice(
                format_args!("row {b} t {t} step"),
                &widen(&streams[b].h),
                &want,
            );
            assert_eq!(
                batch.rows[b], streams[b],
                "{label}: batch row {b} != its stream"
            );
        }
    }
    for (b, s) in streams.iter().enumerate() {
        cmp.slice(
            format_args!("row {b} final"),
            &widen(&s.h),
            &flat(&o[last][b]),
        );
        let mut w = h0(b);
        let mut tape = Tape::<7, <Gru<IN, H, F> as Recurrent<IN, H, F>>::Record>::new();
        gru.forward_window_with::<K, 7>(&xs(b), &mut w, &mut tape)
            .unwrap();
        assert_eq!(w, *s, "{label}: window and steps disagree");
        for (t, r) in tape.steps().iter().enumerate() {
            let h = <Gru<IN, H, F> as Recurrent<IN, H, F>>::record_output(r);
            cmp.slice(
                format_args!("row {b} t {t} taped"),
                &widen(&h),
                &flat(&o[seq][b][t]),
            );
        }
    }
    cmp.finish();
}

fn torch_forward<F: Float>(atol: f64)
where
    Simd: Kernels<F>,
{
    let o: Value = load_oracle("torch_gru_forward.json");
    assert_eq!((o["IN"].as_u64(), o["H"].as_u64()), (Some(3), Some(5)));
    let gru = torch_gru::<3, 5, F>(&o);
    let f = core::any::type_name::<F>();
    check_forward::<3, 5, F, Scalar>(
        &format!("torch {f} scalar"),
        &gru,
        &o,
        &o,
        "h_seq",
        "h_n",
        atol,
    );
    check_forward::<3, 5, F, Simd>(
        &format!("torch {f} simd"),
        &gru,
        &o,
        &o,
        "h_seq",
        "h_n",
        atol,
    );
    // GRUCell stepped by hand gives the same sequence.
    let mut cmp = Compare::new("torch nn.GRU vs GRUCell oracle", 1e-15, 0.0);
    cmp.slice("h_seq", &flat(&o["h_seq"]), &flat(&o["h_seq_grucell"]));
    cmp.finish();
}

#[test]
fn gru_matches_torch_nn_gru_f64() {
    torch_forward::<f64>(1e-13);
}

#[test]
fn gru_matches_torch_nn_gru_f32_scalar_and_simd() {
    torch_forward::<f32>(2e-6);
}

fn keras_forward<F: Float>(atol: f64)
where
    Simd: Kernels<F>,
{
    let o: Value = load_oracle("keras_gru_forward.json");
    assert_eq!((o["IN"].as_u64(), o["H"].as_u64()), (Some(3), Some(5)));
    let cases = o["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let act = match c["recurrent_activation"].as_str() {
            Some("sigmoid") => RecurrentActivation::Sigmoid,
            Some("hard_sigmoid") => RecurrentActivation::HardSigmoidKeras3,
            other => panic!("{name}: unexpected activation {other:?}"),
        };
        let gru = keras_gru::<3, 5, F>(c, act);
        let want = if c["reset_after"].as_bool() == Some(true) {
            GruVariant::ResetAfter
        } else {
            GruVariant::ResetBefore
        };
        assert_eq!(gru.variant, want, "{name}: variant from the bias shape");
        let f = core::any::type_name::<F>();
        for (k, label) in [(0, "scalar"), (1, "simd")] {
            let l = format!("keras {name} {f} {label}");
            if k == 0 {
                check_forward::<3, 5, F, Scalar>(&l, &gru, c, &o, "h_seq", "final_h", atol);
            } else {
                check_forward::<3, 5, F, Simd>(&l, &gru, c, &o, "h_seq", "final_h", atol);
            }
        }
    }
}

#[test]
fn gru_matches_keras_reset_after_true_false_and_hard_sigmoid_f64() {
    keras_forward::<f64>(1e-13);
}

#[test]
fn gru_matches_keras_reset_after_true_false_and_hard_sigmoid_f32() {
    keras_forward::<f32>(2e-6);
}

/// Keras `stateful=True`: row i's final `h` of batch 1 starts row i of batch 2; after
/// `reset_states()` every row starts from zero.
fn stateful<K: Kernels<f64>>(label: &str) {
    const IN: usize = 2;
    const H: usize = 4;
    const B: usize = 3;
    const T: usize = 5;
    let o: Value = load_oracle("keras_gru_stateful_batches.json");
    assert_eq!(o["B"].as_u64(), Some(3));
    let gru = keras_gru::<IN, H, f64>(&o, RecurrentActivation::Sigmoid);
    assert_eq!(gru.variant, GruVariant::ResetAfter);
    let mut cmp = Compare::new(format!("keras stateful GRU {label}"), 1e-13, 1e-12);
    let mut batch = BatchState::<B, GruState<H, f64>>::zeroed();
    let run = |batch: &mut BatchState<B, GruState<H, f64>>, x: &str, y: &str, cmp: &mut Compare| {
        for t in 0..T {
            let xs: [[f64; IN]; B] = core::array::from_fn(|b| arr(&flat(&o[x][b][t])));
            gru.step_batch_with::<K, B>(&xs, batch);
            for b in 0..B {
                cmp.slice(
                    format_args!("{y} row {b} t {t}"),
                    &batch.rows[b].h,
                    &flat(&o[y][b][t]),
                );
            }
        }
    };
    run(&mut batch, "x1", "y1", &mut cmp);
    let after1 = flat(&o["states_after_batch1"]["h"]);
    cmp.slice(
        "after batch 1",
        &batch.rows.iter().flat_map(|s| s.h).collect::<Vec<_>>(),
        &after1,
    );
    let mut no_reset = batch;
    run(&mut no_reset, "x2", "y2_no_reset", &mut cmp);
    batch.reset_all();
    run(&mut batch, "x2", "y2_after_reset", &mut cmp);
    let after = flat(&o["states_after_batch2_after_reset"]["h"]);
    cmp.slice(
        "after reset + batch 2",
        &batch.rows.iter().flat_map(|s| s.h).collect::<Vec<_>>(),
        &after,
    );
    cmp.finish();
}

#[test]
fn stateful_gru_batches_match_keras_with_and_without_reset() {
    stateful::<Scalar>("scalar");
    stateful::<Simd>("simd");
}

/// The case of `grads_v2.json` whose name starts with `name`.
fn case(name: &str) -> Value {
    let all: Value = load_oracle("grads_v2.json");
    all["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with(name)))
        .unwrap_or_else(|| panic!("no case {name}"))
        .clone()
}

/// A GRU layer's gradient in PyTorch's layout: `weight_ih`, `weight_hh` transposed,
/// `bias_ih` = our `b`, `bias_hh` = our `b`'s r and z blocks then `b_hn`.
fn torch_grads<const IN: usize, const H: usize>(g: &GruWeights<IN, H, f64>) -> [Vec<f64>; 4] {
    let (mut wi, mut wh) = (vec![0.0; 3 * H * IN], vec![0.0; 3 * H * H]);
    let (mut bi, mut bh) = (vec![0.0; 3 * H], vec![0.0; 3 * H]);
    g.to_torch(&mut wi, &mut wh, &mut bi, &mut bh).unwrap();
    bh[..2 * H].copy_from_slice(&g.b_flat()[..2 * H]);
    [wi, wh, bi, bh]
}

/// The same gradient in Keras' layout (reset-after): `kernel`, `recurrent_kernel`,
/// `bias` `[2, 3H]` (input row = our `b`; recurrent row = our r, z blocks and `b_hn`).
fn keras_grads<const IN: usize, const H: usize>(g: &GruWeights<IN, H, f64>) -> [Vec<f64>; 3] {
    let (mut k, mut r, mut b) = (
        vec![0.0; 3 * H * IN],
        vec![0.0; 3 * H * H],
        vec![0.0; 6 * H],
    );
    g.to_keras(GruVariant::ResetAfter, &mut k, &mut r, &mut b)
        .unwrap();
    // to_keras writes the recurrent row's r and z blocks as zero (their values are folded
    // into the input row); a gradient has them equal to the input row's.
    let input = b[..3 * H].to_vec();
    b[3 * H..5 * H].copy_from_slice(&input[..2 * H]);
    [k, r, b]
}

fn compare_layouts<const IN: usize, const H: usize, const OUT: usize>(
    cmp: &mut Compare,
    g: &Grads<GruWeights<IN, H, f64>, H, OUT, f64>,
    c: &Value,
) {
    let tg = &c["torch"]["grads_torch_layout"];
    for (name, v) in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        .into_iter()
        .zip(torch_grads(&g.rnn))
    {
        cmp.slice(name, &v, &flat(&tg[name]));
    }
    cmp.slice(
        "dense_weight",
        g.head.w.as_flattened(),
        &flat(&tg["dense_weight"]),
    );
    cmp.slice("dense_bias", &g.head.b, &flat(&tg["dense_bias"]));
    let kg = &c["keras"]["grads_keras_layout"];
    for (name, v) in ["kernel", "recurrent_kernel", "bias"]
        .into_iter()
        .zip(keras_grads(&g.rnn))
    {
        cmp.slice(format_args!("keras {name}"), &v, &flat(&kg[name]));
    }
    let dk: Vec<f64> = (0..H)
        .flat_map(|j| (0..OUT).map(move |o| g.head.w[o][j]))
        .collect();
    cmp.slice("keras dense_kernel", &dk, &flat(&kg["dense_kernel"]));
}

const IN: usize = 2;
const H: usize = 4;
const B: usize = 3;
const T: usize = 6;

fn net<const OUT: usize, F: Float>(c: &Value) -> Model<Gru<IN, H, F>, IN, H, OUT, F> {
    let t = &c["torch_layout"];
    Model::new(
        torch_gru(t),
        Dense {
            w: core::array::from_fn(|o| arr(&flat(&t["dense_weight"][o]))),
            b: arr(&flat(&t["dense_bias"])),
        },
    )
}

/// Loss, outputs, gradients and `dL/dh0` (rows concatenated) of a case: many-to-one
/// (`every_step == false`, the loss on the last step's logits) or many-to-many (every
/// step), the loss a mean over rows (and steps and outputs, as the case states).
#[allow(clippy::type_complexity)]
fn run<const OUT: usize, F: Float, K: Kernels<F>>(
    c: &Value,
    loss: Loss,
    every_step: bool,
) -> (
    f64,
    Vec<f64>,
    Grads<GruWeights<IN, H, F>, H, OUT, F>,
    Vec<f64>,
) {
    let net = net::<OUT, F>(c);
    let mut grads = Grads::zeroed();
    let (mut total, mut outputs, mut dh0) = (0.0, Vec::new(), Vec::new());
    for b in 0..B {
        let mut s = GruState::<H, F> {
            h: arr(&flat(&c["h0"][b])),
        };
        let xs: Vec<[F; IN]> = (0..T).map(|t| arr(&flat(&c["x"][b][t]))).collect();
        let mut tape = Tape::<T, <Gru<IN, H, F> as Recurrent<IN, H, F>>::Record>::new();
        net.rnn
            .forward_window_with::<K, T>(&xs, &mut s, &mut tape)
            .unwrap();
        let steps: Vec<usize> = if every_step {
            (0..T).collect()
        } else {
            vec![T - 1]
        };
        let rows = (B * steps.len()) as f64;
        let mut dl = Vec::new();
        for &t in &steps {
            let p = net.logits_at(&tape, t).unwrap();
            let y: [F; OUT] = if every_step {
                arr(&flat(&c["y"][b][t]))
            } else {
                arr(&flat(&c["y"][b]))
            };
            let (sample, g) = loss.evaluate(&p, &y);
            total += sample.loss.to_f64() / rows;
            outputs.extend(widen(&p));
            let scale = F::ONE / F::from_f64(rows);
            dl.push(g.map(|v| v * scale));
        }
        let d0 = net.backward_sequence_with::<K, T>(&tape, &dl, &GruState::zeroed(), &mut grads);
        dh0.extend(widen(&d0.h));
    }
    (total, outputs, grads, dh0)
}

fn widen_grads<const OUT: usize>(
    g: &Grads<GruWeights<IN, H, f32>, H, OUT, f32>,
) -> Grads<GruWeights<IN, H, f64>, H, OUT, f64> {
    use lstm_kernel::Tensors;
    let mut w = Grads::zeroed();
    for i in 0..<Grads<GruWeights<IN, H, f64>, H, OUT, f64> as Tensors<f64>>::COUNT {
        w.tensor_mut(i).copy_from_slice(&widen(g.tensor(i)));
    }
    w
}

fn gradient_case<const OUT: usize>(name: &str, loss: Loss, every_step: bool) {
    let c = case(name);
    assert_eq!(c["cell"].as_str(), Some("gru"));
    assert_eq!(
        c["loss_reduction"].as_str().map(|s| s.contains("mean")),
        Some(true)
    );
    let want_loss = c["torch"]["loss"].as_f64().unwrap();
    for (label, (l, out, g, dh0)) in [
        ("scalar", run::<OUT, f64, Scalar>(&c, loss, every_step)),
        ("simd", run::<OUT, f64, Simd>(&c, loss, every_step)),
    ] {
        let mut cmp = Compare::new(format!("{name} f64 {label}"), 1e-13, 1e-12);
        cmp.value("loss", l, want_loss);
        cmp.value("keras loss", l, c["keras"]["loss"].as_f64().unwrap());
        cmp.slice("outputs", &out, &flat(&c["torch"]["output"]));
        compare_layouts(&mut cmp, &g, &c);
        cmp.slice(
            "dL/dh0",
            &dh0,
            &flat(&c["torch"]["grads_torch_layout"]["h0"]),
        );
        cmp.slice(
            "keras dL/dh0",
            &dh0,
            &flat(&c["keras"]["grads_keras_layout"]["h0"]),
        );
        cmp.finish();
    }
    for (label, (l, out, g, dh0)) in [
        ("scalar", run::<OUT, f32, Scalar>(&c, loss, every_step)),
        ("simd", run::<OUT, f32, Simd>(&c, loss, every_step)),
    ] {
        let mut cmp = Compare::new(format!("{name} f32 {label}"), 1e-5, 1e-4);
        cmp.value("loss", l, want_loss);
        cmp.slice("outputs", &out, &flat(&c["torch"]["output"]));
        compare_layouts(&mut cmp, &widen_grads(&g), &c);
        cmp.slice(
            "dL/dh0",
            &dh0,
            &flat(&c["torch"]["grads_torch_layout"]["h0"]),
        );
        cmp.finish();
    }
}

#[test]
fn gru_linear_bce_gradients_match_torch_and_keras() {
    gradient_case::<1>("a_gru", Loss::Bce, false);
}

#[test]
fn gru_many_to_many_mse_gradients_match_torch_and_keras() {
    gradient_case::<2>("d_gru", Loss::Mse, true);
}
