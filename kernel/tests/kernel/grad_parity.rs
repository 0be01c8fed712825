//! Gradients and Adam steps against `lstm_dense_bce_grads.json`: `LSTM(1 -> 4)` then
//! `Dense(4 -> 1)`, B = 3 sequences of T = 6 steps from nonzero `(h0, c0)`, loss = mean
//! over the batch of BCE at the last step.
//!
//! The gradient is `Σ_rows backward_window(dlogits = (σ(z) - y) / B)`; the torch oracle's
//! two biases both receive our single `grads.rnn.b` (`∂L/∂b_ih = ∂L/∂b_hh = ∂L/∂b` since
//! `b = b_ih + b_hh`). `∂L/∂h0`, `∂L/∂c0` are the states `backward_window` returns.
//!
//! Tolerances: `1e-12` absolute in `f64` (float64 oracles; gradients are at most 0.23 and
//! differ only by rounding order, ~1e-17); the `f32` figures are in their tests.

use lstm_kernel::backend::{Kernels, Scalar, Simd};
use lstm_kernel::{
    Adam, AdamConfig, Dense, EpsPlacement, Float, Grads, LstmGrads, LstmModel, LstmState, LstmTape,
    LstmWeights, RecurrentActivation, Tensors,
};
use serde::Deserialize;

use crate::common::{Compare, OracleDims, arr, cast, flat2, load_oracle, widen};

const IN: usize = 1;
const H: usize = 4;
const B: usize = 3;
const T: usize = 6;

type Net<F> = LstmModel<IN, H, 1, F>;
type Seq = Vec<Vec<Vec<f64>>>;

/// `f64` gradient and parameter tolerance (see the module doc).
const ATOL_F64: f64 = 1e-12;

#[derive(Deserialize)]
struct Oracle {
    /// `IN`, `H`, `B`, `T` of the oracle.
    #[serde(flatten)]
    dims: OracleDims,
    x: Seq,
    y: Vec<Vec<f64>>,
    h0: Vec<Vec<f64>>,
    c0: Vec<Vec<f64>>,
    torch_layout: TorchJson,
    keras_layout: KerasJson,
    torch: TorchGradBlock,
    keras: KerasGradBlock,
    adam_torch: AdamBlock<TorchJson>,
    adam_keras: AdamBlock<KerasJson>,
}

#[derive(Deserialize, Clone)]
struct TorchJson {
    weight_ih: Vec<Vec<f64>>,
    weight_hh: Vec<Vec<f64>>,
    bias_ih: Vec<f64>,
    bias_hh: Vec<f64>,
    dense_weight: Vec<Vec<f64>>,
    dense_bias: Vec<f64>,
}

#[derive(Deserialize, Clone)]
struct KerasJson {
    kernel: Vec<Vec<f64>>,
    recurrent_kernel: Vec<Vec<f64>>,
    bias: Vec<f64>,
    dense_kernel: Vec<Vec<f64>>,
    dense_bias: Vec<f64>,
}

#[derive(Deserialize)]
struct TorchGradBlock {
    prediction: Vec<Vec<f64>>,
    loss: f64,
    grads_torch_layout: TorchGradsJson,
}

#[derive(Deserialize)]
struct TorchGradsJson {
    #[serde(flatten)]
    params: TorchJson,
    h0: Vec<Vec<f64>>,
    c0: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct KerasGradBlock {
    prediction: Vec<Vec<f64>>,
    loss: f64,
    grads_keras_layout: KerasGradsJson,
}

#[derive(Deserialize)]
struct KerasGradsJson {
    #[serde(flatten)]
    params: KerasJson,
    h0: Vec<Vec<f64>>,
    c0: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct AdamBlock<P> {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    steps: Vec<AdamStep<P>>,
}

#[derive(Deserialize)]
struct AdamStep<P> {
    step: u32,
    loss_before_step: f64,
    grads_used: P,
    params_after: P,
}

fn oracle() -> Oracle {
    let o: Oracle = load_oracle("lstm_dense_bce_grads.json");
    o.dims.assert_is(IN, H, B, T);
    o
}

/// PyTorch's parameter list, flat row-major: `weight_ih [4H, IN]`, `weight_hh [4H, H]`,
/// `bias_ih [4H]`, `bias_hh [4H]`, `dense_weight [1, H]`, `dense_bias [1]`. Also used for
/// their gradients and for Adam's moments, so our `Adam` updates the two biases as two
/// parameters, as `torch.optim.Adam` does.
#[derive(Clone, Debug, Default)]
struct TorchParams([Vec<f64>; 6]);

const TORCH_NAMES: [&str; 6] = [
    "weight_ih",
    "weight_hh",
    "bias_ih",
    "bias_hh",
    "dense_weight",
    "dense_bias",
];

impl Tensors<f64> for TorchParams {
    type Grads = Self;
    const COUNT: usize = 6;
    const LAYERS: usize = 1;
    /// Run-time lengths: no static shapes (Adam does not read them).
    fn info(_: usize) -> Option<lstm_kernel::TensorInfo> {
        None
    }
    fn tensor(&self, i: usize) -> &[f64] {
        self.0.get(i).map_or(&[], |v| v.as_slice())
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f64] {
        self.0.get_mut(i).map_or(&mut [], |v| v.as_mut_slice())
    }
}

impl TorchParams {
    fn from_json(j: &TorchJson) -> Self {
        Self([
            flat2(&j.weight_ih),
            flat2(&j.weight_hh),
            j.bias_ih.clone(),
            j.bias_hh.clone(),
            flat2(&j.dense_weight),
            j.dense_bias.clone(),
        ])
    }

    fn zeros_like(&self) -> Self {
        Self(self.0.clone().map(|v| vec![0.0; v.len()]))
    }

    /// The model these parameters define (`b = bias_ih + bias_hh`).
    fn to_model<F: Float>(&self) -> Net<F> {
        let [wih, whh, bih, bhh, dw, db] = &self.0;
        let w = LstmWeights::from_torch(&cast(wih), &cast(whh), &cast(bih), &cast(bhh))
            .expect("torch tensors have the documented shapes");
        let mut m = Net::<F>::zeroed(RecurrentActivation::Sigmoid);
        m.rnn.weights = w;
        m.head = Dense {
            w: [arr(dw)],
            b: arr(db),
        };
        m
    }

    /// Our gradients in PyTorch's layout: transposed weights, the bias gradient for both
    /// biases.
    fn from_grads<F: Float>(g: &LstmGrads<IN, H, 1, F>) -> Self {
        let mut wih = vec![F::ZERO; 4 * H * IN];
        let mut whh = vec![F::ZERO; 4 * H * H];
        let mut b = vec![F::ZERO; 4 * H];
        g.rnn
            .to_torch(&mut wih, &mut whh, &mut b)
            .expect("buffers have the torch shapes");
        Self([
            widen(&wih),
            widen(&whh),
            widen(&b),
            widen(&b),
            widen(g.head.w.as_flattened()),
            widen(&g.head.b),
        ])
    }
}

/// The model from the Keras layout.
fn keras_model(j: &KerasJson) -> Net<f64> {
    let w = LstmWeights::from_keras(&flat2(&j.kernel), &flat2(&j.recurrent_kernel), &j.bias)
        .expect("keras tensors have the documented shapes");
    let mut m = Net::<f64>::zeroed(RecurrentActivation::Sigmoid);
    m.rnn.weights = w;
    // Keras dense_kernel is [H, 1]; with one output its flattening is our [1][H] row.
    m.head = Dense {
        w: [arr(&flat2(&j.dense_kernel))],
        b: arr(&j.dense_bias),
    };
    m
}

/// Compares a model-shaped tensor list (ours: `W_ih [IN,4H]`, `W_hh [H,4H]`, `b`, head
/// `W`, head `b`, i.e. Keras' kernel layout) with a Keras-layout JSON block.
fn compare_keras_layout<P: Tensors<f64>>(cmp: &mut Compare, what: &str, ours: &P, k: &KerasJson) {
    cmp.slice(
        format_args!("{what} kernel"),
        ours.tensor(0),
        &flat2(&k.kernel),
    );
    cmp.slice(
        format_args!("{what} recurrent_kernel"),
        ours.tensor(1),
        &flat2(&k.recurrent_kernel),
    );
    cmp.slice(format_args!("{what} bias"), ours.tensor(2), &k.bias);
    cmp.slice(
        format_args!("{what} dense_kernel"),
        ours.tensor(3),
        &flat2(&k.dense_kernel),
    );
    cmp.slice(
        format_args!("{what} dense_bias"),
        ours.tensor(4),
        &k.dense_bias,
    );
}

fn compare_torch_layout(cmp: &mut Compare, what: &str, ours: &TorchParams, t: &TorchJson) {
    let want = TorchParams::from_json(t);
    for (i, name) in TORCH_NAMES.iter().enumerate() {
        cmp.slice(
            format_args!("{what} {name}"),
            ours.tensor(i),
            want.tensor(i),
        );
    }
}

/// One batch: loss, predictions `σ(z)`, parameter gradients and `(∂L/∂h0, ∂L/∂c0)` per row,
/// with `forward_window_with` + `backward_window_with` and kernels `K`.
struct BatchGrad<F> {
    loss: f64,
    prediction: Vec<f64>,
    grads: LstmGrads<IN, H, 1, F>,
    dh0: Vec<Vec<f64>>,
    dc0: Vec<Vec<f64>>,
}

fn batch_grad<F: Float, K: Kernels<F>>(model: &Net<F>, o: &Oracle) -> BatchGrad<F> {
    let mut out = BatchGrad {
        loss: 0.0,
        prediction: Vec::new(),
        grads: Grads::zeroed(),
        dh0: Vec::new(),
        dc0: Vec::new(),
    };
    for r in 0..B {
        let mut state = LstmState {
            h: arr::<F, H>(&o.h0[r]),
            c: arr::<F, H>(&o.c0[r]),
        };
        let xs: Vec<[F; IN]> = o.x[r].iter().map(|x| arr::<F, IN>(x)).collect();
        let mut tape = LstmTape::<T, IN, H, F>::new();
        let z = model
            .forward_window_with::<K, T>(&xs, &mut state, &mut tape)
            .expect("T steps fit")[0]
            .to_f64();
        let y = o.y[r][0];
        // Independent of the kernel's loss code: plain σ and BCE in f64.
        let p = 1.0 / (1.0 + (-z).exp());
        out.prediction.push(p);
        out.loss -= (y * p.ln() + (1.0 - y) * (1.0 - p).ln()) / B as f64;
        let dlogits = [F::from_f64((p - y) / B as f64)];
        let d0 = model.backward_window_with::<K, T>(
            &tape,
            &dlogits,
            &LstmState::zeroed(),
            &mut out.grads,
        );
        out.dh0.push(widen(&d0.h));
        out.dc0.push(widen(&d0.c));
    }
    out
}

/// The same batch through `Model::train_sample_bce` (grad_scale `1/B`, default kernels):
/// mean loss and gradients.
fn train_batch(model: &Net<f64>, o: &Oracle) -> (f64, LstmGrads<IN, H, 1, f64>) {
    let mut grads = Grads::zeroed();
    let mut loss = 0.0;
    for r in 0..B {
        let mut state = LstmState {
            h: arr(&o.h0[r]),
            c: arr(&o.c0[r]),
        };
        let xs: Vec<[f64; IN]> = o.x[r].iter().map(|x| arr(x)).collect();
        let mut tape = LstmTape::<T, IN, H, f64>::new();
        let s = model
            .train_sample_bce(
                &xs,
                &[o.y[r][0]],
                1.0 / B as f64,
                &mut state,
                &mut tape,
                &mut grads,
            )
            .expect("T steps fit");
        loss += s.loss / B as f64;
    }
    (loss, grads)
}

/// Compares a batch gradient with both oracle blocks.
fn compare_with_oracles<F: Float>(cmp: &mut Compare, g: &BatchGrad<F>, o: &Oracle) {
    let pred_t = flat2(&o.torch.prediction);
    let pred_k = flat2(&o.keras.prediction);
    cmp.slice("prediction vs torch", &g.prediction, &pred_t);
    cmp.slice("prediction vs keras", &g.prediction, &pred_k);
    cmp.value("loss vs torch", g.loss, o.torch.loss);
    cmp.value("loss vs keras", g.loss, o.keras.loss);

    let tg = &o.torch.grads_torch_layout;
    compare_torch_layout(
        cmp,
        "torch grad",
        &TorchParams::from_grads(&g.grads),
        &tg.params,
    );
    cmp.slice("torch dL/dh0", &g.dh0.concat(), &flat2(&tg.h0));
    cmp.slice("torch dL/dc0", &g.dc0.concat(), &flat2(&tg.c0));

    let kg = &o.keras.grads_keras_layout;
    let ours = LstmGrads::<IN, H, 1, f64> {
        rnn: widen_weights(&g.grads.rnn),
        head: Dense {
            w: [arr(&widen(g.grads.head.w.as_flattened()))],
            b: arr(&widen(&g.grads.head.b)),
        },
    };
    compare_keras_layout(cmp, "keras grad", &ours, &kg.params);
    cmp.slice("keras dL/dh0", &g.dh0.concat(), &flat2(&kg.h0));
    cmp.slice("keras dL/dc0", &g.dc0.concat(), &flat2(&kg.c0));
}

fn widen_weights<F: Float>(w: &LstmWeights<IN, H, F>) -> LstmWeights<IN, H, f64> {
    LstmWeights::from_keras(
        &widen(w.w_ih_flat()),
        &widen(w.w_hh_flat()),
        &widen(w.b_flat()),
    )
    .expect("same shapes")
}

#[test]
fn bce_gradients_and_initial_state_gradients_match_torch_and_keras_in_f64() {
    let o = oracle();
    let model = TorchParams::from_json(&o.torch_layout).to_model::<f64>();
    // The Keras layout describes the same model (the oracle's cross-check says 3e-17).
    let km = keras_model(&o.keras_layout);
    let mut same = Compare::new("torch vs keras layout import", 1e-15, 0.0);
    for i in 0..5 {
        same.slice(format_args!("tensor {i}"), model.tensor(i), km.tensor(i));
    }
    same.finish();

    let g = batch_grad::<f64, Scalar>(&model, &o);
    let mut cmp = Compare::new("bce grads f64 scalar vs torch+keras", ATOL_F64, 0.0);
    compare_with_oracles(&mut cmp, &g, &o);
    cmp.finish();

    // train_sample_bce computes dlogits itself (σ(z) - y, scaled by 1/B): the same
    // gradients up to the rounding of that product (1e-15 on values below 0.23).
    let (loss, tg) = train_batch(&model, &o);
    let mut cmp = Compare::new("train_sample_bce vs forward+backward", 1e-15, 0.0);
    cmp.value("loss", loss, g.loss);
    for i in 0..5 {
        cmp.slice(format_args!("tensor {i}"), tg.tensor(i), g.grads.tensor(i));
    }
    cmp.finish();
}

#[test]
fn bce_gradients_match_the_oracles_in_f32_with_simd_and_scalar_kernels() {
    let o = oracle();
    let model = TorchParams::from_json(&o.torch_layout).to_model::<f32>();
    // f32: parameters and inputs rounded to f32 (relative 6e-8), 6 recurrent steps forward
    // and back, SIMD activations within 3e-7. The largest gradient is 0.23 (dense bias) and
    // carries an f32 error of a few ulps (ulp(0.23) = 1.5e-8; we see at most 1e-8); 2e-7
    // absolute is 20x that, while a wrong term in any gradient moves it by ~1e-4 or more.
    for (label, g) in [
        ("simd", batch_grad::<f32, Simd>(&model, &o)),
        ("scalar", batch_grad::<f32, Scalar>(&model, &o)),
    ] {
        let mut cmp = Compare::new(format!("bce grads f32 {label} vs torch+keras"), 2e-7, 0.0);
        compare_with_oracles(&mut cmp, &g, &o);
        cmp.finish();
    }
}

#[test]
fn two_torch_adam_steps_update_both_biases_and_match_torch_optim_adam() {
    let o = oracle();
    let a = &o.adam_torch;
    let cfg = AdamConfig {
        lr: a.lr,
        beta1: a.beta1,
        beta2: a.beta2,
        eps: a.eps,
        eps_placement: EpsPlacement::PyTorch,
    };
    assert_eq!(
        cfg,
        AdamConfig::pytorch(),
        "the oracle used torch's defaults"
    );
    let mut params = TorchParams::from_json(&o.torch_layout);
    let mut adam = Adam::new(cfg, params.zeros_like());
    // f64 throughout; both sides compute the same formula, so parameters agree to rounding
    // (values below 0.6: ulp 1e-16; the update m̂/(sqrt(v̂)+eps) is well conditioned since
    // |g| >> eps). Gradients of step 2 are taken at our updated parameters.
    let mut cmp = Compare::new("torch adam (2 steps)", ATOL_F64, 0.0);
    assert_eq!(a.steps.len(), 2);
    for (k, step) in a.steps.iter().enumerate() {
        assert_eq!(step.step as usize, k + 1);
        let (loss, grads) = train_batch(&params.to_model(), &o);
        cmp.value(
            format_args!("step {} loss", step.step),
            loss,
            step.loss_before_step,
        );
        let g = TorchParams::from_grads(&grads);
        compare_torch_layout(
            &mut cmp,
            &format!("step {} grads_used", step.step),
            &g,
            &step.grads_used,
        );
        adam.step(&mut params, &g).expect("finite gradients");
        assert_eq!(adam.t as usize, k + 1);
        compare_torch_layout(
            &mut cmp,
            &format!("step {} params_after", step.step),
            &params,
            &step.params_after,
        );
    }
    cmp.finish();
}

/// Keras' Adam bias-correction factor `sqrt(1 - β2^t) / (1 - β1^t)` (without `lr`).
fn keras_alpha(beta1: f64, beta2: f64, t: u32) -> f64 {
    (1.0 - beta2.powi(t as i32)).sqrt() / (1.0 - beta1.powi(t as i32))
}

#[test]
fn two_keras_adam_steps_match_keras_optimizers_adam() {
    let o = oracle();
    let a = &o.adam_keras;
    let cfg = AdamConfig {
        lr: a.lr,
        beta1: a.beta1,
        beta2: a.beta2,
        eps: a.eps,
        eps_placement: EpsPlacement::Keras,
    };
    assert_eq!(cfg, AdamConfig::keras(), "the oracle used Keras' defaults");
    assert_eq!(a.steps.len(), 2);

    // 1. Our exact-f64 Adam chained over both steps. Keras computes its bias correction with
    //    β1, β2 rounded to f32 (the oracle's note_float32_betas), which scales each update
    //    of at most lr = 1e-3 by (1 - 6.7e-6): 7e-9 per step, 1.4e-8 after two. Parameters
    //    are compared at 2e-8. Step 2's gradients are taken at parameters that differ by
    //    those 7e-9, which moves gradients (of curvature below 1) by less than 1e-8.
    let mut model = keras_model(&o.keras_layout);
    let mut adam = Adam::new(cfg, LstmGrads::<IN, H, 1, f64>::zeroed());
    let mut cmp = Compare::new("keras adam chained (exact f64 betas)", 2e-8, 0.0);
    for (k, step) in a.steps.iter().enumerate() {
        assert_eq!(step.step as usize, k + 1);
        let (loss, grads) = train_batch(&model, &o);
        cmp.value(
            format_args!("step {} loss", step.step),
            loss,
            step.loss_before_step,
        );
        compare_keras_layout(
            &mut cmp,
            &format!("step {} grads_used", step.step),
            &grads,
            &step.grads_used,
        );
        adam.step(&mut model, &grads).expect("finite gradients");
        compare_keras_layout(
            &mut cmp,
            &format!("step {} params_after", step.step),
            &model,
            &step.params_after,
        );
    }
    cmp.finish();

    // 2. Tight: every step starts from Keras' own parameters (the initial ones, then its
    //    step-1 result), so the gradient must match to rounding (1e-12), and our update
    //    Δ times Keras' f32-beta factor ratio α_f32(t)/α_f64(t) must equal Keras' update.
    //    Δ is a difference of two f64 values below 0.6 (rounding 2e-16 each) and the moments
    //    differ only in rounding (Keras writes m += (g - m)(1 - β1)): 1e-15 absolute.
    let mut adam = Adam::new(cfg, LstmGrads::<IN, H, 1, f64>::zeroed());
    let mut before = o.keras_layout.clone();
    let mut grads_cmp = Compare::new("keras adam from keras' params: grads_used", ATOL_F64, 0.0);
    let mut delta_cmp = Compare::new(
        "keras adam from keras' params: update x f32-beta ratio",
        1e-15,
        0.0,
    );
    for step in &a.steps {
        let mut model = keras_model(&before);
        let start = model;
        let (_, grads) = train_batch(&model, &o);
        compare_keras_layout(
            &mut grads_cmp,
            &format!("step {}", step.step),
            &grads,
            &step.grads_used,
        );
        adam.step(&mut model, &grads).expect("finite gradients");
        let ratio = keras_alpha(f64::from(a.beta1 as f32), f64::from(a.beta2 as f32), adam.t)
            / keras_alpha(a.beta1, a.beta2, adam.t);
        let want_model = keras_model(&step.params_after);
        for i in 0..5 {
            let ours: Vec<f64> = model
                .tensor(i)
                .iter()
                .zip(start.tensor(i))
                .map(|(p, s)| (p - s) * ratio)
                .collect();
            let theirs: Vec<f64> = want_model
                .tensor(i)
                .iter()
                .zip(start.tensor(i))
                .map(|(p, s)| p - s)
                .collect();
            delta_cmp.slice(
                format_args!("step {} tensor {i}", step.step),
                &ours,
                &theirs,
            );
        }
        before = step.params_after.clone();
    }
    grads_cmp.finish();
    delta_cmp.finish();
}
