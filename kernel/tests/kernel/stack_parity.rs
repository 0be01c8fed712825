//! Stacks, sequence outputs and the new losses against the real PyTorch / Keras oracles:
//!
//! - `torch_lstm2_forward.json`: `nn.LSTM(3, 5, num_layers=2)` (and two stacked Keras
//!   `LSTM` layers), B = 2 rows of T = 7 steps from nonzero per-layer `(h0, c0)`: every
//!   layer's `h_t`, `c_t`, the top `h_t` and the final states, through `step` and
//!   `forward_window`, from the torch and from the Keras layout.
//! - `grads_v2.json` case (b): 2-layer `LSTM(2 -> 4 -> 4)` -> `Linear(4, 3)` -> softmax CE
//!   on the last step, mean over B = 3: loss, logits, every parameter's gradient (both
//!   layouts) and `dL/d(h0, c0)` of both layers.
//! - `grads_v2.json` case (c): `LSTM(2 -> 4)` -> `Linear(4, 2)` at every step -> MSE, mean
//!   over B·T·O = 36: loss, outputs, gradients, `dL/d(h0, c0)`; through
//!   `backward_sequence_with` and checked again through `train_sequence`.
//!
//! Tolerances: `f64` `1e-13 + 1e-12·|want|` (the oracles agree with each other to ~1e-16
//! and our summation order differs only by rounding); `f32` `2e-6` absolute for the forward
//! values (|values| < 1, seven steps of contractive recurrences from f32-rounded weights:
//! torch's own f32 run differs from f64 by 2.6e-8; the SIMD path adds FMA rounding) and
//! `1e-5 + 1e-4·|want|` for gradients.

use lstm_kernel::backend::{Kernels, Scalar, Simd};
use lstm_kernel::{
    Dense, Float, Grads, Loss, Lstm, Lstm2, LstmState, LstmWeights, Model, Recurrent,
    RecurrentActivation, Stack, Tape, Tensors,
};
use serde_json::Value;

use crate::common::{Compare, arr, cast, load_oracle, widen};

/// The numbers of a nested JSON list, flattened row-major.
fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().expect("a number")],
        other => panic!("not a number or a list: {other}"),
    }
}

/// `v[i]` of a JSON list.
fn at(v: &Value, i: usize) -> &Value {
    &v[i]
}

/// One LSTM layer from `weight_ih{suffix}` ... `bias_hh{suffix}` in a torch-layout block.
fn torch_layer<const IN: usize, const H: usize, F: Float>(
    j: &Value,
    suffix: &str,
) -> Lstm<IN, H, F> {
    let t = |n: &str| cast::<F>(&flat(&j[format!("{n}{suffix}")]));
    let w = LstmWeights::from_torch(
        &t("weight_ih"),
        &t("weight_hh"),
        &t("bias_ih"),
        &t("bias_hh"),
    )
    .expect("torch tensors have the documented shapes");
    Lstm::new(w, RecurrentActivation::Sigmoid)
}

/// One LSTM layer from `{prefix}kernel`, `{prefix}recurrent_kernel`, `{prefix}bias`.
fn keras_layer<const IN: usize, const H: usize, F: Float>(
    j: &Value,
    prefix: &str,
) -> Lstm<IN, H, F> {
    let t = |n: &str| cast::<F>(&flat(&j[format!("{prefix}{n}")]));
    let w = LstmWeights::from_keras(&t("kernel"), &t("recurrent_kernel"), &t("bias"))
        .expect("keras tensors have the documented shapes");
    Lstm::new(w, RecurrentActivation::Sigmoid)
}

/// A layer's state from `[layers][B][H]` (or `[B][H]` for one layer) initial states.
fn state_of<const H: usize, F: Float>(h0: &Value, c0: &Value) -> LstmState<H, F> {
    LstmState {
        h: arr(&flat(h0)),
        c: arr(&flat(c0)),
    }
}

mod lstm2_forward {
    use super::*;

    const IN: usize = 3;
    const H: usize = 5;
    type Net<F> = Lstm2<IN, H, H, F>;

    fn check<F: Float, K: Kernels<F>>(label: &str, net: &Net<F>, o: &Value, atol: f64) {
        assert_eq!((o["IN"].as_u64(), o["H"].as_u64()), (Some(3), Some(5)));
        let (rows, steps) = (2, 7);
        let mut cmp = Compare::new(format!("lstm2 forward {label}"), atol, 0.0);
        for b in 0..rows {
            let init = |l: usize| state_of::<H, F>(at(at(&o["h0"], l), b), at(at(&o["c0"], l), b));
            let start = Stack::new(init(0), init(1));
            let xs: Vec<[F; IN]> = (0..steps)
                .map(|t| arr(&flat(at(at(&o["x"], b), t))))
                .collect();
            // Streaming steps.
            let mut s = start;
            for (t, x) in xs.iter().enumerate() {
                net.step_with::<K>(x, &mut s);
                let want_top = flat(at(at(&o["h_seq"], b), t));
                cmp.slice(
                    format_args!("row {b} t {t} top h"),
                    &widen(&s.upper.h),
                    &want_top,
                );
                for (l, st) in [(0, &s.lower), (1, &s.upper)] {
                    let per = |k: &str| flat(at(at(at(&o[k], l), b), t));
                    cmp.slice(
                        format_args!("row {b} t {t} layer {l} h"),
                        &widen(&st.h),
                        &per("h_seq_per_layer"),
                    );
                    cmp.slice(
                        format_args!("row {b} t {t} layer {l} c"),
                        &widen(&st.c),
                        &per("c_seq_per_layer"),
                    );
                }
            }
            for (l, st) in [(0, &s.lower), (1, &s.upper)] {
                cmp.slice(
                    format_args!("row {b} h_n layer {l}"),
                    &widen(&st.h),
                    &flat(at(at(&o["h_n"], l), b)),
                );
                cmp.slice(
                    format_args!("row {b} c_n layer {l}"),
                    &widen(&st.c),
                    &flat(at(at(&o["c_n"], l), b)),
                );
            }
            // A recorded window gives the same final state and per-step top outputs.
            let mut w = start;
            let mut tape = Tape::<7, <Net<F> as Recurrent<IN, H, F>>::Record>::new();
            net.forward_window_with::<K, 7>(&xs, &mut w, &mut tape)
                .unwrap();
            assert_eq!(w, s, "{label}: window and steps disagree");
            for (t, r) in tape.steps().iter().enumerate() {
                let h = <Net<F> as Recurrent<IN, H, F>>::record_output(r);
                cmp.slice(
                    format_args!("row {b} t {t} taped top h"),
                    &widen(&h),
                    &flat(at(at(&o["h_seq"], b), t)),
                );
            }
        }
        cmp.finish();
    }

    fn nets<F: Float>(o: &Value) -> [Net<F>; 2] {
        let k = &o["keras_layout"];
        [
            Stack::new(torch_layer(o, "_l0"), torch_layer(o, "_l1")),
            Stack::new(keras_layer(k, "l0_"), keras_layer(k, "l1_")),
        ]
    }

    #[test]
    fn two_layer_lstm_matches_torch_and_stacked_keras_f64() {
        let o: Value = load_oracle("torch_lstm2_forward.json");
        for (layout, net) in ["torch", "keras"].into_iter().zip(nets::<f64>(&o)) {
            check::<f64, Scalar>(&format!("f64 scalar {layout}"), &net, &o, 1e-13);
            check::<f64, Simd>(&format!("f64 simd {layout}"), &net, &o, 1e-13);
        }
    }

    #[test]
    fn two_layer_lstm_matches_torch_f32_scalar_and_simd() {
        let o: Value = load_oracle("torch_lstm2_forward.json");
        for (layout, net) in ["torch", "keras"].into_iter().zip(nets::<f32>(&o)) {
            check::<f32, Scalar>(&format!("f32 scalar {layout}"), &net, &o, 2e-6);
            check::<f32, Simd>(&format!("f32 simd {layout}"), &net, &o, 2e-6);
        }
    }
}

/// The case of `grads_v2.json` called `name`.
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

/// Our gradient of a model-shaped tensor walk against torch-layout tensors: `W_ih`, `W_hh`
/// transposed, both biases equal to our one bias gradient, then the dense weight and bias.
fn compare_torch<P: Tensors<f64>>(cmp: &mut Compare, ours: &P, t: &Value, suffixes: &[&str]) {
    for (l, sfx) in suffixes.iter().enumerate() {
        let info = |i| P::info(3 * l + i).expect("a tensor");
        let (wih, whh) = (ours.tensor(3 * l), ours.tensor(3 * l + 1));
        let (ni, nh) = (info(0).dims[0], info(1).dims[0]);
        let n = 4 * nh;
        let transpose = |m: &[f64], rows: usize| -> Vec<f64> {
            (0..n)
                .flat_map(|c| (0..rows).map(move |r| (r, c)))
                .map(|(r, c)| m[r * n + c])
                .collect()
        };
        cmp.slice(
            format_args!("weight_ih{sfx}"),
            &transpose(wih, ni),
            &flat(&t[format!("weight_ih{sfx}")]),
        );
        cmp.slice(
            format_args!("weight_hh{sfx}"),
            &transpose(whh, nh),
            &flat(&t[format!("weight_hh{sfx}")]),
        );
        for b in ["bias_ih", "bias_hh"] {
            cmp.slice(
                format_args!("{b}{sfx}"),
                ours.tensor(3 * l + 2),
                &flat(&t[format!("{b}{sfx}")]),
            );
        }
    }
    let k = 3 * suffixes.len();
    cmp.slice("dense_weight", ours.tensor(k), &flat(&t["dense_weight"]));
    cmp.slice("dense_bias", ours.tensor(k + 1), &flat(&t["dense_bias"]));
}

/// Our gradient against Keras-layout tensors (our storage order is Keras' kernel layout;
/// the dense kernel is the transpose of our head weight).
fn compare_keras<P: Tensors<f64>, const H: usize, const OUT: usize>(
    cmp: &mut Compare,
    ours: &P,
    k: &Value,
    prefixes: &[&str],
) {
    for (l, p) in prefixes.iter().enumerate() {
        for (i, n) in ["kernel", "recurrent_kernel", "bias"]
            .into_iter()
            .enumerate()
        {
            cmp.slice(
                format_args!("{p}{n}"),
                ours.tensor(3 * l + i),
                &flat(&k[format!("{p}{n}")]),
            );
        }
    }
    let w = ours.tensor(3 * prefixes.len());
    let wt: Vec<f64> = (0..H)
        .flat_map(|j| (0..OUT).map(move |o| w[o * H + j]))
        .collect();
    cmp.slice("dense_kernel", &wt, &flat(&k["dense_kernel"]));
    cmp.slice(
        "dense_bias",
        ours.tensor(3 * prefixes.len() + 1),
        &flat(&k["dense_bias"]),
    );
}

mod lstm2_softmax_ce {
    use super::*;

    const IN: usize = 2;
    const H: usize = 4;
    const OUT: usize = 3;
    const B: usize = 3;
    const T: usize = 6;
    type Rnn<F> = Lstm2<IN, H, H, F>;
    type Net<F> = Model<Rnn<F>, IN, H, OUT, F>;
    type State<F> = <Rnn<F> as Recurrent<IN, H, F>>::State;

    fn net<F: Float>(c: &Value) -> Net<F> {
        let t = &c["torch_layout"];
        Model::new(
            Stack::new(torch_layer(t, "_l0"), torch_layer(t, "_l1")),
            Dense {
                w: core::array::from_fn(|o| arr(&flat(&t["dense_weight"][o]))),
                b: arr(&flat(&t["dense_bias"])),
            },
        )
    }

    /// Loss, logits `[B][OUT]`, gradients and the initial-state gradient of every row.
    #[allow(clippy::type_complexity)]
    fn run<F: Float, K: Kernels<F>>(
        net: &Net<F>,
        c: &Value,
    ) -> (
        f64,
        Vec<f64>,
        Grads<<Rnn<F> as Tensors<F>>::Grads, H, OUT, F>,
        Vec<State<F>>,
    ) {
        let mut grads = Grads::zeroed();
        let (mut loss, mut logits, mut d0) = (0.0, Vec::new(), Vec::new());
        for b in 0..B {
            let init = |l: usize| state_of::<H, F>(at(at(&c["h0"], l), b), at(at(&c["c0"], l), b));
            let mut s = Stack::new(init(0), init(1));
            let xs: Vec<[F; IN]> = (0..T).map(|t| arr(&flat(at(at(&c["x"], b), t)))).collect();
            let target: [F; OUT] = arr(&flat(at(&c["y_one_hot"], b)));
            let mut tape = Tape::<T, <Rnn<F> as Recurrent<IN, H, F>>::Record>::new();
            let z = net
                .forward_window_with::<K, T>(&xs, &mut s, &mut tape)
                .unwrap();
            let (sample, g) = Loss::SoftmaxCe.evaluate(&z, &target);
            loss += sample.loss.to_f64() / B as f64;
            logits.extend(widen(&z));
            let scale = F::ONE / F::from_f64(B as f64);
            let dz = g.map(|v| v * scale);
            let zero = <State<F> as lstm_kernel::StreamState>::zeroed();
            d0.push(net.backward_window_with::<K, T>(&tape, &dz, &zero, &mut grads));
        }
        (loss, logits, grads, d0)
    }

    fn state_grads(d0: &[State<f64>]) -> [Vec<f64>; 2] {
        // [layers][B][H], h then c.
        let layer = |l: usize, hc: usize| -> Vec<f64> {
            d0.iter()
                .flat_map(|s| {
                    let st = if l == 0 { &s.lower } else { &s.upper };
                    if hc == 0 {
                        st.h.to_vec()
                    } else {
                        st.c.to_vec()
                    }
                })
                .collect()
        };
        [
            [layer(0, 0), layer(1, 0)].concat(),
            [layer(0, 1), layer(1, 1)].concat(),
        ]
    }

    #[test]
    fn two_layer_softmax_ce_gradients_match_torch_and_keras_f64() {
        let c = case("b_lstm2");
        assert_eq!(
            c["loss_reduction"].as_str().map(|s| s.contains("mean")),
            Some(true)
        );
        let net = net::<f64>(&c);
        for (label, (loss, logits, grads, d0)) in [
            ("scalar", run::<f64, Scalar>(&net, &c)),
            ("simd", run::<f64, Simd>(&net, &c)),
        ] {
            let mut cmp = Compare::new(format!("lstm2 softmax CE f64 {label}"), 1e-13, 1e-12);
            cmp.value("loss", loss, c["torch"]["loss"].as_f64().unwrap());
            cmp.value("keras loss", loss, c["keras"]["loss"].as_f64().unwrap());
            cmp.slice("logits", &logits, &flat(&c["torch"]["output"]));
            let tg = &c["torch"]["grads_torch_layout"];
            compare_torch(&mut cmp, &grads, tg, &["_l0", "_l1"]);
            compare_keras::<_, H, OUT>(
                &mut cmp,
                &grads,
                &c["keras"]["grads_keras_layout"],
                &["l0_", "l1_"],
            );
            let [dh0, dc0] = state_grads(&d0);
            cmp.slice("dL/dh0", &dh0, &flat(&tg["h0"]));
            cmp.slice("dL/dc0", &dc0, &flat(&tg["c0"]));
            cmp.finish();
        }
    }

    #[test]
    fn two_layer_softmax_ce_gradients_match_torch_f32() {
        let c = case("b_lstm2");
        let net = net::<f32>(&c);
        for (label, (loss, logits, grads, _)) in [
            ("scalar", run::<f32, Scalar>(&net, &c)),
            ("simd", run::<f32, Simd>(&net, &c)),
        ] {
            let mut cmp = Compare::new(format!("lstm2 softmax CE f32 {label}"), 1e-5, 1e-4);
            cmp.value("loss", loss, c["torch"]["loss"].as_f64().unwrap());
            cmp.slice("logits", &logits, &flat(&c["torch"]["output"]));
            let g64: Vec<Vec<f64>> = (0..<Net<f32> as Tensors<f32>>::COUNT)
                .map(|i| widen(grads.tensor(i)))
                .collect();
            let mut wide = Grads::<<Rnn<f64> as Tensors<f64>>::Grads, H, OUT, f64>::zeroed();
            for (i, g) in g64.iter().enumerate() {
                wide.tensor_mut(i).copy_from_slice(g);
            }
            compare_torch(
                &mut cmp,
                &wide,
                &c["torch"]["grads_torch_layout"],
                &["_l0", "_l1"],
            );
            cmp.finish();
        }
    }
}

mod lstm_mse_every_step {
    use super::*;

    const IN: usize = 2;
    const H: usize = 4;
    const OUT: usize = 2;
    const B: usize = 3;
    const T: usize = 6;
    type Net<F> = Model<Lstm<IN, H, F>, IN, H, OUT, F>;

    fn net<F: Float>(c: &Value) -> Net<F> {
        let t = &c["torch_layout"];
        Model::new(
            torch_layer(t, ""),
            Dense {
                w: core::array::from_fn(|o| arr(&flat(&t["dense_weight"][o]))),
                b: arr(&flat(&t["dense_bias"])),
            },
        )
    }

    #[allow(clippy::type_complexity)]
    fn run<F: Float, K: Kernels<F>>(
        net: &Net<F>,
        c: &Value,
    ) -> (
        f64,
        Vec<f64>,
        Grads<LstmWeights<IN, H, F>, H, OUT, F>,
        Vec<LstmState<H, F>>,
    ) {
        let mut grads = Grads::zeroed();
        let (mut loss, mut outputs, mut d0) = (0.0, Vec::new(), Vec::new());
        for b in 0..B {
            let mut s = state_of::<H, F>(at(&c["h0"], b), at(&c["c0"], b));
            let xs: Vec<[F; IN]> = (0..T).map(|t| arr(&flat(at(at(&c["x"], b), t)))).collect();
            let mut tape = Tape::<T, <Lstm<IN, H, F> as Recurrent<IN, H, F>>::Record>::new();
            net.rnn
                .forward_window_with::<K, T>(&xs, &mut s, &mut tape)
                .unwrap();
            let scale = F::ONE / F::from_f64((B * T) as f64);
            let mut dlogits = Vec::new();
            for t in 0..T {
                let p = net.logits_at(&tape, t).unwrap();
                let y: [F; OUT] = arr(&flat(at(at(&c["y"], b), t)));
                let (sample, g) = Loss::Mse.evaluate(&p, &y);
                loss += sample.loss.to_f64() / (B * T) as f64;
                outputs.extend(widen(&p));
                dlogits.push(g.map(|v| v * scale));
            }
            d0.push(net.backward_sequence_with::<K, T>(
                &tape,
                &dlogits,
                &LstmState::zeroed(),
                &mut grads,
            ));
        }
        (loss, outputs, grads, d0)
    }

    #[test]
    fn many_to_many_mse_gradients_match_torch_and_keras_f64() {
        let c = case("c_lstm");
        let net = net::<f64>(&c);
        for (label, (loss, outputs, grads, d0)) in [
            ("scalar", run::<f64, Scalar>(&net, &c)),
            ("simd", run::<f64, Simd>(&net, &c)),
        ] {
            let mut cmp = Compare::new(format!("LSTM many-to-many MSE f64 {label}"), 1e-13, 1e-12);
            cmp.value("loss", loss, c["torch"]["loss"].as_f64().unwrap());
            cmp.value("keras loss", loss, c["keras"]["loss"].as_f64().unwrap());
            cmp.slice("outputs", &outputs, &flat(&c["torch"]["output"]));
            let tg = &c["torch"]["grads_torch_layout"];
            compare_torch(&mut cmp, &grads, tg, &[""]);
            compare_keras::<_, H, OUT>(&mut cmp, &grads, &c["keras"]["grads_keras_layout"], &[""]);
            let dh0: Vec<f64> = d0.iter().flat_map(|s| s.h).collect();
            let dc0: Vec<f64> = d0.iter().flat_map(|s| s.c).collect();
            cmp.slice("dL/dh0", &dh0, &flat(&tg["h0"]));
            cmp.slice("dL/dc0", &dc0, &flat(&tg["c0"]));
            cmp.finish();
        }
    }

    /// `train_sequence` (from the zero state) gives the same loss and gradients as the
    /// explicit route above run from the zero state.
    #[test]
    fn train_sequence_is_the_explicit_many_to_many_route() {
        let c = case("c_lstm");
        let net = net::<f64>(&c);
        let mut explicit = Grads::zeroed();
        let mut via = Grads::zeroed();
        let (mut l_explicit, mut l_via) = (0.0, 0.0);
        for b in 0..B {
            let xs: Vec<[f64; IN]> = (0..T).map(|t| arr(&flat(at(at(&c["x"], b), t)))).collect();
            let ys: Vec<[f64; OUT]> = (0..T).map(|t| arr(&flat(at(at(&c["y"], b), t)))).collect();
            let mut tape = Tape::<T, <Lstm<IN, H, f64> as Recurrent<IN, H, f64>>::Record>::new();
            let mut s = LstmState::zeroed();
            let sample = net
                .train_sequence(
                    Loss::Mse,
                    &xs,
                    &ys,
                    1.0 / B as f64,
                    &mut s,
                    &mut tape,
                    &mut via,
                )
                .unwrap();
            l_via += sample.loss / B as f64;
            let mut s = LstmState::zeroed();
            net.rnn.forward_window(&xs, &mut s, &mut tape).unwrap();
            let dl: Vec<[f64; OUT]> = (0..T)
                .map(|t| {
                    let (sm, g) = Loss::Mse.evaluate(&net.logits_at(&tape, t).unwrap(), &ys[t]);
                    l_explicit += sm.loss / (B * T) as f64;
                    g.map(|v| v / (B * T) as f64)
                })
                .collect();
            net.backward_sequence_with::<Scalar, T>(
                &tape,
                &dl,
                &LstmState::zeroed(),
                &mut explicit,
            );
        }
        let mut cmp = Compare::new("train_sequence vs explicit", 1e-15, 1e-13);
        cmp.value("loss", l_via, l_explicit);
        for i in 0..<Net<f64> as Tensors<f64>>::COUNT {
            cmp.slice(
                format_args!("tensor {i}"),
                via.tensor(i),
                explicit.tensor(i),
            );
        }
        cmp.finish();
    }
}
