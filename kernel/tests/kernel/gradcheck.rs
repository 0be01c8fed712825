//! Central finite differences against the analytic BPTT gradients, in `f64` with the scalar
//! kernels, for every parameter (`W_ih`, `W_hh`, `b`, head `W`, head `b`) and for the
//! initial `h0` and `c0`, over windows of T > 1 steps, for each `RecurrentActivation`:
//!
//! 1. many-to-one: `Model` (LSTM + dense head) with mean BCE on the last step's logits;
//! 2. many-to-many: `Lstm::backward_window` with one `dh_out` row per step (and with rows
//!    for the last two steps only), plus a gradient on the final `(h, c)` via `d_final`;
//! 3. chained truncated BPTT: two windows whose backward passes are chained through the
//!    returned `(dh0, dc0)` equal one window of twice the length (and its finite
//!    differences).
//!
//! Method: `fd = (L(p + ε) - L(p - ε)) / ((p + ε) - (p - ε))`, ε = 1e-6. Tolerance
//! `|fd - analytic| <= 1e-7 + 1e-5·|analytic|`: the losses are O(1) and smooth, so the
//! truncation error is ~ε²·|L'''| ≈ 1e-12 and the cancellation error ~1e-16/ε ≈ 1e-10;
//! both are far below 1e-7, while a wrong gradient term is O(|gradient|) ≥ 1e-4 here.
//!
//! Hard sigmoids have kinks (at `|x| = 2.5` for Keras 2, `3` for Keras 3). An element is
//! skipped if the perturbation moves any gate pre-activation across a kink, detected
//! exactly by comparing which gates are clipped (output 0 or 1) in the `+ε`, `-ε` and
//! unperturbed runs; the tests print how many were skipped and require most to be checked
//! and some gates to be clipped, so the zero-slope branch is exercised.

use lstm_kernel::backend::Scalar;
use lstm_kernel::{
    Dense, Lstm, LstmGrads, LstmModel, LstmState, LstmTape, LstmWeights, Model, Recurrent,
    RecurrentActivation, Tape, Tensors,
};

use crate::common::{Compare, Rand};

const IN: usize = 2;
const H: usize = 3;
const OUT: usize = 2;
const T: usize = 5;

const EPS: f64 = 1e-6;
const ATOL: f64 = 1e-7;
const RTOL: f64 = 1e-5;

/// Which recurrent gates (i, f, o of every step) are clipped low (0), inside (1) or
/// clipped high (2). Constant under a perturbation unless a pre-activation crossed a kink.
fn kink_pattern<const N: usize>(tape: &LstmTape<N, IN, H, f64>) -> Vec<u8> {
    let mut p = Vec::new();
    for r in tape.steps() {
        for gate in [0, 1, 3] {
            for &y in &r.gates[gate] {
                p.push(if y <= 0.0 {
                    0
                } else if y >= 1.0 {
                    2
                } else {
                    1
                });
            }
        }
    }
    p
}

/// Result of one finite-difference sweep.
struct FdReport {
    checked: usize,
    skipped: usize,
    clipped_gates: usize,
    gates: usize,
    max_diff: f64,
}

/// Checks `analytic[slot][k]` against central differences of `loss` for every element `k`
/// of every slot `slot(p, i)`. `loss` returns the loss and the kink pattern.
fn fd_check<P: Clone>(
    label: &str,
    base: &P,
    names: &[&str],
    slot: fn(&mut P, usize) -> &mut [f64],
    analytic: &[Vec<f64>],
    loss: &dyn Fn(&P) -> (f64, Vec<u8>),
) -> FdReport {
    assert_eq!(names.len(), analytic.len());
    let (_, base_pattern) = loss(base);
    let mut cmp = Compare::new(format!("finite differences: {label}"), ATOL, RTOL);
    let mut report = FdReport {
        checked: 0,
        skipped: 0,
        clipped_gates: base_pattern.iter().filter(|&&c| c != 1).count(),
        gates: base_pattern.len(),
        max_diff: 0.0,
    };
    let mut p = base.clone();
    for (i, name) in names.iter().enumerate() {
        let n = slot(&mut p, i).len();
        assert_eq!(n, analytic[i].len(), "{label}: {name} length");
        assert!(n > 0, "{label}: {name} is empty");
        // A test of zeros against zeros proves nothing: every slot must carry a gradient
        // well above the absolute tolerance.
        let biggest = analytic[i].iter().fold(0.0_f64, |m, g| m.max(g.abs()));
        assert!(
            biggest > 10.0 * ATOL,
            "{label}: {name} gradient is ~0 ({biggest:e})"
        );
        for k in 0..n {
            let orig = slot(&mut p, i)[k];
            let (xp, xm) = (orig + EPS, orig - EPS);
            slot(&mut p, i)[k] = xp;
            let (lp, pat_p) = loss(&p);
            slot(&mut p, i)[k] = xm;
            let (lm, pat_m) = loss(&p);
            slot(&mut p, i)[k] = orig;
            if pat_p != base_pattern || pat_m != base_pattern {
                report.skipped += 1;
                continue;
            }
            report.checked += 1;
            let fd = (lp - lm) / (xp - xm);
            cmp.value(format_args!("{name}[{k}]"), analytic[i][k], fd);
        }
    }
    report.max_diff = cmp.worst();
    println!(
        "  {label}: checked {}, skipped {} (kink crossings), clipped gates {}/{}",
        report.checked, report.skipped, report.clipped_gates, report.gates
    );
    cmp.finish();
    report
}

/// Weight scale per activation: sigmoid gates stay unsaturated; hard-sigmoid gates get
/// pre-activations of a few units so that some of them clip.
fn weight_scale(act: RecurrentActivation) -> f64 {
    match act {
        RecurrentActivation::Sigmoid => 0.5,
        _ => 3.0,
    }
}

/// Checks the base pattern of an activation: sigmoid gates inside (0.02, 0.98), hard
/// sigmoids with both clipped and unclipped gates.
fn check_regime(label: &str, act: RecurrentActivation, r: &FdReport, gates: &[f64]) {
    match act {
        RecurrentActivation::Sigmoid => {
            let worst = gates.iter().fold(0.5_f64, |m, &g| {
                if (g - 0.5).abs() > (m - 0.5).abs() {
                    g
                } else {
                    m
                }
            });
            assert!(
                gates.iter().all(|&g| g > 0.02 && g < 0.98),
                "{label}: sigmoid gate saturated ({worst})"
            );
        }
        _ => {
            assert!(
                r.clipped_gates > 0 && r.clipped_gates < r.gates,
                "{label}: want some clipped and some linear gates, got {}/{}",
                r.clipped_gates,
                r.gates
            );
        }
    }
    assert!(
        r.skipped * 10 <= r.checked,
        "{label}: too many elements near a kink ({} skipped, {} checked)",
        r.skipped,
        r.checked
    );
}

fn recurrent_gate_values<const N: usize>(tape: &LstmTape<N, IN, H, f64>) -> Vec<f64> {
    tape.steps()
        .iter()
        .flat_map(|r| [r.gates[0], r.gates[1], r.gates[3]].into_iter().flatten())
        .collect()
}

// ---------------------------------------------------------------------------------------
// 1. Many-to-one: the model with BCE on the last step.

#[derive(Clone)]
struct ModelProblem {
    model: LstmModel<IN, H, OUT, f64>,
    h0: [f64; H],
    c0: [f64; H],
    xs: Vec<[f64; IN]>,
    y: [f64; OUT],
}

const MODEL_SLOTS: [&str; 7] = ["W_ih", "W_hh", "b", "head W", "head b", "h0", "c0"];

fn model_slot(p: &mut ModelProblem, i: usize) -> &mut [f64] {
    match i {
        5 => &mut p.h0,
        6 => &mut p.c0,
        _ => p.model.tensor_mut(i),
    }
}

impl ModelProblem {
    fn random(act: RecurrentActivation, seed: u64) -> Self {
        let mut rng = Rand::new(seed);
        let s = weight_scale(act);
        let mut w = LstmWeights::<IN, H, f64>::zeroed();
        rng.fill(w.w_ih_flat_mut(), s);
        rng.fill(w.w_hh_flat_mut(), s);
        rng.fill(w.b_flat_mut(), s);
        let mut head = Dense::<H, OUT, f64>::zeroed();
        rng.fill(head.w.as_flattened_mut(), 1.0);
        rng.fill(&mut head.b, 0.5);
        Self {
            model: Model {
                rnn: Lstm::new(w, act),
                head,
            },
            h0: rng.array(0.5),
            c0: rng.array(0.5),
            xs: (0..T).map(|_| rng.array(1.0)).collect(),
            y: [1.0, 0.0],
        }
    }

    fn start(&self) -> LstmState<H, f64> {
        LstmState {
            h: self.h0,
            c: self.c0,
        }
    }

    /// Mean BCE over the outputs at the last step, written independently of the kernel's
    /// loss code (stable form `max(z,0) - zy + ln(1 + e^-|z|)`), from streaming steps.
    fn loss(&self) -> (f64, Vec<u8>) {
        let mut state = self.start();
        let mut logits = [0.0; OUT];
        for x in &self.xs {
            logits = self.model.step_with::<Scalar>(x, &mut state);
        }
        let l = logits
            .iter()
            .zip(&self.y)
            .map(|(&z, &y)| z.max(0.0) - z * y + (-z.abs()).exp().ln_1p())
            .sum::<f64>()
            / OUT as f64;
        (l, kink_pattern(&self.tape().0))
    }

    fn tape(&self) -> (LstmTape<T, IN, H, f64>, [f64; OUT]) {
        let mut state = self.start();
        let mut tape = Tape::new();
        let logits = self
            .model
            .forward_window_with::<Scalar, T>(&self.xs, &mut state, &mut tape)
            .expect("T steps fit");
        (tape, logits)
    }

    /// Analytic gradients in slot order.
    fn analytic(&self) -> Vec<Vec<f64>> {
        let (tape, logits) = self.tape();
        let dlogits: [f64; OUT] =
            core::array::from_fn(|o| (1.0 / (1.0 + (-logits[o]).exp()) - self.y[o]) / OUT as f64);
        let mut g = LstmGrads::<IN, H, OUT, f64>::zeroed();
        let d0 = self.model.backward_window_with::<Scalar, T>(
            &tape,
            &dlogits,
            &LstmState::zeroed(),
            &mut g,
        );
        let mut out: Vec<Vec<f64>> = (0..5).map(|i| g.tensor(i).to_vec()).collect();
        out.push(d0.h.to_vec());
        out.push(d0.c.to_vec());
        out
    }
}

#[test]
fn model_bce_gradients_of_every_parameter_and_of_h0_c0_match_finite_differences() {
    for (n, act) in RecurrentActivation::ALL.into_iter().enumerate() {
        let p = ModelProblem::random(act, 100 + n as u64);
        let label = format!("model BCE T={T} {act:?}");
        let r = fd_check(
            &label,
            &p,
            &MODEL_SLOTS,
            model_slot,
            &p.analytic(),
            &|q: &ModelProblem| q.loss(),
        );
        check_regime(&label, act, &r, &recurrent_gate_values(&p.tape().0));
        assert!(r.max_diff.is_finite());
    }
}

// ---------------------------------------------------------------------------------------
// 2./3. Many-to-many on the bare LSTM: L = Σ_t a_t·h_t (last `rows` steps) + b_h·h_N +
// b_c·c_N, so dh_out = a and d_final = (b_h, b_c).

#[derive(Clone)]
struct SeqProblem {
    lstm: Lstm<IN, H, f64>,
    h0: [f64; H],
    c0: [f64; H],
    xs: Vec<[f64; IN]>,
    /// `dL/dh_t` for the last `a.len()` steps.
    a: Vec<[f64; H]>,
    d_final: LstmState<H, f64>,
}

const SEQ_SLOTS: [&str; 5] = ["W_ih", "W_hh", "b", "h0", "c0"];

fn seq_slot(p: &mut SeqProblem, i: usize) -> &mut [f64] {
    match i {
        3 => &mut p.h0,
        4 => &mut p.c0,
        _ => p.lstm.weights.tensor_mut(i),
    }
}

/// Longest window the sequence problems use (tapes are sized for it).
const MAX_STEPS: usize = 2 * T;

impl SeqProblem {
    fn random(act: RecurrentActivation, steps: usize, rows: usize, seed: u64) -> Self {
        let mut rng = Rand::new(seed);
        let s = weight_scale(act);
        let mut w = LstmWeights::<IN, H, f64>::zeroed();
        rng.fill(w.w_ih_flat_mut(), s);
        rng.fill(w.w_hh_flat_mut(), s);
        rng.fill(w.b_flat_mut(), s);
        Self {
            lstm: Lstm::new(w, act),
            h0: rng.array(0.5),
            c0: rng.array(0.5),
            xs: (0..steps).map(|_| rng.array(1.0)).collect(),
            a: (0..rows).map(|_| rng.array(1.0)).collect(),
            d_final: LstmState {
                h: rng.array(1.0),
                c: rng.array(1.0),
            },
        }
    }

    fn start(&self) -> LstmState<H, f64> {
        LstmState {
            h: self.h0,
            c: self.c0,
        }
    }

    fn tape(&self) -> LstmTape<MAX_STEPS, IN, H, f64> {
        let mut state = self.start();
        let mut tape = Tape::new();
        self.lstm
            .forward_window_with::<Scalar, MAX_STEPS>(&self.xs, &mut state, &mut tape)
            .expect("window fits");
        tape
    }

    /// The loss from streaming steps (independent of the tape).
    fn loss(&self) -> (f64, Vec<u8>) {
        let mut s = self.start();
        let first_row = self.xs.len() - self.a.len();
        let mut l = 0.0;
        for (t, x) in self.xs.iter().enumerate() {
            self.lstm.step_with::<Scalar>(x, &mut s);
            if t >= first_row {
                l += dot(&self.a[t - first_row], &s.h);
            }
        }
        l += dot(&self.d_final.h, &s.h) + dot(&self.d_final.c, &s.c);
        (l, kink_pattern(&self.tape()))
    }

    /// Analytic gradients (slot order) from one window.
    fn analytic(&self) -> Vec<Vec<f64>> {
        let tape = self.tape();
        let mut g = LstmWeights::<IN, H, f64>::zeroed();
        let d0 = self.lstm.backward_window_with::<Scalar, MAX_STEPS>(
            &tape,
            &self.a,
            &self.d_final,
            &mut g,
        );
        slots_of(&g, &d0)
    }
}

fn dot(a: &[f64; H], b: &[f64; H]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn slots_of(g: &LstmWeights<IN, H, f64>, d0: &LstmState<H, f64>) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = (0..3).map(|i| g.tensor(i).to_vec()).collect();
    out.push(d0.h.to_vec());
    out.push(d0.c.to_vec());
    out
}

#[test]
fn many_to_many_gradients_with_one_dh_row_per_step_or_the_last_rows_match_finite_differences() {
    for (n, act) in RecurrentActivation::ALL.into_iter().enumerate() {
        for rows in [T, 2] {
            let p = SeqProblem::random(act, T, rows, 200 + 10 * n as u64 + rows as u64);
            let label = format!("many-to-many T={T}, dh rows {rows}, {act:?}");
            let analytic = p.analytic();
            let r = fd_check(
                &label,
                &p,
                &SEQ_SLOTS,
                seq_slot,
                &analytic,
                &|q: &SeqProblem| q.loss(),
            );
            check_regime(&label, act, &r, &recurrent_gate_values(&p.tape()));

            // Leading dh rows beyond the tape length are ignored (documented contract).
            // Only meaningful with a row per step: otherwise padding rows are real steps.
            if rows == T {
                let mut padded = p.a.clone();
                padded.splice(0..0, [[1e3; H], [-7.0; H]]);
                let mut g = LstmWeights::<IN, H, f64>::zeroed();
                let d0 = p.lstm.backward_window_with::<Scalar, MAX_STEPS>(
                    &p.tape(),
                    &padded,
                    &p.d_final,
                    &mut g,
                );
                assert_eq!(
                    slots_of(&g, &d0),
                    analytic,
                    "{label}: extra leading dh rows must be ignored"
                );
            }
        }
    }
}

#[test]
fn two_chained_truncated_bptt_windows_equal_one_window_of_twice_the_length() {
    for (n, act) in RecurrentActivation::ALL.into_iter().enumerate() {
        let p = SeqProblem::random(act, 2 * T, 2 * T, 300 + n as u64);
        let label = format!("chained 2x{T} windows, {act:?}");

        // Two windows: forward the first, then the second from where it ended.
        let mut state = p.start();
        let mut tape1 = LstmTape::<T, IN, H, f64>::new();
        let mut tape2 = LstmTape::<T, IN, H, f64>::new();
        p.lstm
            .forward_window_with::<Scalar, T>(&p.xs[..T], &mut state, &mut tape1)
            .expect("fits");
        p.lstm
            .forward_window_with::<Scalar, T>(&p.xs[T..], &mut state, &mut tape2)
            .expect("fits");
        // Backward: the later window first; its returned (dh0, dc0) is the earlier window's
        // d_final.
        let mut g = LstmWeights::<IN, H, f64>::zeroed();
        let d_mid = p
            .lstm
            .backward_window_with::<Scalar, T>(&tape2, &p.a[T..], &p.d_final, &mut g);
        let d0 = p
            .lstm
            .backward_window_with::<Scalar, T>(&tape1, &p.a[..T], &d_mid, &mut g);
        let chained = slots_of(&g, &d0);

        // The chained passes do the single window's operations in the same order, so the
        // results agree to rounding (we allow 1e-14 on gradients of order 1).
        let single = p.analytic();
        let mut cmp = Compare::new(format!("{label} vs one {}-step window", 2 * T), 1e-14, 0.0);
        for (i, name) in SEQ_SLOTS.iter().enumerate() {
            cmp.slice(name, &chained[i], &single[i]);
        }
        cmp.finish();

        let r = fd_check(
            &label,
            &p,
            &SEQ_SLOTS,
            seq_slot,
            &chained,
            &|q: &SeqProblem| q.loss(),
        );
        check_regime(&label, act, &r, &recurrent_gate_values(&p.tape()));
    }
}
