//! Central finite differences through a 3-layer stack `Lstm3<2, 3, 4, 3>` + `Dense(3 -> 2)`
//! (`f64`, scalar kernels, sigmoid gates), for every parameter of every layer (through the
//! [`Tensors`] walk), every layer's initial `(h0, c0)` and every input `x_t` (`dL/dx` of
//! `backward_window_dx`):
//!
//! 1. many-to-one softmax cross-entropy on the last step;
//! 2. many-to-many MSE on every step (`backward_sequence_with`);
//! 3. chained truncated BPTT: two windows whose backward passes are chained through the
//!    returned state gradient (every layer's `(dh, dc)`) equal one window of twice the
//!    length, to rounding.
//!
//! Method and tolerance as in `gradcheck.rs`: `fd = (L(p + ε) - L(p - ε)) / 2ε`, ε = 1e-6,
//! `|fd - analytic| <= 1e-7 + 1e-5·|analytic|` (truncation ~1e-12, cancellation ~1e-10 for
//! these O(1) smooth losses; a wrong term is O(gradient) >= 1e-4). Hard sigmoids are covered
//! by the single-layer checks (their kinks need the skip logic there); the stack code is the
//! same for every activation.

use lstm_kernel::backend::Scalar;
use lstm_kernel::{
    Dense, Grads, Loss, Lstm, Lstm3, LstmState, LstmWeights, Model, Recurrent, RecurrentActivation,
    Stack, StreamState, Tape, Tensors,
};

use crate::common::{Compare, Rand};

const IN: usize = 2;
const H1: usize = 3;
const H2: usize = 4;
const H3: usize = 3;
const OUT: usize = 2;
const T: usize = 4;

const EPS: f64 = 1e-6;
const ATOL: f64 = 1e-7;
const RTOL: f64 = 1e-5;

type Rnn = Lstm3<IN, H1, H2, H3, f64>;
type Net = Model<Rnn, IN, H3, OUT, f64>;
type State = <Rnn as Recurrent<IN, H3, f64>>::State;
type Record = <Rnn as Recurrent<IN, H3, f64>>::Record;
type NetGrads = Grads<<Rnn as Tensors<f64>>::Grads, H3, OUT, f64>;

fn layer<const I: usize, const J: usize>(rng: &mut Rand) -> Lstm<I, J, f64> {
    let mut w = LstmWeights::<I, J, f64>::zeroed();
    rng.fill(w.w_ih_flat_mut(), 0.8);
    rng.fill(w.w_hh_flat_mut(), 0.8);
    rng.fill(w.b_flat_mut(), 0.5);
    Lstm::new(w, RecurrentActivation::Sigmoid)
}

fn lstm_state<const J: usize>(rng: &mut Rand) -> LstmState<J, f64> {
    LstmState {
        h: rng.array(0.5),
        c: rng.array(0.5),
    }
}

struct Problem {
    net: Net,
    start: State,
    xs: Vec<[f64; IN]>,
    /// Targets: a distribution (softmax CE, last step) or values (MSE, every step).
    ys: Vec<[f64; OUT]>,
}

impl Problem {
    fn random(seed: u64, steps: usize) -> Self {
        let mut rng = Rand::new(seed);
        let rnn: Rnn = Stack::new(
            layer(&mut rng),
            Stack::new(layer(&mut rng), layer(&mut rng)),
        );
        let mut head = Dense::<H3, OUT, f64>::zeroed();
        rng.fill(head.w.as_flattened_mut(), 1.0);
        rng.fill(&mut head.b, 0.5);
        let start = Stack::new(
            lstm_state(&mut rng),
            Stack::new(lstm_state(&mut rng), lstm_state(&mut rng)),
        );
        Self {
            net: Model::new(rnn, head),
            start,
            xs: (0..steps).map(|_| rng.array(1.0)).collect(),
            ys: (0..steps).map(|_| [0.3, 0.7]).collect(),
        }
    }
}

/// The initial state's six vectors, bottom layer first, `h` before `c`.
fn state_slots(s: &mut State) -> [&mut [f64]; 6] {
    let Stack {
        lower: a,
        upper: Stack { lower: b, upper: c },
    } = s;
    [&mut a.h, &mut a.c, &mut b.h, &mut b.c, &mut c.h, &mut c.c]
}

fn state_values(mut s: State) -> Vec<Vec<f64>> {
    state_slots(&mut s).iter().map(|v| v.to_vec()).collect()
}

/// Loss of the problem under `loss` (softmax CE on the last step, MSE on every step).
fn loss_of(p: &Problem, loss: Loss) -> f64 {
    let mut s = p.start;
    let mut tape = Tape::<{ 2 * T }, Record>::new();
    p.net
        .rnn
        .forward_window_with::<Scalar, { 2 * T }>(&p.xs, &mut s, &mut tape)
        .unwrap();
    let n = tape.len();
    match loss {
        Loss::SoftmaxCe => {
            loss.evaluate(&p.net.logits_at(&tape, n - 1).unwrap(), &p.ys[n - 1])
                .0
                .loss
        }
        _ => (0..n)
            .map(|t| {
                loss.evaluate(&p.net.logits_at(&tape, t).unwrap(), &p.ys[t])
                    .0
                    .loss
                    / n as f64
            })
            .sum(),
    }
}

/// Analytic gradients: parameters (model walk), initial state, inputs.
fn analytic(p: &Problem, loss: Loss) -> (NetGrads, State, Vec<[f64; IN]>) {
    let mut s = p.start;
    let mut tape = Tape::<{ 2 * T }, Record>::new();
    p.net
        .rnn
        .forward_window_with::<Scalar, { 2 * T }>(&p.xs, &mut s, &mut tape)
        .unwrap();
    let n = tape.len();
    let dl: Vec<[f64; OUT]> = match loss {
        Loss::SoftmaxCe => vec![
            loss.evaluate(&p.net.logits_at(&tape, n - 1).unwrap(), &p.ys[n - 1])
                .1,
        ],
        _ => (0..n)
            .map(|t| {
                loss.evaluate(&p.net.logits_at(&tape, t).unwrap(), &p.ys[t])
                    .1
                    .map(|g| g / n as f64)
            })
            .collect(),
    };
    let mut grads = NetGrads::zeroed();
    let d0 =
        p.net
            .backward_sequence_with::<Scalar, { 2 * T }>(&tape, &dl, &State::zeroed(), &mut grads);
    // dL/dx: the head's gradient as dh rows, then backward_window_dx on a fresh accumulator.
    let dh: Vec<[f64; H3]> = tape
        .steps()
        .iter()
        .enumerate()
        .skip(n - dl.len())
        .zip(&dl)
        .map(|((_, r), d)| {
            let mut dh = [0.0; H3];
            let mut scratch = Dense::zeroed();
            p.net.head.backward(
                &<Rnn as Recurrent<IN, H3, f64>>::record_output(r),
                d,
                &mut scratch,
                &mut dh,
            );
            dh
        })
        .collect();
    let mut dxs = vec![[0.0; IN]; n];
    let mut g2 = <Rnn as Tensors<f64>>::Grads::default();
    let d0b = p.net.rnn.backward_window_dx_with::<Scalar, { 2 * T }>(
        &tape,
        &dh,
        &State::zeroed(),
        &mut g2,
        &mut dxs,
    );
    assert_eq!(
        d0, d0b,
        "the two backward routes disagree on the initial-state gradient"
    );
    (grads, d0, dxs)
}

/// The central difference of `loss` in the one scalar that `at` reaches in a copy of `p`.
fn central(p: &Problem, loss: Loss, at: impl Fn(&mut Problem) -> &mut f64) -> f64 {
    let mut q = Problem {
        xs: p.xs.clone(),
        ys: p.ys.clone(),
        ..*p
    };
    *at(&mut q) += EPS;
    let up = loss_of(&q, loss);
    *at(&mut q) -= 2.0 * EPS;
    let down = loss_of(&q, loss);
    (up - down) / (2.0 * EPS)
}

fn check(loss: Loss, seed: u64) {
    let p = Problem::random(seed, T);
    let (grads, d0, dxs) = analytic(&p, loss);
    let mut cmp = Compare::new(
        format!("3-layer stack {loss:?} finite differences"),
        ATOL,
        RTOL,
    );
    for i in 0..<Net as Tensors<f64>>::COUNT {
        let info = <Net as Tensors<f64>>::info(i).unwrap();
        for k in 0..info.len() {
            let fd = central(&p, loss, |q| &mut q.net.tensor_mut(i)[k]);
            let what = format_args!("layer {} {} [{k}]", info.layer, info.kind.name());
            cmp.value(what, grads.tensor(i)[k], fd);
        }
    }
    for (slot, want) in state_values(d0).iter().enumerate() {
        for (k, &w) in want.iter().enumerate() {
            let fd = central(&p, loss, |q| &mut state_slots(&mut q.start)[slot][k]);
            cmp.value(format_args!("initial state slot {slot} [{k}]"), w, fd);
        }
    }
    for t in 0..p.xs.len() {
        for k in 0..IN {
            let fd = central(&p, loss, |q| &mut q.xs[t][k]);
            cmp.value(format_args!("dL/dx t {t} [{k}]"), dxs[t][k], fd);
        }
    }
    cmp.finish();
}

#[test]
fn three_layer_stack_softmax_ce_gradients_of_everything_match_finite_differences() {
    check(Loss::SoftmaxCe, 11);
}

#[test]
fn three_layer_stack_many_to_many_mse_gradients_match_finite_differences() {
    check(Loss::Mse, 12);
}

/// Two windows of `T` steps, the second's backward pass feeding its initial-state gradient
/// (every layer's `dh`, `dc`) into the first's `d_final`, accumulate the same gradients as
/// one window of `2T` steps (many-to-many MSE, so both windows have loss terms). Only the
/// summation order differs: `1e-14`.
#[test]
fn chained_truncated_bptt_through_a_three_layer_stack_equals_one_long_window() {
    let p = Problem::random(13, 2 * T);
    let n = 2 * T;
    // One long window.
    let mut s = p.start;
    let mut tape = Tape::<{ 2 * T }, Record>::new();
    p.net
        .rnn
        .forward_window_with::<Scalar, { 2 * T }>(&p.xs, &mut s, &mut tape)
        .unwrap();
    let dl: Vec<[f64; OUT]> = (0..n)
        .map(|t| {
            Loss::Mse
                .evaluate(&p.net.logits_at(&tape, t).unwrap(), &p.ys[t])
                .1
        })
        .collect();
    let mut long = NetGrads::zeroed();
    let d_long =
        p.net
            .backward_sequence_with::<Scalar, { 2 * T }>(&tape, &dl, &State::zeroed(), &mut long);
    // Two chained windows.
    let mut s = p.start;
    let (mut t1, mut t2) = (Tape::<T, Record>::new(), Tape::<T, Record>::new());
    p.net
        .rnn
        .forward_window_with::<Scalar, T>(&p.xs[..T], &mut s, &mut t1)
        .unwrap();
    p.net
        .rnn
        .forward_window_with::<Scalar, T>(&p.xs[T..], &mut s, &mut t2)
        .unwrap();
    let mut chained = NetGrads::zeroed();
    let mid =
        p.net
            .backward_sequence_with::<Scalar, T>(&t2, &dl[T..], &State::zeroed(), &mut chained);
    assert_ne!(
        mid,
        State::zeroed(),
        "the second window passes a gradient back"
    );
    let d_chained = p
        .net
        .backward_sequence_with::<Scalar, T>(&t1, &dl[..T], &mid, &mut chained);
    let mut cmp = Compare::new("chained TBPTT vs one window (3 layers)", 1e-14, 1e-12);
    for i in 0..<Net as Tensors<f64>>::COUNT {
        cmp.slice(
            format_args!("tensor {i}"),
            chained.tensor(i),
            long.tensor(i),
        );
    }
    for (a, b) in state_values(d_chained)
        .iter()
        .zip(state_values(d_long).iter())
    {
        cmp.slice("initial state", a, b);
    }
    cmp.finish();
}
