//! The post's model on the kernel: `LSTM(10)` or `GRU(10)` (or a stack of 2 or 3 of them) +
//! `Dense(1)` on logits, trained with BCE and Keras' Adam, initialised like Keras from seeded streams.

use anyhow::{Result, bail};
use lstm_kernel::{
    Adam, AdamConfig, Dense, Grads, Gru, LayerKind, LayerSettings, Lstm, Lstm2, Lstm3, Model,
    Recurrent, RecurrentActivation, Stack, Tensors,
};
use rand::RngExt;
use rand_distr::StandardNormal;

use crate::rng::{Stream, stream};

/// Hidden units of the post's `LSTM(10)` (of every layer of a stack).
pub const HIDDEN: usize = 10;

/// What the harness needs of the post's recurrent layers: a [`Recurrent`] from 1 input to
/// [`HIDDEN`] outputs over `f32`, constructible with zero weights ([`Default`]), and
/// comparable. [`OneLayer`], [`TwoLayers`] and [`ThreeLayers`] are the ones the CLI offers
/// (`--layers 1|2|3`).
pub trait PostLayers:
    Recurrent<1, HIDDEN, f32> + Default + Clone + PartialEq + core::fmt::Debug
{
}

impl<R: Recurrent<1, HIDDEN, f32> + Default + Clone + PartialEq + core::fmt::Debug> PostLayers
    for R
{
}

/// The post's `LSTM(10)`.
pub type OneLayer = Lstm<1, HIDDEN>;
/// Two stacked `LSTM(10)` layers (`1 -> 10 -> 10`), PyTorch `nn.LSTM(num_layers=2)`.
pub type TwoLayers = Lstm2<1, HIDDEN, HIDDEN>;
/// Three stacked `LSTM(10)` layers (`1 -> 10 -> 10 -> 10`).
pub type ThreeLayers = Lstm3<1, HIDDEN, HIDDEN, HIDDEN>;

/// The post's model with a `GRU(10)` in place of the `LSTM(10)`.
pub type OneGru = Gru<1, HIDDEN>;
/// Two stacked `GRU(10)` layers, PyTorch `nn.GRU(1, 10, num_layers=2)`.
pub type TwoGrus = Stack<Gru<1, HIDDEN>, Gru<HIDDEN, HIDDEN>, HIDDEN>;
/// Three stacked `GRU(10)` layers.
pub type ThreeGrus = Stack<Gru<1, HIDDEN>, TwoGrusAbove, HIDDEN>;
/// Two `GRU(10)` layers fed by 10 inputs (the upper part of [`ThreeGrus`]).
pub type TwoGrusAbove = Stack<Gru<HIDDEN, HIDDEN>, Gru<HIDDEN, HIDDEN>, HIDDEN>;

/// The largest number of stacked layers the harness builds (`with_layers!`, `--layers`).
pub const MAX_LAYERS: usize = 3;

/// `with_layers!(cell, n, R => expr)`: evaluates `expr` (a `Result`) with the type name `R`
/// bound to the layers of an `n`-layer post's model of cell `cell` (a
/// [`LayerKind`]: [`OneLayer`], [`TwoLayers`], [`ThreeLayers`] for the LSTM, [`OneGru`],
/// [`TwoGrus`], [`ThreeGrus`] for either GRU variant, which is a run-time setting the
/// caller applies with [`set_cell`]): the one place a run-time architecture becomes a type.
/// Any other `n` is an error naming it and the accepted range.
macro_rules! with_layers {
    ($cell:expr, $layers:expr, $R:ident => $body:expr) => {
        match ($cell, $layers) {
            (::lstm_kernel::LayerKind::Lstm, 1) => {
                type $R = $crate::model::OneLayer;
                $body
            }
            (::lstm_kernel::LayerKind::Lstm, 2) => {
                type $R = $crate::model::TwoLayers;
                $body
            }
            (::lstm_kernel::LayerKind::Lstm, 3) => {
                type $R = $crate::model::ThreeLayers;
                $body
            }
            (::lstm_kernel::LayerKind::Gru(_), 1) => {
                type $R = $crate::model::OneGru;
                $body
            }
            (::lstm_kernel::LayerKind::Gru(_), 2) => {
                type $R = $crate::model::TwoGrus;
                $body
            }
            (::lstm_kernel::LayerKind::Gru(_), 3) => {
                type $R = $crate::model::ThreeGrus;
                $body
            }
            (cell, n) => Err(::anyhow::anyhow!(
                "{n} layers: the post's model takes 1 to {} stacked {}(10) layers",
                $crate::model::MAX_LAYERS,
                cell.name()
            )),
        }
    };
}

/// Sets every layer of `model` to `cell` (for a GRU stack, its variant).
///
/// # Errors
/// A layer of another cell type than `cell` (the model type was built for another cell).
pub fn set_cell<R: PostLayers>(model: &mut PostModel<R>, cell: LayerKind) -> Result<()> {
    for layer in 0..R::LAYERS {
        if !model.rnn.set_kind(layer, cell) {
            let has = model.rnn.kind(layer).map_or("?", LayerKind::name);
            bail!("layer {layer} is a {has} layer, not {}", cell.name());
        }
    }
    Ok(())
}

/// The cell of `model`'s layers: the common [`LayerKind`] of every layer.
///
/// # Errors
/// The layers differ (the post's models are one cell throughout).
pub fn cell_of<R: PostLayers>(model: &PostModel<R>) -> Result<LayerKind> {
    let kinds: Vec<LayerKind> = (0..R::LAYERS).filter_map(|l| model.rnn.kind(l)).collect();
    match kinds.as_slice() {
        [first, rest @ ..] if rest.iter().all(|k| k == first) => Ok(*first),
        _ => {
            let names: Vec<_> = kinds.iter().map(|k| k.name()).collect();
            bail!("the layers are of different cells ({})", names.join(", "))
        }
    }
}
pub(crate) use with_layers;

/// The post's model with recurrent layers `R`: one input per step, one logit out.
pub type PostModel<R> = Model<R, 1, HIDDEN, 1, f32>;

/// Gradients (and Adam moments) shaped like [`PostModel<R>`].
pub type PostGrads<R> = Grads<<R as Tensors<f32>>::Grads, HIDDEN, 1, f32>;

/// Adam over [`PostModel<R>`]'s parameters.
pub type PostAdam<R> = Adam<PostGrads<R>, f32>;

/// `Model<Lstm<1, 10>, 1, 10, 1, f32>`: the post's one-layer model (491 parameters).
pub type HarnessModel = PostModel<OneLayer>;

/// Gradients (and Adam moments) shaped like [`HarnessModel`].
pub type HarnessGrads = PostGrads<OneLayer>;

/// Adam over [`HarnessModel`]'s parameters.
pub type HarnessAdam = PostAdam<OneLayer>;

/// A model with Keras' default initialisation (per layer, bottom first: Glorot-uniform
/// kernel, orthogonal recurrent kernel, zero bias with forget-gate bias 1; then the
/// Glorot-uniform dense kernel) drawn from the [`Stream::InitUniform`] and
/// [`Stream::InitNormal`] streams of `seed`, with `activation` in every layer.
pub fn keras_model_of<R: PostLayers>(seed: u64, activation: RecurrentActivation) -> PostModel<R> {
    let mut model: PostModel<R> = Model::new(R::default(), Dense::zeroed());
    set_layers(&mut model, |s| s.activation = activation);
    let mut uniform_rng = stream(seed, Stream::InitUniform);
    let mut normal_rng = stream(seed, Stream::InitNormal);
    model.init_keras(&mut || uniform_rng.random::<f32>(), &mut || {
        normal_rng.sample(StandardNormal)
    });
    model
}

/// [`keras_model_of`] for the post's one-layer model.
pub fn keras_model(seed: u64, activation: RecurrentActivation) -> HarnessModel {
    keras_model_of::<OneLayer>(seed, activation)
}

/// Applies `change` to the [`LayerSettings`] of every recurrent layer of `model`.
pub fn set_layers<R: PostLayers>(model: &mut PostModel<R>, change: impl Fn(&mut LayerSettings)) {
    for layer in 0..R::LAYERS {
        if let Some(mut s) = model.rnn.settings(layer) {
            change(&mut s);
            model.rnn.set_settings(layer, s);
        }
    }
}

/// Adam with Keras' defaults (`lr 1e-3, β1 0.9, β2 0.999, eps 1e-7`, Keras eps placement)
/// and zero moments, for [`PostModel<R>`].
pub fn keras_adam_of<R: PostLayers>() -> PostAdam<R> {
    Adam::new(AdamConfig::keras(), PostGrads::<R>::zeroed())
}

/// [`keras_adam_of`] for the post's one-layer model.
pub fn keras_adam() -> HarnessAdam {
    keras_adam_of::<OneLayer>()
}

/// Whether `a` and `b` are the same model bit for bit: the same settings in every layer and
/// every one of the [`Tensors::COUNT`] tensors with the same bits (`-0.0` differs from
/// `0.0`, a NaN equals the same NaN).
pub fn same_bits<R: PostLayers>(a: &PostModel<R>, b: &PostModel<R>) -> bool {
    (0..R::LAYERS).all(|l| a.rnn.settings(l) == b.rnn.settings(l) && a.rnn.kind(l) == b.rnn.kind(l))
        && (0..<PostModel<R> as Tensors<f32>>::COUNT).all(|t| {
            let (x, y) = (a.tensor(t), b.tensor(t));
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        })
}

/// The CLI/JSON name of a recurrent activation: `sigmoid`, `hard-sigmoid-keras2`,
/// `hard-sigmoid-keras3`; `None` for a variant added to the (non-exhaustive) kernel enum
/// that this harness does not name yet.
pub fn activation_name(activation: RecurrentActivation) -> Option<&'static str> {
    Some(activation.name())
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
    fn a_stack_gets_the_activation_in_every_layer_and_same_bits_sees_each_layer() {
        let a = keras_model_of::<ThreeLayers>(4, RecurrentActivation::HardSigmoidKeras2);
        for l in 0..3 {
            let s = a.rnn.settings(l).unwrap();
            assert_eq!(
                s.activation,
                RecurrentActivation::HardSigmoidKeras2,
                "layer {l}"
            );
        }
        assert_eq!(
            a,
            keras_model_of::<ThreeLayers>(4, RecurrentActivation::HardSigmoidKeras2)
        );
        // Every layer is initialised (none left at the zero default): each layer's forget
        // bias is 1 and its kernel is not all zero.
        for t in 0..<PostModel<ThreeLayers> as Tensors<f32>>::COUNT {
            assert!(
                a.tensor(t).iter().any(|&v| v != 0.0)
                    || t + 1 == <PostModel<ThreeLayers> as Tensors<f32>>::COUNT,
                "tensor {t} is all zero"
            );
        }
        let mut b = a;
        set_layers(&mut b, |s| s.maths = lstm_kernel::Maths::Fast);
        assert!(!same_bits(&a, &b), "a changed layer setting went unseen");
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
