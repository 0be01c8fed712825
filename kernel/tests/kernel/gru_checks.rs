//! The GRU beyond the oracles:
//!
//! 1. Central finite differences (`f64`, scalar kernels) of every parameter, the initial
//!    state and every input `x_t` for `GRU -> Dense` (both variants, every recurrent
//!    activation, many-to-one softmax CE and many-to-many MSE) and for mixed stacks: a GRU
//!    over an LSTM and an LSTM over a GRU. Method as `stack_gradcheck.rs`: ε = 1e-6,
//!    `|fd - analytic| <= 1e-7 + 1e-5·|analytic|` (truncation ~1e-12, cancellation ~1e-10;
//!    a wrong term is O(gradient) >= 1e-4). The hard sigmoids' kinks: with these seeds no
//!    pre-activation lies within ε·|∂a/∂p| of a kink (a crossing would fail loudly, not
//!    pass silently).
//! 2. Chained truncated BPTT: two chained windows == one window of twice the length.
//! 3. SIMD == scalar (`f32`): steps, windows, backward with `dL/dx`, every variant,
//!    activation and maths, for `H` below, at and across 8-lane blocks up to `(32, 128)`.
//!    Tolerance as `simd_vs_scalar.rs` (`1e-5 + 1e-4·|scalar|`: FMA rounding and
//!    polynomial activations within 3e-7 of libm).
//! 4. No heap allocation in any GRU operation.

use allocation_counter::measure;
use lstm_kernel::backend::{Scalar, Simd};
use lstm_kernel::{
    Adam, AdamConfig, Dense, Grads, Gru, GruState, GruVariant, GruWeights, LayerKind, Loss, Lstm,
    LstmState, LstmWeights, Maths, Model, Recurrent, RecurrentActivation, Stack, StreamState, Tape,
    TensorKind, Tensors,
};

use crate::common::{Compare, Rand};

const EPS: f64 = 1e-6;
const T: usize = 4;
const OUT: usize = 2;

fn gru<const I: usize, const J: usize, F: lstm_kernel::Float>(
    rng: &mut Rand,
    variant: GruVariant,
    act: RecurrentActivation,
) -> Gru<I, J, F> {
    let mut w = GruWeights::<I, J, F>::zeroed();
    for t in 0..4 {
        rng.fill(w.tensor_mut(t), if t < 2 { 0.8 } else { 0.5 });
    }
    Gru::new(w, variant, act)
}

/// Weights `U(-s, s)` with `s = 2.5 / sqrt(IN + H)` and biases `U(-1, 1)` (as the LSTM's
/// SIMD-vs-scalar test): pre-activations O(1) at every size, a mix of linear and saturated
/// gates, and a recurrence that does not amplify rounding over the steps compared (with
/// `U(-0.8, 0.8)` at `H = 128` one ulp of FMA rounding grew to 7e-5 in 10 steps).
fn scaled_gru<const I: usize, const J: usize>(
    rng: &mut Rand,
    variant: GruVariant,
    act: RecurrentActivation,
) -> Gru<I, J, f32> {
    let s = 2.5 / ((I + J) as f64).sqrt();
    let mut w = GruWeights::<I, J, f32>::zeroed();
    for t in 0..4 {
        rng.fill(w.tensor_mut(t), if t < 2 { s } else { 1.0 });
    }
    Gru::new(w, variant, act)
}

fn lstm<const I: usize, const J: usize>(rng: &mut Rand) -> Lstm<I, J, f64> {
    let mut w = LstmWeights::<I, J, f64>::zeroed();
    rng.fill(w.w_ih_flat_mut(), 0.8);
    rng.fill(w.w_hh_flat_mut(), 0.8);
    rng.fill(w.b_flat_mut(), 0.5);
    Lstm::new(w, RecurrentActivation::Sigmoid)
}

/// A state's vectors, bottom layer first (what finite differences perturb).
trait Slots: StreamState {
    fn slots(&mut self) -> Vec<&mut [f64]>;
}
impl<const J: usize> Slots for GruState<J, f64> {
    fn slots(&mut self) -> Vec<&mut [f64]> {
        vec![&mut self.h]
    }
}
impl<const J: usize> Slots for LstmState<J, f64> {
    fn slots(&mut self) -> Vec<&mut [f64]> {
        vec![&mut self.h, &mut self.c]
    }
}
impl<A: Slots, B: Slots, const M: usize> Slots for Stack<A, B, M> {
    fn slots(&mut self) -> Vec<&mut [f64]> {
        let mut v = self.lower.slots();
        v.extend(self.upper.slots());
        v
    }
}

struct Problem<R: Recurrent<IN, H, f64>, const IN: usize, const H: usize> {
    net: Model<R, IN, H, OUT, f64>,
    start: R::State,
    xs: Vec<[f64; IN]>,
    ys: Vec<[f64; OUT]>,
}

impl<R: Recurrent<IN, H, f64> + Copy, const IN: usize, const H: usize> Problem<R, IN, H>
where
    R::State: Slots,
{
    fn new(rnn: R, rng: &mut Rand, steps: usize) -> Self {
        let mut head = Dense::<H, OUT, f64>::zeroed();
        rng.fill(head.w.as_flattened_mut(), 1.0);
        rng.fill(&mut head.b, 0.5);
        let mut start = R::State::zeroed();
        for s in start.slots() {
            rng.fill(s, 0.5);
        }
        Self {
            net: Model::new(rnn, head),
            start,
            xs: (0..steps).map(|_| rng.array(1.0)).collect(),
            ys: (0..steps).map(|_| [0.3, 0.7]).collect(),
        }
    }

    /// `dL/dlogits` rows (softmax CE on the last step, or MSE on every step) and the loss.
    fn dl(&self, tape: &Tape<{ 2 * T }, R::Record>, loss: Loss) -> (f64, Vec<[f64; OUT]>) {
        let n = tape.len();
        let steps: Vec<usize> = match loss {
            Loss::SoftmaxCe => vec![n - 1],
            _ => (0..n).collect(),
        };
        let k = steps.len() as f64;
        let mut total = 0.0;
        let rows = steps
            .iter()
            .map(|&t| {
                let (s, g) = loss.evaluate(&self.net.logits_at(tape, t).unwrap(), &self.ys[t]);
                total += s.loss / k;
                g.map(|v| v / k)
            })
            .collect();
        (total, rows)
    }

    fn forward(&self) -> Tape<{ 2 * T }, R::Record> {
        let mut s = self.start;
        let mut tape = Tape::new();
        self.net
            .rnn
            .forward_window_with::<Scalar, { 2 * T }>(&self.xs, &mut s, &mut tape)
            .unwrap();
        tape
    }

    fn loss(&self, loss: Loss) -> f64 {
        self.dl(&self.forward(), loss).0
    }

    fn perturbed(&self, loss: Loss, at: impl Fn(&mut Self) -> &mut f64) -> f64 {
        let mut q = Self {
            net: self.net,
            start: self.start,
            xs: self.xs.clone(),
            ys: self.ys.clone(),
        };
        *at(&mut q) += EPS;
        let up = q.loss(loss);
        *at(&mut q) -= 2.0 * EPS;
        let down = q.loss(loss);
        (up - down) / (2.0 * EPS)
    }

    /// Every analytic gradient against its central difference.
    fn check(&self, label: &str, loss: Loss) {
        let tape = self.forward();
        let (_, dl) = self.dl(&tape, loss);
        let mut grads = Grads::<R::Grads, H, OUT, f64>::zeroed();
        let mut d0 = self.net.backward_sequence_with::<Scalar, { 2 * T }>(
            &tape,
            &dl,
            &R::State::zeroed(),
            &mut grads,
        );
        // dL/dx through backward_window_dx with the head's dh rows.
        let n = tape.len();
        let dh: Vec<[f64; H]> = tape.steps()[n - dl.len()..]
            .iter()
            .zip(&dl)
            .map(|(r, d)| {
                let (mut dh, mut scratch) = ([0.0; H], Dense::zeroed());
                self.net
                    .head
                    .backward(&R::record_output(r), d, &mut scratch, &mut dh);
                dh
            })
            .collect();
        let mut dxs = vec![[0.0; IN]; n];
        let mut g2 = R::Grads::default();
        let d0b = self.net.rnn.backward_window_dx_with::<Scalar, { 2 * T }>(
            &tape,
            &dh,
            &R::State::zeroed(),
            &mut g2,
            &mut dxs,
        );
        assert_eq!(d0, d0b, "{label}: the two backward routes disagree");
        let mut cmp = Compare::new(format!("{label} {loss:?} finite differences"), 1e-7, 1e-5);
        for i in 0..<Model<R, IN, H, OUT, f64> as Tensors<f64>>::COUNT {
            let info = <Model<R, IN, H, OUT, f64> as Tensors<f64>>::info(i).unwrap();
            // A reset-before layer's b_hn is not one of its parameters (Keras' one n bias
            // is b[n]): its gradient is zero by definition, not the loss's slope.
            let frozen = info.kind == TensorKind::RecurrentBias
                && self.net.rnn.kind(info.layer) == Some(LayerKind::Gru(GruVariant::ResetBefore));
            for k in 0..info.len() {
                if frozen {
                    assert_eq!(grads.tensor(i)[k], 0.0, "{label}: reset-before b_hn[{k}]");
                    continue;
                }
                let fd = self.perturbed(loss, |q| &mut q.net.tensor_mut(i)[k]);
                let what = format_args!("layer {} {} [{k}]", info.layer, info.kind.name());
                cmp.value(what, grads.tensor(i)[k], fd);
            }
        }
        let analytic: Vec<Vec<f64>> = d0.slots().iter().map(|s| s.to_vec()).collect();
        for (slot, want) in analytic.iter().enumerate() {
            for (k, &w) in want.iter().enumerate() {
                let fd = self.perturbed(loss, |q| {
                    &mut q.start.slots().into_iter().nth(slot).unwrap()[k]
                });
                cmp.value(format_args!("initial state {slot} [{k}]"), w, fd);
            }
        }
        for t in 0..n {
            for k in 0..IN {
                let fd = self.perturbed(loss, |q| &mut q.xs[t][k]);
                cmp.value(format_args!("dL/dx t {t} [{k}]"), dxs[t][k], fd);
            }
        }
        cmp.finish();
    }
}

#[test]
fn gru_gradients_of_every_parameter_state_and_input_match_finite_differences() {
    let mut rng = Rand::new(41);
    for variant in GruVariant::ALL {
        for act in RecurrentActivation::ALL {
            let p = Problem::new(gru::<3, 5, f64>(&mut rng, variant, act), &mut rng, T);
            for loss in [Loss::SoftmaxCe, Loss::Mse] {
                p.check(&format!("GRU<3, 5> {variant:?} {act:?}"), loss);
            }
        }
    }
}

#[test]
fn mixed_stacks_gru_over_lstm_and_lstm_over_gru_match_finite_differences() {
    let mut rng = Rand::new(42);
    for variant in GruVariant::ALL {
        let up: Stack<Lstm<2, 3, f64>, Gru<3, 4, f64>, 3> = Stack::new(
            lstm(&mut rng),
            gru(&mut rng, variant, RecurrentActivation::Sigmoid),
        );
        Problem::new(up, &mut rng, T).check(&format!("LSTM -> GRU {variant:?}"), Loss::Mse);
        let down: Stack<Gru<2, 4, f64>, Lstm<4, 3, f64>, 4> = Stack::new(
            gru(&mut rng, variant, RecurrentActivation::HardSigmoidKeras3),
            lstm(&mut rng),
        );
        Problem::new(down, &mut rng, T).check(&format!("GRU -> LSTM {variant:?}"), Loss::SoftmaxCe);
    }
}

/// Two windows of `T` steps chained through the returned `dL/dh` equal one window of
/// `2T` (MSE on every step), to summation-order rounding (1e-14).
#[test]
fn chained_truncated_bptt_through_a_gru_equals_one_long_window() {
    let mut rng = Rand::new(43);
    for variant in GruVariant::ALL {
        let p = Problem::new(
            gru::<2, 4, f64>(&mut rng, variant, RecurrentActivation::Sigmoid),
            &mut rng,
            2 * T,
        );
        let tape = p.forward();
        let (_, dl) = p.dl(&tape, Loss::Mse);
        let mut long = Grads::<GruWeights<2, 4, f64>, 4, OUT, f64>::zeroed();
        let d_long = p.net.backward_sequence_with::<Scalar, { 2 * T }>(
            &tape,
            &dl,
            &GruState::zeroed(),
            &mut long,
        );
        let mut s = p.start;
        let (mut t1, mut t2) = (Tape::<T, _>::new(), Tape::<T, _>::new());
        p.net
            .rnn
            .forward_window(&p.xs[..T], &mut s, &mut t1)
            .unwrap();
        p.net
            .rnn
            .forward_window(&p.xs[T..], &mut s, &mut t2)
            .unwrap();
        let mut chained = Grads::zeroed();
        let mid = p.net.backward_sequence_with::<Scalar, T>(
            &t2,
            &dl[T..],
            &GruState::zeroed(),
            &mut chained,
        );
        assert_ne!(
            mid,
            GruState::zeroed(),
            "the second window passes a gradient back"
        );
        let d_chained =
            p.net
                .backward_sequence_with::<Scalar, T>(&t1, &dl[..T], &mid, &mut chained);
        let mut cmp = Compare::new(format!("GRU {variant:?} chained TBPTT"), 1e-14, 1e-12);
        for i in 0..<Model<Gru<2, 4, f64>, 2, 4, OUT, f64> as Tensors<f64>>::COUNT {
            cmp.slice(
                format_args!("tensor {i}"),
                chained.tensor(i),
                long.tensor(i),
            );
        }
        cmp.slice("dL/dh0", &d_chained.h, &d_long.h);
        cmp.finish();
    }
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// SIMD vs scalar for one size, every variant, activation and maths.
fn simd_matches_scalar<const IN: usize, const H: usize>(rng: &mut Rand, worst: &mut f64) {
    const STEPS: usize = 10;
    for variant in GruVariant::ALL {
        for act in RecurrentActivation::ALL {
            for maths in Maths::ALL {
                let g = scaled_gru::<IN, H>(rng, variant, act).with_maths(maths);
                let label = format!("GRU<{IN}, {H}> {variant:?} {act:?} {maths:?} simd vs scalar");
                let mut cmp = Compare::new(label, 1e-5, 1e-4);
                let xs: Vec<[f32; IN]> = (0..STEPS).map(|_| rng.array(1.5)).collect();
                let dh: Vec<[f32; H]> = (0..STEPS).map(|_| rng.array(0.5)).collect();
                let start = GruState { h: rng.array(0.8) };
                let (mut a, mut b) = (start, start);
                for x in &xs {
                    g.step_with::<Simd>(x, &mut a);
                    g.step_with::<Scalar>(x, &mut b);
                    cmp.slice("step h", &widen(&a.h), &widen(&b.h));
                }
                let mut ta = Tape::<STEPS, _>::new();
                let mut tb = Tape::<STEPS, _>::new();
                let (mut sa, mut sb) = (start, start);
                g.forward_window_with::<Simd, STEPS>(&xs, &mut sa, &mut ta)
                    .unwrap();
                g.forward_window_with::<Scalar, STEPS>(&xs, &mut sb, &mut tb)
                    .unwrap();
                assert_eq!(sa, a, "the SIMD window and steps differ");
                assert_eq!(sb, b, "the scalar window and steps differ");
                for (ra, rb) in ta.steps().iter().zip(tb.steps()) {
                    cmp.slice(
                        "gates",
                        &widen(ra.gates.as_flattened()),
                        &widen(rb.gates.as_flattened()),
                    );
                    cmp.slice("hn", &widen(&ra.hn), &widen(&rb.hn));
                }
                let (mut ga, mut gb) = (GruWeights::default(), GruWeights::default());
                let (mut dxa, mut dxb) = (vec![[0.0; IN]; STEPS], vec![[0.0; IN]; STEPS]);
                let da =
                    g.backward_window_dx_with::<Simd, STEPS>(&ta, &dh, &start, &mut ga, &mut dxa);
                // Both backward kernels read the SIMD tape: the records were compared above,
                // and a hard sigmoid's derivative jumps (0.2 or 0.25 to 0) where a gate
                // saturates, so one ulp of forward rounding across the kink (FMA vs
                // separate multiply-add) would otherwise move a gradient by far more than
                // the backward kernels differ.
                let db =
                    g.backward_window_dx_with::<Scalar, STEPS>(&ta, &dh, &start, &mut gb, &mut dxb);
                for i in 0..4 {
                    cmp.slice(
                        format_args!("grad {i}"),
                        &widen(ga.tensor(i)),
                        &widen(gb.tensor(i)),
                    );
                }
                cmp.slice(
                    "dL/dx",
                    &widen(dxa.as_flattened()),
                    &widen(dxb.as_flattened()),
                );
                cmp.slice("dL/dh0", &widen(&da.h), &widen(&db.h));
                *worst = worst.max(cmp.finish());
            }
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "10-step SIMD-vs-scalar runs over 11 sizes: too slow under Miri"
)]
fn gru_simd_step_window_backward_and_dx_match_scalar_for_many_sizes() {
    let mut rng = Rand::new(44);
    let mut worst = 0.0;
    simd_matches_scalar::<1, 1>(&mut rng, &mut worst);
    simd_matches_scalar::<1, 4>(&mut rng, &mut worst);
    simd_matches_scalar::<3, 7>(&mut rng, &mut worst);
    simd_matches_scalar::<1, 8>(&mut rng, &mut worst);
    simd_matches_scalar::<1, 10>(&mut rng, &mut worst);
    simd_matches_scalar::<2, 13>(&mut rng, &mut worst);
    simd_matches_scalar::<4, 16>(&mut rng, &mut worst);
    simd_matches_scalar::<1, 32>(&mut rng, &mut worst);
    simd_matches_scalar::<5, 27>(&mut rng, &mut worst);
    simd_matches_scalar::<8, 64>(&mut rng, &mut worst);
    simd_matches_scalar::<32, 128>(&mut rng, &mut worst);
    println!("GRU simd vs scalar: worst abs difference {worst:.3e}");
}

/// Huge inputs and one infinite input leave `h` finite in `[-1, 1]`; a NaN input makes
/// every `h` NaN (never a plausible value).
#[test]
fn gru_edge_inputs_saturate_or_propagate_nan_for_both_kernels() {
    let mut rng = Rand::new(45);
    for variant in GruVariant::ALL {
        for act in RecurrentActivation::ALL {
            let g = gru::<2, 10, f32>(&mut rng, variant, act);
            // One infinite element per input (two could give inf - inf = NaN in a pre-activation,
            // a NaN input in disguise); huge finite values in every element.
            for x in [
                [1e30, -1e30],
                [f32::INFINITY, 0.3],
                [0.3, f32::NEG_INFINITY],
                [-1e30, 3.0],
            ] {
                for (k, s) in [
                    (0, GruState::<10>::zeroed()),
                    (1, GruState { h: [0.5; 10] }),
                ] {
                    let (mut a, mut b) = (s, s);
                    g.step_with::<Simd>(&x, &mut a);
                    g.step_with::<Scalar>(&x, &mut b);
                    for h in a.h.iter().chain(&b.h) {
                        assert!(
                            h.is_finite() && h.abs() <= 1.0,
                            "{variant:?} {act:?} {x:?} {k}: {h}"
                        );
                    }
                }
            }
            let (mut a, mut b) = (GruState::<10>::zeroed(), GruState::<10>::zeroed());
            g.step_with::<Simd>(&[f32::NAN, 0.0], &mut a);
            g.step_with::<Scalar>(&[f32::NAN, 0.0], &mut b);
            assert!(
                a.h.iter().chain(&b.h).all(|h| h.is_nan()),
                "{variant:?} {act:?}: NaN lost"
            );
        }
    }
}

#[test]
fn gru_stepping_windows_training_and_adam_never_allocate() {
    let mut rng = Rand::new(46);
    let mut model = Model::new(
        gru::<1, 10, f32>(
            &mut rng,
            GruVariant::ResetAfter,
            RecurrentActivation::Sigmoid,
        ),
        Dense::<10, 1, f32>::zeroed(),
    );
    let xs: Vec<[f32; 1]> = (0..20).map(|_| rng.array(1.0)).collect();
    let ys = vec![[1.0f32]];
    let mut state = GruState::<10>::zeroed();
    let mut tape = Tape::<20, _>::new();
    let mut grads = Grads::zeroed();
    let mut adam = Adam::new(AdamConfig::default(), Grads::zeroed());
    for variant in GruVariant::ALL {
        model.rnn.variant = variant;
        let mut f = || {
            model.step(&xs[0], &mut state);
            model
                .train_sequence(Loss::Bce, &xs, &ys, 1.0, &mut state, &mut tape, &mut grads)
                .unwrap();
            adam.step(&mut model, &grads).unwrap();
        };
        f();
        let info = measure(&mut f);
        assert_eq!(
            info.count_total, 0,
            "{variant:?}: {} allocations",
            info.count_total
        );
    }
}

/// A GRU model file keeps every weight bit and each layer's variant, activation and maths;
/// decoding it into an LSTM type (or an LSTM file into a GRU type) is refused by kind.
#[test]
fn gru_model_files_round_trip_with_their_variant_and_refuse_another_cell() {
    use lstm_kernel::io::{self, FormatError, LayerKind};
    let mut rng = Rand::new(47);
    for variant in GruVariant::ALL {
        type Rnn = Stack<Gru<2, 5, f32>, Lstm<5, 3, f32>, 5>;
        let rnn: Rnn = Stack::new(
            gru(&mut rng, variant, RecurrentActivation::HardSigmoidKeras2).with_maths(Maths::Fast),
            Lstm::default(),
        );
        let mut head = Dense::<3, 2, f32>::zeroed();
        rng.fill(head.w.as_flattened_mut(), 1.0);
        let model = Model::new(rnn, head);
        let mut buf = vec![0u8; io::model_file_len::<Model<Rnn, 2, 3, 2, f32>>()];
        let n = io::encode(&model, &mut buf).unwrap();
        assert_eq!(n, buf.len());
        let header = io::parse(&buf).unwrap().header();
        assert_eq!(header.layers()[0].kind, LayerKind::Gru(variant));
        assert_eq!(header.layers()[1].kind, LayerKind::Lstm);
        // Into a zero model of the same type whose GRU has the other variant: the file's wins.
        let mut back = Model::new(Stack::new(Gru::default(), Lstm::default()), Dense::zeroed());
        back.rnn.lower.variant = GruVariant::ALL[1 - variant as usize];
        io::decode_into(&buf, &mut back).unwrap();
        assert_eq!(back, model, "{variant:?}: round trip");
        let mut wrong: Model<Stack<Lstm<2, 5, f32>, Lstm<5, 3, f32>, 5>, 2, 3, 2, f32> =
            Model::new(Stack::default(), Dense::zeroed());
        let before = wrong;
        let e = io::decode_into(&buf, &mut wrong).unwrap_err();
        assert!(
            matches!(e, FormatError::LayerMismatch { layer: 0, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("gru"), "{e}");
        assert_eq!(wrong, before, "a refused file changes nothing");
    }
    // The one-layer const decoder is for LSTM files only.
    let g = Model::new(Gru::<1, 4, f32>::default(), Dense::<4, 1, f32>::zeroed());
    let mut buf = vec![0u8; io::model_file_len::<Model<Gru<1, 4, f32>, 1, 4, 1, f32>>()];
    io::encode(&g, &mut buf).unwrap();
    assert!(matches!(
        io::decode::<1, 4, 1>(&buf),
        Err(FormatError::LayerMismatch { .. })
    ));
}
