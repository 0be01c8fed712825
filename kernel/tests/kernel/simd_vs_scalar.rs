//! The SIMD kernels equal the scalar reference kernels (`f32`) on random weights, states
//! and inputs from a seeded RNG, for `H ∈ {1, 3, 8, 10, 17, 64}` × `IN ∈ {1, 3, 8}` (full
//! 8-lane blocks, 4-lane and scalar tails, H below one block) and every recurrent
//! activation: streaming steps, a recorded window of T = 10 (every gate, `tanh(c)` and the
//! final state), its backward pass (all weight gradients and the returned state
//! gradients) and the dense head.
//!
//! Tolerance `|simd - scalar| <= 1e-5 + 1e-4·|scalar|`: the SIMD path fuses multiply-adds
//! (one rounding instead of two) and evaluates sigmoid/tanh with polynomials whose maximum
//! absolute error against libm is below 3e-7 (the kernel's own activation tests); over 10
//! recurrent steps and sums of up to 72 products that stays well below 1e-5 (the printed
//! figures), while any wrong lane, tail or index moves values by O(0.1).
//!
//! Edge inputs: huge (±1e30) and infinite inputs must leave `h` finite in `[-1, 1]`
//! (gates saturate to exact 0/1, `g` to ±1), and a NaN input must make every `h` NaN,
//! never a plausible number; both kernels, every activation.

use lstm_kernel::backend::{Kernels, Scalar, Simd};
use lstm_kernel::{
    Dense, Lstm, LstmState, LstmTape, LstmWeights, Recurrent, RecurrentActivation, Tensors,
};

use crate::common::{Compare, Rand};

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-4;
const STEPS: usize = 10;

/// Calls `$run::<IN, H>($args)` for every size in the matrix.
macro_rules! each_size {
    ($run:ident $args:tt) => {
        each_size!(@h $run $args; 1, 3, 8, 10, 17, 64)
    };
    (@h $run:ident $args:tt; $($h:literal),*) => {{
        $( each_size!(@in $run $args; $h); )*
    }};
    (@in $run:ident ($($arg:expr),*); $h:literal) => {{
        $run::<1, $h>($($arg),*);
        $run::<3, $h>($($arg),*);
        $run::<8, $h>($($arg),*);
    }};
}

/// Calls `$run::<Scalar, H>("scalar")` and `$run::<Simd, H>("simd")` for every H.
macro_rules! for_h_only {
    ($run:ident) => {
        for_h_only!(@h $run; 1, 3, 8, 10, 17, 64)
    };
    (@h $run:ident; $($h:literal),*) => {{
        $(
            $run::<Scalar, $h>("scalar");
            $run::<Simd, $h>("simd");
        )*
    }};
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// Random weights scaled by `1/sqrt(IN + H)` so pre-activations are O(1): a mix of
/// linear and saturating gates.
fn random_lstm<const IN: usize, const H: usize>(
    rng: &mut Rand,
    act: RecurrentActivation,
) -> Lstm<IN, H, f32> {
    let s = 2.5 / ((IN + H) as f64).sqrt();
    let mut w = LstmWeights::<IN, H, f32>::zeroed();
    rng.fill(w.w_ih_flat_mut(), s);
    rng.fill(w.w_hh_flat_mut(), s);
    rng.fill(w.b_flat_mut(), 1.0);
    Lstm::new(w, act)
}

fn random_state<const H: usize>(rng: &mut Rand) -> LstmState<H, f32> {
    LstmState {
        h: rng.array(1.0),
        c: rng.array(2.0),
    }
}

fn compare_state<const H: usize>(
    cmp: &mut Compare,
    what: &str,
    simd: &LstmState<H, f32>,
    scalar: &LstmState<H, f32>,
) {
    cmp.slice(format_args!("{what} h"), &widen(&simd.h), &widen(&scalar.h));
    cmp.slice(format_args!("{what} c"), &widen(&simd.c), &widen(&scalar.c));
}

fn simd_matches_scalar<const IN: usize, const H: usize>(seed: u64, worst: &mut f64) {
    for act in RecurrentActivation::ALL {
        let mut rng = Rand::new(seed ^ ((IN as u64) << 8) ^ ((H as u64) << 16));
        let lstm = random_lstm::<IN, H>(&mut rng, act);
        let start = random_state::<H>(&mut rng);
        let xs: Vec<[f32; IN]> = (0..STEPS).map(|_| rng.array(2.0)).collect();
        let mut cmp = Compare::new(format!("simd vs scalar IN={IN} H={H} {act:?}"), ATOL, RTOL);

        // Streaming steps, each kernel carrying its own state.
        let (mut s, mut v) = (start, start);
        for (t, x) in xs.iter().enumerate() {
            lstm.step_with::<Scalar>(x, &mut s);
            lstm.step_with::<Simd>(x, &mut v);
            compare_state(&mut cmp, &format!("step {t}"), &v, &s);
        }

        // Recorded windows: every gate and tanh(c) of every step.
        let (mut ws, mut wv) = (start, start);
        let mut tape_s = LstmTape::<STEPS, IN, H, f32>::new();
        let mut tape_v = LstmTape::<STEPS, IN, H, f32>::new();
        lstm.forward_window_with::<Scalar, STEPS>(&xs, &mut ws, &mut tape_s)
            .expect("fits");
        lstm.forward_window_with::<Simd, STEPS>(&xs, &mut wv, &mut tape_v)
            .expect("fits");
        for (t, (rs, rv)) in tape_s.steps().iter().zip(tape_v.steps()).enumerate() {
            for g in 0..4 {
                cmp.slice(
                    format_args!("window t {t} gate {g}"),
                    &widen(&rv.gates[g]),
                    &widen(&rs.gates[g]),
                );
            }
            cmp.slice(
                format_args!("window t {t} tanh_c"),
                &widen(&rv.tanh_c),
                &widen(&rs.tanh_c),
            );
        }
        compare_state(&mut cmp, "window final", &wv, &ws);

        // Backward over the same (scalar) tape, so only the backward kernels differ.
        let dh_out: Vec<[f32; H]> = (0..STEPS).map(|_| rng.array(1.0)).collect();
        let d_final = random_state::<H>(&mut rng);
        let mut gs = LstmWeights::<IN, H, f32>::zeroed();
        let mut gv = LstmWeights::<IN, H, f32>::zeroed();
        let ds = lstm.backward_window_with::<Scalar, STEPS>(&tape_s, &dh_out, &d_final, &mut gs);
        let dv = lstm.backward_window_with::<Simd, STEPS>(&tape_s, &dh_out, &d_final, &mut gv);
        for (i, name) in ["dW_ih", "dW_hh", "db"].iter().enumerate() {
            cmp.slice(name, &widen(gv.tensor(i)), &widen(gs.tensor(i)));
        }
        compare_state(&mut cmp, "d(h0, c0)", &dv, &ds);
        assert!(
            gs.w_hh_flat().iter().any(|&g| g != 0.0),
            "the backward pass produced gradients"
        );

        // Dense heads with 1 and 3 outputs on the last hidden state.
        let mut d1 = Dense::<H, 1, f32>::zeroed();
        let mut d3 = Dense::<H, 3, f32>::zeroed();
        rng.fill(d1.w.as_flattened_mut(), 1.0);
        rng.fill(&mut d1.b, 1.0);
        rng.fill(d3.w.as_flattened_mut(), 1.0);
        rng.fill(&mut d3.b, 1.0);
        cmp.slice(
            "dense 1",
            &widen(&d1.forward_with::<Simd>(&ws.h)),
            &widen(&d1.forward_with::<Scalar>(&ws.h)),
        );
        cmp.slice(
            "dense 3",
            &widen(&d3.forward_with::<Simd>(&ws.h)),
            &widen(&d3.forward_with::<Scalar>(&ws.h)),
        );

        *worst = worst.max(cmp.finish());
    }
}

#[test]
fn simd_step_window_backward_and_dense_match_scalar_for_every_size_and_activation() {
    let mut worst = 0.0;
    each_size!(simd_matches_scalar(0x5eed, &mut worst));
    println!("simd vs scalar: max abs err over all sizes {worst:.3e}");
}

/// Steps both kernels through `xs` from `start`, returning every state after each step.
fn run<const IN: usize, const H: usize, K: Kernels<f32>>(
    lstm: &Lstm<IN, H, f32>,
    start: LstmState<H, f32>,
    xs: &[[f32; IN]],
) -> Vec<LstmState<H, f32>> {
    let mut s = start;
    xs.iter()
        .map(|x| {
            lstm.step_with::<K>(x, &mut s);
            s
        })
        .collect()
}

fn edge_inputs<const IN: usize, const H: usize>(seed: u64) {
    for act in RecurrentActivation::ALL {
        let mut rng = Rand::new(seed ^ ((IN as u64) << 8) ^ ((H as u64) << 16));
        let lstm = random_lstm::<IN, H>(&mut rng, act);
        let start = random_state::<H>(&mut rng);
        let normal: [f32; IN] = rng.array(1.0);
        // One infinite element (several would give inf - inf = NaN in z, which is a NaN
        // input in disguise); huge finite values may fill every element.
        let mut pos_inf = normal;
        pos_inf[0] = f32::INFINITY;
        let mut neg_inf = normal;
        neg_inf[IN - 1] = f32::NEG_INFINITY;
        let huge: [f32; IN] = core::array::from_fn(|k| if k % 2 == 0 { 1e30 } else { -1e30 });
        let xs = [
            huge,
            pos_inf,
            normal,
            neg_inf,
            huge.map(|v| -v),
            normal,
            normal,
        ];
        for (name, states) in [
            ("scalar", run::<IN, H, Scalar>(&lstm, start, &xs)),
            ("simd", run::<IN, H, Simd>(&lstm, start, &xs)),
        ] {
            for (t, s) in states.iter().enumerate() {
                assert!(
                    s.h.iter().all(|h| h.is_finite() && h.abs() <= 1.0),
                    "{name} IN={IN} H={H} {act:?} step {t}: h {:?}",
                    s.h
                );
                assert!(
                    s.c.iter().all(|c| c.is_finite()),
                    "{name} IN={IN} H={H} {act:?} step {t}: c {:?}",
                    s.c
                );
            }
        }

        let mut nan = normal;
        nan[IN / 2] = f32::NAN;
        for (name, states) in [
            ("scalar", run::<IN, H, Scalar>(&lstm, start, &[normal, nan])),
            ("simd", run::<IN, H, Simd>(&lstm, start, &[normal, nan])),
        ] {
            let s = states[1];
            assert!(
                s.h.iter().all(|h| h.is_nan()),
                "{name} IN={IN} H={H} {act:?}: a NaN input gave h {:?}",
                s.h
            );
            assert!(
                s.c.iter().all(|c| c.is_nan()),
                "{name} IN={IN} H={H} {act:?}: a NaN input gave c {:?}",
                s.c
            );
        }
    }
}

#[test]
fn huge_and_infinite_inputs_give_finite_h_and_nan_inputs_give_nan_h_for_both_kernels() {
    each_size!(edge_inputs(0xed6e));
}

/// A NaN pre-activation in any one gate block (the others finite) must make every `h`
/// NaN: a gate activation that turned NaN into 0 or 1 would yield a plausible `h`.
fn nan_in_one_gate<K: Kernels<f32>, const H: usize>(name: &str) {
    let mut rng = Rand::new(0x0a0a ^ H as u64);
    for act in RecurrentActivation::ALL {
        assert!(act.apply(f32::NAN).is_nan(), "{act:?} of NaN");
        for gate in 0..4 {
            let mut z: [[f32; H]; 4] = core::array::from_fn(|_| rng.array(2.0));
            z[gate] = [f32::NAN; H];
            let mut c: [f32; H] = rng.array(1.0);
            let mut h = [0.0_f32; H];
            let mut tanh_c = [0.0_f32; H];
            K::cell_forward_maths(
                act,
                lstm_kernel::Maths::Exact,
                z.as_flattened_mut(),
                &mut c,
                &mut h,
                &mut tanh_c,
            );
            assert!(
                z[gate].iter().all(|v| v.is_nan()),
                "{name} H={H} {act:?}: NaN pre-activation of gate {gate} gave {:?}",
                z[gate]
            );
            assert!(
                h.iter().all(|v| v.is_nan()),
                "{name} H={H} {act:?}: NaN in gate {gate} gave h {h:?}"
            );
        }
    }
}

#[test]
fn a_nan_pre_activation_in_any_gate_gives_nan_h_for_both_kernels() {
    for_h_only!(nan_in_one_gate);
}

/// A stack's step, recorded window, many-to-many backward with `dL/dx`, and its Adam-ready
/// gradients: SIMD == scalar within the module's tolerance, for a 2-layer stack whose
/// layers take different SIMD paths (`H = 64` streams its weights at `IN = 8`: the tiled or
/// resident path; `H = 10` the fused step with a tail block) and a 3-layer one with a
/// layer below one 8-lane block.
fn stack_simd_matches_scalar<R, const IN: usize, const H: usize>(
    label: &str,
    rnn: &R,
    rng: &mut Rand,
) where
    R: Recurrent<IN, H, f32>,
{
    let xs: Vec<[f32; IN]> = (0..STEPS).map(|_| rng.array(1.5)).collect();
    let dh: Vec<[f32; H]> = (0..STEPS).map(|_| rng.array(0.5)).collect();
    let mut cmp = Compare::new(format!("stack {label} simd vs scalar"), ATOL, RTOL);
    let (mut a, mut b) = (
        <R::State as lstm_kernel::StreamState>::zeroed(),
        <R::State as lstm_kernel::StreamState>::zeroed(),
    );
    for x in &xs {
        rnn.step_with::<Simd>(x, &mut a);
        rnn.step_with::<Scalar>(x, &mut b);
        cmp.slice("step h", &widen(R::output(&a)), &widen(R::output(&b)));
    }
    let mut ta = lstm_kernel::Tape::<STEPS, R::Record>::new();
    let mut tb = lstm_kernel::Tape::<STEPS, R::Record>::new();
    let (mut sa, mut sb) = (
        <R::State as lstm_kernel::StreamState>::zeroed(),
        <R::State as lstm_kernel::StreamState>::zeroed(),
    );
    rnn.forward_window_with::<Simd, STEPS>(&xs, &mut sa, &mut ta)
        .unwrap();
    rnn.forward_window_with::<Scalar, STEPS>(&xs, &mut sb, &mut tb)
        .unwrap();
    for (ra, rb) in ta.steps().iter().zip(tb.steps()) {
        cmp.slice(
            "window h",
            &widen(&R::record_output(ra)),
            &widen(&R::record_output(rb)),
        );
    }
    let (mut ga, mut gb) = (R::Grads::default(), R::Grads::default());
    let (mut dxa, mut dxb) = (vec![[0.0; IN]; STEPS], vec![[0.0; IN]; STEPS]);
    let zero = <R::State as lstm_kernel::StreamState>::zeroed();
    rnn.backward_window_dx_with::<Simd, STEPS>(&ta, &dh, &zero, &mut ga, &mut dxa);
    rnn.backward_window_dx_with::<Scalar, STEPS>(&tb, &dh, &zero, &mut gb, &mut dxb);
    for i in 0..<R as Tensors<f32>>::COUNT {
        cmp.slice(
            format_args!("grad tensor {i}"),
            &widen(ga.tensor(i)),
            &widen(gb.tensor(i)),
        );
    }
    cmp.slice(
        "dL/dx",
        &widen(dxa.as_flattened()),
        &widen(dxb.as_flattened()),
    );
    cmp.finish();
}

#[test]
fn stacks_simd_step_window_backward_and_dx_match_scalar() {
    let mut rng = Rand::new(77);
    let two: lstm_kernel::Lstm2<8, 64, 10> = lstm_kernel::Stack::new(
        random_lstm(&mut rng, RecurrentActivation::Sigmoid),
        random_lstm(&mut rng, RecurrentActivation::Sigmoid),
    );
    stack_simd_matches_scalar("Lstm2<8, 64, 10>", &two, &mut rng);
    for act in RecurrentActivation::ALL {
        let three: lstm_kernel::Lstm3<3, 17, 4, 16> = lstm_kernel::Stack::new(
            random_lstm(&mut rng, act),
            lstm_kernel::Stack::new(random_lstm(&mut rng, act), random_lstm(&mut rng, act)),
        );
        stack_simd_matches_scalar(&format!("Lstm3<3, 17, 4, 16> {act:?}"), &three, &mut rng);
    }
}
