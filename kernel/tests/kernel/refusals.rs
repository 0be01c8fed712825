//! Refusals leave everything untouched: Adam and SGD refuse a non-finite gradient with
//! `NonFiniteGradient` (naming the tensor and index) and change no parameter, moment or
//! step count; a window longer than the tape is refused with `WindowTooLong` and changes
//! neither the state, nor the tape, nor the gradients.

use lstm_kernel::{
    Adam, AdamConfig, EpsPlacement, Grads, LstmGrads, LstmModel, LstmState, LstmTape, Model,
    NonFiniteGradient, Recurrent, RecurrentActivation, Sgd, Tensors, WindowTooLong,
};

use crate::common::Rand;

const IN: usize = 2;
const H: usize = 3;
const OUT: usize = 1;

fn random_model(seed: u64) -> LstmModel<IN, H, OUT, f64> {
    let mut rng = Rand::new(seed);
    let mut m = Model::zeroed(RecurrentActivation::Sigmoid);
    for i in 0..5 {
        rng.fill(m.tensor_mut(i), 0.5);
    }
    m
}

fn random_grads(seed: u64) -> LstmGrads<IN, H, OUT, f64> {
    let mut rng = Rand::new(seed);
    let mut g = Grads::zeroed();
    for i in 0..5 {
        rng.fill(g.tensor_mut(i), 0.1);
    }
    g
}

#[test]
fn adam_refuses_nan_and_infinite_gradients_and_changes_nothing() {
    for placement in [EpsPlacement::Keras, EpsPlacement::PyTorch] {
        let mut model = random_model(1);
        let config = AdamConfig {
            eps_placement: placement,
            ..AdamConfig::keras()
        };
        let mut adam = Adam::new(config, Grads::zeroed());
        // One good step first, so the moments and t are nonzero.
        adam.step(&mut model, &random_grads(2)).expect("finite");
        assert_eq!(adam.t, 1);
        for (tensor, index, bad) in [
            (1, 5, f64::NAN),
            (4, 0, f64::INFINITY),
            (0, 3, f64::NEG_INFINITY),
        ] {
            let mut g = random_grads(3);
            g.tensor_mut(tensor)[index] = bad;
            let (before_model, before_m, before_v) = (model, adam.m, adam.v);
            assert_eq!(
                adam.step(&mut model, &g),
                Err(NonFiniteGradient { tensor, index }),
                "{placement:?}: gradient {bad} in tensor {tensor}[{index}]"
            );
            assert_eq!(model, before_model, "{placement:?}: parameters changed");
            assert_eq!(adam.m, before_m, "{placement:?}: first moment changed");
            assert_eq!(adam.v, before_v, "{placement:?}: second moment changed");
            assert_eq!(adam.t, 1, "{placement:?}: step count changed");
        }
        // And it still works afterwards.
        adam.step(&mut model, &random_grads(4)).expect("finite");
        assert_eq!(adam.t, 2);
    }
}

#[test]
fn sgd_refuses_a_nan_gradient_and_changes_nothing() {
    let mut model = random_model(5);
    let sgd = Sgd { lr: 0.1 };
    let mut g = random_grads(6);
    g.tensor_mut(2)[7] = f64::NAN;
    let before = model;
    assert_eq!(
        sgd.step(&mut model, &g),
        Err(NonFiniteGradient {
            tensor: 2,
            index: 7
        })
    );
    assert_eq!(model, before);
    // A finite gradient is applied: p -= lr·g, exactly (one multiply and one subtract).
    let g = random_grads(7);
    sgd.step(&mut model, &g).expect("finite");
    for i in 0..5 {
        for ((p, b), d) in model
            .tensor(i)
            .iter()
            .zip(before.tensor(i))
            .zip(g.tensor(i))
        {
            assert_eq!(*p, b - 0.1 * d);
        }
    }
}

#[test]
fn a_window_longer_than_the_tape_is_refused_and_changes_nothing() {
    let model = random_model(8);
    let mut rng = Rand::new(9);
    let xs: Vec<[f64; IN]> = (0..5).map(|_| rng.array(1.0)).collect();
    let mut state = LstmState::<H, f64> {
        h: rng.array(0.5),
        c: rng.array(0.5),
    };
    // A tape holding an earlier 3-step window.
    let mut tape = LstmTape::<4, IN, H, f64>::new();
    let mut s = state;
    model
        .rnn
        .forward_window(&xs[..3], &mut s, &mut tape)
        .expect("fits");
    let (tape_before, state_before) = (tape.clone(), state);

    let refused = WindowTooLong {
        steps: 5,
        capacity: 4,
    };
    assert_eq!(
        model.rnn.forward_window(&xs, &mut state, &mut tape),
        Err(refused)
    );
    assert_eq!(
        model.forward_window(&xs, &mut state, &mut tape),
        Err(refused)
    );
    let mut grads = random_grads(10);
    let grads_before = grads;
    assert_eq!(
        model
            .train_sample_bce(&xs, &[1.0], 1.0, &mut state, &mut tape, &mut grads)
            .map(|_| ()),
        Err(refused)
    );
    assert_eq!(state, state_before, "state changed");
    assert_eq!(tape.steps(), tape_before.steps(), "tape changed");
    assert_eq!(grads, grads_before, "gradients changed");

    // Exactly T steps fit.
    model
        .rnn
        .forward_window(&xs[..4], &mut state, &mut tape)
        .expect("T steps fit");
    assert_eq!(tape.len(), 4);
}
