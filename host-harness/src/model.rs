//! The post's model on the kernel: `LSTM(10)` + `Dense(1)` on logits, trained with BCE and
//! Keras' Adam, initialised like Keras from seeded streams.

use lstm_kernel::{Adam, AdamConfig, LstmGrads, LstmModel, RecurrentActivation, Tensors};
use rand::RngExt;
use rand_distr::StandardNormal;

use crate::rng::{Stream, stream};

/// Hidden units of the post's `LSTM(10)`.
pub const HIDDEN: usize = 10;

/// `Model<IN = 1, H = 10, OUT = 1, f32>`: one input per step, one logit out (491 parameters).
pub type HarnessModel = LstmModel<1, HIDDEN, 1, f32>;

/// Gradients (and Adam moments) shaped like [`HarnessModel`].
pub type HarnessGrads = LstmGrads<1, HIDDEN, 1, f32>;

/// Adam over [`HarnessModel`]'s parameters.
pub type HarnessAdam = Adam<HarnessGrads, f32>;

/// A model with Keras' default initialisation (Glorot-uniform kernels, orthogonal recurrent
/// kernel, zero bias with forget-gate bias 1, Glorot-uniform dense kernel) drawn from the
/// [`Stream::InitUniform`] and [`Stream::InitNormal`] streams of `seed`.
pub fn keras_model(seed: u64, activation: RecurrentActivation) -> HarnessModel {
    let mut model = HarnessModel::zeroed(activation);
    let mut uniform_rng = stream(seed, Stream::InitUniform);
    let mut normal_rng = stream(seed, Stream::InitNormal);
    model.init_keras(&mut || uniform_rng.random::<f32>(), &mut || {
        normal_rng.sample(StandardNormal)
    });
    model
}

/// Adam with Keras' defaults (`lr 1e-3, β1 0.9, β2 0.999, eps 1e-7`, Keras eps placement)
/// and zero moments.
pub fn keras_adam() -> HarnessAdam {
    Adam::new(AdamConfig::keras(), HarnessGrads::zeroed())
}

/// Whether `a` and `b` are the same model bit for bit: same activation and every one of the
/// [`Tensors::COUNT`] tensors with the same bits (`-0.0` differs from `0.0`, a NaN equals
/// the same NaN).
pub fn same_bits(a: &HarnessModel, b: &HarnessModel) -> bool {
    a.rnn.activation == b.rnn.activation
        && (0..<HarnessModel as Tensors<f32>>::COUNT).all(|t| {
            let (x, y) = (a.tensor(t), b.tensor(t));
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        })
}

/// The CLI/JSON name of a recurrent activation: `sigmoid`, `hard-sigmoid-keras2`,
/// `hard-sigmoid-keras3`; `None` for a variant added to the (non-exhaustive) kernel enum
/// that this harness does not name yet.
pub fn activation_name(activation: RecurrentActivation) -> Option<&'static str> {
    match activation {
        RecurrentActivation::Sigmoid => Some("sigmoid"),
        RecurrentActivation::HardSigmoidKeras2 => Some("hard-sigmoid-keras2"),
        RecurrentActivation::HardSigmoidKeras3 => Some("hard-sigmoid-keras3"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_init_is_reproducible_and_depends_on_the_seed() {
        let a = keras_model(1, RecurrentActivation::Sigmoid);
        assert_eq!(a, keras_model(1, RecurrentActivation::Sigmoid));
        assert_ne!(a, keras_model(2, RecurrentActivation::Sigmoid));
        // Forget-gate bias 1, other biases 0 (Keras unit_forget_bias).
        assert_eq!(a.rnn.weights.b[1], [1.0; HIDDEN]);
        assert_eq!(a.rnn.weights.b[0], [0.0; HIDDEN]);
        assert_eq!(a.head.b, [0.0]);
    }

    #[test]
    fn same_bits_sees_a_change_in_every_tensor_including_the_last_and_the_sign_of_zero() {
        let a = keras_model(1, RecurrentActivation::Sigmoid);
        assert!(same_bits(&a, &keras_model(1, RecurrentActivation::Sigmoid)));
        for t in 0..<HarnessModel as Tensors<f32>>::COUNT {
            let mut b = a;
            let v = &mut b.tensor_mut(t)[0];
            *v = if *v == 0.0 { -0.0 } else { -*v };
            assert!(!same_bits(&a, &b), "a change in tensor {t} went unseen");
        }
        let other = keras_model(1, RecurrentActivation::HardSigmoidKeras3);
        assert!(!same_bits(&a, &other));
    }

    #[test]
    fn every_kernel_activation_has_a_name_and_the_names_match_the_cli_values() {
        let names: Vec<_> = RecurrentActivation::ALL
            .iter()
            .map(|&a| activation_name(a))
            .collect();
        assert_eq!(
            names,
            [
                Some("sigmoid"),
                Some("hard-sigmoid-keras2"),
                Some("hard-sigmoid-keras3")
            ]
        );
    }
}
